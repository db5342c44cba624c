"""SQL from the browser, read-only: one SELECT, on a DuckDB connection that can read the lake and nothing else.

Two independent guards:

1. The statement: sqlglot (DuckDB dialect) must see exactly one query (SELECT, WITH ... SELECT, a set
   operation) with no write or session statement inside, and DuckDB's own parser must agree it is a single
   SELECT (the parser that will run it is the one that counts; sqlglot alone calls `PRAGMA x` a pragma while
   DuckDB rewrites it to a SELECT, and DuckDB alone would accept `PRAGMA`).
2. The connection: after the lake's views exist, `allowed_directories` is set to the lake's table folders,
   then `enable_external_access=false` (no file, network, extension or ATTACH access outside those folders)
   and `lock_configuration=true` (no SET can undo it). So even a statement that slipped past (1) cannot read
   `/etc/passwd`, write a file or load an extension. A timer interrupts a query that runs too long.

The connection is built once (building it loads every table's metadata: seconds on a big lake) and shared:
each request takes a cursor. Log tables are views over their snapshot's Parquet files (footers cached), so a
dashboard's panels do not each re-read the Iceberg manifests. When the catalog changes (an ingest, a detect
run, an alert status change), the views of the changed tables are re-pointed at their new snapshots before
the next cursor is handed out.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import sqlglot
from pyiceberg.table import Table
from sqlglot import exp
from sqlglot.errors import SqlglotError

from loglake.context import stamps
from loglake.context import views as context_views
from loglake.formats import registry
from loglake.lake import catalog as lake_catalog
from loglake.query import engine

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its "falling back to Command" warnings are our refusals

DEFAULT_TIMEOUT = 30.0
BATCH_ROWS = 2048
# Statements that change something, anywhere in the tree (a CTE cannot hide an INSERT from this walk)
_WRITES: tuple[type[exp.Expression], ...] = (
    exp.DML,
    exp.DDL,
    exp.Command,
    exp.Copy,
    exp.Attach,
    exp.Detach,
    exp.Pragma,
    exp.Set,
    exp.Use,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Install,
    exp.Export,
)


class WebQueryError(Exception):
    """The SQL is not a single read-only SELECT, did not run, or ran too long; the message says which (one line)."""


@dataclass(frozen=True)
class Rows:
    columns: list[str]
    types: list[str]  # DuckDB type names
    table: pa.Table
    truncated: bool  # the query had more rows than the limit
    elapsed_ms: float


def check_select(sql: str) -> str:
    """The SQL if it is exactly one read-only query; else WebQueryError saying what is not allowed."""
    if not sql or not sql.strip():
        raise WebQueryError("no SQL given")
    _check_with_sqlglot(sql)
    _check_with_duckdb(sql)
    return sql


def _check_with_sqlglot(sql: str) -> None:
    try:
        parsed = sqlglot.parse(sql, read="duckdb")
        statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    except SqlglotError:
        return  # syntax sqlglot does not know yet: DuckDB's parser (always consulted) decides
    if len(statements) != 1:
        raise WebQueryError(f"one statement at a time, please ({len(statements)} given)")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise WebQueryError(f"only SELECT (or WITH ... SELECT) queries can run here, not {_first_word(sql)}")
    for node in statement.walk():
        if isinstance(node, _WRITES):
            raise WebQueryError(f"only read-only queries can run here; found {_kind(node)}")


def _kind(node: exp.Expression) -> str:
    return node.key.upper() if node.key != "command" else str(node.this).upper()


def _first_word(sql: str) -> str:
    # what the user wrote (`CHECKPOINT`), not what sqlglot made of it (a column named checkpoint)
    code = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.DOTALL).split()
    return code[0].upper().rstrip(";") if code else "an empty statement"


def _check_with_duckdb(sql: str) -> None:
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise WebQueryError(one_line(error)) from None
    if len(statements) != 1:
        raise WebQueryError(f"one statement at a time, please ({len(statements)} given)")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        raise WebQueryError(f"only SELECT (or WITH ... SELECT) queries can run here, not {kind.name}")


@dataclass(frozen=True)
class Reader:
    """One request's view of the lake: its own cursor, and the tables that held data when it was taken."""

    cur: duckdb.DuckDBPyConnection
    tables: frozenset[str]


