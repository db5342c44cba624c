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


def located(res: dict[str, Any], file: str, line: int | None, address: str) -> dict[str, Any]:
    res["source"] = {"file": file, "line": line or 1, "address": address}
    return res
