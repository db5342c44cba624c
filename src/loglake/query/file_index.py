"""Which data files of a table's snapshot hold which days: an index kept on this machine, so finding a day's
files does not decode every manifest entry of the lake's history.

One Parquet file per table and snapshot, `<lake root>/file-index/<table>/<snapshot id>.parquet` (the root is
local for a lake on S3 too: its state folder). Rows: data file path, partition day, record count and the
file's lake_time bounds, sorted by day, so a day range is a lookup of a few small row groups.

A snapshot's index is its parent's plus the files its own manifests add, minus those they delete: after an
ingest only that commit's manifests are read. Snapshots never change, so an index keyed by snapshot id is
right forever. Written to a temporary name and renamed, so a killed writer leaves none or a whole one;
concurrent builders of the same snapshot write the same rows. An index that is missing, unreadable, or whose
file count disagrees with the snapshot's summary is built again from the manifests.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import DataFile, ManifestContent, ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot
from pyiceberg.types import TimestamptzType

from loglake.lake.atomic import write_atomically

INDEX_FOLDER = "file-index"
TIMESTAMP = pa.timestamp("us", tz="UTC")
SCHEMA = pa.schema(
    [
        pa.field("path", pa.string()),
        pa.field("day", pa.int32()),  # days since 1970-01-01 of the file's partition (null: no lake_time)
        pa.field("records", pa.int64()),
        pa.field("lower_time", TIMESTAMP),
        pa.field("upper_time", TIMESTAMP),
    ]
)
ROW_GROUP = 1024  # small row groups: a day range reads the few whose day statistics overlap it
KEEP_SECONDS = 3600  # an older snapshot's index stays this long: a reader opened on it may still look it up
MAX_CHAIN = 500  # snapshots walked back to find a built index; beyond that, a full build is no dearer
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DAY = dt.date(1970, 1, 1)


class NotIndexableError(Exception):
    """The table's files cannot be listed by day (not partitioned by lake_time, or it has delete files)."""


def index_folder(root: Path, table_name: str) -> Path:
    return root / INDEX_FOLDER / table_name


def ensure_index(root: Path, table_name: str, table: Table) -> Path | None:
    """The index file of the table's current snapshot, built now if needed; None when the table has no
    snapshot or its files cannot be listed by day (readers then plan as before)."""
    snapshot = table.current_snapshot()
    if snapshot is None or not _partitioned_by_day(table):
        return None
    folder = index_folder(root, table_name)
    target = folder / f"{snapshot.snapshot_id}.parquet"
    if _valid(target, snapshot):
        return target
    try:
        rows = _rows(table, snapshot, folder)
    except NotIndexableError:
        return None
    try:
        _write(folder, target, rows)
    except OSError:
        return None  # a lake folder this user cannot write: plan as before
    return target


def indexed_files(root: Path, table_name: str, table: Table) -> list[str] | None:
    """Every data file of the current snapshot, from the index (None: not indexable, list as before)."""
    path = ensure_index(root, table_name, table)
    if path is None:
        return None
    return pq.read_table(path, columns=["path"]).column("path").to_pylist()


def day_number(day: dt.date) -> int:
    return (day - EPOCH_DAY).days


# building


def _partitioned_by_day(table: Table) -> bool:
    fields = table.spec().fields
    if len(fields) != 1 or str(fields[0].transform) != "day":
        return False
    return table.schema().find_field(fields[0].source_id).name == "lake_time"


def _rows(table: Table, snapshot: Snapshot, folder: Path) -> dict[str, dict]:
    try:
        rows = _incremental(table, snapshot, folder)
    except (OSError, pa.ArrowException):
        rows = None  # the parent's index went away meanwhile (removed by another reader) or is damaged
    if rows is None or not _matches_summary(rows, snapshot):
        rows = _full(table, snapshot)
    return rows


