"""The overview: events per day and table, alerts per day and severity, top accounts and regions, ingestion."""

from __future__ import annotations

import datetime as dt
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from loglake.detect.hunt import Window, log_tables
from loglake.formats import registry
from loglake.lake import catalog as lake_catalog
from loglake.lake import state as lake_state
from loglake.lake.ledger import last_ingest
from loglake.lake.rejects import TABLE as REJECTS

TOP = 10


def overview(cur: duckdb.DuckDBPyConnection, lake: Path, tables: AbstractSet[str], window: Window) -> dict[str, Any]:
    """`tables`: the lake tables with data (the others are empty views, nothing to count)."""
    counts = _event_counts(cur, [t for t in log_tables(cur) if t in tables], window)
    return {
        "events_per_day": _sum_by(counts, ["day", "table"], "events", order=[("day", "ascending")]),
        "alerts_per_day": _alerts_per_day(cur, window) if "alerts" in tables else [],
        "top_accounts": _top(counts, "account"),
        "top_regions": _top(counts, "region"),
        "ingestion": {**_ledger(lake), "rejects_by_reason": _rejects(cur, window) if REJECTS in tables else []},
    }


def _event_counts(cur: duckdb.DuckDBPyConnection, tables: list[str], window: Window) -> pa.Table:
    """One scan per table, grouped finely enough (day, account, region) for every overview figure."""
    if not tables:
        return pa.table({"table": [], "day": [], "account": [], "region": [], "events": []})
    selects = [
        f"SELECT '{name}' AS \"table\", CAST(lake_date AS VARCHAR) AS day, lake_account AS account, "
        f'lake_region AS region, count(*) AS events FROM "{name}" WHERE {window.predicate()} GROUP BY ALL'
        for name in tables
    ]
    return cur.execute(" UNION ALL ".join(selects)).to_arrow_table()


def _sum_by(counts: pa.Table, keys: list[str], value: str, order: list[tuple[str, str]]) -> list[dict]:
    summed = counts.group_by(keys).aggregate([("events", "sum")]).rename_columns([*keys, value])
    return summed.sort_by([*order, *((k, "ascending") for k in keys)]).to_pylist()


def _top(counts: pa.Table, key: str) -> list[dict]:
    known = counts.filter(pc.is_valid(counts[key]))
    return _sum_by(known, [key], "events", order=[("events", "descending")])[:TOP]


def _alerts_per_day(cur: duckdb.DuckDBPyConnection, window: Window) -> list[dict]:
    predicate = window.predicate().replace("lake_time", "first_seen")
    sql = (
        "SELECT CAST(CAST(first_seen AS DATE) AS VARCHAR) AS day, severity, count(*) AS alerts FROM alerts "
        f"WHERE {predicate} GROUP BY ALL ORDER BY day, severity"
    )
    return cur.execute(sql).to_arrow_table().to_pylist()


def _rejects(cur: duckdb.DuckDBPyConnection, window: Window) -> list[dict]:
    sql = (
        f"SELECT format, reason, count(*) AS rejects FROM {REJECTS} WHERE {window.predicate()} "
        "GROUP BY ALL ORDER BY rejects DESC, format, reason"
    )
    rows = cur.execute(sql).to_arrow_table().to_pylist()
    return [{"table": _table_of(r.pop("format")), **r} for r in rows]


def _table_of(format_name: str | None) -> str:
    """A reject's format as the table its rows would have gone to (the name the page shows everywhere)."""
    if not format_name:
        return "unknown"
    module = registry.formats().get(format_name)
    return module.TABLE if module else format_name  # a format since renamed: its name still says where from


def _ledger(lake: Path) -> dict[str, Any]:
    """When the last object came in and how many are in, from the ingest ledger (read-only)."""
    location = lake_catalog.LakeLocation(lake)
    if not location.state_db.exists() and lake_state.shared_state_url(location) is None:
        return {"last_ingest": None, "objects": 0}
    last, objects = last_ingest(lake_state.ingest_state_url(location))
    # the ledger writes isoformat(): as a datetime it is sent like every other time (...Z)
    return {"last_ingest": dt.datetime.fromisoformat(last) if last else None, "objects": objects}
