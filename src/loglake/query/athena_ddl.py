"""Athena DDL for Hive-style external tables over the lake's Parquet files, for users who keep those instead of
reading the Iceberg tables (which Athena reads as they are once registered in Glue).

Each lake table becomes `CREATE EXTERNAL TABLE ... STORED AS PARQUET` over the table's `data/` folder, with every
column in Hive types and the day partition projected: Iceberg writes a table's files to
`<table location>/data/lake_day=YYYY-MM-DD/`, so the projection needs no `MSCK REPAIR` or partition loading.

A Hive table sees every Parquet file under the folder, including files that compaction replaced until snapshot
expiry deletes them: query the Iceberg table where that matters.
"""

from __future__ import annotations

from pyiceberg.table import Table
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    UUIDType,
)

from loglake.lake.catalog import LakeError

FIRST_DAY = "2006-03-01"  # no AWS log is older than S3: the projection's range starts here
DATABASE = "loglake_parquet"  # not `loglake`: the Iceberg tables of the same names live there

_SCALARS: dict[type, str] = {
    StringType: "string",
    UUIDType: "string",
    BooleanType: "boolean",
    IntegerType: "int",
    LongType: "bigint",
    FloatType: "float",
    DoubleType: "double",
    DateType: "date",
    TimestampType: "timestamp",
    TimestamptzType: "timestamp",  # Parquet keeps UTC instants; Athena reads them as timestamps in UTC
    BinaryType: "binary",
    FixedType: "binary",
}


def hive_type(field_type: IcebergType) -> str:
    """The Athena (Hive DDL) type of an Iceberg type, nested types included."""
    if isinstance(field_type, StructType):
        return "struct<" + ",".join(f"{_quote(f.name)}:{hive_type(f.field_type)}" for f in field_type.fields) + ">"
    if isinstance(field_type, ListType):
        return f"array<{hive_type(field_type.element_type)}>"
    if isinstance(field_type, MapType):
        return f"map<{hive_type(field_type.key_type)},{hive_type(field_type.value_type)}>"
    if isinstance(field_type, DecimalType):
        return f"decimal({field_type.precision},{field_type.scale})"
    for kind, name in _SCALARS.items():
        if isinstance(field_type, kind):
            return name
    raise LakeError(f"no Athena type for the Iceberg type {field_type}")


def data_location(table: Table, location: str | None = None, warehouse: str | None = None) -> str:
    """Where the table's Parquet files are on S3: its own location, or the same path below `location` when the
    warehouse folder was copied there (`warehouse` is the lake's warehouse URI the table location starts with)."""
    own = table.location().rstrip("/")
    if location:
        if warehouse is None or not own.startswith(warehouse.rstrip("/")):
            raise LakeError(f"the table {table.name()[-1]} is outside the lake's warehouse ({own})")
        own = location.rstrip("/") + own[len(warehouse.rstrip("/")) :]
    if not own.startswith("s3://"):
        raise LakeError(
            f"the lake is not on S3 ({own}): give --location s3://bucket/prefix, where its warehouse folder is copied"
        )
    return f"{own}/data"


def create_table(name: str, table: Table, location: str, database: str = DATABASE) -> str:
    """CREATE EXTERNAL TABLE for one lake table whose data folder is `location`."""
    columns = ",\n".join(f"  {_quote(f.name)} {hive_type(f.field_type)}" for f in table.schema().fields)
    statement = f"CREATE EXTERNAL TABLE IF NOT EXISTS {_quote(database)}.{_quote(name)} (\n{columns}\n)\n"
    properties = {"parquet.compression": "ZSTD"}
    partition = partition_name(table)
    if partition is not None:  # the day partition's folders are named by the partition field: lake_day=...
        statement += f"PARTITIONED BY ({_quote(partition)} string)\n"
        properties = {
            "projection.enabled": "true",
            f"projection.{partition}.type": "date",
            f"projection.{partition}.format": "yyyy-MM-dd",
            f"projection.{partition}.range": f"{FIRST_DAY},NOW",
            f"projection.{partition}.interval": "1",
            f"projection.{partition}.interval.unit": "DAYS",
            "storage.location.template": f"{location}/{partition}=${{{partition}}}/",
            **properties,
        }
    tblproperties = ",\n".join(f"  '{key}' = '{value}'" for key, value in properties.items())
    return f"{statement}STORED AS PARQUET\nLOCATION '{location}/'\nTBLPROPERTIES (\n{tblproperties}\n);"


def partition_name(table: Table) -> str | None:
    """The day partition's name (lake_day for log tables); None for the small unpartitioned tables."""
    fields = table.spec().fields
    return fields[0].name if fields else None


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
