"""A DuckDB connection where every lake table is a view over its Iceberg snapshot."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.table import Table

from loglake.lake import catalog as lake_catalog

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


def connect(lake: Path, *, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per lake table."""
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    con = duckdb.connect(config={"threads": threads} if threads else {})
    for name in EXTENSIONS:
        con.execute(f"LOAD '{_extension_path(name)}'")
    con.execute("SET TimeZone = 'UTC'")
    for name in lake_catalog.table_names(catalog):
        register_table(con, name, lake_catalog.load_table(catalog, name))
    return con


def register_table(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    if table.current_snapshot() is None:  # iceberg_scan needs a snapshot; an empty table is a typed empty view
        con.register(f"__empty_{name}", schema_to_pyarrow(table.schema()).empty_table())
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "__empty_{name}"')
        return
    location = table.metadata_location.replace("'", "''")
    con.execute(f"CREATE OR REPLACE VIEW \"{name}\" AS SELECT * FROM iceberg_scan('{location}')")


def run(con: duckdb.DuckDBPyConnection, sql: str) -> Result:
    try:
        cursor = con.execute(sql)
        table = cursor.to_arrow_table() if cursor.description else pa.table({})
    except duckdb.Error as error:
        raise QueryError(_first_line(str(error))) from None
    return Result(table.column_names, table)


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return " ".join(lines[:3]) if lines else "query failed"
