"""Keeping a lake small and fast: compaction (many small files per day become few), snapshot expiry and
retention (days older than N dropped).

Each change is one Iceberg commit per table and day, so a run killed at any point leaves the lake as it was
before that commit or after it: the same rows either way. What a killed run wrote but never committed is an
unreferenced file, never read. A commit that loses a race with a writer (an ingest appending to the same day)
is planned again from the new snapshot; compaction deletes exactly the files it read, never a newcomer's.

Compaction snapshots carry `loglake.rewrite`; detection (watermark.py) treats them as no new data, since the
rows are the same ones in new files.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table
from sqlalchemy.exc import OperationalError

from loglake.ingest import faults
from loglake.lake import datafiles
from loglake.lake.catalog import retry_commit
from loglake.lake.locks import Locks, commit_lock, holding

REWRITE_PROPERTY = "loglake.rewrite"
BEFORE_COMMIT = {"compaction": "compact-before-commit"}  # fault points (ingest/faults.py) by rewrite reason
SMALL_FILE_BYTES = 64 << 20  # files below this are merged; a day's compacted file is up to the table's target
EPOCH_DAY = dt.date(1970, 1, 1)


@dataclass
class MaintenanceReport:
    table: str
    days_compacted: int = 0
    files_before: int = 0
    files_after: int = 0
    rows_rewritten: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0
    bytes_freed: int = 0
    days_dropped: list[str] = field(default_factory=list)


def compact(table: Table, name: str, locks: Locks, on_day: Callable[[], None] | None = None) -> MaintenanceReport:
    """Merge each day's small files into one (or a few), one commit per day."""
    report = MaintenanceReport(name)
    for day in sorted(_small_files_by_day(table)):
        _compact_day(table, day, report, locks)
        if on_day:
            on_day()
    return report


def days_to_compact(table: Table) -> int:
    return len(_small_files_by_day(table))


def _small_files_by_day(table: Table) -> dict[dt.date, list[DataFile]]:
    if table.current_snapshot() is None or not table.spec().fields:
        return {}
    by_day: dict[dt.date, list[DataFile]] = defaultdict(list)
    for task in table.scan().plan_files():
        if task.file.file_size_in_bytes < SMALL_FILE_BYTES:
            by_day[EPOCH_DAY + dt.timedelta(days=task.file.partition[0])].append(task.file)
    return {day: files for day, files in by_day.items() if len(files) > 1}


def _compact_day(table: Table, day: dt.date, report: MaintenanceReport, locks: Locks) -> None:
    done = rewrite_day(table, day, _small_ones, _by_time, locks, "compaction")
    if done is None:
        return
    faults.point("compact-after-commit")
    report.days_compacted += 1
    report.files_before += len(done[0])
    report.files_after += len(done[1])
    report.rows_rewritten += done[2]


def _small_ones(files: list[DataFile]) -> list[DataFile]:
    small = [f for f in files if _is_small(f)]
    return small if len(small) > 1 else []  # one small file: another compaction did it meanwhile


def _by_time(rows: pa.Table) -> pa.Table:
    return rows.take(pc.sort_indices(rows, [("lake_time", "ascending")]))


def rewrite_day(
    table: Table,
    day: dt.date,
    pick: Callable[[list[DataFile]], list[DataFile]],
    transform: Callable[[pa.Table], pa.Table],
    locks: Locks,
    reason: str,
) -> tuple[list[DataFile], list[DataFile], int] | None:
    """Replace the files `pick` chooses among the day's live ones by files of `transform`ed rows, in one commit
    tagged `loglake.rewrite = reason` (compaction, a context restamp). A commit that loses a race is planned
    again; the files replaced are exactly those read, never a newcomer's. (replaced, written, rows), or None
    when `pick` chose nothing."""

    def rewrite() -> tuple[list[DataFile], list[DataFile], int] | None:
        chosen = pick([t.file for t in table.scan(row_filter=_day_filter(day)).plan_files()])
        if not chosen:
            return None
        rows = transform(datafiles.read_data_files(table, chosen))
        written = datafiles.write_data_files(table, rows, uuid.uuid4())
        faults.point(BEFORE_COMMIT.get(reason, f"{reason}-before-commit"))
        with holding(locks, commit_lock(table.name()[-1])):
            table.refresh()
            live = {t.file.file_path for t in table.scan(row_filter=_day_filter(day)).plan_files()}
            if not {f.file_path for f in chosen} <= live:
                raise CommitFailedException("another rewrite replaced these files meanwhile")
            with table.transaction() as tx:
                replace = tx.update_snapshot(snapshot_properties={REWRITE_PROPERTY: reason}).overwrite()
                with replace:
                    for data_file in chosen:
                        replace.delete_data_file(data_file)
                    for data_file in written:
                        replace.append_data_file(data_file)
        return chosen, written, rows.num_rows

    return retry_commit(table, rewrite)


