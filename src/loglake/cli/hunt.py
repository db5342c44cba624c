"""`loglake hunt ...`: timelines of an IP, a principal or an access key across every log table; saved SQL hunts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from loglake.cli.app import LakeOption, OutputOption, app, check_output_format, console_err, default_lake
from loglake.cli.output import print_rows
from loglake.cli.times import parse_range
from loglake.detect import hunt
from loglake.detect.connection import open_connection
from loglake.query import engine

hunt_app = typer.Typer(
    help="Hunt: one timeline of an IP, principal or access key across all log tables; saved SQL hunts.",
    no_args_is_help=True,
)
app.add_typer(hunt_app, name="hunt")

SinceOption = Annotated[
    str | None, typer.Option("--since", help="From this time: ISO date/time (UTC unless given) or an age: 24h, 7d.")
]
UntilOption = Annotated[str | None, typer.Option("--until", help="Before this time (same forms as --since).")]
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many rows, earliest first.")]


@hunt_app.command("ip")
def hunt_ip(
    address: Annotated[str, typer.Argument(help="An IPv4 or IPv6 address.")],
    *,
    since: SinceOption = None,
    until: UntilOption = None,
    lake: LakeOption = None,  # type: ignore[assignment]
    fmt: OutputOption = "table",
    limit: LimitOption = hunt.DEFAULT_LIMIT,
) -> None:
    """Every row of every log table that names the address (lake_ips), in time order."""
    check_output_format(fmt)
    window = _window(since, until)
    con = engine.connect(lake or default_lake())
    _print_timeline(hunt.ip_timeline(con, address, window, limit), fmt)


@hunt_app.command("principal")
def hunt_principal(
    who: Annotated[
        str, typer.Argument(help="An ARN, a user/role/session name, or an access key id (AKIA.../ASIA...).")
    ],
    *,
    since: SinceOption = None,
    until: UntilOption = None,
    lake: LakeOption = None,  # type: ignore[assignment]
    fmt: OutputOption = "table",
    limit: LimitOption = hunt.DEFAULT_LIMIT,
) -> None:
    """What a principal did: CloudTrail, S3 access and API Gateway rows by ARN or name, in time order."""
    check_output_format(fmt)
    window = _window(since, until)
    con = engine.connect(lake or default_lake())
    _print_timeline(hunt.principal_timeline(con, who, window, limit), fmt)


@hunt_app.command("key")
def hunt_key(
    key_id: Annotated[str, typer.Argument(help="An access key id: AKIA... or ASIA...")],
    *,
    since: SinceOption = None,
    until: UntilOption = None,
    lake: LakeOption = None,  # type: ignore[assignment]
    fmt: OutputOption = "table",
    limit: LimitOption = hunt.DEFAULT_LIMIT,
) -> None:
    """An access key's CloudTrail calls, and the calls that created, issued, changed or deleted it."""
    check_output_format(fmt)
    window = _window(since, until)
    con = engine.connect(lake or default_lake())
    _print_timeline(hunt.key_timeline(con, key_id, window, limit), fmt)


@hunt_app.command("run")
def hunt_run(
    name: Annotated[str, typer.Argument(help="A .sql file, or the name of a shipped hunt (`loglake hunt list`).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A parameter of the hunt: name=value (repeatable).")
    ] = None,
    lake: LakeOption = None,  # type: ignore[assignment]
    fmt: OutputOption = "table",
) -> None:
    """Run a saved hunt: SQL over the lake tables with `$name` parameters."""
    check_output_format(fmt)
    saved = hunt.find_hunt(name)
    params = hunt.parse_params(param or [])
    con = open_connection(lake or default_lake())  # every log table present (empty when the lake lacks it)
    print_rows(hunt.run_hunt(con, saved, params), fmt)


@hunt_app.command("list")
def hunt_list(fmt: OutputOption = "table") -> None:
    """The shipped saved hunts: name, parameters and what each finds."""
    check_output_format(fmt)
    rows = [
        {"name": h.name, "parameters": " ".join(h.parameters), "description": h.description}
        for h in hunt.shipped_hunts()
    ]
    print_rows(pa.Table.from_pylist(rows), fmt)
    if fmt == "table":
        console_err.print(f"shipped in {Path(hunt.HUNTS)}; run one with: loglake hunt run NAME --param name=value")


def _window(since: str | None, until: str | None) -> hunt.Window:
    start, end = parse_range(since, until)
    return hunt.Window(start, end)


def _print_timeline(timeline: hunt.Timeline, fmt: str) -> None:
    print_rows(timeline.rows, fmt)
    if timeline.truncated:
        console_err.print(
            f"showing the first {timeline.rows.num_rows} rows; narrow with --since/--until or raise --limit",
            highlight=False,
        )
