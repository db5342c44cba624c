"""The asset a row or an alert is about: its resource (else its IP) looked up in the identifier index at its time.

`AssetLookup` answers for one alert at a time (alerts are few); `with_assets` adds the same answer to every row
of a query (hunt timelines) in SQL. Both try the resource before the IP, so the two never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from loglake.context.index import INDEX


@dataclass(frozen=True)
class AssetContext:
    name: str
    type: str
    arn: str
    sensitivity: str | None
    reachability: str | None
    level: str | None


class AssetLookup:
    """Looks values up in the index of a connection made by `engine.connect` (or the detection connection).

    The index is read once, into memory, at the first lookup: it holds a few rows per asset, and a detection run
    asks for every alert's assets (hundreds of lookups, each a query otherwise)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self._by_value: dict[str, list[tuple[dt.datetime, dt.datetime, AssetContext]]] | None = None

    def first(self, values: list[str | None], at: dt.datetime) -> AssetContext | None:
        """The asset the first of `values` that names one named at `at`."""
        for value in values:
            found = self.find(value, at) if value else None
            if found is not None:
                return found
        return None

    def find(self, value: str, at: dt.datetime) -> AssetContext | None:
        if self._by_value is None:
            self._by_value = self._read_index()
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        return next((c for start, end, c in self._by_value.get(value, ()) if start <= at < end), None)

    def _read_index(self) -> dict[str, list[tuple[dt.datetime, dt.datetime, AssetContext]]]:
        """Each value's holders, a name after any other identifier, then by ARN (the order SQL lookups use)."""
        rows = self._con.execute(
            f"""SELECT id_value, valid_from, valid_to, asset_name, asset_type, asset_arn, sensitivity, reachability,
                       level
                FROM main.{INDEX} ORDER BY id_value, id_kind = 'name', asset_arn"""
        ).fetchall()
        by_value: dict[str, list[tuple[dt.datetime, dt.datetime, AssetContext]]] = {}
        for value, start, end, *described in rows:
            by_value.setdefault(value, []).append((start, end, AssetContext(*described)))
        return by_value


def with_assets(rows_sql: str, order_by: str) -> str:
    """`rows_sql` (with columns lake_time, resource, ip) with asset_name, asset_sensitivity and
    asset_reachability added, ordered by `order_by`."""
    columns = {"asset_name": "asset_name", "asset_sensitivity": "sensitivity", "asset_reachability": "reachability"}
    picked = ", ".join(f"COALESCE(r.{source}, i.{source}) AS {name}" for name, source in columns.items())
    during = "t.lake_time >= {a}.valid_from AND t.lake_time < {a}.valid_to"
    return (
        f"SELECT t.*, {picked} FROM ({rows_sql}) AS t "
        f"LEFT JOIN main.{INDEX} AS r ON r.id_kind <> 'ip' AND r.id_value = t.resource AND {during.format(a='r')} "
        f"LEFT JOIN main.{INDEX} AS i ON i.id_kind = 'ip' AND i.id_value = t.ip AND {during.format(a='i')} "
        f"ORDER BY {order_by}"
    )
