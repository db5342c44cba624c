"""A folder of Terraform .tf files (one root module) -> TfResources, evaluated as far as `terraform plan` would know.

Variables (defaults, terraform.tfvars, *.auto.tfvars), locals, the aws provider's region and default_tags,
`jsonencode`/`merge` of known values, and literal `count`/`for_each` are evaluated; anything that reads another
resource's attribute becomes a `Ref`, exactly where a plan would say "known after apply". Child modules are not read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.rules.base import BlockRule
from hcl2.utils import SerializationOptions
from lark.exceptions import LarkError, UnexpectedInput

from loglake.iac.source import IacFileError, Ref, merge_refs
from loglake.iac.terraform import TfResource

OPTIONS = SerializationOptions(
    with_comments=False, strip_string_quotes=True, explicit_blocks=False, preserve_heredocs=False
)
REFERENCE = re.compile(r"\b((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*)(\[[^\]]*\])?(\.[A-Za-z_][\w]*)?")
META_ARGUMENTS = ("count", "for_each", "lifecycle", "depends_on", "provider", "dynamic")
MODULE_META = {"source", "version", "providers", "depends_on", "count", "for_each"}
MAX_MODULE_DEPTH = 8
ROOTS_NOT_RESOURCES = {"var", "local", "count", "each", "path", "terraform", "self", "module"}


class Module:
    """The parsed blocks of one folder."""

    def __init__(self) -> None:
        self.variables: dict[str, Any] = {}
        self.locals: dict[str, Any] = {}
        self.region: str | None = None
        self.default_tags: Any = {}
        self.resources: list[tuple[str, str, dict[str, Any], str, int]] = []  # type, name, body, file, line
        self.calls: list[tuple[str, dict[str, Any]]] = []  # module blocks: name, arguments


@dataclass
class Folder:
    resources: list[TfResource]
    region: str | None  # the aws provider's, if the code says it
    errors: list[IacFileError]  # files that did not parse
    children: set[Path] = field(default_factory=set)  # local module folders read as part of this root


def read_folder(folder: Path) -> Folder:
    """The resources of a root module and of the local modules it calls."""
    errors: list[IacFileError] = []
    module = _read_module(folder, errors)
    for path in [folder / "terraform.tfvars", *sorted(folder.glob("*.auto.tfvars"))]:
        if path.is_file():
            try:
                module.variables.update(_loads(path))
            except IacFileError as error:
                errors.append(error)
    evaluator = Evaluator(module)
    module.default_tags = evaluator.value(module.default_tags)  # the provider's, inherited by every child module
    children: set[Path] = set()
    resources = _with_children(evaluator, folder, errors, children, depth=0)
    region = evaluator.value(module.region)
    return Folder(resources, region if isinstance(region, str) else None, errors, children)


def _read_module(folder: Path, errors: list[IacFileError]) -> Module:
    module = Module()
    for path in sorted(folder.glob("*.tf")):
        try:
            _collect(module, path)
        except IacFileError as error:
            errors.append(error)
    return module


def _with_children(
    evaluator: Evaluator, folder: Path, errors: list[IacFileError], children: set[Path], depth: int
) -> list[TfResource]:
    """A module's resources, then those of the modules it calls from a local path (`./modules/net`), addressed as a
    plan addresses them (`module.net.aws_vpc.this`) with the call's arguments as their variables."""
    found = evaluator.resources()
    for name, call in evaluator.module.calls:
        source = call.get("source")
        child_folder = folder / source if isinstance(source, str) and source.startswith(("./", "../")) else None
        if child_folder is None or not child_folder.is_dir() or depth >= MAX_MODULE_DEPTH or "count" in call:
            continue  # a registry or git module, or one repeated by count/for_each: only a plan knows its resources
        children.add(child_folder.resolve())
        child = _read_module(child_folder, errors)
        child.variables.update({k: evaluator.value(v) for k, v in call.items() if k not in MODULE_META})
        child.default_tags = evaluator.module.default_tags
        child_evaluator = Evaluator(child, f"{evaluator.prefix}module.{name}.")
        found += _with_children(child_evaluator, child_folder, errors, children, depth + 1)
    return found


def _parse(path: Path) -> Any:
    try:
        return hcl2.parses(path.read_text(encoding="utf-8"))
    except UnexpectedInput as error:
        raise IacFileError(path, error.line, f"not valid HCL: {_first_line(error)}") from None
    except (LarkError, ValueError, RuntimeError) as error:
        raise IacFileError(path, None, f"not valid HCL: {_first_line(error)}") from None
    except UnicodeDecodeError:
        raise IacFileError(path, None, "not UTF-8 text") from None


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or ["parse error"])[0]


