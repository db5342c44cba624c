"""`loglake cost`: what the required logging costs a month, per resource and in total, under the three storage
strategies the article compares -- CloudWatch Logs (ingest + storage + Insights scans), S3 gzip JSON + Athena,
S3 Parquet + Athena -- today and as required. Prices and assumptions come from a dated data file (prices.json).

Volumes: a per-check default (prices.json `volumes_gb_month`), or, with a lake, the lake's own bytes for that
source spread over the resources that log to it today.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loglake.classify.classifier import classify_inventory
from loglake.inventory.snapshot import Inventory
from loglake.policy.audit import SERVICE_OF, build_context
from loglake.policy.checks import CHECKS, PASS
from loglake.policy.config import LEVELS, Policy, PolicyError

PRICES_FILE = Path(__file__).with_name("prices.json")
STRATEGIES = ("cloudwatch", "s3_gzip_athena", "s3_parquet_athena")
LAKE_TABLES = {
    "vpc.flow_logs.all": "vpc_flow_logs",
    "vpc.flow_logs.reject": "vpc_flow_logs",
    "elb.access_logs": "alb_access_logs",
    "alb.connection_logs": "alb_connection_logs",
    "cloudfront.logging": "cloudfront_logs",
    "s3.server_access_logging": "s3_access_logs",
    "apigw.access_logging": "apigateway_logs",
}


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
    inventory: Inventory, policy: Policy, prices: dict[str, Any], lake_volumes: dict[str, float] | None = None
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
                gb = _volume(variant, prices, lake_volumes) if variant else 0.0
                row[f"gb_{label}"] = round(gb, 3)
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


def _volume(variant: Variant, prices: dict[str, Any], lake_volumes: dict[str, float] | None) -> float:
    if lake_volumes and variant.check_id in lake_volumes:
        return lake_volumes[variant.check_id]
    volumes = prices["volumes_gb_month"]
    return float(volumes.get(variant.key, volumes.get(variant.check_id, 0.0)))


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


def lake_volumes(lake: Path, inventory: Inventory, policy: Policy) -> dict[str, float]:
    """GB/month per logging source measured in the lake (its Parquet bytes scaled back to raw), per resource that
    logs it today. Sources the lake does not hold keep their defaults."""
    from loglake.lake import catalog as lake_catalog

    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    present = set(lake_catalog.table_names(catalog))
    prices = load_prices()
    measured: dict[str, float] = {}
    classes = classify_inventory(inventory, policy)
    ctx = build_context(inventory, policy, classes)
    for check_id, table_name in LAKE_TABLES.items():
        if table_name not in present:
            continue
        table = lake_catalog.load_table(catalog, table_name)
        snapshot = table.current_snapshot()
        summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
        stored = int(summary.get("total-files-size", 0))
        if not stored:
            continue
        days = _days_covered(table) or 30
        raw_gb_month = stored / prices["assumptions"]["parquet_ratio"] / 1024**3 * 30 / days
        loggers = [
            r
            for r in inventory.resources
            if CHECKS[check_id].applies(r) and CHECKS[check_id].evaluate(r, ctx, {}).status == PASS
        ]
        measured[check_id] = raw_gb_month / max(1, len(loggers))
    return measured


def _days_covered(table) -> float | None:
    try:
        import pyarrow.compute as pc

        times = table.scan(selected_fields=("lake_time",)).to_arrow()["lake_time"]
        low, high = pc.min(times).as_py(), pc.max(times).as_py()
        return max(1.0, (high - low).total_seconds() / 86400) if low and high else None
    except Exception:
        return None
