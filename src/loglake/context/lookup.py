"""The asset an alert is about: its resource (else its IP) looked up in the identifier index at its first event."""

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
