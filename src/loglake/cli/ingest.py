"""`loglake ingest`: land AWS logs from files, folders or S3 prefixes in the lake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import orjson
import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from loglake.cli.app import OUTPUT_FORMATS, LakeOption, app, console, console_err, default_lake
from loglake.cli.output import human_bytes, print_table
from loglake.formats import registry
from loglake.ingest.pipeline import IngestOptions, ingest, vpc_format_fields
from loglake.ingest.summary import Summary


@app.command("ingest")
def ingest_command(
    sources: Annotated[list[str], typer.Argument(help="Files, folders (recursive) or s3://bucket/prefix.")],
    *,
    lake: LakeOption = None,  # type: ignore[assignment]
    formats: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            "-f",
            help="A log format to force (" + ", ".join(sorted(registry.formats())) + "), and/or the summary's "
            "output format (table, json, jsonl, csv). Repeatable: --format vpcflow --format json.",
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Parser processes.")] = 2,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3-compatible endpoint (credentials: AWS chain).")
    ] = None,
    vpc_format: Annotated[
        str | None,
        typer.Option(
            "--vpc-format",
            help="Field order of VPC flow log lines that have no header (CloudWatch Logs deliveries, headerless "
            "files): the flow log's LogFormat, e.g. '${version} ${account-id} ${interface-id} ...', or plain "
            "space-separated field names. Default: the 14 fields of the v2 default format.",
        ),
    ] = None,
) -> None:
    """Read AWS logs (plain, gzip, zstd; format sniffed per object) into the lake, exactly once."""
    log_format, output = _split_formats(formats or [])
    if vpc_format is not None:
        vpc_format_fields(vpc_format)  # a bad field name fails before any work
    options = IngestOptions(
        sources=list(sources),
        lake=lake or default_lake(),
        forced_format=log_format,
        workers=workers,
        endpoint_url=endpoint_url,
        vpc_format=vpc_format,
    )
    summary = run_with_progress(options)
    print_summary(summary, output)


def _split_formats(values: list[str]) -> tuple[str | None, str]:
    log_format, output = None, "table"
    for value in values:
        if value in OUTPUT_FORMATS:
            output = value
        elif value in registry.formats():
            log_format = value
        else:
            known = ", ".join([*sorted(registry.formats()), *OUTPUT_FORMATS])
            raise typer.BadParameter(f"unknown format {value!r}; use one of: {known}", param_hint="--format")
    return log_format, output


def run_with_progress(options: IngestOptions, run: Callable[..., Summary] = ingest) -> Summary:
    """`run` (ingest, or Spark's) with a progress bar."""
    progress = Progress(
        TextColumn("[bold]ingest[/bold]"),
        BarColumn(),
        TextColumn("{task.fields[objects]} objects"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TextColumn("{task.fields[records]:,} records"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console_err,
        transient=True,
    )
    with progress:
        task = progress.add_task("ingest", total=None, objects="0", records=0)
        counts = {"objects": 0, "records": 0, "total": 0}

        def on_start(objects: int, size: int) -> None:
            counts["total"] = objects
            progress.update(task, total=size, objects=f"0/{objects}")

        def on_progress(objects: int, size: int, records: int) -> None:
            counts["objects"] += objects
            counts["records"] += records
            progress.update(
                task, advance=size, objects=f"{counts['objects']}/{counts['total']}", records=counts["records"]
            )

        return run(options, on_start=on_start, on_progress=on_progress)


def print_summary(summary: Summary, output: str) -> None:
    data = summary.to_dict()
    if output in ("json", "jsonl"):
        option = orjson.OPT_INDENT_2 if output == "json" else 0
        console.file.write(orjson.dumps(data, option=option).decode() + "\n")
        return
    if output == "csv":
        console.file.write("table,objects,records,rejects,input_bytes,lake_bytes,events_per_second\n")
        for name, t in data["tables"].items():
            console.file.write(
                f"{name},{t['objects']},{t['records']},{t['rejects']},{t['input_bytes']},{t['lake_bytes']},"
                f"{t['events_per_second']}\n"
            )
        return
    rows = []
    for name, t in data["tables"].items():
        ratio = f"{t['lake_bytes'] / t['input_bytes']:.2f}x" if t["input_bytes"] else "-"
        rows.append(
            [
                name,
                f"{t['objects']:,}",
                f"{t['records']:,}",
                f"{t['rejects']:,}",
                human_bytes(t["input_bytes"]),
                human_bytes(t["lake_bytes"]),
                ratio,
                f"{t['events_per_second']:,}",
            ]
        )
    print_table(
        ["table", "objects", "records", "rejects", "input", "lake", "lake/input", "events/s"],
        rows,
        title=f"ingested in {data['seconds']:.1f} s",
    )
    notes = []
    if data["already_ingested"]:
        notes.append(f"{data['already_ingested']:,} objects already in the lake (skipped)")
    for reason, n in data["skipped"].items():
        notes.append(f"{n:,} skipped: {reason}")
    if data["empty_objects"]:
        notes.append(f"{data['empty_objects']:,} empty objects")
    for note in notes:
        console.print(f"  {note}")
    for error in data["errors"]:
        console.print(f"  [red]problem:[/red] {error}", highlight=False)
    if data["rejects"]:
        console.print(
            f'  {data["rejects"]:,} rejected lines: loglake query "SELECT lake_file, lake_row, reason '
            'FROM rejects ORDER BY lake_ingested_at DESC LIMIT 20"',
            highlight=False,
        )
