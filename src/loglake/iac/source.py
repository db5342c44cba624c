"""What every reader shares: a value only known after deploy (`Ref`), a file that cannot be read (`IacFileError`),
and a `Stack` (one plan, one HCL folder or one template) as an Inventory plus what its code left unresolved."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loglake.inventory.snapshot import Inventory

PLACEHOLDER_ACCOUNT = "ACCOUNT_ID"  # the code does not say which account it deploys to


class IacFileError(Exception):
    """A file that cannot be parsed: the message names the file and the line."""

    def __init__(self, path: Path | str, line: int | None, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Ref:
    """A value the code computes from other resources (known only after deploy): what it refers to.

    `refs` are the references as Terraform or CloudFormation write them (`aws_s3_bucket.data.arn`, `Bucket.Arn`),
    `targets` the resources they name (`aws_s3_bucket.data`, `Bucket`)."""

    refs: tuple[str, ...]
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"(known after deploy: {', '.join(self.refs) or 'computed'})"


@dataclass
class Stack:
    """One unit of code, read into an Inventory; resources carry `source` = {file, line, address}."""

    path: str
    kind: str  # terraform-plan, terraform-hcl, cloudformation
    inventory: Inventory
    unresolved: list[dict[str, Any]] = field(default_factory=list)  # {resource, what, refs}: read but not decided
    errors: list[IacFileError] = field(default_factory=list)


def located(res: dict[str, Any], file: str, line: int | None, address: str, kind: str | None = None) -> dict[str, Any]:
    """Where the resource is written; `kind` is its type in the code (`aws_lb`, `AWS::Serverless::Api`)."""
    res["source"] = {"file": file, "line": line or 1, "address": address, "kind": kind or res["type"]}
    return res


DATA_EVENT_CHECKS = ("s3.data_events", "dynamodb.data_events", "lambda.data_events")


def merge_refs(refs: list[Ref]) -> Ref:
    """One Ref for a value built from several (a template, a function over references)."""
    return Ref(
        tuple(dict.fromkeys(r for ref in refs for r in ref.refs)),
        tuple(dict.fromkeys(t for ref in refs for t in ref.targets)),
    )


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def flag(value: Any, default: bool) -> bool:
    """A boolean as code writes it (CloudFormation also accepts "true"/"false"); the provider default otherwise."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value if isinstance(value, bool) else default


def shown(value: Any) -> str | None:
    """A destination as evidence: the literal, or the reference that will fill it."""
    if isinstance(value, Ref):
        return value.refs[0] if value.refs else str(value)
    return text(value)


class StackBuilder:
    """What both readers' builders share: the stack they fill and the notes on what code leaves undecided."""

    when = "deploy"  # when a computed value becomes known, in the source's own words

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.inventory = stack.inventory

    def note(self, address: str, note: str, checks: tuple[str, ...] = (), manual: bool = False) -> None:
        self.stack.unresolved.append({"address": address, "note": note, "checks": checks, "manual": manual})

    def computed(self, address: str, value: Any, what: str, checks: tuple[str, ...]) -> None:
        """A logging setting the code computes (a condition, a variable without a value): its checks are manual."""
        if isinstance(value, Ref):
            self.note(address, f"{what} is known only after {self.when} ({', '.join(value.refs)})", checks, manual=True)

    def unresolved_selector(self, trail: str, value: Ref) -> str:
        """A trail selector value known only after deploy: the resources it names get a manual row, not a guess."""
        for target in value.targets:
            self.note(
                target,
                f"trail {trail} selects data events by {', '.join(value.refs)}, known only after {self.when}: "
                "cannot tell whether it covers every object",
                DATA_EVENT_CHECKS,
                manual=True,
            )
        return str(value)


def listed(value: Any) -> list[Any]:
    """A list property, or nothing when the code computes it (`!If`, a reference): never iterate a Ref."""
    return value if isinstance(value, list) else []


def mapped(value: Any) -> dict[str, Any]:
    """A mapping property, or nothing when the code computes it."""
    return value if isinstance(value, dict) else {}
