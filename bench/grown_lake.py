"""A big lake for benchmarks: one demo day ingested by loglake, then its rows copied, shifted by whole days.

Real-shaped rows (the demo's mix of principals, APIs, errors and traffic, with its attack in every copy)
without generating and parsing millions of raw log lines first. Used by bench/detect.py, bench/web.py and
bench/context.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from loglake.demo import generate_raw_logs
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.lake import catalog as lake_catalog


def build_seed(raw: Path, lake: Path) -> dt.date:
    """Generate and ingest one demo day into `lake`; returns its first day."""
    manifest = generate_raw_logs(raw, days=1, scale=1.0, workers=2)
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=2))
    return manifest.start.date()


def grow(table, target: int, days: int, seed_day: dt.date) -> None:
    """Append day-shifted copies of the table's rows until it holds `target` rows over `days` days."""
    seed = table.scan().to_arrow()
    copies = max(1, target // max(1, len(seed)))
    per_day = -(-copies // days)
    written = len(seed)
    for copy in range(1, copies):
        shift = dt.timedelta(days=copy // per_day + 1, seconds=copy % per_day)
        table.append(shifted(seed, shift))
        written += len(seed)
    print(f"{table.name()[-1]}: {written:,} rows ({copies} copies of {len(seed):,})")


def grow_mix(lake: Path, events: int, tables: tuple[str, ...], seed_day: dt.date) -> None:
    """Copy the demo day of every table in `tables`, one copy a day, until they hold `events` rows together.

    Every table gets the same number of copies, so the lake keeps the demo's mix (flows, web requests,
    CloudTrail, DNS, WAF, S3) and the last 24 hours hold one demo day.
    """
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    seeds = {name: lake_catalog.load_table(catalog, name) for name in tables}
    seed_rows = {name: table_rows(table) for name, table in seeds.items()}
    copies = -(-events // sum(seed_rows.values()))
    for name, table in seeds.items():
        if seed_rows[name]:
            grow(table, seed_rows[name] * copies, copies, seed_day)


def table_rows(table) -> int:
    """Rows in the table's current snapshot (from its summary: no data read)."""
    snapshot = table.current_snapshot()
    return int(snapshot.summary["total-records"]) if snapshot and snapshot.summary else 0


def shifted(rows: pa.Table, by: dt.timedelta) -> pa.Table:
    """The rows as if they happened `by` later (event time, and the day partition column with it)."""
    times = pc.add(rows["lake_time"], pa.scalar(by, pa.duration("us")))
    rows = rows.set_column(rows.schema.get_field_index("lake_time"), "lake_time", times)
    dates = pc.cast(times, pa.date32())
    return rows.set_column(rows.schema.get_field_index("lake_date"), "lake_date", dates)