def _loads(path: Path) -> dict[str, Any]:
    tree = _parse(path)
    return tree.body.serialize(OPTIONS) or {}


def _collect(module: Module, path: Path) -> None:
    tree = _parse(path)
    for block in tree.body.children:
        if not isinstance(block, BlockRule):
            continue
        labels = [str(label.serialize(OPTIONS)).strip('"') for label in block.labels]
        body = block.body.serialize(OPTIONS) or {}
        kind = labels[0]
        if kind == "resource" and len(labels) == 3:
            module.resources.append((labels[1], labels[2], body, str(path), block._meta.line))
        elif kind == "module" and len(labels) == 2:
            module.calls.append((labels[1], body))
        elif kind == "variable" and len(labels) == 2 and "default" in body:
            module.variables.setdefault(labels[1], body["default"])
        elif kind == "locals":
            module.locals.update(body)
        elif kind == "provider" and labels[1:] == ["aws"] and "alias" not in body:
            module.region = body.get("region", module.region)
            tags = (body.get("default_tags") or [{}])[0]
            module.default_tags = tags.get("tags", {}) if isinstance(tags, dict) else {}


class Evaluator:
    def __init__(self, module: Module, prefix: str = "") -> None:
        self.module = module
        self.prefix = prefix  # module.net. for a child module's resources
        self.addresses: set[str] = set()
        self._locals: dict[str, Any] = {}
        self._busy: set[str] = set()
        self.scope: dict[str, Any] = {}  # count.index, each.key, each.value of the instance being read

    def resources(self) -> list[TfResource]:
        for kind, name, body, _, _ in self.module.resources:
            self.addresses.update(self._instance_addresses(kind, name, body))
        found = []
        for kind, name, body, file, line in self.module.resources:
            for address, scope in self._instances(kind, name, body):
                self.scope = scope
                values = {k: self.value(v) for k, v in body.items() if k not in META_ARGUMENTS}
                values.update(self._dynamic_blocks(body.get("dynamic")))
                values["tags_all"] = self._tags_all(values.get("tags"))
                found.append(TfResource(address, kind, values, file, line))
        self.scope = {}
        return found

    def _dynamic_blocks(self, dynamic: Any) -> dict[str, Any]:
        """`dynamic "x" { for_each, content }`: the blocks a known for_each makes, else a Ref (a plan knows them)."""
        found: dict[str, Any] = {}
        for entry in dynamic if isinstance(dynamic, list) else []:
            for label, spec in entry.items() if isinstance(entry, dict) else []:
                each = self.value(spec.get("for_each")) if isinstance(spec, dict) else None
                content = (spec.get("content") or [{}])[0] if isinstance(spec, dict) else {}
                if isinstance(each, dict | list) and isinstance(content, dict):
                    name = spec.get("iterator", label)
                    items = each.items() if isinstance(each, dict) else enumerate(each)
                    outer = dict(self.scope)
                    blocks = []
                    for key, item in items:
                        self.scope = {**outer, f"{name}.key": key, f"{name}.value": item}
                        blocks.append({k: self.value(v) for k, v in content.items()})
                    self.scope = outer
                    found[label] = blocks
                else:
                    found[label] = Ref((f"dynamic {label}",), ())
        return found

    def _instance_addresses(self, kind: str, name: str, body: dict[str, Any]) -> list[str]:
        return [address for address, _ in self._instances(kind, name, body)] + [f"{self.prefix}{kind}.{name}"]

    def _instances(self, kind: str, name: str, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        base = f"{self.prefix}{kind}.{name}"
        if "count" in body:
            count = self.value(body["count"])
            if isinstance(count, int) and not isinstance(count, bool):
                return [(f"{base}[{i}]", {"count.index": i}) for i in range(count)]
        if "for_each" in body:
            each = self.value(body["for_each"])
            if isinstance(each, dict):
                return [(f"{base}[{json.dumps(k)}]", {"each.key": k, "each.value": v}) for k, v in each.items()]
            if isinstance(each, list) and all(isinstance(k, str) for k in each):
                return [(f"{base}[{json.dumps(k)}]", {"each.key": k, "each.value": k}) for k in each]
        return [(base, {})]

    def _tags_all(self, tags: Any) -> Any:
        defaults = self.value(self.module.default_tags)
        if isinstance(tags, Ref) or isinstance(defaults, Ref):
            return tags if isinstance(tags, Ref) else defaults
        return {**(defaults if isinstance(defaults, dict) else {}), **(tags if isinstance(tags, dict) else {})}

    # -- values ------------------------------------------------------------------------------------------------------

    def value(self, raw: Any) -> Any:
        if isinstance(raw, str):
            return self._string(raw)
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items()}
        return raw

    def _string(self, raw: str) -> Any:
        parts = _split_template(raw)
        if len(parts) == 1 and parts[0][0] == "expr":
            return self._expression(parts[0][1])
        pieces: list[str] = []
        refs: list[Ref] = []
        for kind, content in parts:
            if kind == "text":
                pieces.append(content.replace("$${", "${").replace("%%{", "%{"))
                continue
            got = self._expression(content)
            if isinstance(got, Ref):
                refs.append(got)
            elif isinstance(got, (dict, list)):
                refs.append(Ref((content,), ()))
            else:
                pieces.append(_scalar(got))
        return merge_refs(refs) if refs else "".join(pieces)

    def _expression(self, expr: str) -> Any:
        expr = expr.strip()
        if expr in self.scope:
            return self.scope[expr]
        if expr.startswith("var.") and re.fullmatch(r"var\.\w+", expr):
            name = expr[4:]
            return self.value(self.module.variables[name]) if name in self.module.variables else Ref((expr,), ())
        if re.fullmatch(r"local\.\w+", expr):
            return self._local(expr[6:])
        call = re.fullmatch(r"(jsonencode|merge|toset|tolist|tostring|lower|upper)\((.*)\)", expr, re.S)
        if call:
            return self._call(call.group(1), call.group(2), expr)
        literal = _literal(expr)
        if literal is not None:
            return literal
        return self._reference(expr)

    def _local(self, name: str) -> Any:
        if name not in self.module.locals:
            return Ref((f"local.{name}",), ())
        if name in self._busy:
            return Ref((f"local.{name}",), ())
        if name not in self._locals:
            self._busy.add(name)
            self._locals[name] = self.value(self.module.locals[name])
            self._busy.discard(name)
        return self._locals[name]

    def _call(self, function: str, arguments: str, expr: str) -> Any:
        try:
            args = hcl2.loads(f"v = [{arguments}]\n", serialization_options=OPTIONS)["v"]
        except (LarkError, ValueError, RuntimeError, KeyError):
            return self._reference(expr)
        values = [self.value(a) for a in args]
        refs = [r for v in values for r in _refs_in(v)]
        if refs:
            return merge_refs(refs)
        if function == "jsonencode" and len(values) == 1:
            return json.dumps(values[0])
        if function == "merge" and all(isinstance(v, dict) for v in values):
            merged: dict[str, Any] = {}
            for v in values:
                merged.update(v)
            return merged
        if function in ("toset", "tolist") and len(values) == 1 and isinstance(values[0], list):
            return list(dict.fromkeys(values[0]))
        if function in ("tostring", "lower", "upper") and len(values) == 1:
            text = _scalar(values[0])
            return text.lower() if function == "lower" else text.upper() if function == "upper" else text
        return self._reference(expr)

    def _reference(self, expr: str) -> Ref:
        refs, targets = [], []
        for match in REFERENCE.finditer(expr):
            base, index, attribute = match.group(1), match.group(2) or "", match.group(3) or ""
            if base.split(".")[0] in ROOTS_NOT_RESOURCES:
                continue
            refs.append(self.prefix + base + index + attribute)
            for address in (self.prefix + base + index, self.prefix + base):
                if address in self.addresses:
                    targets.append(address)
                    break
        return Ref(tuple(dict.fromkeys(refs or [expr])), tuple(dict.fromkeys(targets)))


