"""`loglake iac check PATH...`: find the code, read each stack, run the live audit on it, and say where each finding
is written and what fixes it. A file that does not parse is reported with its line and the others are still checked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loglake.iac import cloudformation, terraform, terraform_hcl, terraform_plan
from loglake.iac.cloudformation_fixes import snippet
from loglake.iac.source import PLACEHOLDER_ACCOUNT, IacFileError, Stack
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory
from loglake.policy.audit import audit, log_buckets
from loglake.policy.checks import FAIL, MANUAL
from loglake.policy.config import Policy
from loglake.policy.fixes.plan import RemediationOptions, build_plan
from loglake.policy.fixes.terraform import terraform_by_finding

DEFAULT_REGION = "us-east-1"
SHAPE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError)
TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")
SKIP_DIRS = {".terraform", ".git", "node_modules", ".venv", "__pycache__", ".aws-sam", "cdk.out"}
# checks the live audit runs that code cannot decide: skipped, and said so (never a pass)
SKIPPED = {
    "cloudtrail.multi_region": "account-wide: a trail in another stack or the organization may record management "
    "events; `loglake audit` checks it on the deployed account",
    "cwl.retention": "applies to log groups that hold logs; a group declared in code holds none yet",
}
NOT_READ = (
    "data discovery (no objects exist in code) and the account-wide S3 public access block (not in the code: "
    "buckets are judged without it, so exposure is never understated)"
)
NEITHER = "neither a `terraform show -json` plan nor a CloudFormation template (nor a .tf file)"
COLUMNS = (
    "file",
    "line",
    "address",
    "resource_type",
    "name",
    "sensitivity",
    "reachability",
    "level",
    "check_id",
    "status",
    "severity",
    "evidence",
    "remediation",
    "fix",
    "resource_arn",
    "region",
)


class IacPathError(Exception):
    """A PATH that does not exist or holds nothing to check: the user's to fix."""


@dataclass
class Report:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[IacFileError] = field(default_factory=list)
    stacks: list[Stack] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=lambda: dict(SKIPPED))


def check_paths(
    paths: list[Path],
    policy: Policy,
    *,
    region: str | None = None,
    account: str | None = None,
    log_bucket: str | None = None,
) -> Report:
    report = Report()
    called: set[Path] = set()  # module folders a root module read already: not roots of their own
    for kind, path in sorted(find_sources(paths), key=lambda source: len(source[1].resolve().parts)):
        if kind == "hcl" and path.resolve() in called:
            continue
        try:
            stack = read_source(kind, path, region, account or PLACEHOLDER_ACCOUNT, called)
        except IacFileError as error:
            report.errors.append(error)
            continue
        except SHAPE_ERRORS as error:  # a file that parses but has a shape no reader expected: the others go on
            report.errors.append(IacFileError(path, None, f"cannot be read ({type(error).__name__}: {error})"))
            continue
        if stack is None:
            continue
        report.errors.extend(stack.errors)
        report.stacks.append(stack)
        report.rows.extend(check_stack(stack, policy, log_bucket))
    return report


def find_sources(paths: list[Path]) -> Iterator[tuple[str, Path]]:
    """("hcl", folder) for each folder of .tf files; ("file", path) / ("named", path) for plans and templates."""
    seen: set[tuple[str, Path]] = set()
    for source in _sources(paths):
        if (source[0] == "hcl", source[1].resolve()) not in seen:
            seen.add((source[0] == "hcl", source[1].resolve()))
            yield source


def _sources(paths: list[Path]) -> Iterator[tuple[str, Path]]:
    for path in paths:
        if not path.exists():
            raise IacPathError(f"{path} does not exist; pass Terraform folders, plans or CloudFormation templates")
        if path.is_file():
            yield ("hcl", path.parent) if path.suffix == ".tf" else ("named", path)
            continue
        for folder, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            if any(f.endswith(".tf") for f in files):
                yield "hcl", Path(folder)
            for name in sorted(files):
                if name.lower().endswith(TEMPLATE_SUFFIXES):
                    yield "file", Path(folder) / name


