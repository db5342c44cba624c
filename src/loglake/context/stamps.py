"""Asset stamps: each row of a table with identifiers carries the asset they named when it was written, so the
`_ctx` views read a few columns instead of joining every row to the asset index.

At ingest each batch's rows are looked up in the index with the views' own SQL (views.enriched_sql) and the
answer is written into the lake columns `lake_asset_name` ... `lake_asset_direction` (lake/columns.py). A stamp
is right while the index says the same for its row, and the index changes when the inventory does. So a stamp
is read only where it is known to be current: `<lake root>/context-stamps/<table>.json` maps each data file to
the index *epoch* (a digest of the index's rows and of the views' SQL) its stamps were written under or last
checked against. In `<table>_ctx`, the files recorded at the connection's epoch read their stamps and every
other file (written before the last inventory change, by an older loglake, or never recorded) is joined as
before: one UNION ALL, the same rows and columns either way.

After the assets change (`inventory --lake`, `audit --lake`, the demo), after compaction and by hand
(`loglake restamp`), `restamp` brings the record up to date: for the files not recorded at the new epoch, one
query per epoch compares their stamps with the index's answer, only in the rows carrying an identifier whose
index rows changed since that epoch when its index was kept (`index-<epoch>.parquet`), in every row otherwise.
Files that agree are recorded; the few whose rows the change moved (an address handed to another instance:
the rows after the move) are rewritten, one commit per day, as compaction does. Until it has run, queries are
right, only slower.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.table import Table

from loglake.context import views
from loglake.context.index import INDEX
from loglake.lake import catalog as lake_catalog
from loglake.lake import maintenance
from loglake.lake.atomic import write_atomically, write_bytes_atomically
from loglake.lake.columns import ASSET_STAMP_COLUMNS, ASSET_STAMP_FIELDS
from loglake.lake.locks import Locks, holding, lake_locks
from loglake.policy.assets_schema import ASSETS

FOLDER = "context-stamps"
LOCK = "context-stamps"
STAMP_INDEX = "__stamp_index"
FILE_COLUMN = "__stamp_file"
REWRITE_REASON = "context"
# What the epoch digests of each index row: everything a stamp is computed from.
INDEX_COLUMNS = (
    "id_kind, id_value, valid_from, valid_to, asset_name, asset_type, asset_arn, sensitivity, reachability, level, "
    "asset_identifiers"
)


def stamped(table: str) -> bool:
    """Whether the table's rows carry asset stamps (it has identifiers the index knows)."""
    return table in views.MATCHES


def table_schema(table: str, schema: pa.Schema) -> pa.Schema:
    """A lake table's schema: a table with identifiers has the stamp columns too."""
    if not stamped(table):
        return schema
    return pa.schema([*schema, *(f for f in ASSET_STAMP_FIELDS if f.name not in schema.names)])


def index_epoch(con: duckdb.DuckDBPyConnection) -> str:
    """The epoch of the connection's index: equal epochs give every row the same stamps."""
    count, digest = con.execute(f"SELECT count(*), bit_xor(hash({INDEX_COLUMNS})) FROM main.{INDEX}").fetchone()
    return f"{_views_version()}-{count}-{digest or 0:016x}"


@functools.cache
def _views_version() -> str:
    """A digest of the views' SQL: a loglake that matches identifiers differently has other epochs."""
    text = "\n".join(views.enriched_sql(table) for table in sorted(views.MATCHES))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# stamping rows


@dataclass(frozen=True, eq=False)
class Stamper:
    """The index an ingest run (or a restamp) stamps rows with, and its epoch; sent to workers with each batch."""

    epoch: str
    index: pa.Table

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection) -> Stamper:
        """The index of a connection whose index is built (engine.connect, views.build_index)."""
        return cls(index_epoch(con), con.execute(f"SELECT * FROM main.{INDEX}").to_arrow_table())

    def stamp(self, table: str, rows: pa.Table) -> pa.Table:
        """`rows` of `table` with their stamp columns (replaced when they have them)."""
        if not stamped(table):
            return rows
        for field, values in zip(ASSET_STAMP_FIELDS, self._stamps(table, rows).columns, strict=True):
            at = rows.schema.get_field_index(field.name)
            column = values.cast(pa.string())
            rows = rows.set_column(at, field, column) if at >= 0 else rows.append_column(field, column)
        return rows

    def _stamps(self, table: str, rows: pa.Table) -> pa.Table:
        if self.index.num_rows == 0 or rows.num_rows == 0:
            return pa.table({f.name: pa.nulls(rows.num_rows, pa.string()) for f in ASSET_STAMP_FIELDS})
        con = _connection(self)
        positions = np.arange(rows.num_rows)
        con.register("__stamp_rows", rows.append_column("__rid", pa.array(positions)))
        try:
            enriched = views.enriched_sql(table, "__stamp_rows", index=STAMP_INDEX)
            found = con.execute(f"SELECT __rid, {_computed(table)} FROM ({enriched})").to_arrow_table()
        finally:
            con.unregister("__stamp_rows")
        # The joins do not keep the rows' order, even on one thread; putting them back by position costs less
        # than an ORDER BY (which doubled the cost of stamping), and nothing when the order came out unchanged.
        order = found.column("__rid").to_numpy()
        found = found.drop_columns(["__rid"])
        if np.array_equal(order, positions):
            return found
        back = np.empty(len(order), dtype=np.int64)
        back[order] = positions
        return found.take(back)


