"""An Action is one boto3 call (service, region, operation, params) with what it fixes and its Terraform twin."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Ref:
    """A value another action produces at apply time (a new KMS key's ARN); shown as <name> in a dry run."""

    name: str

    def __repr__(self) -> str:
        return f"<{self.name}>"


@dataclass
class Action:
    service: str
    region: str
    operation: str
    params: dict[str, Any]
    purpose: str  # what it is for, one line
    fixes: list[tuple[str, str]] = field(default_factory=list)  # (check_id, resource_arn)
    terraform: str = ""  # HCL for the same change
    terraform_patch: bool = False  # True: merge into the existing resource definition, not a new resource
    produces: str | None = None  # Ref name this action's answer fills
    extract: Callable[[dict[str, Any]], Any] | None = None
    exists: Callable[[Any], Any] | None = None  # at apply: a value if the thing already exists (skip the call)
    prepare: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None  # at apply: final params from live state
    note: str = ""

    def render(self) -> str:
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.params.items())
        return f"{self.service}.{self.operation}({args})  # {self.region}"


def _show(value: Any) -> str:
    if isinstance(value, Ref):
        return repr(value)
    if isinstance(value, str) and value.startswith("{") and len(value) > 80:
        return "'" + value[:60] + "...'"
    text = json.dumps(value, default=repr) if isinstance(value, dict | list) else repr(value)
    return text if len(text) <= 400 else text[:400] + "..."


def resolve(value: Any, refs: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        return refs[value.name]
    if isinstance(value, dict):
        return {k: resolve(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, refs) for v in value]
    if isinstance(value, str) and "<ref:" in value:
        for name, got in refs.items():
            value = value.replace(f"<ref:{name}>", str(got))
    return value
