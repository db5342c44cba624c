"""What a check is: one small unit with its metadata (id, service, resource types, description, remediation,
severity rule, options it accepts) and `evaluate(resource, ctx, options) -> Result` (Prowler style)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from loglake.inventory.snapshot import Inventory

PASS = "pass"
FAIL = "fail"
MANUAL = "manual"  # cannot be decided from the snapshot (e.g. a bucket in another account)

SEVERITY_BY_LEVEL = {"full": "high", "standard": "medium", "minimal": "low", "baseline": "high"}
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class Result:
    status: str
    evidence: str


@dataclass
class AuditContext:
    """What checks may look at besides their resource: the whole snapshot, derived once."""

    inventory: Inventory
    log_buckets: dict[str, str] = field(default_factory=dict)  # bucket name -> what delivers logs to it
    trails: list[dict[str, Any]] = field(default_factory=list)
    exposure: dict[str, str | None] = field(default_factory=dict)  # arn -> measured reachability
    cwl_retention_days: int = 365


class Check(ABC):
    id: ClassVar[str]
    service: ClassVar[str]  # the requirements key in policy.yaml, or "baseline"
    resource_types: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    remediation: ClassVar[str]
    options: ClassVar[dict[str, tuple[Any, ...]]] = {}  # option -> allowed values (a list option: any subset)

    def applies(self, res: dict[str, Any]) -> bool:
        return res["type"] in self.resource_types

    def severity(self, level: str) -> str:
        return SEVERITY_BY_LEVEL.get(level, "medium")

    @abstractmethod
    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        """Pass or fail for one resource, with the evidence."""

    @classmethod
    def validate_options(cls, options: dict[str, Any]) -> str | None:
        if not isinstance(options, dict):
            return "options must be a mapping"
        for key, value in options.items():
            if key not in cls.options:
                allowed = ", ".join(cls.options) or "none"
                return f"unknown option {key!r} (options: {allowed})"
            allowed_values = cls.options[key]
            values = value if isinstance(value, list) else [value]
            bad = [v for v in values if v not in allowed_values]
            if bad:
                return f"{key}: {bad[0]!r} is not allowed (use {', '.join(map(str, allowed_values))})"
        return None


def passed(evidence: str) -> Result:
    return Result(PASS, evidence)


def failed(evidence: str) -> Result:
    return Result(FAIL, evidence)