def _full(table: Table, snapshot: Snapshot) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    field_id = table.schema().find_field("lake_time").field_id
    for manifest in snapshot.manifests(table.io):
        _check_data(manifest)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            rows[entry.data_file.file_path] = _row(entry.data_file, field_id)
    return rows


def _incremental(table: Table, snapshot: Snapshot, folder: Path) -> dict[str, dict] | None:
    """The parent chain's nearest built index plus the changes of every snapshot since; None if none is built."""
    pending: list[Snapshot] = []
    current: Snapshot | None = snapshot
    while current is not None and len(pending) < MAX_CHAIN:
        built = folder / f"{current.snapshot_id}.parquet"
        if current is not snapshot and _valid(built, current):
            rows = {row["path"]: row for row in pq.read_table(built).to_pylist()}
            break
        pending.append(current)
        parent = current.parent_snapshot_id
        current = table.metadata.snapshot_by_id(parent) if parent is not None else None
    else:
        return None  # the chain reached its start (or an expired parent) without an index
    field_id = table.schema().find_field("lake_time").field_id
    for step in reversed(pending):
        _apply(table, step, rows, field_id)
    return rows


def _apply(table: Table, snapshot: Snapshot, rows: dict[str, dict], field_id: int) -> None:
    """A snapshot's own changes: entries it added or deleted, in the manifests it wrote (the others it kept)."""
    for manifest in snapshot.manifests(table.io):
        if manifest.added_snapshot_id != snapshot.snapshot_id:
            continue
        _check_data(manifest)
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
            if entry.snapshot_id != snapshot.snapshot_id:
                continue  # carried over unchanged into a rewritten manifest
            if entry.status == ManifestEntryStatus.ADDED:
                rows[entry.data_file.file_path] = _row(entry.data_file, field_id)
            elif entry.status == ManifestEntryStatus.DELETED:
                rows.pop(entry.data_file.file_path, None)


def _check_data(manifest) -> None:
    if manifest.content != ManifestContent.DATA:
        raise NotIndexableError("delete files: rows of a data file may be deleted, so its day is not the whole story")


def _row(data_file: DataFile, field_id: int) -> dict:
    day = data_file.partition[0]
    return {
        "path": data_file.file_path,
        "day": day,
        "records": data_file.record_count,
        "lower_time": _bound(data_file.lower_bounds, field_id),
        "upper_time": _bound(data_file.upper_bounds, field_id),
    }


def _bound(bounds: dict[int, bytes] | None, field_id: int) -> dt.datetime | None:
    if not bounds or field_id not in bounds:
        return None
    return EPOCH + dt.timedelta(microseconds=from_bytes(TimestamptzType(), bounds[field_id]))


# checking and storing


def _valid(path: Path, snapshot: Snapshot) -> bool:
    """Present, readable, and as many files as the snapshot's summary counts."""
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException):
        return False
    expected = _summary_files(snapshot)
    return expected is None or rows == expected


def _matches_summary(rows: dict[str, dict], snapshot: Snapshot) -> bool:
    expected = _summary_files(snapshot)
    return expected is None or len(rows) == expected


def _summary_files(snapshot: Snapshot) -> int | None:
    if snapshot.summary is None:
        return None
    value = snapshot.summary.additional_properties.get("total-data-files")
    return int(value) if value is not None else None


def _write(folder: Path, target: Path, rows: dict[str, dict]) -> None:
    ordered = pa.Table.from_pylist(
        sorted(rows.values(), key=lambda row: (row["day"] is None, row["day"] or 0, row["path"])), schema=SCHEMA
    )
    write_atomically(target, lambda partial: pq.write_table(ordered, partial, row_group_size=ROW_GROUP))
    _remove_old(folder, keep=target)


def _remove_old(folder: Path, keep: Path) -> None:
    """Indexes of earlier snapshots an hour old (a reader may still use a recent one), and stray temporaries."""
    cutoff = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        if path == keep:
            continue
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass  # another reader removed it first
