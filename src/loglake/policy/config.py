"""policy.yaml: the built-in defaults (defaults.yaml beside this file) with the user's file merged over them.

A bad file gets one line naming the file, the line and the key: `policy.yaml line 12: matrix.internal.internet:
'ful' is not a level (use full, standard, minimal)`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SENSITIVITIES = ("restricted", "internal", "public")  # most to least sensitive
REACHABILITIES = ("internet", "internal", "isolated")  # most to least exposed
LEVELS = ("full", "standard", "minimal")
SERVICES = ("s3", "vpc", "elb", "cloudfront", "apigateway", "rds", "dynamodb", "lambda", "opensearch")
DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")
DEFAULT_POLICY = Path("policy.yaml")


class PolicyError(Exception):
    """policy.yaml cannot be used as written: the message names the line and the key."""


@dataclass(frozen=True)
class Requirement:
    check_id: str
    options: dict[str, Any]


@dataclass
class Policy:
    data: dict[str, Any]
    source: str = "built-in defaults"

    @property
    def classification(self) -> dict[str, Any]:
        return self.data["classification"]

    @property
    def discovery(self) -> dict[str, Any]:
        return self.data["discovery"]

    def level(self, sensitivity: str, reachability: str) -> str:
        return self.data["matrix"][sensitivity][reachability]

    def required(self, service: str, level: str) -> list[Requirement]:
        items = (self.data["requirements"].get(service) or {}).get(level) or []
        return [_requirement(item) for item in items]

    @property
    def baseline_checks(self) -> list[str]:
        return list(self.data["baseline"]["checks"])

    @property
    def cwl_retention_days(self) -> int:
        return int(self.data["baseline"]["cwl_retention_days"])


def _requirement(item: Any) -> Requirement:
    if isinstance(item, str):
        return Requirement(item, {})
    (check_id, options), *_ = item.items()
    return Requirement(check_id, dict(options or {}))


def default_policy_path() -> Path | None:
    env = os.environ.get("LOGLAKE_POLICY")
    if env:
        return Path(env)
    return DEFAULT_POLICY if DEFAULT_POLICY.exists() else None


def load_policy(path: Path | None = None) -> Policy:
    defaults, _ = _parse(DEFAULTS_FILE.read_text(), str(DEFAULTS_FILE))
    if path is None:
        return Policy(defaults)
    if not path.exists():
        raise PolicyError(f"{path}: no such policy file; pass --config with an existing policy.yaml")
    text = path.read_text()
    user, lines = _parse(text, path.name)
    if user is None:
        return Policy(defaults, str(path))
    if not isinstance(user, dict):
        raise PolicyError(f"{path.name} line 1: the policy must be a mapping of sections ({', '.join(defaults)})")
    _Validator(path.name, lines).validate(user, defaults)
    return Policy(_merge(defaults, user), str(path))


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return over


# -- YAML with line numbers ---------------------------------------------------------------------------------------


def _parse(text: str, name: str) -> tuple[Any, dict[tuple, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise PolicyError(f"{name}{where}: invalid YAML: {problem}") from None
    lines: dict[tuple, int] = {}
    if node is None:
        return None, lines
    _lines(node, (), lines)
    try:
        return yaml.SafeLoader("").construct_document(node), lines
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise PolicyError(f"{name}{where}: invalid YAML: {getattr(error, 'problem', error)}") from None


def _lines(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> None:
    """Where each key and item starts, so a message can name the line."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _lines(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), lines)