class ReadOnlyLake:
    """The lake's tables as views on a locked-down DuckDB connection; a `reader()` for each request."""

    def __init__(self, lake: Path, timeout: float = DEFAULT_TIMEOUT):
        self.lake = lake
        self.timeout = timeout
        self.location = lake_catalog.LakeLocation(lake)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._state: dict[str, str | None] = {}
        self.tables: set[str] = set()  # lake tables with a snapshot (one never written to holds no data)

    def reader(self) -> Reader:
        """A cursor over the lake as it is now (views moved to new snapshots first), for one request."""
        with self._lock:
            state = catalog_state(self.location)
            if self._con is None or not self._refresh(state):
                self._build(state)
            self._state = state
            return Reader(self._con.cursor(), frozenset(self.tables))

    def _build(self, state: dict[str, str | None]) -> None:
        con = engine.connect(self.lake)
        con.execute("SET parquet_metadata_cache = true")
        catalog = lake_catalog.open_catalog(self.location)
        for name in set(state) & set(registry.tables()):
            _point_view(con, name, lake_catalog.load_table(catalog, name))
        self.tables = _lake_views(con) & set(state)
        for name in set(state) - self.tables:
            _materialise_empty(con, name)
        lock_down(con, self.location, state)
        self._con = con

    def _refresh(self, state: dict[str, str | None]) -> bool:
        """Re-point the views of tables with a new snapshot; False when only a rebuild will do."""
        if set(state) != set(self._state):
            return False  # a table appeared or went: format views and allowed folders depend on the set
        changed = [name for name in state if state[name] != self._state[name]]
        if not changed:
            return True
        catalog = lake_catalog.open_catalog(self.location)
        for name in changed:
            table = lake_catalog.load_table(catalog, name)
            if table.current_snapshot() is None:
                return False  # iceberg_scan cannot read a table without a snapshot: rebuild (and materialise it)
            _point_view(self._con, name, table)  # files in the lake: allowed
            self.tables.add(name)
        # The enriched views read each file's asset stamps only while they are current: new files, a new index
        # (an inventory run) or restamped files all change which files those are.
        context_views.create_views(self._con, self.tables)
        stamps.use_stamps(self._con, {n: lake_catalog.load_table(catalog, n) for n in self.tables if stamps.stamped(n)})
        return True


def _point_view(con: duckdb.DuckDBPyConnection, name: str, table: Table) -> None:
    """A log table reads its snapshot's file list (every panel binds it; iceberg_scan would re-read every
    manifest each time); other tables (alerts, whose status changes rewrite files) stay on iceberg_scan."""
    if table.current_snapshot() is None:
        return
    if name not in registry.tables() or not engine.register_files(con, name, table):
        engine.register_table(con, name, table)


def _lake_views(con: duckdb.DuckDBPyConnection) -> set[str]:
    # engine.connect backs a table without a snapshot by an empty registered Arrow table instead
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE sql LIKE '%iceberg_scan(%' OR sql LIKE '%read_parquet(%'"
    ).fetchall()
    return {row[0] for row in rows}


