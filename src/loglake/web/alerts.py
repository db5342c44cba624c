"""Alerts for the page: the list (filtered, most severe and newest first), one alert with its raw events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Set as AbstractSet
from typing import Any

import duckdb

from loglake.detect.hunt import Window
from loglake.detect.outputs.base import SEVERITY_RANK
from loglake.detect.store import ALERTS

# Around an alert's first..last seen, where its events are looked for first: the lake is partitioned by day,
# so a window reads a few days instead of the whole table. Refs outside it (a rule's look-back) are then
# looked for without one.
EVENT_SLACK = dt.timedelta(days=1)
_RANK = "CASE severity " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in SEVERITY_RANK.items()) + " ELSE -1 END"


def list_alerts(
    cur: duckdb.DuckDBPyConnection, tables: AbstractSet[str], filters: dict[str, list[str]], window: Window
) -> list[dict[str, Any]]:
    """`filters`: column (status, severity, rule_id) -> accepted values; a window overlaps first..last seen."""
    if ALERTS not in tables:
        return []
    conditions, params = ["TRUE"], {}
    for column, values in filters.items():
        if values:
            conditions.append(f"list_contains(${column}, {column})")
            params[column] = values
    if window.since is not None:
        conditions.append(f"last_seen >= TIMESTAMPTZ '{window.since.isoformat()}'")
    if window.until is not None:
        conditions.append(f"first_seen < TIMESTAMPTZ '{window.until.isoformat()}'")
    sql = (
        f"SELECT * EXCLUDE (hit_keys) FROM {ALERTS} WHERE {' AND '.join(conditions)} "
        f"ORDER BY {_RANK} DESC, last_seen DESC, alert_id"
    )
    return cur.execute(sql, params or None).to_arrow_table().to_pylist()


def get_alert(cur: duckdb.DuckDBPyConnection, tables: AbstractSet[str], alert_id: str) -> dict[str, Any] | None:
    if ALERTS not in tables:
        return None
    rows = cur.execute(f"SELECT * EXCLUDE (hit_keys) FROM {ALERTS} WHERE alert_id = $id", {"id": alert_id})
    found = rows.to_arrow_table().to_pylist()
    return found[0] if found else None


def alert_events(
    cur: duckdb.DuckDBPyConnection, tables: AbstractSet[str], alert: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each ref of the alert with the raw row it points to (`row` None when that table or row is gone)."""
    refs = alert.get("refs") or []
    found: dict[tuple[str, str, int], dict] = {}
    for table in dict.fromkeys(ref["lake_table"] for ref in refs):
        wanted = [r for r in refs if r["lake_table"] == table]
        if table in tables:
            found.update(_raw_rows(cur, table, wanted, alert))
    return [{**ref, "row": found.get((ref["lake_table"], ref["lake_file"], ref["lake_row"]))} for ref in refs]


def _raw_rows(
    cur: duckdb.DuckDBPyConnection, table: str, refs: list[dict], alert: dict[str, Any]
) -> dict[tuple[str, str, int], dict]:
    around = Window(alert["first_seen"] - EVENT_SLACK, alert["last_seen"] + EVENT_SLACK)
    rows = _fetch(cur, table, refs, around.predicate())
    missing = [r for r in refs if (table, r["lake_file"], r["lake_row"]) not in rows]
    if missing:
        rows.update(_fetch(cur, table, missing, "TRUE"))
    return rows


def _fetch(cur: duckdb.DuckDBPyConnection, table: str, refs: list[dict], predicate: str) -> dict:
    params = {"files": sorted({r["lake_file"] for r in refs}), "rows": sorted({r["lake_row"] for r in refs})}
    sql = (
        f'SELECT * FROM "{table}" WHERE {predicate} '
        "AND list_contains($files, lake_file) AND list_contains($rows, lake_row)"
    )
    wanted = {(r["lake_file"], r["lake_row"]) for r in refs}
    records = cur.execute(sql, params).to_arrow_table().to_pylist()
    return {(table, r["lake_file"], r["lake_row"]): r for r in records if (r["lake_file"], r["lake_row"]) in wanted}
