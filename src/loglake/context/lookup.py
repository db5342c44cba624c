"""The asset a row or an alert is about: its resource (else its IP) looked up in the identifier index at its time.

`AssetLookup` answers for one alert at a time (alerts are few); `with_assets` adds the same answer to every row
of a query (hunt timelines) in SQL. Both try the resource before the IP, so the two never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

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
    """Looks values up in the index of a connection made by `engine.connect` (or the detection connection)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con
        self.find = cache(self._find)

    def first(self, values: list[str | None], at: dt.datetime) -> AssetContext | None:
        """The asset the first of `values` that names one named at `at`."""
        for value in values:
            found = self.find(value, at) if value else None
            if found is not None:
                return found
        return None

    def _find(self, value: str, at: dt.datetime) -> AssetContext | None:
        row = self._con.execute(
            f"""SELECT asset_name, asset_type, asset_arn, sensitivity, reachability, level FROM main.{INDEX}
                WHERE id_value = ? AND valid_from <= ? AND ? < valid_to
                ORDER BY id_kind = 'name', asset_arn LIMIT 1""",
            [value, at, at],
        ).fetchone()
        return AssetContext(*row) if row else None


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
