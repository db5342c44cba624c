"""The lake's `assets` table: one row per resource version of the posture (classification, level, failing checks)
with the identifiers logs carry, kept as history (valid_from / valid_to) because IPs, ENIs and labels move.

A resource's row stays as long as nothing in it changes; when it changes or disappears, the row is closed
(valid_to = the snapshot's time) and, if it still exists, a new version is appended. Current rows have
valid_to NULL. `snapshot_at` is the last snapshot that saw a version as it is, so a reader knows how fresh it is.
The table is small, so a write reads it whole and replaces it as one Iceberg snapshot, under `locks/assets.lock`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from loglake.classify.classifier import Classification, classify_inventory
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory
from loglake.lake import catalog as lake_catalog
from loglake.lake.catalog import LakeError, LakeLocation
from loglake.lake.locks import locked
from loglake.policy.assets_schema import ASSETS, SCHEMA
from loglake.policy.audit import audit
from loglake.policy.checks import FAIL
from loglake.policy.config import Policy

# Columns that do not describe the resource: a difference in them alone is not a new version.
TIME_COLUMNS = ("snapshot_at", "valid_from", "valid_to")
# Types whose `name` is a label (Name tag, comment, "api/stage") rather than a value found in logs.
LABEL_NAMED = {t.INSTANCE, t.VPC, t.CLOUDFRONT, t.APIGW_STAGE, t.APIGWV2_STAGE}


@dataclass(frozen=True)
class AssetChanges:
    """What one write did, for the command's summary line."""

    added: int
    changed: int
    closed: int
    unchanged: int
    files_rewritten: int = 0  # log files whose asset stamps the change made wrong (context/stamps.py)
    rows_restamped: int = 0


def identifiers(res: dict[str, Any]) -> list[str]:
    """The values a log line would carry for this resource, so a hunt can join logs to assets."""
    config = res.get("config") or {}
    found = [res["arn"]]
    if res["type"] not in LABEL_NAMED:
        found.append(res["name"])
    if res["type"] == t.INSTANCE:
        found += [res["arn"].rsplit("/", 1)[-1], config.get("private_ip"), config.get("public_ip")]
        found += config.get("network_interfaces") or []
    elif res["type"] == t.VPC:
        found += [config.get("vpc_id"), *(s.get("id") for s in config.get("subnets") or [])]
    elif res["type"] in (t.ELBV2, t.CLB):
        found.append(config.get("dns_name"))
        if ":loadbalancer/" in res["arn"]:  # access logs name an ALB/NLB as `app/<name>/<id>`, `net/...`
            found.append(res["arn"].split(":loadbalancer/", 1)[1])
    elif res["type"] == t.CLOUDFRONT:
        found += [config.get("id"), config.get("domain_name"), *(config.get("aliases") or [])]
    elif res["type"] in (t.APIGW_STAGE, t.APIGWV2_STAGE):
        found.append(config.get("api_id"))
        if config.get("api_id") and config.get("stage"):  # access logs carry apiId and stage
            found.append(f"{config['api_id']}/{config['stage']}")
    elif res["type"] == t.ACCOUNT:
        found.append(res.get("account"))
    # interfaces a resource owns besides an instance's own (load balancer nodes, RDS, Lambda ENIs), where known
    for interface in config.get("interfaces") or []:
        found += [interface.get("id"), interface.get("private_ip"), interface.get("public_ip")]
    return sorted({value for value in found if value})


def asset_rows(inventory: Inventory, policy: Policy, at: dt.datetime) -> list[dict[str, Any]]:
    """One row per resource of the snapshot, classified and audited the way `loglake audit` does it."""
    classes = classify_inventory(inventory, policy)
    failing: dict[str, dict[str, str]] = {}
    for row in audit(inventory, policy, classes):
        if row["status"] == FAIL:
            failing.setdefault(row["resource_arn"], {})[row["check_id"]] = row["evidence"]
    return [_row(res, classes.get(res["arn"]), policy, failing.get(res["arn"], {}), at) for res in inventory.resources]


