"""`loglake rules export`: every rule as SQL for Athena scheduled queries, Trino or Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loglake.cli.app import LakeOption, console, console_err, default_lake
from loglake.cli.detect import rules_app
from loglake.detect.export import export_rule
from loglake.detect.rulebook import load_rulebook

EXPORT_DIALECTS = ("athena", "trino", "spark")
NOT_EXPORTED = "not-exported.txt"


@rules_app.command("export")
def rules_export(
    *,
    dialect: Annotated[str, typer.Option("--dialect", help="athena, trino or spark.")] = "athena",
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for one .sql file per rule (default: print them).")
    ] = None,
    lake: LakeOption = None,  # type: ignore[assignment]
) -> None:
    """Write the SQL of every rule (built-in and the lake's) in another engine's dialect, with a header per rule."""
    if dialect not in EXPORT_DIALECTS:
        raise typer.BadParameter(f"use one of {', '.join(EXPORT_DIALECTS)}", param_hint="--dialect")
    results = [export_rule(rule, dialect) for rule in load_rulebook(lake or default_lake()).rules]
    exported = [r for r in results if r.sql is not None]
    skipped = [r for r in results if r.sql is None]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for result in exported:
            (out / f"{result.rule.id}.sql").write_text(result.sql)
        (out / NOT_EXPORTED).write_text("".join(f"{r.rule.id}: {r.reason}\n" for r in skipped))
    else:
        console.file.write("\n".join(r.sql for r in exported))
    where = f" to {out}" if out is not None else ""
    console_err.print(f"{len(exported)} rules exported{where} as {dialect} SQL", highlight=False)
    for result in skipped:
        line = f"  not exported: {result.rule.id}: {result.reason}"
        console_err.print(line, highlight=False, markup=False, soft_wrap=True)