def read_source(kind: str, path: Path, region: str | None, account: str, called: set[Path]) -> Stack | None:
    """The stack in a source, or None for a file that is neither a plan nor a template (found by walking a folder)."""
    if kind == "hcl":
        folder = terraform_hcl.read_folder(path)
        called.update(folder.children)
        stack = _stack(path, "terraform-hcl", region or folder.region, account)
        stack.errors.extend(folder.errors)
        return terraform.build_stack(stack, folder.resources)
    if kind == "named" and not path.name.lower().endswith(TEMPLATE_SUFFIXES):
        raise IacFileError(path, None, NEITHER)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise IacFileError(path, None, "not UTF-8 text") from None
    data = cloudformation.parse(path, text)
    if terraform_plan.is_plan(data):
        found, code_region = terraform_plan.read_plan(path, text, data)
        return terraform.build_stack(_stack(path, "terraform-plan", region or code_region, account), found)
    if cloudformation.is_template(data):
        return cloudformation.build_stack(_stack(path, "cloudformation", region, account), data, text)
    if kind == "named":
        raise IacFileError(path, None, NEITHER)
    return None


def _stack(path: Path, kind: str, region: str | None, account: str) -> Stack:
    inventory = Inventory(account=account, regions=[region or DEFAULT_REGION], collected_at=t.now_iso())
    inventory.account_settings["s3_public_access_block"] = None
    return Stack(str(path), kind, inventory)


def check_stack(stack: Stack, policy: Policy, log_bucket: str | None) -> list[dict[str, Any]]:
    inventory = stack.inventory
    rows = [r for r in audit(inventory, policy) if r["check_id"] not in SKIPPED]
    by_arn = inventory.by_arn()
    bucket = log_bucket or _log_bucket_in_code(inventory)
    terraform_fixes = {}
    if stack.kind != "cloudformation":
        actions, _ = build_plan(inventory, rows, policy, RemediationOptions(log_bucket=bucket))
        terraform_fixes = terraform_by_finding(actions)
    fallback = bucket or f"loglake-logs-{inventory.account}-{inventory.regions[0]}"
    found = []
    for row in rows:
        res = by_arn.get(row["resource_arn"])
        source = (res or {}).get("source") or {"file": stack.path, "line": 1, "address": row["name"]}
        _apply_notes(row, source["address"], stack.unresolved)
        fix = ""
        if row["status"] != "pass" and res is not None:
            if stack.kind == "cloudformation":
                fix = snippet(res, row, fallback)
            else:
                fix = terraform_fixes.get((row["check_id"], row["resource_arn"]), "")
        found.append(
            {
                **row,
                "file": _shown_path(source["file"]),
                "line": source["line"],
                "address": source["address"],
                "fix": fix,
            }
        )
    return found


def _log_bucket_in_code(inventory: Inventory) -> str | None:
    """A bucket the code already delivers logs to: fixes send their logs there too."""
    names = {r["name"] for r in inventory.by_type(t.S3_BUCKET)}
    return next((name for name in log_buckets(inventory) if name in names), None)


def _apply_notes(row: dict[str, Any], address: str, notes: list[dict[str, Any]]) -> None:
    for note in notes:
        if note["address"] != address or (note["checks"] and not row["check_id"].startswith(note["checks"])):
            continue
        row["evidence"] = f"{row['evidence']}; {note['note']}"
        if note["manual"] and row["status"] == FAIL:
            row["status"] = MANUAL


def _shown_path(file: str) -> str:
    """Relative to the working directory when below it (what code-scanning UIs expect), with forward slashes."""
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def to_json(report: Report, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The findings shown (all, or the failing ones) with what the run could not read or decide."""
    return {
        "findings": [{k: r[k] for k in COLUMNS} for r in rows],
        "errors": [{"file": _shown_path(e.path), "line": e.line, "error": e.reason} for e in report.errors],
        "skipped_checks": [{"check_id": k, "reason": v} for k, v in report.skipped.items()],
        "not_read": NOT_READ,
        "stacks": [
            {"path": _shown_path(s.path), "kind": s.kind, "resources": len(s.inventory.resources)}
            for s in report.stacks
        ],
    }


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
