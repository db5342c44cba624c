"""The lake columns every table carries, and the one function that appends them to parsed rows."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

TIMESTAMP = pa.timestamp("us", tz="UTC")

LAKE_FIELDS: list[pa.Field] = [
    pa.field("lake_time", TIMESTAMP),  # when the event happened (UTC); the table is partitioned by its day
    pa.field("lake_date", pa.date32()),
    pa.field("lake_account", pa.string()),
    pa.field("lake_region", pa.string()),
    pa.field("lake_ips", pa.list_(pa.string())),  # every IP address in the record, for cross-source hunting
    pa.field("lake_file", pa.string()),  # the source object the row came from
    pa.field("lake_row", pa.int64()),  # its position there: line number, or record index in a JSON file
    pa.field("lake_ingested_at", TIMESTAMP),  # commit clock, for "what arrived since" (late logs included)
]
LAKE_COLUMNS = [f.name for f in LAKE_FIELDS]


def with_lake_schema(fields: list[pa.Field]) -> pa.Schema:
    """A table's full schema: its format's own columns followed by the lake columns."""
    return pa.schema([*fields, *LAKE_FIELDS])


def append_lake_columns(
    data: pa.Table,
    *,
    schema: pa.Schema,
    time: pa.Array,
    account: pa.Array | None,
    region: pa.Array | None,
    ips: pa.Array,
    file: str,
    rows: pa.Array,
    default_account: str | None,
    default_region: str | None,
    ingested_at: dt.datetime,
) -> pa.Table:
    """Add the lake columns to a parser's output, filling account/region from the object key where missing."""
    n = data.num_rows
    time = time.cast(TIMESTAMP)
    columns = {
        "lake_time": time,
        "lake_date": pc.cast(time, pa.date32()) if n else pa.array([], pa.date32()),
        "lake_account": _fill(account, default_account, n),
        "lake_region": _fill(region, default_region, n),
        "lake_ips": ips,
        "lake_file": pa.repeat(pa.scalar(file, pa.string()), n),
        "lake_row": rows.cast(pa.int64()),
        "lake_ingested_at": pa.repeat(pa.scalar(ingested_at, TIMESTAMP), n),
    }
    for name, column in columns.items():
        data = data.append_column(name, column)
    return data.select(schema.names).cast(schema)


def _fill(values: pa.Array | None, default: str | None, n: int) -> pa.Array:
    if values is None:
        return pa.repeat(pa.scalar(default, pa.string()), n)
    if default is None:
        return values
    return pc.fill_null(values, default)
