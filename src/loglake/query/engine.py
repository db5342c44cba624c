"""A DuckDB connection where every lake table is a view over its Iceberg snapshot."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.table import Table

from loglake.context import stamps
from loglake.context import views as context_views
from loglake.formats import registry
from loglake.lake import catalog as lake_catalog
from loglake.query import file_index, pruning
from loglake.query.s3 import configure_s3

EXTENSIONS = ("avro", "iceberg")  # avro first: iceberg reads manifests with it


class QueryError(Exception):
    """The SQL did not run; the message is DuckDB's, without a traceback."""


@dataclass
class Result:
    columns: list[str]
    rows: pa.Table


def _extension_path(name: str) -> str:
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise QueryError(f"the DuckDB {name} extension is not installed (pip install duckdb-extension-{name})")
    found = sorted(Path(spec.origin).parent.glob("extensions/*/*.duckdb_extension"))
    if not found:
        raise QueryError(f"the DuckDB {name} extension package has no extension file")
    return str(found[-1])


def connect(
    lake: Path, *, threads: int | None = None, dialect: str = "duckdb", snapshots: dict[str, Table] | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per lake table (and the formats' extra views).

    Tables in `snapshots` (loaded by the caller) are views over their snapshot's data files (`register_files`)
    instead of `iceberg_scan`, whose binding reads every manifest.

    With `dialect="athena"` the connection also resolves names the AWS Athena documentation uses: its
    table names (`test_table_vpclogs`, `cloudtrail_logs_pp`, ...) and partition columns (`date`, `day`,
    `region`, ...), as views in an `athena` schema searched first.
    """
    location = lake_catalog.LakeLocation(lake)
    catalog = lake_catalog.open_catalog(location)
    con = open_duckdb(location, threads)
    tables = lake_catalog.table_names(catalog)
    lake = pruning.LakeConnection(location.root)
    pruning.remember(con, lake)  # before the tables: register_files lists their files from the file index
    given = snapshots or {}
    loaded = {name: given.get(name) or lake_catalog.load_table(catalog, name) for name in tables}
    for name, table in loaded.items():
        if name in given and register_files(con, name, table):
            continue
        register_table(con, name, table)
    if dialect not in ("athena", "trino"):  # their names resolve through views of their own: left unpruned
        lake.indexes = _index_tables(con, location, loaded)
    modules = [m for m in registry.formats().values() if m.TABLE in tables]
    for module in modules:
        for view, sql in getattr(module, "VIEWS", {}).items():
            con.execute(f'CREATE OR REPLACE VIEW "{view}" AS {sql}')
    context_views.create_views(con, set(tables))
    if dialect not in ("athena", "trino"):
        stamps.use_stamps(con, loaded)
    else:
        _athena_views(con, modules)
    return con


def open_duckdb(location: lake_catalog.LakeLocation, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can read the lake's files (Iceberg, Parquet, S3), in UTC, with no views yet."""
    con = duckdb.connect(config={"threads": threads} if threads else {})
    for name in EXTENSIONS:
        con.execute(f"LOAD '{_extension_path(name)}'")
    if location.on_s3:
        configure_s3(con, location, _extension_path("httpfs"))
    con.execute("SET TimeZone = 'UTC'")
    # A query bigger than memory spills to the system's temporary folder, not to ./.tmp wherever loglake runs.
    spill = Path(tempfile.gettempdir()) / f"loglake-duckdb-{os.getuid()}"
    con.execute(f"SET temp_directory = '{spill}'")
    return con


def _index_tables(con: duckdb.DuckDBPyConnection, location: lake_catalog.LakeLocation, tables: dict) -> dict:
    """Bring each day-partitioned table's file index up to date, so `run` can prune time-bounded queries."""
    indexes = {}
    for name, table in tables.items():
        path = file_index.ensure_index(location.root, name, table)
        if path is not None:
            indexes[name] = path
            # a DuckDB table, not the registered Arrow one: binding a Python object costs a few ms per query
            con.register("__shape_arrow", schema_to_pyarrow(table.schema()).empty_table())
            con.execute(f'CREATE OR REPLACE TEMP TABLE "{pruning.shape_name(name)}" AS SELECT * FROM __shape_arrow')
            con.unregister("__shape_arrow")
    return indexes


def _athena_views(con: duckdb.DuckDBPyConnection, modules: list) -> None:
    """Views named and shaped as in the AWS Athena docs: their partition columns computed from lake columns."""
    con.execute("CREATE SCHEMA IF NOT EXISTS athena")
    for module in modules:
        existing = {row[0] for row in con.execute(f'DESCRIBE main."{module.TABLE}"').fetchall()}
        extra = [
            f'{sql} AS "{name}"' for name, sql in getattr(module, "ATHENA_COLUMNS", {}).items() if name not in existing
        ]
        select = ", ".join(["*", *extra])
        views = getattr(module, "VIEWS", {})
        names = {
            module.TABLE: module.TABLE,
            **{view: view for view in views},
            **dict.fromkeys(getattr(module, "ATHENA_TABLES", ()), module.TABLE),
        }
        for name, source in names.items():
            schema, _, table = name.rpartition(".")
            schema = schema or "athena"
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'CREATE OR REPLACE VIEW "{schema}"."{table}" AS SELECT {select} FROM main."{source}"')
    con.execute("SET search_path = 'athena,main'")


def register_table(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    if table.current_snapshot() is None:  # iceberg_scan needs a snapshot; an empty table is a typed empty view
        con.register(f"__empty_{name}", schema_to_pyarrow(table.schema()).empty_table())
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "__empty_{name}"')
        return
    location = table.metadata_location.replace("'", "''")
    con.execute(f"CREATE OR REPLACE VIEW \"{name}\" AS SELECT * FROM iceberg_scan('{location}')")


def register_files(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> bool:
    """Make `name` a view over the Parquet files of the table's current snapshot; False if it has none.

    For connections that bind the same tables many times (detection rules, dashboard panels): binding
    `iceberg_scan` re-reads every manifest each time (seconds on a table with many commits), while a file
    list is planned once here and, with `parquet_metadata_cache`, each file's footer is read once. Log
    tables are append-only, so the file list is the snapshot; lake_time filters still skip row groups by
    their min/max statistics. Files are matched by column name only once the table's schema has changed:
    until then they all have its columns, and `union_by_name` would read every file's schema at each bind.
    """
    lake = pruning.lake_of(con)
    files = snapshot_files(table, lake=lake.root if lake else None)
    if not files:
        return False
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    by_name = "true" if len(table.metadata.schemas) > 1 else "false"
    con.execute(
        f'CREATE OR REPLACE VIEW main."{name}" AS SELECT * FROM read_parquet([{listed}], union_by_name = {by_name})'
    )
    return True


def snapshot_files(table: Table, *, lake: Path | None = None) -> list[str]:
    """The data files of the table's current snapshot (local files as paths): what a scan of it reads.

    With the `lake` folder, the list comes from the file index kept there (file_index.py), which reads only
    the manifests of commits since the last listing instead of every manifest of the table.
    """
    listed = file_index.indexed_files(lake, table.name()[-1], table) if lake is not None else None
    if listed is None:
        listed = [task.file.file_path for task in table.scan().plan_files()]
    return [path.removeprefix("file://") for path in listed]


def run(con: duckdb.DuckDBPyConnection, sql: str) -> Result:
    """Run SQL on a `connect` connection; lake tables under a lake_time bound read only those days' files."""
    try:
        cursor = con.execute(pruning.prune(con, sql))
        table = cursor.to_arrow_table() if cursor.description else pa.table({})
    except duckdb.Error as error:
        raise QueryError(_first_line(str(error))) from None
    return Result(table.column_names, table)


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else "query failed"
