"""`loglake coverage` (per current asset, whether the logs its level requires are arriving in the lake),
`loglake restamp` (bring the rows' asset stamps up to date) and `loglake context-views` (the enriched views'
SQL for Athena/Trino or Spark)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

import pyarrow as pa
import typer

from loglake.cli.app import LakeOption, OutputOption, app, check_output_format, console_err, default_lake
from loglake.cli.output import print_rows
from loglake.cli.posture import ConfigOption, _policy, user_errors
from loglake.context import stamps, views
from loglake.context.coverage import COLUMNS, coverage
from loglake.query.dialects import DialectError


@app.command("coverage")
@user_errors
def coverage_command(
    lake: LakeOption = None,  # type: ignore[assignment]
    config: ConfigOption = None,
    stale_hours: Annotated[
        float, typer.Option("--stale-hours", min=0, help="A source whose last record is older than this is stale.")
    ] = 24.0,
    fmt: OutputOption = "table",
) -> None:
    """For each asset in the lake's `assets` table: each required log source, its last record, ok/stale/missing/off."""
    check_output_format(fmt)
    rows = coverage(lake or default_lake(), _policy(config), dt.timedelta(hours=stale_hours))
    print_rows(pa.Table.from_pylist(rows, schema=_schema()), fmt)


def _schema() -> pa.Schema:
    return pa.schema([pa.field(c, pa.timestamp("us", tz="UTC") if c == "last_seen" else pa.string()) for c in COLUMNS])


@app.command("restamp")
def restamp_command(lake: LakeOption = None, fmt: OutputOption = "table") -> None:  # type: ignore[assignment]
    """Check the log rows' asset stamps against the lake's assets and rewrite the files whose rows moved.

    `inventory --lake`, `audit --lake` and `compact` run it; by hand, it stamps a lake written before stamps."""
    check_output_format(fmt)
    days = 0
    with console_err.status("checking the asset stamps...") as status:

        def rewrote_day() -> None:
            nonlocal days
            days += 1
            status.update(f"checking the asset stamps: {days} day(s) rewritten...")

        reports = stamps.restamp(lake or default_lake(), on_day=rewrote_day)
    print_rows(pa.Table.from_pylist([dataclasses.asdict(r) for r in reports]), fmt)


@app.command("context-views")
def context_views_command(
    dialect: Annotated[str, typer.Option("--dialect", help="athena (Trino), trino or spark.")] = "athena",
) -> None:
    """Print CREATE VIEW statements for `asset_index` and the `<table>_ctx` views, to run in Athena or Spark."""
    if dialect not in ("athena", "trino", "spark"):
        raise DialectError(f"unknown dialect {dialect!r}; use one of: athena, trino, spark")
    typer.echo(";\n\n".join(views.translated(dialect)) + ";")