def _computed(table: str) -> str:
    """The stamp columns from `<table>_ctx`'s columns (NULL where the view has no such column)."""
    added = views.added_columns(table)
    return ", ".join(
        f"{column if column in added else 'NULL::VARCHAR'} AS {views.stored_column(column)}"
        for column in ASSET_STAMP_COLUMNS
    )


_CONNECTIONS: dict[str, duckdb.DuckDBPyConnection] = {}


def _connection(stamper: Stamper) -> duckdb.DuckDBPyConnection:
    """One DuckDB connection per process and epoch, holding the index (a forked worker makes its own)."""
    key = f"{os.getpid()}/{stamper.epoch}"
    if key not in _CONNECTIONS:
        _CONNECTIONS.clear()
        con = duckdb.connect(config={"threads": 1})
        con.execute("SET TimeZone = 'UTC'")
        con.register("__stamp_index_rows", stamper.index)
        con.execute(f"CREATE TABLE {STAMP_INDEX} AS SELECT * FROM __stamp_index_rows")
        con.unregister("__stamp_index_rows")
        _CONNECTIONS[key] = con
    return _CONNECTIONS[key]


def load(lake: Path) -> Stamper:
    """The index as the lake's `assets` table gives it now (an empty one without assets).

    Read from the table's Parquet files (DuckDB's Iceberg extension takes a third of a second to load, and
    every ingest run pays this); the index and its epoch are those a query connection builds."""
    from loglake.query import engine  # engine builds the views with this module

    location = lake_catalog.LakeLocation(lake)
    catalog = lake_catalog.open_catalog(location)
    assets = lake_catalog.load_table(catalog, ASSETS) if ASSETS in lake_catalog.table_names(catalog) else None
    if assets is None or assets.current_snapshot() is None:
        return Stamper(f"{_views_version()}-0-{0:016x}", pa.table({}))  # index_epoch of an empty index
    con = engine.open_duckdb(location, threads=1) if location.on_s3 else duckdb.connect(config={"threads": 1})
    con.execute("SET TimeZone = 'UTC'")
    engine.register_files(con, ASSETS, assets)
    views.build_index(con)
    return Stamper.of(con)


# the record of which files' stamps are current


def record_path(root: Path, table: str) -> Path:
    return root / FOLDER / f"{table}.json"


