"""The DuckDB connection rules run in: every log table present (empty when the lake lacks it), in two schemas.

A rule's query names tables plainly (`cloudtrail_logs`); those names resolve to the rows in the window being
evaluated (schema `scoped`, see `Scopes`). The whole history stays reachable as `lake.<table>`, for rules
that compare with the past (a principal's usual source IPs).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.table import Table

from loglake.context import views as context_views
from loglake.formats import registry
from loglake.policy.assets import ASSETS
from loglake.policy.assets import SCHEMA as ASSETS_SCHEMA
from loglake.query import engine, pruning

TimeRange = tuple[dt.datetime, dt.datetime]


def open_connection(
    lake: Path, *, threads: int | None = None, tables: dict[str, Table] | None = None
) -> duckdb.DuckDBPyConnection:
    """The lake's tables as views, every format's table present, and the `lake` schema.

    `tables` (Iceberg tables loaded by the caller) become views over their snapshot's data files
    (engine.register_files): a detect run binds each table dozens of times.
    """
    con = engine.connect(lake, threads=threads, snapshots=tables)
    con.execute("SET parquet_metadata_cache = true")
    _complete(con)
    return con


def memory_connection(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    """An in-memory connection over given rows (rule tests): the same names as over a lake."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    _complete(con)
    replace_rows(con, tables)
    return con


def replace_rows(con: duckdb.DuckDBPyConnection, tables: dict[str, pa.Table]) -> None:
    """Point the named tables of an in-memory connection at these rows (one connection serves many tests)."""
    for name, rows in tables.items():
        con.register(f"__rows_{name}", rows)
        con.execute(f'CREATE OR REPLACE VIEW main."{name}" AS SELECT * FROM "__rows_{name}"')
        con.execute(f'CREATE OR REPLACE VIEW lake."{name}" AS SELECT * FROM main."{name}"')
        con.execute(f'CREATE OR REPLACE TABLE shape."{name}" AS SELECT * FROM main."{name}" LIMIT 0')
    if ASSETS in tables:
        context_views.build_index(con)


def owned_tables() -> dict[str, pa.Schema]:
    """Every table loglake writes whose absence just means "nothing yet": the log tables, threat intel, assets."""
    from loglake.detect import intel

    return {**registry.tables(), intel.TABLE: intel.SCHEMA, ASSETS: ASSETS_SCHEMA}


def _complete(con: duckdb.DuckDBPyConnection) -> None:
    present = existing_tables(con)
    for name, schema in owned_tables().items():
        if name not in present:
            con.register(f"__empty_{name}", schema.empty_table())
            con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM "__empty_{name}"')
    named = existing_tables(con)
    made = {t: context_views.view_name(t) for t in named if context_views.view_name(t) in named}
    # engine.connect made the lake tables' views (reading current asset stamps): only the empty tables need one
    enriched = made | context_views.create_views(con, named - set(made))
    for schema in ("lake", "scoped", "shape", "shape_ctx"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for name in existing_tables(con):
        con.execute(f'CREATE OR REPLACE VIEW lake."{name}" AS SELECT * FROM main."{name}"')
        con.execute(f'CREATE OR REPLACE TABLE shape."{name}" AS SELECT * FROM main."{name}" LIMIT 0')
    for table, view in enriched.items():  # a `context: true` rule's plain table names have the asset columns
        con.execute(f'CREATE OR REPLACE TABLE shape_ctx."{table}" AS SELECT * FROM shape."{view}"')


def shapes_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection holding only empty tables shaped as `con`'s (both schemas of `shapes_only`, and `lake`)."""
    shapes = duckdb.connect()
    shapes.execute("SET TimeZone = 'UTC'")
    for schema in ("shape", "shape_ctx"):
        shapes.execute(f"CREATE SCHEMA {schema}")
        for name in existing_tables(con, schema):
            empty = con.execute(f'SELECT * FROM {schema}."{name}"').to_arrow_table()
            shapes.register("__empty", empty)
            shapes.execute(f'CREATE TABLE {schema}."{name}" AS SELECT * FROM "__empty"')
            shapes.unregister("__empty")
    shapes.execute("CREATE SCHEMA lake")
    for name in existing_tables(con, "lake"):
        shapes.execute(f'CREATE VIEW lake."{name}" AS SELECT * FROM shape."{name}"')
    return shapes


@contextmanager
def shapes_only(con: duckdb.DuckDBPyConnection, context: bool = False) -> Iterator[None]:
    """Resolve table names to empty tables of the same columns: binding a query there reads no lake metadata.

    Finding a rule's output columns (and which entity expressions fit them) takes several binds per rule;
    against the Iceberg views each bind re-reads the table's metadata and manifests. With `context`, the
    plain table names have the enriched views' columns.
    """
    con.execute(f"SET search_path = '{'shape_ctx,' if context else ''}shape,main'")
    try:
        yield
    finally:
        con.execute("SET search_path = 'main'")


def existing_tables(con: duckdb.DuckDBPyConnection, schema: str = "main") -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [schema]).fetchall()
    return {row[0] for row in rows if not row[0].startswith("__")}  # __rows_/__empty_ back the views


