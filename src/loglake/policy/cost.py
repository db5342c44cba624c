"""`loglake cost`: what the required logging costs a month, per resource and in total, under the three storage
strategies the article compares -- CloudWatch Logs (ingest + storage + Insights scans), S3 gzip JSON + Athena,
S3 Parquet + Athena -- today and as required. Prices and assumptions come from a dated data file (prices.json).

Volumes: a per-check default (prices.json `volumes_gb_month`), or, with a lake that holds the source's table, the
table's bytes a month spread over the resources that log to it today (REJECT-only flow logs: the lake's share of
rejected flows of that). Each row says which it used (`volume_from`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loglake.classify.classifier import classify_inventory
from loglake.inventory.snapshot import CLB, Inventory
from loglake.policy.audit import SERVICE_OF, build_context
from loglake.policy.checks import CHECKS, PASS
from loglake.policy.checks.vpc import records_all_traffic
from loglake.policy.config import LEVELS, Policy, PolicyError

PRICES_FILE = Path(__file__).with_name("prices.json")
STRATEGIES = ("cloudwatch", "s3_gzip_athena", "s3_parquet_athena")
LAKE_TABLES = {  # check -> the lake table its logs land in (access logs: by load balancer kind, see lake_table)
    "vpc.flow_logs.all": "vpc_flow_logs",
    "vpc.flow_logs.reject": "vpc_flow_logs",
    "alb.connection_logs": "alb_connection_logs",
    "cloudfront.logging": "cloudfront_logs",
    "s3.server_access_logging": "s3_access_logs",
    "apigw.access_logging": "apigateway_logs",
}
ACCESS_LOG_TABLES = {"application": "alb_access_logs", "network": "nlb_tls_logs", "classic": "elb_logs"}


def load_prices(path: Path | None = None) -> dict[str, Any]:
    chosen = path or PRICES_FILE
    try:
        prices = json.loads(chosen.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise PolicyError(f"{chosen}: cannot read prices: {error}") from None
    if path is not None:  # a user's file may hold only what it overrides
        base = json.loads(PRICES_FILE.read_text())
        for key, value in prices.items():
            base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
        prices = base
    return prices


@dataclass
class Variant:
    check_id: str
    key: str  # the volumes key: check id, or check id:option


def _variant(check_id: str, options: dict[str, Any]) -> Variant:
    if check_id == "apigw.execution_logging":
        levels = [level.upper() for level in options.get("levels") or ["ERROR", "INFO"]]
        return Variant(check_id, f"{check_id}:{'ERROR' if 'ERROR' in levels else 'INFO'}")
    if check_id == "rds.log_exports":
        return Variant(check_id, f"{check_id}:{options.get('logs', 'errors')}")
    if check_id == "dynamodb.data_events":
        return Variant(check_id, f"{check_id}:{'write' if options.get('events') == 'write' else 'all'}")
    return Variant(check_id, check_id)


def monthly(check_id: str, gb: float, prices: dict[str, Any]) -> dict[str, float]:
    """$ a month for `gb` raw GB a month of one source, under each strategy (steady state with retention)."""
    a = prices["assumptions"]
    cwl = prices["cloudwatch_logs"]
    months = a["retention_months"]
    scanned = gb * a["days_scanned_per_query"] / 30 * a["queries_per_month"]
    delivery = prices["delivery"].get(check_id, "s3")
    data_events = (
        gb * 1024**3 / a["event_bytes"] / 100_000 * prices["cloudtrail_data_events_per_100k"]
        if delivery == "cloudtrail"
        else 0.0
    )
    to_s3 = {
        "s3": 0.0,
        "cloudtrail": 0.0,
        "vended": prices["vended_logs_to_s3_per_gb"] * gb,
        "cwl": (cwl["ingest_per_gb"] + prices["firehose_per_gb"]) * gb,  # CloudWatch-only sources: subscription
    }[delivery]
    athena_tb = prices["athena_scan_per_tb"] / 1024
    return {
        "cloudwatch": data_events
        + cwl["ingest_per_gb"] * gb
        + cwl["storage_per_gb_month"] * gb * cwl["stored_compression"] * months
        + cwl["insights_scan_per_gb"] * scanned,
        "s3_gzip_athena": data_events
        + to_s3
        + prices["s3"]["storage_per_gb_month"] * gb * a["gzip_ratio"] * months
        + athena_tb * scanned * a["gzip_ratio"],
        "s3_parquet_athena": data_events
        + to_s3
        + prices["s3"]["storage_per_gb_month"] * gb * a["parquet_ratio"] * months
        + athena_tb * scanned * a["parquet_ratio"] * a["parquet_columns_read"],
    }


def estimate(
    inventory: Inventory, policy: Policy, prices: dict[str, Any], lake_volumes: dict[str, LakeVolume] | None = None
) -> list[dict[str, Any]]:
    """One row per (resource, logging source) that is on today or required: GB/month and $/month per strategy."""
    classes = classify_inventory(inventory, policy)
    ctx = build_context(inventory, policy, classes)
    rows = []
    for res in inventory.resources:
        found = classes.get(res["arn"])
        service = SERVICE_OF.get(res["type"])
        if found is None or service is None:
            continue
        level = policy.level(found.sensitivity, found.reachability)
        required = {r.check_id: r for r in policy.required(service, level)}
        candidates: dict[str, dict[str, Any]] = {}
        for any_level in LEVELS:
            for requirement in policy.required(service, any_level):
                candidates.setdefault(requirement.check_id, requirement.options)
        for check_id in candidates:
            check = CHECKS[check_id]
            if not check.applies(res):
                continue
            today = _today_variant(check_id, res, ctx)
            need = _variant(check_id, required[check_id].options) if check_id in required else None
            if today is None and need is None:
                continue
            row = {
                "name": res["name"],
                "resource_type": res["type"],
                "level": level,
                "check_id": check_id,
                "on_today": today is not None,
                "required": need is not None,
            }
            for label, variant in (("today", today), ("required", need)):
                gb, source = _volume(variant, res, prices, lake_volumes) if variant else (0.0, "")
                row[f"gb_{label}"] = round(gb, 3)
                row["volume_from"] = row.get("volume_from") or source
                for strategy, dollars in (
                    monthly(check_id, gb, prices) if gb else dict.fromkeys(STRATEGIES, 0.0)
                ).items():
                    row[f"{strategy}_{label}"] = round(dollars, 2)
            rows.append(row)
    return rows


def _today_variant(check_id: str, res: dict[str, Any], ctx) -> Variant | None:
    """What is on now, and how much of it (INFO rather than ERROR, all logs rather than error logs)."""
    check = CHECKS[check_id]
    richest = {
        "apigw.execution_logging": [{"levels": ["INFO"]}, {"levels": ["ERROR", "INFO"]}],
        "rds.log_exports": [{"logs": "all"}, {"logs": "errors"}],
        "dynamodb.data_events": [{"events": "all"}, {"events": "write"}],
    }.get(check_id, [{}])
    for options in richest:
        if check.evaluate(res, ctx, options).status == PASS:
            return _variant(check_id, options)
    return None


def lake_table(check_id: str, res: dict[str, Any]) -> str | None:
    """The lake table a resource's logs of this check land in."""
    if check_id == "elb.access_logs":
        return ACCESS_LOG_TABLES["classic" if res["type"] == CLB else res["config"].get("lb_type") or "application"]
    return LAKE_TABLES.get(check_id)


