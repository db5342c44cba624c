"""`loglake spark ingest|query|detect`: the same work on Spark (local, or a cluster through spark-submit)."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import pyarrow as pa
import typer

from loglake.cli.app import LakeOption, OutputOption, app, check_output_format, console, default_lake
from loglake.cli.detect import report_run, selected_rules
from loglake.cli.detect import run_with_progress as detect_with_progress
from loglake.cli.ingest import print_summary
from loglake.cli.ingest import run_with_progress as ingest_with_progress
from loglake.cli.output import print_rows
from loglake.cli.query import DialectOption
from loglake.cli.times import parse_range
from loglake.ingest.pipeline import IngestOptions
from loglake.query import dialects

spark_app = typer.Typer(
    help="Ingest, query and detect on Spark: local[*] here, the cluster's under spark-submit.", no_args_is_help=True
)
app.add_typer(spark_app, name="spark")

MasterOption = Annotated[
    str | None,
    typer.Option("--master", help="Spark master (default: spark-submit's, else LOGLAKE_SPARK_MASTER or local[*])."),
]


@spark_app.command("ingest")
def spark_ingest_command(
    sources: Annotated[list[str], typer.Argument(help="Files, folders (recursive) or s3://bucket/prefix.")],
    *,
    lake: LakeOption = None,  # type: ignore[assignment]
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3-compatible endpoint (credentials: AWS chain).")
    ] = None,
    master: MasterOption = None,
    fmt: OutputOption = "table",
) -> None:
    """Parse objects in Spark tasks (one batch per task) and commit them to the lake's tables, exactly once."""
    from loglake.spark.ingest import spark_ingest
    from loglake.spark.session import session

    check_output_format(fmt)
    options = IngestOptions(sources=list(sources), lake=lake or default_lake(), endpoint_url=endpoint_url)
    summary = ingest_with_progress(options, run=partial(spark_ingest, spark=session(master)))
    print_summary(summary, fmt)


@spark_app.command("query")
def spark_query_command(
    sql: Annotated[str, typer.Argument(help="SQL over the lake tables (DuckDB dialect unless --dialect).")],
    *,
    lake: LakeOption = None,  # type: ignore[assignment]
    fmt: OutputOption = "table",
    dialect: DialectOption = "duckdb",
    show_sql: Annotated[
        bool, typer.Option("--show-sql", help="Print the Spark SQL that would run; run nothing.")
    ] = False,
    master: MasterOption = None,
) -> None:
    """Run SQL over the lake on Spark, each table a view of its current snapshot's data files."""
    check_output_format(fmt)
    translated = dialects.to_spark(sql, dialect)
    if show_sql:
        console.file.write(translated + "\n")
        return
    from loglake.spark.query import register_lake, run
    from loglake.spark.session import session

    spark = session(master)
    register_lake(spark, lake or default_lake())
    print_rows(run(spark, translated), fmt)


@spark_app.command("detect")
def spark_detect_command(
    *,
    lake: LakeOption = None,  # type: ignore[assignment]
    since: Annotated[str | None, typer.Option("--since", help="From this time (ISO, or an age: 24h, 7d).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this time.")] = None,
    rule_ids: Annotated[list[str] | None, typer.Option("--rule", help="Only this rule (repeatable).")] = None,
    save: Annotated[
        bool, typer.Option("--save", help="Write the hits and alerts to the lake, as `loglake detect` does.")
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only list the rules Spark cannot run, and why; run none.")
    ] = False,
    master: MasterOption = None,
    fmt: OutputOption = "table",
) -> None:
    """Run the rules on Spark over all history (or --since/--until); rules Spark cannot run are listed with why."""
    from loglake.spark.detect import spark_detect, unsupported_rules
    from loglake.spark.session import session

    check_output_format(fmt)
    lake = lake or default_lake()
    start, end = parse_range(since, until)
    rules = selected_rules(lake, rule_ids)
    if check:
        reasons = unsupported_rules(lake, rules, spark=session(master))
        rows = [{"rule": rule_id, "reason": reason} for rule_id, reason in sorted(reasons.items())]
        print_rows(pa.Table.from_pylist(rows) if rows else pa.table({"rule": [], "reason": []}), fmt)
        return
    run = partial(spark_detect, spark=session(master), save=save)
    report_run(detect_with_progress(lake, rules, start, end, run=run), fmt)