class Scopes:
    """The views a rule reads: the plain table names over the rows being evaluated, `lake.<table>` its history.

    A view is created only when its definition changes: creating one binds the table's Parquet files, so rules
    evaluated one after another over the same ranges (a detect run orders them so) share their views.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.history = {name: _full_history(name) for name in existing_tables(con, "lake")}
        self.views: dict[str, str] = {f'lake."{name}"': sql for name, sql in self.history.items()}
        self.generation = 0  # counts changes of any view: rows computed from them are valid while it stays
        self._days: dict[tuple, str] = {}  # (table, ranges) -> the read of those days' files

    def point(
        self,
        tables: tuple[str, ...],
        ranges: list[TimeRange] | None,
        lookback: dt.timedelta | None = None,
        sources: dict[str, str] | None = None,
        *,
        context: bool = False,
    ) -> None:
        """Point the plain table names at the rows whose event time falls in `ranges` (None: all rows).

        `sources` names in-memory copies to read instead of the lake (see prefilter). With a `lookback`,
        `lake.<table>` is the history within that distance of the ranges instead of all of it: a rule comparing
        new rows with the hour before them then reads hours, not years. `<table>_ctx` is the enriched view of
        the same rows; with `context`, so is the plain name.
        """
        for name in tables:
            source = f'"{sources[name]}"' if sources and name in sources else self._lake_rows(name, ranges)
            rows = f"SELECT * FROM {source} WHERE {time_predicate(ranges)}"
            if name in context_views.MATCHES:
                enriched = context_views.enriched_sql(name, f"({rows})", index=f"main.{context_views.INDEX}")
                self._view(f'scoped."{context_views.view_name(name)}"', enriched)
                rows = enriched if context else rows
            self._view(f'scoped."{name}"', rows)
            history = (
                None if ranges is None or lookback is None else [(lo - lookback, hi + lookback) for lo, hi in ranges]
            )
            if name in self.history:
                self._view(f'lake."{name}"', _full_history(name, history))
        self.con.execute("SET search_path = 'scoped,main'")

    def _lake_rows(self, name: str, ranges: list[TimeRange] | None) -> str:
        """The lake table, or only the files of the days in `ranges` when the file index lists them: an hour's
        rules then open that day's files, not every file of the table's history."""
        if not ranges:
            return f'main."{name}"'
        key = (name, tuple(ranges))
        if key not in self._days:  # rules evaluated one after another mostly share their ranges
            self._days[key] = pruning.days_relation(self.con, name, ranges) or f'main."{name}"'
        return self._days[key]

    def reset(self) -> None:
        """`lake.<table>` back to all of its history, plain names to the lake's tables."""
        for name in self.history:
            self._view(f'lake."{name}"', _full_history(name))
        self.con.execute("SET search_path = 'main'")

    def _view(self, name: str, sql: str) -> None:
        if self.views.get(name) != sql:
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
            self.views[name] = sql
            self.generation += 1


def _full_history(name: str, ranges: list[TimeRange] | None = None) -> str:
    return f'SELECT * FROM main."{name}" WHERE {time_predicate(ranges)}'


def time_predicate(ranges: list[TimeRange] | None, column: str = "lake_time") -> str:
    """SQL selecting rows in any of the half-open ranges; literal bounds, so DuckDB prunes files and days."""
    if ranges is None:
        return "TRUE"
    if not ranges:
        return "FALSE"
    parts = [
        f"({column} >= TIMESTAMPTZ '{lo.isoformat()}' AND {column} < TIMESTAMPTZ '{hi.isoformat()}')"
        for lo, hi in ranges
    ]
    return " OR ".join(parts)