def _is_small(data_file: DataFile) -> bool:
    return data_file.file_size_in_bytes < SMALL_FILE_BYTES


def _day_filter(day: dt.date):
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    return And(
        GreaterThanOrEqual("lake_time", start.isoformat()),
        LessThan("lake_time", (start + dt.timedelta(days=1)).isoformat()),
    )


@dataclass
class Expired:
    snapshots: int = 0
    files_deleted: int = 0
    bytes_freed: int = 0


def expire_snapshots(
    table: Table,
    locks: Locks,
    *,
    older_than: dt.datetime,
    keep: int,
    pending_since: dt.datetime | None = None,
    watermark: int | None = None,
) -> Expired:
    """Drop snapshots older than `older_than` beyond the newest `keep`, except those still needed:

    - taken after `pending_since` (when the oldest unfinished ingest batch started): a batch's snapshot tag is
      how a take-over knows the batch is already in;
    - with a sequence number above `watermark` (the lowest a detection rule has seen on this table): the
      files a snapshot adds are how a rule finds what it has not seen yet.

    Then the files only the dropped snapshots referenced (data files compaction or retention replaced, their
    manifests and manifest lists) are deleted, which is what gives the storage back. Only files the dropped
    snapshots held are candidates, never an unreferenced file a running writer has not committed yet. A kill
    between the commit and the deletes leaves those files behind, unreferenced and never read.
    """
    cutoff = min(older_than, pending_since) if pending_since else older_than

    def expire() -> tuple[list[int], dict[str, int]]:
        with holding(locks, commit_lock(table.name()[-1])):
            table.refresh()
            snapshots = sorted(table.metadata.snapshots, key=lambda s: s.timestamp_ms)
            current = table.current_snapshot()
            candidates = {
                s.snapshot_id
                for s in snapshots[: max(0, len(snapshots) - keep)]
                if s.timestamp_ms < int(cutoff.timestamp() * 1000)
                and (watermark is None or (s.sequence_number or 0) <= watermark)
                and (current is None or s.snapshot_id != current.snapshot_id)
            }
            if not candidates:
                return [], {}
            doomed = _files_of(table, [s for s in snapshots if s.snapshot_id in candidates])
            for path in _files_of(table, [s for s in snapshots if s.snapshot_id not in candidates]):
                doomed.pop(path, None)
            table.maintenance.expire_snapshots().by_ids(list(candidates)).commit()
            return list(candidates), doomed

    expired, doomed = retry_commit(table, expire)
    if not expired:
        return Expired()
    faults.point("expire-after-commit")
    deleted = [path for path in doomed if _deleted(table, path)]
    return Expired(len(expired), len(deleted), sum(doomed[path] for path in deleted))


def _deleted(table: Table, path: str) -> bool:
    """Whether the file is gone now; one that cannot be deleted (gone already, no permission) is left, unread."""
    try:
        table.io.delete(path)
    except OSError:
        return False
    return True


def _files_of(table: Table, snapshots: list) -> dict[str, int]:
    """Every file the snapshots reference (manifest lists, manifests, live data files), with its size."""
    files: dict[str, int] = {}
    for snapshot in snapshots:
        files[snapshot.manifest_list] = 0  # its size is not recorded; small
        for manifest in snapshot.manifests(table.io):
            if manifest.manifest_path in files:
                continue  # shared with a snapshot already read: same entries
            files[manifest.manifest_path] = manifest.manifest_length
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                files[entry.data_file.file_path] = entry.data_file.file_size_in_bytes
    return files


def drop_days_before(
    table: Table, name: str, cutoff: dt.date, locks: Locks, *, dry_run: bool = False
) -> MaintenanceReport:
    """Delete the days before `cutoff` (whole partitions: a file holds one day, so none is rewritten)."""
    report = MaintenanceReport(name)
    if table.current_snapshot() is None or not table.spec().fields:
        return report
    days = sorted({EPOCH_DAY + dt.timedelta(days=t.file.partition[0]) for t in table.scan().plan_files()})
    report.days_dropped = [d.isoformat() for d in days if d < cutoff]
    if dry_run or not report.days_dropped:
        return report
    predicate = LessThan("lake_time", dt.datetime.combine(cutoff, dt.time(), dt.UTC).isoformat())

    def delete_days() -> None:
        faults.point("retention-before-commit")
        with holding(locks, commit_lock(name)):
            table.refresh()
            table.delete(predicate, snapshot_properties={REWRITE_PROPERTY: "retention"})

    retry_commit(table, delete_days)
    return report