def _row(
    res: dict[str, Any], found: Classification | None, policy: Policy, failing: dict[str, str], at: dt.datetime
) -> dict[str, Any]:
    evidence = {
        "sensitivity": found.sensitivity_evidence if found else [],
        "reachability": found.reachability_evidence if found else [],
        "conflicts": found.conflicts if found else [],
        "failing": failing,
    }
    return {
        "resource_arn": res["arn"],
        "resource_type": res["type"],
        "name": res["name"],
        "account": res.get("account"),
        "region": res.get("region"),
        "vpc_id": res.get("vpc_id"),
        "tags": sorted((res.get("tags") or {}).items()),
        "sensitivity": found.sensitivity if found else None,
        "reachability": found.reachability if found else None,
        "level": policy.level(found.sensitivity, found.reachability) if found else None,
        "failing_checks": sorted(failing),
        "evidence": json.dumps(evidence, sort_keys=True),  # sorted: the same evidence is the same text
        "identifiers": identifiers(res),
        "snapshot_at": at,
        "valid_from": at,
        "valid_to": None,
    }


def merge_history(
    existing: list[dict[str, Any]], fresh: list[dict[str, Any]], at: dt.datetime
) -> tuple[list[dict[str, Any]], AssetChanges]:
    """The table after a snapshot taken at `at`: closed rows kept, changed or gone current rows closed, new
    versions appended, unchanged current rows kept (with `snapshot_at` moved to `at`)."""
    newest = max((row["valid_from"] for row in existing), default=None)
    if newest is not None and at < newest:
        raise LakeError(f"the snapshot of {at.isoformat()} is older than the lake's assets ({newest.isoformat()})")
    by_arn = {row["resource_arn"]: row for row in fresh}
    rows = [row for row in existing if row["valid_to"] is not None]
    counts = {"added": 0, "changed": 0, "closed": 0, "unchanged": 0}
    for row in existing:
        if row["valid_to"] is not None:
            continue
        new = by_arn.pop(row["resource_arn"], None)
        if new is not None and _content(new) == _content(row):
            rows.append({**row, "snapshot_at": at})
            counts["unchanged"] += 1
            continue
        counts["changed" if new is not None else "closed"] += 1
        if row["valid_from"] < at:  # a version that held for no time (same snapshot audited again) is replaced
            rows.append({**row, "valid_to": at})
        if new is not None:
            rows.append(new)
    rows += by_arn.values()
    counts["added"] = len(by_arn)
    return rows, AssetChanges(**counts)


def _content(row: dict[str, Any]) -> tuple:
    # Iceberg hands a map back as a list of pairs; compare as sorted pairs whatever the side.
    # by column name: a row read back from Iceberg and a fresh one may list their columns in another order
    return tuple(
        sorted(value) if name == "tags" else value for name, value in sorted(row.items()) if name not in TIME_COLUMNS
    )


def snapshot_time(inventory: Inventory) -> dt.datetime:
    """When the snapshot was taken (UTC); its time stamps the versions it writes."""
    if not inventory.collected_at:
        return dt.datetime.now(dt.UTC)
    at = dt.datetime.fromisoformat(inventory.collected_at)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def write_assets(lake: Path, inventory: Inventory, policy: Policy) -> AssetChanges:
    """Record the snapshot's posture in the lake's `assets` table (created on first use)."""
    at = snapshot_time(inventory)
    fresh = asset_rows(inventory, policy, at)
    with locked(lake, ASSETS):
        catalog = lake_catalog.open_catalog(LakeLocation(lake), create=True)
        table = lake_catalog.ensure_table(catalog, ASSETS, SCHEMA, partitioned=False)
        existing = [] if table.current_snapshot() is None else table.scan().to_arrow().select(SCHEMA.names).to_pylist()
        rows, changes = merge_history(existing, fresh, at)
        with warnings.catch_warnings():  # overwriting an empty table "deletes nothing": expected, not news
            warnings.filterwarnings("ignore", "Delete operation did not match", UserWarning)
            table.overwrite(pa.Table.from_pylist(rows, SCHEMA))
    if changes.added or changes.changed or changes.closed:
        from loglake.context import stamps  # it reads this table: imported here, not at the top

        reports = stamps.restamp(lake)
        changes = dataclasses.replace(
            changes,
            files_rewritten=sum(r.files_rewritten for r in reports),
            rows_restamped=sum(r.rows_restamped for r in reports),
        )
    return changes
