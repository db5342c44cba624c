"""`loglake athena ddl`: Athena DDL for Hive-style external tables over the lake's Parquet files."""

from __future__ import annotations

from typing import Annotated

import typer

from loglake.cli.app import LakeOption, app, console, default_lake
from loglake.lake import catalog as lake_catalog
from loglake.query import athena_ddl

athena_app = typer.Typer(help="Amazon Athena: DDL for Hive-style tables over the lake.", no_args_is_help=True)
app.add_typer(athena_app, name="athena")


@athena_app.command("ddl")
def ddl_command(
    *,
    lake: LakeOption = None,  # type: ignore[assignment]
    tables: Annotated[list[str] | None, typer.Option("--table", help="Only this table (repeatable).")] = None,
    location: Annotated[
        str | None,
        typer.Option(
            "--location",
            help="s3://bucket/prefix the lake's warehouse folder is copied to (default: the tables' own location).",
        ),
    ] = None,
    database: Annotated[
        str, typer.Option("--database", help="Athena database of the tables (not the Iceberg tables' own).")
    ] = athena_ddl.DATABASE,
) -> None:
    """Print CREATE EXTERNAL TABLE statements (Parquet, day partitions projected) for every lake table."""
    if location is not None and not location.startswith("s3://"):
        raise typer.BadParameter("give an S3 location, s3://bucket/prefix", param_hint="--location")
    where = lake_catalog.LakeLocation(lake or default_lake())
    catalog = lake_catalog.open_catalog(where)
    warehouse = catalog.properties.get("warehouse")
    for name in tables or lake_catalog.table_names(catalog):
        table = lake_catalog.load_table(catalog, name)
        data = athena_ddl.data_location(table, location, warehouse)
        console.file.write(athena_ddl.create_table(name, table, data, database) + "\n\n")