def _volume(
    variant: Variant, res: dict[str, Any], prices: dict[str, Any], lake: dict[str, LakeVolume] | None
) -> tuple[float, str]:
    """GB a month of this resource's logs and where the figure comes from: `lake:<table>` or `default`."""
    if variant.check_id == "vpc.flow_logs.reject" and records_all_traffic(res):
        variant = Variant("vpc.flow_logs.all", "vpc.flow_logs.all")  # what it logs (and pays for) is all traffic
    table = lake_table(variant.check_id, res)
    measured = (lake or {}).get(table or "")
    if measured is not None:
        gb = measured.gb_month / max(1, measured.resources)
        if variant.check_id == "vpc.flow_logs.reject":
            gb *= measured.reject_share
        return gb, f"lake:{table}"
    volumes = prices["volumes_gb_month"]
    return float(volumes.get(variant.key, volumes.get(variant.check_id, 0.0))), "default"


def totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for strategy in STRATEGIES:
        today = sum(r[f"{strategy}_today"] for r in rows)
        required = sum(r[f"{strategy}_required"] for r in rows)
        out.append(
            {
                "strategy": strategy,
                "today": round(today, 2),
                "required": round(required, 2),
                "difference": round(required - today, 2),
            }
        )
    return out


@dataclass(frozen=True)
class LakeVolume:
    """One lake table's logs: raw GB a month, and how many resources in the inventory deliver them today."""

    table: str
    gb_month: float
    resources: int
    reject_share: float = 1.0  # flow logs: the share of flows that were rejected


def lake_volumes(lake: Path, inventory: Inventory, policy: Policy) -> dict[str, LakeVolume]:
    """By lake table: its Parquet bytes scaled back to raw GB a month over the days it covers, and the resources
    that log to it today. Tables the lake does not hold (or holds empty) are left out: their sources keep defaults."""
    from loglake.lake import catalog as lake_catalog
    from loglake.query import engine

    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    wanted = (set(LAKE_TABLES.values()) | set(ACCESS_LOG_TABLES.values())) & set(lake_catalog.table_names(catalog))
    if not wanted:
        return {}
    prices = load_prices()
    loggers = _loggers_by_table(inventory, policy)
    con = engine.connect(lake)
    volumes = {}
    for table_name in sorted(wanted):
        snapshot = lake_catalog.load_table(catalog, table_name).current_snapshot()
        summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
        stored = int(summary.get("total-files-size", 0))
        if not stored:
            continue
        days = _days_covered(con, table_name)
        volumes[table_name] = LakeVolume(
            table=table_name,
            gb_month=stored / prices["assumptions"]["parquet_ratio"] / 1024**3 * 30 / days,
            resources=len(loggers.get(table_name, ())),
            reject_share=_reject_share(con) if table_name == "vpc_flow_logs" else 1.0,
        )
    return volumes


def _loggers_by_table(inventory: Inventory, policy: Policy) -> dict[str, set[str]]:
    """Lake table -> ARNs of the resources whose settings deliver to it today (any check of that table passes)."""
    ctx = build_context(inventory, policy, classify_inventory(inventory, policy))
    found: dict[str, set[str]] = {}
    checks = [*LAKE_TABLES, "elb.access_logs"]
    for res in inventory.resources:
        for check_id in checks:
            check = CHECKS[check_id]
            if check.applies(res) and _today_variant(check_id, res, ctx) is not None:
                found.setdefault(lake_table(check_id, res) or "", set()).add(res["arn"])
    return found


def _days_covered(con, table_name: str) -> float:
    """Days between the table's first and last event (at least one): DuckDB answers from Parquet statistics."""
    low, high = con.execute(f'SELECT min(lake_time), max(lake_time) FROM "{table_name}"').fetchone()
    return max(1.0, (high - low).total_seconds() / 86400) if low and high else 1.0


def _reject_share(con) -> float:
    total, rejected = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE action = 'REJECT') FROM vpc_flow_logs"
    ).fetchone()
    return rejected / total if total else 1.0