class _Validator:
    def __init__(self, name: str, lines: dict[tuple, int]) -> None:
        self.name = name
        self.lines = lines

    def fail(self, path: tuple, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe, 1)
        dotted = ".".join(str(p) for p in path)
        raise PolicyError(f"{self.name} line {line}: {dotted}: {message}" if dotted else f"{self.name}: {message}")

    def keys(self, value: Any, path: tuple, allowed: tuple | list, what: str = "key") -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping with keys {', '.join(allowed)}")
        for key in value:
            if key not in allowed:
                self.fail((*path, key), f"unknown {what} {key!r} (use {', '.join(map(str, allowed))})")
        return value

    def words(self, value: Any, path: tuple) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(path, "expected a list of words, e.g. [a, b]")
        return value

    def integer(self, value: Any, path: tuple, minimum: int = 0) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.fail(path, f"expected a whole number >= {minimum}, got {value!r}")

    def validate(self, user: dict, defaults: dict) -> None:
        self.keys(user, (), tuple(defaults), "section")
        if "classification" in user:
            self.classification(user["classification"], defaults["classification"])
        if "matrix" in user:
            matrix = self.keys(user["matrix"], ("matrix",), SENSITIVITIES, "sensitivity")
            for sensitivity, given in matrix.items():
                row = self.keys(given, ("matrix", sensitivity), REACHABILITIES, "reachability")
                for reachability, level in row.items():
                    if level not in LEVELS:
                        self.fail(
                            ("matrix", sensitivity, reachability), f"{level!r} is not a level (use {', '.join(LEVELS)})"
                        )
        if "requirements" in user:
            self.requirements(user["requirements"])
        if "baseline" in user:
            from loglake.policy.checks import BASELINE_CHECKS

            baseline = self.keys(user["baseline"], ("baseline",), ("checks", "cwl_retention_days"))
            if "checks" in baseline:
                for i, check in enumerate(self.words(baseline["checks"], ("baseline", "checks"))):
                    if check not in BASELINE_CHECKS:
                        self.fail(
                            ("baseline", "checks", i),
                            f"unknown baseline check {check!r} (use {', '.join(BASELINE_CHECKS)})",
                        )
            if "cwl_retention_days" in baseline:
                self.integer(baseline["cwl_retention_days"], ("baseline", "cwl_retention_days"), 1)
        if "discovery" in user:
            discovery = self.keys(user["discovery"], ("discovery",), tuple(defaults["discovery"]))
            for key, value in discovery.items():
                if key == "restricted_types":
                    self.words(value, ("discovery", key))
                else:
                    self.integer(value, ("discovery", key), 1)

    def classification(self, value: Any, defaults: dict) -> None:
        section = self.keys(value, ("classification",), tuple(defaults))
        path = ("classification",)
        if "tags" in section:
            tags = self.keys(section["tags"], (*path, "tags"), tuple(defaults["tags"]))
            for key, keys in tags.items():
                self.words(keys, (*path, "tags", key))
        for name, allowed in (("sensitivity_values", SENSITIVITIES), ("reachability_values", REACHABILITIES)):
            if name in section:
                for key, words in self.keys(section[name], (*path, name), allowed).items():
                    self.words(words, (*path, name, key))
        if "environments" in section:
            envs = section["environments"]
            if not isinstance(envs, dict):
                self.fail((*path, "environments"), "expected a mapping of environment -> sensitivity")
            for env, sensitivity in envs.items():
                if sensitivity not in SENSITIVITIES:
                    self.fail(
                        (*path, "environments", env),
                        f"{sensitivity!r} is not a sensitivity (use {', '.join(SENSITIVITIES)})",
                    )
        if "naming" in section:
            naming = self.keys(section["naming"], (*path, "naming"), ("pattern", "env", "exposure"))
            if "pattern" in naming:
                pattern = naming["pattern"]
                if not isinstance(pattern, str) or "{" not in pattern:
                    self.fail(
                        (*path, "naming", "pattern"),
                        "expected a pattern with placeholders, e.g. '{env}-{exposure}-{app}'",
                    )
                try:
                    from loglake.classify.naming import compile_pattern

                    compile_pattern(pattern, ["x"], {"x": "internal"})
                except ValueError as error:
                    self.fail((*path, "naming", "pattern"), str(error))
            if "env" in naming:
                self.words(naming["env"], (*path, "naming", "env"))
            if "exposure" in naming:
                exposure = naming["exposure"]
                if not isinstance(exposure, dict):
                    self.fail((*path, "naming", "exposure"), "expected a mapping of name token -> reachability")
                for token, reachability in exposure.items():
                    if reachability not in REACHABILITIES:
                        self.fail(
                            (*path, "naming", "exposure", token),
                            f"{reachability!r} is not a reachability (use {', '.join(REACHABILITIES)})",
                        )
        if "defaults" in section:
            found = self.keys(section["defaults"], (*path, "defaults"), ("sensitivity", "reachability"))
            if found.get("sensitivity", "internal") not in SENSITIVITIES:
                self.fail((*path, "defaults", "sensitivity"), f"use one of {', '.join(SENSITIVITIES)}")
            if found.get("reachability", "internal") not in REACHABILITIES:
                self.fail((*path, "defaults", "reachability"), f"use one of {', '.join(REACHABILITIES)}")

    def requirements(self, value: Any) -> None:
        from loglake.policy.checks import CHECKS

        services = self.keys(value, ("requirements",), SERVICES, "service")
        for service, given in services.items():
            if given is None:
                continue
            levels = self.keys(given, ("requirements", service), LEVELS, "level")
            for level, items in levels.items():
                path = ("requirements", service, level)
                if items is None:
                    continue
                if not isinstance(items, list):
                    self.fail(path, "expected a list of check ids")
                for i, item in enumerate(items):
                    check_id = (
                        item if isinstance(item, str) else next(iter(item), None) if isinstance(item, dict) else None
                    )
                    if not isinstance(check_id, str) or (isinstance(item, dict) and len(item) != 1):
                        self.fail((*path, i), "expected a check id or {check_id: {option: value}}")
                    check = CHECKS.get(check_id)
                    if check is None or check.service != service:
                        known = [c.id for c in CHECKS.values() if c.service == service]
                        self.fail((*path, i), f"unknown check {check_id!r} for {service} (use {', '.join(known)})")
                    options = item[check_id] if isinstance(item, dict) else {}
                    problem = check.validate_options(options or {})
                    if problem:
                        self.fail((*path, i, check_id), problem)
