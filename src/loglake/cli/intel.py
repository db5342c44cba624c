"""`loglake intel add | list`: threat-intel indicators in the lake, for the intel.indicator_match rule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loglake.cli.app import LakeOption, OutputOption, app, check_output_format, console, console_err, default_lake
from loglake.cli.output import print_rows
from loglake.detect import intel

intel_app = typer.Typer(
    help="Threat intel: IP, CIDR and domain indicators the intel.indicator_match rule looks for in every log.",
    no_args_is_help=True,
)
app.add_typer(intel_app, name="intel")

PROBLEMS_SHOWN = 20  # per file; a feed of junk would otherwise flood the terminal


@intel_app.command("add")
def intel_add(
    files: Annotated[
        list[Path], typer.Argument(help="Feeds: plain lists (one a line), CSV files or STIX 2.1 bundles (JSON).")
    ],
    source: Annotated[
        str | None,
        typer.Option("--source", "-s", help="The feed's name (default: the file's own source column, else its name)."),
    ] = None,
    lake: LakeOption = None,  # type: ignore[assignment]
) -> None:
    """Add indicators; the same feed added again adds nothing. Unreadable lines are reported and skipped."""
    lake = lake or default_lake()
    for path in files:
        added = intel.add_feed(lake, path, source)
        _report(added)
    console_err.print(
        "past logs are matched by a backtest: loglake detect --rule intel.indicator_match --since 30d",
        highlight=False,
        soft_wrap=True,
    )


def _report(added: intel.Added) -> None:
    feed = added.feed
    kinds = {kind: sum(1 for i in feed.indicators if i.kind == kind) for kind in intel.KINDS}
    counts = ", ".join(f"{kind} {n}" for kind, n in kinds.items() if n)
    notes = [f"{added.added} new", f"{added.present} already in the lake"]
    notes += [f"{feed.expired} expired"] if feed.expired else []
    notes += [f"{feed.revoked} revoked"] if feed.revoked else []
    notes += [f"{len(feed.problems)} unreadable"] if feed.problems else []
    console.print(
        f"{added.path}: {len(feed.indicators)} indicators ({counts}); {', '.join(notes)}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for problem in feed.problems[:PROBLEMS_SHOWN]:
        console_err.print(f"  {added.path.name} {problem}", highlight=False, markup=False, soft_wrap=True)
    if len(feed.problems) > PROBLEMS_SHOWN:
        console_err.print(f"  ... and {len(feed.problems) - PROBLEMS_SHOWN} more", highlight=False, soft_wrap=True)


@intel_app.command("list")
def intel_list(lake: LakeOption = None, fmt: OutputOption = "table") -> None:  # type: ignore[assignment]
    """Indicators per source and kind, and when each source last added some."""
    check_output_format(fmt)
    print_rows(intel.intel_summary(lake or default_lake()), fmt)
