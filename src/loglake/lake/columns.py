"""The lake columns every table carries, and the one function that appends them to parsed rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loglake.formats.base import ObjectInfo

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
# Tables whose rows name an asset (context/views.py) also carry that asset as the identifier index named it when
# the row was written or last checked (context/stamps.py), so the `_ctx` views read columns instead of joining.
# Flat columns, not one struct: DuckDB reads a struct's fields at about half the speed (bench/context.py).
ASSET_STAMP_COLUMNS = (
    "asset_name", "asset_type", "asset_arn", "sensitivity", "reachability", "level", "asset_match", "asset_direction",
)  # fmt: skip
ASSET_STAMP_FIELDS = [pa.field("lake_asset_" + name.removeprefix("asset_"), pa.string()) for name in ASSET_STAMP_COLUMNS]


def with_lake_schema(fields: list[pa.Field]) -> pa.Schema:
    """A table's full schema: its format's own columns followed by the lake columns."""
    return pa.schema([*fields, *LAKE_FIELDS])


@dataclass(frozen=True)
class Origins:
    """Per row, what is known about the object it came from: file, key-layout account/region, fallback time."""

    file: pa.Array
    account: pa.Array
    region: pa.Array
    ingested_at: pa.Array
    fallback_time: pa.Array  # the key's day when the layout gives one, else the ingest time

    @classmethod
    def of(cls, objects: list[ObjectInfo], counts: list[int]) -> Origins:
        index = pa.array(np.repeat(np.arange(len(objects), dtype=np.int32), counts))

        def spread(values: list, kind: pa.DataType) -> pa.Array:
            return pa.array(values, kind).take(index)

        return cls(
            file=spread([o.uri for o in objects], pa.string()),
            account=spread([o.account for o in objects], pa.string()),
            region=spread([o.region for o in objects], pa.string()),
            ingested_at=spread([o.ingested_at for o in objects], TIMESTAMP),
            fallback_time=spread([_day_start(o) for o in objects], TIMESTAMP),
        )


def _day_start(obj: ObjectInfo) -> dt.datetime:
    return dt.datetime.combine(obj.day, dt.time(), dt.UTC) if obj.day is not None else obj.ingested_at


def append_lake_columns(
    data: pa.Table,
    *,
    schema: pa.Schema,
    origins: Origins,
    time: pa.Array,
    account: pa.Array | None,
    region: pa.Array | None,
    ips: pa.Array,
    rows: pa.Array,
) -> pa.Table:
    """Add the lake columns to parsed rows: what a record lacks (time, account, region) comes from its object."""
    time = pc.coalesce(time.cast(TIMESTAMP), origins.fallback_time)
    columns = {
        "lake_time": time,
        "lake_date": pc.cast(time, pa.date32()),
        "lake_account": origins.account if account is None else pc.coalesce(account, origins.account),
        "lake_region": origins.region if region is None else pc.coalesce(region, origins.region),
        "lake_ips": ips,
        "lake_file": origins.file,
        "lake_row": rows.cast(pa.int64()),
        "lake_ingested_at": origins.ingested_at,
    }
    for name, column in columns.items():
        data = data.append_column(name, column)
    return data.select(schema.names).cast(schema)
