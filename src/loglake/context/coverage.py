"""Coverage: for each current asset, whether the logs its level requires are arriving in the lake.

The audit says whether a logging setting is on; this says whether its logs actually land. Each required check
that a lake table delivers is looked up there: the last record seen for the asset (matched through the same
identifier index as the `_ctx` views; a VPC's flows are those of the assets in it, or those naming it), and:

- `off`: the audit found the setting off (the check fails), so nothing is expected;
- `missing`: the setting is on but the lake holds no record for the asset;
- `stale`: the last record is older than the window;
- `ok`: a record arrived within the window.

Checks no lake table delivers per asset (CloudWatch-only logs, connection logs) are not listed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from loglake.context.views import asset_columns, view_name
from loglake.lake import catalog as lake_catalog
from loglake.policy.assets import ASSETS
from loglake.policy.audit import SERVICE_OF
from loglake.policy.config import Policy
from loglake.query import engine

OK, STALE, MISSING, OFF = "ok", "stale", "missing", "off"


@dataclass(frozen=True)
class Source:
    """The lake tables delivering a check's logs, and which of their rows count."""

    tables: tuple[str, ...]
    where: str = "TRUE"


SOURCES = {
    "s3.server_access_logging": Source(("s3_access_logs",)),
    "s3.data_events.read": Source(("cloudtrail_logs",), "eventcategory = 'Data' AND readonly = 'true'"),
    "s3.data_events.write": Source(("cloudtrail_logs",), "eventcategory = 'Data' AND readonly = 'false'"),
    "vpc.flow_logs.all": Source(("vpc_flow_logs",)),
    "vpc.flow_logs.reject": Source(("vpc_flow_logs",), "action = 'REJECT'"),
    "elb.access_logs": Source(("alb_access_logs", "elb_logs", "nlb_tls_logs")),
    "cloudfront.logging": Source(("cloudfront_logs",)),
    "apigw.access_logging": Source(("apigateway_logs",)),
}
COLUMNS = ("asset", "asset_type", "sensitivity", "level", "check_id", "source", "last_seen", "status")


def coverage(lake: Path, policy: Policy, stale_after: dt.timedelta, now: dt.datetime | None = None) -> list[dict]:
    """One row per (current asset, required check a lake table delivers)."""
    now = now or dt.datetime.now(dt.UTC)
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    if ASSETS not in lake_catalog.table_names(catalog):
        raise lake_catalog.LakeError(f"{lake} has no assets table; run `loglake inventory --lake {lake}` first")
    con = engine.connect(lake)
    assets = con.execute(
        f"SELECT resource_arn, resource_type, name, sensitivity, level, failing_checks FROM {ASSETS} "
        "WHERE valid_to IS NULL AND level IS NOT NULL ORDER BY resource_type, name"
    ).fetchall()
    last_seen: dict[str, dict[str, dt.datetime]] = {}  # check -> asset ARN -> newest record
    rows = []
    for arn, rtype, name, sensitivity, level, failing in assets:
        for requirement in policy.required(SERVICE_OF.get(rtype, ""), level):
            source = SOURCES.get(requirement.check_id)
            if source is None:
                continue
            if requirement.check_id not in last_seen:
                last_seen[requirement.check_id] = _last_seen(con, source)
            last = last_seen[requirement.check_id].get(arn)
            status = _status(requirement.check_id in (failing or []), last, now, stale_after)
            rows.append(
                dict(zip(COLUMNS, (name, rtype, sensitivity, level, requirement.check_id,
                                   ", ".join(source.tables), last, status), strict=True))
            )  # fmt: skip
    return rows


def _status(off: bool, last: dt.datetime | None, now: dt.datetime, stale_after: dt.timedelta) -> str:
    if off:
        return OFF
    if last is None:
        return MISSING
    return STALE if now - last > stale_after else OK


def _last_seen(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, dt.datetime]:
    """Asset ARN -> the time of the newest row of the source's tables for that asset."""
    present = {row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    parts = []
    for table in source.tables:
        if view_name(table) not in present:
            continue
        rows = f'SELECT * FROM "{view_name(table)}" WHERE {source.where}'
        parts.append(f"SELECT asset_arn, max(lake_time) AS last FROM ({rows}) GROUP BY asset_arn")
        if table == "vpc_flow_logs" and "vpc_id" in asset_columns(con):
            # a VPC's flows: those of the assets in it, and those naming it (v3+ fields)
            parts.append(
                f"SELECT v.resource_arn, max(f.lake_time) FROM ({rows}) AS f JOIN {ASSETS} AS a "
                "ON a.resource_arn = f.asset_arn AND a.valid_to IS NULL "
                f"JOIN {ASSETS} AS v ON v.vpc_id = a.vpc_id AND v.resource_type = 'AWS::EC2::VPC' "
                "AND v.valid_to IS NULL GROUP BY v.resource_arn"
            )
            parts.append(
                f"SELECT v.resource_arn, max(f.lake_time) FROM ({rows}) AS f JOIN {ASSETS} AS v "
                "ON v.vpc_id = f.vpc_id AND v.resource_type = 'AWS::EC2::VPC' AND v.valid_to IS NULL "
                "GROUP BY v.resource_arn"
            )
    if not parts:
        return {}
    union = " UNION ALL ".join(parts)
    found = con.execute(f"SELECT asset_arn, max(last) FROM ({union}) AS u(asset_arn, last) GROUP BY 1").fetchall()
    return {arn: last for arn, last in found if arn is not None}
