"""A `terraform show -json` plan -> TfResources: planned values, with a `Ref` where a value is known only after
apply (taken from the configuration's `references`), in the root module and every child module.

A resource is located at its `resource "type" "name"` block when the plan's folder holds the .tf files of the root
module, else at its entry in the plan file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from loglake.iac.source import IacFileError, Ref
from loglake.iac.terraform import TfResource


def is_plan(data: Any) -> bool:
    return (
        isinstance(data, dict) and "format_version" in data and ("planned_values" in data or "resource_changes" in data)
    )


def read_plan(path: Path, text: str, data: dict[str, Any]) -> tuple[list[TfResource], str | None]:
    """(resources, the aws provider's region if the configuration says it)."""
    if not isinstance(data.get("planned_values", {}), dict):
        raise IacFileError(path, None, "planned_values is not an object: not a `terraform show -json` plan")
    configuration = data.get("configuration") or {}
    expressions = _configured(configuration.get("root_module") or {}, "")
    planned = list(_planned(data.get("planned_values", {}).get("root_module") or {}))
    addresses = {r["address"] for r in planned} | {_unindexed(r["address"]) for r in planned}
    declared = _declarations(path.parent)
    found = []
    for entry in planned:
        if entry.get("mode", "managed") != "managed":
            continue
        address = entry["address"]
        config = expressions.get(_unindexed(address), {})
        values = _merge(entry.get("values") or {}, config, addresses, _module_of(address))
        file, line = declared.get(_unindexed(address)) or (str(path), _line_of(text, address))
        found.append(TfResource(address, entry["type"], values, file, line))
    return found, _region(configuration, data.get("variables") or {})


def _region(configuration: dict[str, Any], variables: dict[str, Any]) -> str | None:
    """The aws provider's region: a constant, or the value of the one variable it names."""
    expression = ((configuration.get("provider_config") or {}).get("aws") or {}).get("expressions", {}).get("region")
    if not isinstance(expression, dict):
        return None
    if "constant_value" in expression:
        return expression["constant_value"]
    names = [r[4:] for r in expression.get("references") or [] if r.startswith("var.")]
    value = (variables.get(names[0]) or {}).get("value") if len(names) == 1 else None
    return value if isinstance(value, str) else None


def _planned(module: dict[str, Any]):
    yield from module.get("resources") or []
    for child in module.get("child_modules") or []:
        yield from _planned(child)


def _configured(module: dict[str, Any], prefix: str) -> dict[str, dict[str, Any]]:
    """address (without instance keys) -> the configuration's expressions."""
    found = {f"{prefix}{r['address']}": r.get("expressions") or {} for r in module.get("resources") or []}
    for name, call in (module.get("module_calls") or {}).items():
        found.update(_configured(call.get("module") or {}, f"{prefix}module.{name}."))
    return found


def _unindexed(address: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", address)


def _module_of(address: str) -> str:
    parts = address.split(".")
    prefix = []
    while len(parts) > 2 and parts[0] == "module":
        prefix += parts[:2]
        parts = parts[2:]
    return ".".join(prefix) + "." if prefix else ""


def _merge(values: Any, expressions: Any, addresses: set[str], module: str) -> Any:
    """Planned values, with a Ref where the value is unknown and the configuration says what it refers to."""
    if isinstance(expressions, dict) and ("references" in expressions or "constant_value" in expressions):
        if not expressions.get("references"):
            return values
        if values is None:
            return _ref(expressions["references"], addresses, module)
        if isinstance(values, list) and None in values:  # unknown elements of a known-length list are null
            return [_ref(expressions["references"], addresses, module) if v is None else v for v in values]
        return values
    if isinstance(expressions, list) and isinstance(values, list):
        return [
            _merge(v, expressions[i] if i < len(expressions) else {}, addresses, module) for i, v in enumerate(values)
        ]
    if isinstance(expressions, list) and values is None:
        return [_merge(None, e, addresses, module) for e in expressions]
    if isinstance(expressions, dict) and isinstance(values, dict | type(None)):
        merged = dict(values or {})
        for key, expression in expressions.items():
            got = _merge(merged.get(key), expression, addresses, module)
            if got is not None:
                merged[key] = got
        return merged
    return values


def _ref(references: list[str], addresses: set[str], module: str) -> Ref:
    absolute = [r if r.startswith(("var.", "local.", "module.")) else module + r for r in references]
    # Terraform lists `aws_vpc.main.id` and `aws_vpc.main`: keep the most precise of each
    refs = [r for r in absolute if not any(o != r and o.startswith((r + ".", r + "[")) for o in absolute)]
    targets = [r for r in absolute if r in addresses]
    return Ref(tuple(refs), tuple(dict.fromkeys(targets)))


def _line_of(text: str, address: str) -> int:
    position = text.find(f'"address": {json.dumps(address)}')
    if position < 0:
        position = text.find(json.dumps(address))
    return text.count("\n", 0, position) + 1 if position >= 0 else 1


def _declarations(folder: Path) -> dict[str, tuple[str, int]]:
    """`type.name` -> (file, line) of its `resource` block in the .tf files beside the plan."""
    found: dict[str, tuple[str, int]] = {}
    pattern = re.compile(r'^[ \t]*resource\s+"([\w-]+)"\s+"([\w-]+)"', re.M)
    for tf in sorted(folder.glob("*.tf")):
        try:
            source = tf.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for match in pattern.finditer(source):
            found.setdefault(f"{match.group(1)}.{match.group(2)}", (str(tf), source.count("\n", 0, match.start()) + 1))
    return found
