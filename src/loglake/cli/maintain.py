"""`loglake compact` and `loglake retention`: merge small files, expire snapshots, drop old days."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

import pyarrow as pa
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from loglake.cli.app import LakeOption, OutputOption, app, check_output_format, console_err, default_lake
from loglake.cli.output import print_rows
from loglake.context import stamps
from loglake.detect.watermark import WatermarkStore
from loglake.formats import registry
from loglake.lake import catalog as lake_catalog
from loglake.lake import maintenance
from loglake.lake import rejects as rejects_table
from loglake.lake import state as lake_state
from loglake.lake.ledger import oldest_pending
from loglake.lake.locks import lake_locks

COMPACT_COLUMNS = (
    "table",
    "days_compacted",
    "files_before",
    "files_after",
    "rows_rewritten",
    "snapshots_expired",
    "files_deleted",
    "bytes_freed",
)
TableOption = Annotated[
    list[str] | None, typer.Option("--table", "-t", help="Only this table (repeatable). Default: every log table.")
]


@app.command("compact")
def compact_command(
    lake: LakeOption = None,  # type: ignore[assignment]
    tables: TableOption = None,
    keep: Annotated[int, typer.Option("--keep-snapshots", min=1, help="Snapshots always kept per table.")] = 10,
    expire_hours: Annotated[
        float, typer.Option("--expire-hours", min=0, help="Expire snapshots older than this (hours).")
    ] = 24.0,
    fmt: OutputOption = "table",
) -> None:
    """Merge each day's small files (one commit per day; safe to kill), then expire old snapshots."""
    check_output_format(fmt)
    lake = lake or default_lake()
    location = lake_catalog.LakeLocation(lake)
    catalog = lake_catalog.open_catalog(location)
    names = _log_tables(catalog, tables)
    loaded = {name: lake_catalog.load_table(catalog, name) for name in names}
    locks = lake_locks(location)
    columns = [TextColumn("[bold]compact[/bold] {task.description}"), BarColumn(), MofNCompleteColumn()]
    reports = []
    with Progress(*columns, TimeElapsedColumn(), console=console_err, transient=True) as progress:
        task = progress.add_task("", total=sum(maintenance.days_to_compact(t) for t in loaded.values()))
        for name, table in loaded.items():
            progress.update(task, description=name)
            reports.append(maintenance.compact(table, name, locks, on_day=lambda: progress.advance(task)))
        if any(r.days_compacted for r in reports):  # merged files are new to the asset stamps' record
            progress.update(task, description="checking asset stamps")
            stamps.restamp(lake)
    pending = oldest_pending(lake_state.ingest_state_url(location))
    marks = WatermarkStore(lake_state.detect_state_url(location))
    older_than = dt.datetime.now(dt.UTC) - dt.timedelta(hours=expire_hours)
    for report in reports:
        expired = maintenance.expire_snapshots(
            loaded[report.table],
            locks,
            older_than=older_than,
            keep=keep,
            pending_since=pending,
            watermark=marks.lowest(report.table),
        )
        report.snapshots_expired, report.files_deleted = expired.snapshots, expired.files_deleted
        report.bytes_freed = expired.bytes_freed
    _print([dataclasses.asdict(r) for r in reports], fmt, COMPACT_COLUMNS)


@app.command("retention")
def retention_command(
    days: Annotated[int, typer.Option("--days", min=1, help="Keep this many days (today included); drop older.")],
    lake: LakeOption = None,  # type: ignore[assignment]
    tables: TableOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the days that would go; change nothing.")] = False,
    fmt: OutputOption = "table",
) -> None:
    """Drop the days of events older than --days from the log tables (one commit per table; safe to kill)."""
    check_output_format(fmt)
    location = lake_catalog.LakeLocation(lake or default_lake())
    catalog = lake_catalog.open_catalog(location)
    cutoff = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days - 1)
    locks = lake_locks(location)
    reports = [
        maintenance.drop_days_before(lake_catalog.load_table(catalog, name), name, cutoff, locks, dry_run=dry_run)
        for name in _log_tables(catalog, tables)
    ]
    rows = [{"table": r.table, "days_dropped": ", ".join(r.days_dropped)} for r in reports if r.days_dropped]
    _print(rows, fmt, ("table", "days_dropped"))


def _log_tables(catalog, wanted: list[str] | None) -> list[str]:
    present = lake_catalog.table_names(catalog)
    for name in wanted or []:
        lake_catalog.load_table(catalog, name)  # an unknown name is a one-line error listing the tables
    logs = {*registry.tables(), rejects_table.TABLE}
    return [name for name in present if name in (wanted or logs)]


def _print(rows: list[dict], fmt: str, columns: tuple[str, ...]) -> None:
    table = pa.Table.from_pylist([{c: row[c] for c in columns} for row in rows]) if rows else pa.table({})
    print_rows(table, fmt)
