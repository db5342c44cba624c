"""The known formats, and how an object's format is decided: the AWS key layout first, then its content.

Every module of this package that defines `NAME` is a format (see `base.LogFormat`); a new format needs no
edit here. Modules set `SNIFF_ORDER` when their sniff must run before a more general one (lower runs first).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType

import pyarrow as pa

import loglake.formats as package


class UnknownFormatError(ValueError):
    pass


@cache
def formats() -> dict[str, ModuleType]:
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "sniff"):
            found.append(module)
    found.sort(key=lambda m: (getattr(m, "SNIFF_ORDER", 100), m.NAME))
    return {m.NAME: m for m in found}


def service_formats() -> dict[str, list[str]]:
    """The service folder of the AWS key layout (AWSLogs/<account>/<service>/...) -> candidate formats."""
    mapping: dict[str, list[str]] = {}
    for module in formats().values():
        for service in getattr(module, "KEY_SERVICES", ()):
            mapping.setdefault(service.lower(), []).append(module.NAME)
    return mapping


def get(name: str) -> ModuleType:
    try:
        return formats()[name]
    except KeyError:
        known = ", ".join(sorted(formats()))
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {known}") from None


def detect(head: bytes, key: str, service: str | None = None) -> ModuleType | None:
    """The format of an object: formats the key layout names are tried first, then every format by content."""
    hinted = [formats()[n] for n in service_formats().get((service or "").lower(), [])]
    for module in [*hinted, *formats().values()]:
        if module.sniff(head, key):
            return module
    return None


def tables() -> dict[str, pa.Schema]:
    """Every lake table a format writes, with its schema."""
    return {m.TABLE: m.SCHEMA for m in formats().values()}


def for_table(table: str) -> ModuleType | None:
    """The format whose rows a lake table holds (None for tables no format writes, such as alerts)."""
    return next((m for m in formats().values() if table == m.TABLE), None)
