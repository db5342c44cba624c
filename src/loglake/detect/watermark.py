"""What arrived since a rule last ran: per table, the event-time ranges of data files committed after a snapshot.

The watermark is the Iceberg sequence number of the last snapshot a rule has seen, per table: it follows
commits, not event time, so logs that arrive late (an hour or a week) are evaluated when they land. The ranges
come from the data files' lake_time bounds in the manifests, so finding them reads no data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from pyiceberg.conversions import from_bytes
from pyiceberg.manifest import ManifestEntryStatus
from pyiceberg.table import Table
from pyiceberg.types import TimestamptzType

from loglake.detect.connection import TimeRange
from loglake.lake import state as lake_state
from loglake.lake.maintenance import REWRITE_PROPERTY

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class NewData:
    ranges: list[TimeRange]  # event-time ranges of rows committed after the watermark (merged, sorted)
    sequence: int  # the table's current sequence number: the next watermark


def new_data(table: Table, after: int) -> NewData:
    """Event-time ranges of the rows committed to `table` in snapshots after sequence number `after`."""
    field_id = table.schema().find_field("lake_time").field_id
    ranges: list[TimeRange] = []
    current = after
    for snapshot in table.metadata.snapshots:
        sequence = snapshot.sequence_number or 0
        current = max(current, sequence)
        if sequence <= after or _is_rewrite(snapshot):
            continue  # seen, or the same rows in new files (compaction)
        for manifest in snapshot.manifests(table.io):
            if manifest.added_snapshot_id != snapshot.snapshot_id:
                continue  # carried over from an earlier snapshot
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                if entry.status == ManifestEntryStatus.ADDED:
                    ranges.append(_bounds(entry.data_file, field_id))
    return NewData(merge_ranges(ranges), current)


def _is_rewrite(snapshot) -> bool:
    return snapshot.summary is not None and REWRITE_PROPERTY in snapshot.summary.additional_properties


def _bounds(data_file, field_id: int) -> TimeRange:
    low = from_bytes(TimestamptzType(), data_file.lower_bounds[field_id])
    high = from_bytes(TimestamptzType(), data_file.upper_bounds[field_id])
    return EPOCH + dt.timedelta(microseconds=low), EPOCH + dt.timedelta(microseconds=high + 1)


def merge_ranges(ranges: list[TimeRange], gap: dt.timedelta = dt.timedelta(0)) -> list[TimeRange]:
    """Sorted, non-overlapping ranges covering the given ones (ranges closer than `gap` become one)."""
    merged: list[TimeRange] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + gap:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def align(ranges: list[TimeRange], bucket: dt.timedelta) -> list[TimeRange]:
    """Widen ranges to whole buckets (epoch-aligned), so every touched bucket is counted in full."""
    seconds = int(bucket.total_seconds())

    def floor(t: dt.datetime) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=int((t - EPOCH).total_seconds()) // seconds * seconds)

    widened = [(floor(low), floor(high - dt.timedelta(microseconds=1)) + bucket) for low, high in ranges]
    return merge_ranges(widened)


_metadata = sa.MetaData()
watermarks = sa.Table(
    "watermarks",
    _metadata,
    sa.Column("rule_id", sa.Text, primary_key=True),
    sa.Column("tbl", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.Text, nullable=False),
)


class WatermarkStore:
    """Per rule and table, the last sequence number evaluated, in the lake's state database (lake/state.py)."""

    def __init__(self, url: str):
        self._engine = lake_state.engine(url)
        lake_state.create_tables(_metadata, self._engine)

    def get(self, rule_id: str) -> dict[str, int]:
        query = sa.select(watermarks.c.tbl, watermarks.c.sequence).where(watermarks.c.rule_id == rule_id)
        with self._engine.connect() as db:
            return {table: sequence for table, sequence in db.execute(query)}

    def set(self, rule_id: str, sequences: dict[str, int]) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        with self._engine.begin() as db:
            db.execute(
                sa.delete(watermarks).where(watermarks.c.rule_id == rule_id, watermarks.c.tbl.in_(list(sequences)))
            )
            if sequences:
                rows = [{"rule_id": rule_id, "tbl": t, "sequence": n, "updated_at": now} for t, n in sequences.items()]
                db.execute(sa.insert(watermarks), rows)

    def lowest(self, table: str) -> int | None:
        """The lowest sequence number any rule has seen on `table` (None: no rule has run on it yet)."""
        with self._engine.connect() as db:
            return db.execute(sa.select(sa.func.min(watermarks.c.sequence)).where(watermarks.c.tbl == table)).scalar()

    def close(self) -> None:
        """Nothing to close: connections return to the process's pool."""
