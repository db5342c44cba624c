"""`loglake demo`: a synthetic estate's logs, ingested, and what the lake then shows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from loglake.cli.app import app, console


@app.command("demo")
def demo_command(
    days: Annotated[int, typer.Option("--days", min=1, max=30, help="Days of logs to generate.")] = 3,
    out: Annotated[Path, typer.Option("--out", help="Folder for the raw logs and the lake.")] = Path("demo-out"),
    workers: Annotated[int, typer.Option("--workers", "-w", min=1)] = 2,
    seed: Annotated[int, typer.Option("--seed")] = 7,
) -> None:
    """Generate a realistic estate's raw AWS logs (with an attack inside), ingest them, summarise the lake."""
    from loglake.demo.run import run_demo

    run_demo(out, days=days, workers=workers, seed=seed, console=console)
