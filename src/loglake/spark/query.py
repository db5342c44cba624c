"""`loglake spark query`: the lake's tables as Spark temp views, and SQL translated to Spark SQL run over them.

Spark reads no Iceberg metadata here (the Iceberg Spark runtime is a JVM package loglake cannot ship): each
table's view is its current snapshot's Parquet data files, the file list DuckDB's rule and panel views read.
Log tables are append-only, so that list is the snapshot. Every table loglake owns is present, empty when the
lake lacks it, so queries and rules over a young lake run.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from pyiceberg.io.pyarrow import schema_to_pyarrow

from loglake.context import views as ctx_views
from loglake.detect.connection import owned_tables
from loglake.formats import registry
from loglake.lake import catalog as lake_catalog
from loglake.query import dialects
from loglake.query.engine import QueryError, snapshot_files
from loglake.spark.session import session


class SparkQueryError(QueryError):
    """The SQL did not run on Spark; the message is Spark's first line, without a traceback."""


def register_lake(spark, lake: Path) -> dict:
    """A temp view per lake table (and per format view that translates); returns the tables' DataFrames."""
    frames = lake_frames(spark, lake)
    for name, frame in frames.items():
        frame.createOrReplaceTempView(name)
    _format_views(spark)
    context_views(spark)
    return frames


def context_views(spark) -> None:
    """`asset_index` and the `<table>_ctx` views (context/views.py, in Spark SQL) over the views registered now:
    a temp view keeps the plan of the views it reads, so it is made again after those change."""
    from pyspark.errors import PySparkException

    try:
        for statement in ctx_views.translated("spark"):
            spark.sql(statement.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW", 1))
    except (dialects.DialectError, PySparkException):
        return  # without them a rule asking for context fails with Spark's reason; every other query runs


def lake_frames(spark, lake: Path) -> dict:
    """Every lake table, and every table loglake owns that the lake lacks (empty), as a DataFrame by name."""
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    frames = {}
    for name in lake_catalog.table_names(catalog):
        table = lake_catalog.load_table(catalog, name)
        frames[name] = table_frame(spark, schema_to_pyarrow(table.schema()), snapshot_files(table))
    for name, schema in owned_tables().items():
        if name not in frames:
            frames[name] = table_frame(spark, schema, [])
    return frames


def _format_views(spark) -> None:
    """The formats' extra views (AWS's own column names), those whose SQL Spark can run."""
    from pyspark.errors import PySparkException

    for module in registry.formats().values():
        for view, sql in getattr(module, "VIEWS", {}).items():
            try:
                spark.sql(f"CREATE OR REPLACE TEMP VIEW `{view}` AS {dialects.to_spark(sql)}")
            except (dialects.DialectError, PySparkException):
                continue  # a view Spark cannot express is just not there


def table_frame(spark, schema: pa.Schema, files: list[str]):
    """A DataFrame over Parquet files with the table's schema: nothing to infer, and a column that older files
    lack (added since they were written) reads as NULL there."""
    from pyspark.sql.pandas.types import from_arrow_schema

    spark_schema = from_arrow_schema(schema)
    if not files:
        return spark.createDataFrame([], spark_schema)
    return spark.read.schema(spark_schema).parquet(*files)


def run(spark, sql: str) -> pa.Table:
    """Spark SQL's result as Arrow; a failure raises SparkQueryError with Spark's reason."""
    from pyspark.errors import PySparkException

    try:
        return spark.sql(sql).toArrow()
    except PySparkException as error:
        raise SparkQueryError(first_line(error)) from None


def first_line(error: Exception) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def spark_query(lake: Path, sql: str, dialect: str = "duckdb", *, spark=None) -> pa.Table:
    """Run SQL written for `dialect` over the lake on Spark."""
    translated = dialects.to_spark(sql, dialect)
    spark = spark or session()
    register_lake(spark, lake)
    return run(spark, translated)
