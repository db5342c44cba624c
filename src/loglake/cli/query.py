"""`loglake query`, `loglake tables`, `loglake schema`: SQL and a look at what the lake holds."""

from __future__ import annotations

from typing import Annotated

import pyarrow as pa
import typer

from loglake.cli.app import LakeOption, OutputOption, app, check_output_format, console, default_lake
from loglake.cli.output import human_bytes, print_rows
from loglake.lake import catalog as lake_catalog
from loglake.query import dialects, engine

DialectOption = Annotated[
    str, typer.Option("--dialect", help="The SQL's dialect: duckdb, athena (Trino), trino or spark; translated.")
]


@app.command("query")
def query_command(
    sql: Annotated[str, typer.Argument(help="SQL over the lake tables (DuckDB dialect unless --dialect).")],
    lake: LakeOption = None,  # type: ignore[assignment]
    fmt: OutputOption = "table",
    dialect: DialectOption = "duckdb",
    show_sql: Annotated[
        bool, typer.Option("--show-sql", help="Print the DuckDB SQL that would run; run nothing.")
    ] = False,
) -> None:
    """Run SQL over the lake; a filter on lake_time reads only the days it needs."""
    check_output_format(fmt)
    translated = dialects.to_duckdb(sql, dialect)
    if show_sql:
        console.file.write(translated + "\n")
        return
    con = engine.connect(lake or default_lake(), dialect=dialect)
    print_rows(engine.run(con, translated).rows, fmt)


@app.command("tables")
def tables_command(lake: LakeOption = None, fmt: OutputOption = "table") -> None:  # type: ignore[assignment]
    """Every table: rows, bytes on disk, and the time range of its events."""
    check_output_format(fmt)
    print_rows(table_overview(lake or default_lake()), fmt)


def table_overview(lake) -> pa.Table:
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    con = engine.connect(lake)
    rows = []
    for name in lake_catalog.table_names(catalog):
        table = lake_catalog.load_table(catalog, name)
        snapshot = table.current_snapshot()
        summary = snapshot.summary.additional_properties if snapshot and snapshot.summary else {}
        first = last = None
        if "lake_time" in table.schema().column_names:  # alerts and intel are about the logs, not logs
            first, last = con.execute(f'SELECT min(lake_time), max(lake_time) FROM "{name}"').fetchone()
        rows.append(
            {
                "table": name,
                "rows": int(summary.get("total-records", 0)),
                "files": int(summary.get("total-data-files", 0)),
                "bytes": human_bytes(int(summary.get("total-files-size", 0))),
                "first_event": first,
                "last_event": last,
            }
        )
    return pa.Table.from_pylist(rows)


@app.command("schema")
def schema_command(
    table: Annotated[str, typer.Argument(help="A lake table, e.g. cloudtrail_logs.")],
    lake: LakeOption = None,  # type: ignore[assignment]
    fmt: OutputOption = "table",
) -> None:
    """The columns of a table and their types."""
    check_output_format(fmt)
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake or default_lake()))
    iceberg = lake_catalog.load_table(catalog, table)
    rows = [{"column": f.name, "type": str(f.field_type), "id": f.field_id} for f in iceberg.schema().fields]
    print_rows(pa.Table.from_pylist(rows), fmt)