def _materialise_empty(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Back an empty table's view by a DuckDB table: a registered Arrow table is invisible to other cursors."""
    con.execute(f'CREATE OR REPLACE TABLE "__typed_empty_{name}" AS SELECT * FROM "{name}" LIMIT 0')
    con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "__typed_empty_{name}"')
    con.unregister(f"__empty_{name}")


def catalog_state(location: lake_catalog.LakeLocation) -> dict[str, str | None]:
    """Each lake table's current metadata file: one query of the SQLite catalog, else asked of the catalog."""
    if location.settings.catalog != "sqlite":
        catalog = lake_catalog.open_catalog(location)
        names = lake_catalog.table_names(catalog)
        return {name: lake_catalog.load_table(catalog, name).metadata_location for name in names}
    uri = f"{location.catalog_db.resolve().as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=30) as db:
        rows = db.execute(
            "SELECT table_name, metadata_location FROM iceberg_tables WHERE table_namespace = ?",
            (lake_catalog.NAMESPACE,),
        ).fetchall()
    return dict(rows)


def lock_down(con: duckdb.DuckDBPyConnection, location: lake_catalog.LakeLocation, state: dict) -> None:
    """From here on the connection reads the lake's table folders and nothing else, and cannot be unlocked.

    For a lake on S3 the allowed prefixes are s3:// ones: its warehouse (and any table registered from
    elsewhere), not the bucket, another bucket or any local file.
    """
    warehouse = location.warehouse_uri if location.on_s3 else str(location.warehouse.resolve())
    allowed = sorted({warehouse, *_table_folders(state)})
    spill = location.root / "web" / "spill"  # DuckDB adds its temp folder to the allowed ones: keep it ours
    spill.mkdir(parents=True, exist_ok=True)
    quoted = ", ".join(_literal(path.rstrip("/") + "/") for path in allowed)
    # Cursors start from the global settings, not this connection's session ones
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    con.execute("SET GLOBAL python_enable_replacements = false")  # no Python variables as tables
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute(f"SET temp_directory = {_literal(str(spill.resolve()))}")
    con.execute(f"SET allowed_directories = [{quoted}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def _table_folders(state: dict[str, str | None]) -> set[str]:
    # a table registered from elsewhere keeps its own folder: .../<table>/metadata/<n>.metadata.json
    folders = set()
    for location in state.values():
        if location and location.startswith("file://"):
            folders.add(str(Path(location.removeprefix("file://")).parent.parent))
        elif location and location.startswith("s3://"):
            folders.add(location.rsplit("/", 2)[0])
    return folders


def one_line(error: Exception) -> str:
    """DuckDB's message without the echo of the query and the caret under it that follow `LINE n:`."""
    lines = []
    for line in str(error).strip().splitlines():
        if re.match(r"^LINE \d+:", line.strip()):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines) or "query failed"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_select(cur: duckdb.DuckDBPyConnection, sql: str, limit: int, timeout: float) -> Rows:
    """Run checked SQL on a cursor: at most `limit` rows (more means truncated), stopped after `timeout` s."""
    check_select(sql)
    return run_query(cur, sql, limit, timeout)


def run_query(cur: duckdb.DuckDBPyConnection, sql: str, limit: int, timeout: float) -> Rows:
    """Run SQL the server wrote (or checked) on a locked cursor, with the row limit and the timeout."""
    started = time.perf_counter()
    with deadline(cur, timeout):
        result = cur.execute(sql)
        columns = [d[0] for d in result.description or []]
        types = [str(d[1]) for d in result.description or []]
        table = _first_rows(result, limit + 1) if result.description else pa.table({})
    elapsed = (time.perf_counter() - started) * 1000
    truncated = table.num_rows > limit
    return Rows(columns, types, table.slice(0, limit), truncated, round(elapsed, 1))


@contextmanager
def deadline(cur: duckdb.DuckDBPyConnection, timeout: float) -> Iterator[None]:
    """Interrupt the cursor's query after `timeout` seconds; DuckDB errors become one-line WebQueryErrors."""
    timer = threading.Timer(timeout, cur.interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    except duckdb.InterruptException:
        raise WebQueryError(
            f"the query ran longer than {timeout:g} s and was stopped; narrow it (since/until, WHERE, LIMIT)"
        ) from None
    except duckdb.Error as error:
        raise WebQueryError(one_line(error)) from None
    finally:
        timer.cancel()


def _first_rows(result: duckdb.DuckDBPyConnection, wanted: int) -> pa.Table:
    # stream batches and stop early: a query over years of logs need not materialise beyond the limit
    reader = result.to_arrow_reader(BATCH_ROWS)
    batches, count = [], 0
    for batch in reader:
        batches.append(batch)
        count += batch.num_rows
        if count >= wanted:
            break
    table = pa.Table.from_batches(batches, reader.schema)
    return table.slice(0, wanted)