def recorded(root: Path, table: str) -> dict[str, str]:
    """Each recorded data file's epoch (empty when nothing is recorded or the record is unreadable)."""
    try:
        files = json.loads(record_path(root, table).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return files if isinstance(files, dict) else {}


def record(root: Path, table: str, files: dict[str, str], locks: Locks, *, live: set[str] | None = None) -> None:
    """Add files (path -> epoch) to the table's record; with `live`, forget files not in it (replaced by
    compaction or a restamp, dropped by retention). Under a lock: ingest runs and restamps record at once."""
    with holding(locks, LOCK):
        current = recorded(root, table)
        if live is not None:
            current = {p: epoch for p, epoch in current.items() if p in live}
        current.update({_plain(p): epoch for p, epoch in files.items()})
        write_bytes_atomically(record_path(root, table), json.dumps({"files": current}, sort_keys=True).encode())


def index_path(root: Path, epoch: str) -> Path:
    return root / FOLDER / f"index-{epoch}.parquet"


def keep_index(root: Path, stamper: Stamper) -> None:
    """Keep the index of an epoch files are recorded at: a restamp then checks only the rows an inventory
    change could have moved (the identifiers whose index rows differ), not every row of those files."""
    path = index_path(root, stamper.epoch)
    if path.exists() or stamper.index.num_rows == 0:
        return  # without assets, every identifier an inventory adds is a change: every row is compared anyway
    write_atomically(path, lambda partial: pq.write_table(stamper.index, partial))


def forget_indexes(root: Path, keep: set[str]) -> None:
    """Delete the kept indexes of epochs no table records a file at any more."""
    for path in (root / FOLDER).glob("index-*.parquet"):
        if path.name.removeprefix("index-").removesuffix(".parquet") not in keep:
            path.unlink(missing_ok=True)


def _plain(path: str) -> str:
    return path.removeprefix("file://")


def split(root: Path, table: str, files: list[str], epoch: str) -> tuple[list[str], list[str]]:
    """(files whose stamps are current at `epoch`, the others)."""
    known = recorded(root, table)
    current = [f for f in files if known.get(f) == epoch]
    return current, [f for f in files if known.get(f) != epoch]


# the enriched views over stamped files


def use_stamps(con: duckdb.DuckDBPyConnection, tables: dict[str, Table]) -> None:
    """Re-create `<table>_ctx` so that files whose stamps are current read them (after views.create_views, on
    a connection made by engine.connect: it knows the lake folder)."""
    from loglake.query import engine, pruning

    lake = pruning.lake_of(con)
    if lake is None:
        return
    epoch = index_epoch(con)
    for name, table in sorted(tables.items()):
        if not stamped(name) or table.current_snapshot() is None or not _has_stamps(table):
            continue
        current, stale = split(lake.root, name, engine.snapshot_files(table, lake=lake.root), epoch)
        if not current:
            continue  # every row joins: the view views.create_views made
        source = f'main."{name}"' if not stale else files_relation(name, current)
        other = files_relation(name, stale) if stale else None
        con.execute(f'CREATE OR REPLACE VIEW main."{views.view_name(name)}" AS {views.split_sql(name, source, other)}')


def files_relation(name: str, files: list[str], file_column: str | None = None) -> str:
    """Some of the table's files, with all of its columns (a file older than a column lacks it): the table's
    view gives the shape. Nothing connection-local (a web cursor sees only the connection's views and tables)."""
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    named = f", filename = '{file_column}'" if file_column else ""
    return (
        f'((SELECT * FROM main."{name}" LIMIT 0) UNION ALL BY NAME '
        f"(SELECT * FROM read_parquet([{listed}], union_by_name = true{named})))"
    )


def _has_stamps(table: Table) -> bool:
    names = set(table.schema().column_names)
    return all(f.name in names for f in ASSET_STAMP_FIELDS)


# bringing stamps up to date


@dataclass
class RestampReport:
    table: str
    files_checked: int = 0  # files not recorded at the current epoch
    rows_checked: int = 0  # their rows compared with the index (only those an index change could move, where known)
    files_current: int = 0  # of those, files whose stamps agreed with the index: recorded, not rewritten
    files_rewritten: int = 0
    rows_restamped: int = 0


def restamp(lake: Path, on_day: Callable[[], None] | None = None) -> list[RestampReport]:
    """Check the stamps of every file not recorded at the index's current epoch; record those that agree and
    rewrite the others (one commit per day, `on_day` called after each). One report per stamped table."""
    from loglake.query import engine

    location = lake_catalog.LakeLocation(lake)
    catalog = lake_catalog.open_catalog(location)
    names = [name for name in lake_catalog.table_names(catalog) if stamped(name)]
    tables = {name: lake_catalog.load_table(catalog, name) for name in names}
    if all(table.current_snapshot() is None for table in tables.values()):
        return [RestampReport(name) for name in names]  # no rows yet: nothing to check
    for name in names:  # a lake an older loglake wrote gains the stamp columns
        tables[name] = lake_catalog.ensure_table(catalog, name, pa.schema(ASSET_STAMP_FIELDS))
    run = _Restamp(engine.connect(lake), location.root, lake_locks(location), on_day)
    keep_index(location.root, run.stamper)
    reports = [run.table(name, table) for name, table in tables.items()]
    forget_indexes(location.root, {epoch for name in names for epoch in recorded(location.root, name).values()})
    return reports


@dataclass
class _Restamp:
    con: duckdb.DuckDBPyConnection  # made by engine.connect: the index, the tables' shapes and file indexes
    root: Path
    locks: Locks
    on_day: Callable[[], None] | None

    def __post_init__(self) -> None:
        self.stamper = Stamper.of(self.con)

    def table(self, name: str, table: Table) -> RestampReport:
        from loglake.query import engine

        report = RestampReport(name)
        if table.current_snapshot() is None:
            return report
        epoch = self.stamper.epoch
        known = recorded(self.root, name)
        by_epoch: dict[str | None, list[str]] = defaultdict(list)
        for path in engine.snapshot_files(table, lake=self.root):
            if known.get(path) != epoch:
                by_epoch[known.get(path)].append(path)
        wrong: dict[str, dt.date] = {}
        for since, files in by_epoch.items():
            report.files_checked += len(files)
            wrong |= self._files_with_wrong_stamps(name, files, self._changed_since(since), report)
        agreed = {path: epoch for files in by_epoch.values() for path in files if path not in wrong}
        report.files_current = len(agreed)
        written = self._rewrite(table, wrong, report) if wrong else {}
        table.refresh()
        live = set(engine.snapshot_files(table, lake=self.root))
        record(self.root, name, {**agreed, **written}, self.locks, live=live)
        return report

    def _changed_since(self, epoch: str | None) -> str | None:
        """A relation of the identifier values whose index rows differ between `epoch` and now: only rows
        carrying one can have a stamp the change made wrong. None (check every row) when the epoch's index
        was not kept, or was made by views matching differently."""
        kept = index_path(self.root, epoch) if epoch else None
        if kept is None or not kept.exists() or not epoch.startswith(_views_version() + "-"):
            return None
        name = f"__changed_{hashlib.sha256(epoch.encode()).hexdigest()[:12]}"
        old = f"read_parquet('{str(kept).replace(chr(39), chr(39) * 2)}')"
        ours = f"main.{INDEX}"
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT DISTINCT id_value FROM ("
                f"(SELECT {INDEX_COLUMNS} FROM {old} EXCEPT ALL SELECT {INDEX_COLUMNS} FROM {ours}) UNION ALL "
                f"(SELECT {INDEX_COLUMNS} FROM {ours} EXCEPT ALL SELECT {INDEX_COLUMNS} FROM {old}))"
            )
        except duckdb.Error:
            return None  # unreadable or of another shape: check every row
        return name

    def _files_with_wrong_stamps(
        self, name: str, files: list[str], changed: str | None, report: RestampReport
    ) -> dict[str, dt.date]:
        """The files holding a row whose stamp is not what the index says now, with their day (a data file
        holds one); with `changed`, only rows carrying one of its values are looked at (the others' stamps
        cannot have moved)."""
        rows = files_relation(name, files, FILE_COLUMN)
        if changed is not None:
            carrying = " OR ".join(f"{m.expression} IN (SELECT id_value FROM {changed})" for m in views.MATCHES[name])
            rows = f"(SELECT l.* FROM {rows} AS l WHERE {carrying})"
        added = views.added_columns(name)
        differs = " OR ".join(
            f"{views.stored_column(c)} IS DISTINCT FROM {c}" if c in added else f"{views.stored_column(c)} IS NOT NULL"
            for c in ASSET_STAMP_COLUMNS
        )
        found = self.con.execute(
            f"SELECT {FILE_COLUMN}, count(*), count(*) FILTER (WHERE {differs}), min(lake_date) "
            f"FROM ({views.enriched_sql(name, rows)}) GROUP BY {FILE_COLUMN}"
        ).fetchall()
        report.rows_checked += sum(row[1] for row in found)
        return {row[0]: row[3] for row in found if row[2]}

    def _rewrite(self, table: Table, wrong: dict[str, dt.date], report: RestampReport) -> dict[str, str]:
        """Rewrite these files (path -> day) with current stamps, one commit per day; new files' paths -> epoch."""
        name = table.name()[-1]
        by_day: dict[dt.date, set[str]] = defaultdict(set)
        for path, day in wrong.items():
            by_day[day].add(path)
        written: dict[str, str] = {}
        for day, wanted in sorted(by_day.items()):
            done = maintenance.rewrite_day(
                table,
                day,
                lambda files, wanted=wanted: [f for f in files if _plain(f.file_path) in wanted],
                lambda rows: self.stamper.stamp(name, rows),
                self.locks,
                REWRITE_REASON,
            )
            if done is not None:
                replaced, new_files, rows = done
                report.files_rewritten += len(replaced)
                report.rows_restamped += rows
                written.update({_plain(f.file_path): self.stamper.epoch for f in new_files})
            if self.on_day:
                self.on_day()
        return written
