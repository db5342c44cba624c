"""The known formats, and how an object's format is decided: the AWS key layout first, then its content."""

from __future__ import annotations

from types import ModuleType

from loglake.formats import cloudtrail, vpcflow

FORMATS: dict[str, ModuleType] = {m.NAME: m for m in (cloudtrail, vpcflow)}
# the service folder of the AWS key layout (AWSLogs/<account>/<service>/...) -> format
SERVICE_FORMATS = {"cloudtrail": "cloudtrail", "cloudtrail-digest": "cloudtrail", "vpcflowlogs": "vpcflow"}


class UnknownFormatError(ValueError):
    pass


def get(name: str) -> ModuleType:
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(f"unknown format {name!r}; known formats: {', '.join(sorted(FORMATS))}") from None


def detect(head: bytes, key: str, service: str | None = None) -> ModuleType | None:
    """The format of an object: its content must agree with the key layout's service, else content decides."""
    hinted = SERVICE_FORMATS.get((service or "").lower())
    if hinted and FORMATS[hinted].sniff(head, key):
        return FORMATS[hinted]
    for module in FORMATS.values():
        if module.sniff(head, key):
            return module
    return None


def tables() -> dict[str, object]:
    """Every lake table a format writes, with its schema."""
    return {m.TABLE: m.SCHEMA for m in FORMATS.values()}