def _split_template(raw: str) -> list[tuple[str, str]]:
    """Text and ${...} parts of an HCL string; `$${` is an escaped literal."""
    parts: list[tuple[str, str]] = []
    i, start = 0, 0
    while i < len(raw):
        if raw.startswith("$${", i):
            i += 3
            continue
        if raw.startswith("${", i):
            depth, j, quoted = 1, i + 2, False
            while j < len(raw) and depth:
                char = raw[j]
                if char == '"' and raw[j - 1] != "\\":
                    quoted = not quoted
                elif not quoted and char == "{":
                    depth += 1
                elif not quoted and char == "}":
                    depth -= 1
                j += 1
            if raw[start:i]:
                parts.append(("text", raw[start:i]))
            parts.append(("expr", raw[i + 2 : j - 1]))
            i = start = j
            continue
        i += 1
    if raw[start:] or not parts:
        parts.append(("text", raw[start:]))
    return parts


def _literal(expr: str) -> Any:
    if expr in ("true", "false"):
        return expr == "true"
    if expr == "null":
        return None
    if re.fullmatch(r"-?\d+", expr):
        return int(expr)
    if re.fullmatch(r'"[^"$]*"', expr):
        return expr[1:-1]
    return None


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _refs_in(value: Any) -> list[Ref]:
    if isinstance(value, Ref):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs_in(v)]
    return []
