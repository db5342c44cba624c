"""The rejects table: every line or object that did not parse, with where it was, why, and its raw text."""

from __future__ import annotations

import pyarrow as pa

from loglake.formats.base import ObjectInfo, Reject
from loglake.lake.columns import Origins, append_lake_columns, with_lake_schema

TABLE = "rejects"
SCHEMA = with_lake_schema(
    [pa.field("format", pa.string()), pa.field("reason", pa.string()), pa.field("raw", pa.string())]
)


def rejects_table(rejects: list[Reject], obj: ObjectInfo, format_name: str | None) -> pa.Table:
    """Rows for the rejects table; lake_time is the ingest time, since a line that did not parse has no other."""
    n = len(rejects)
    data = pa.table(
        {
            "format": pa.array([format_name] * n, pa.string()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "raw": pa.array([r.raw for r in rejects], pa.string()),
        }
    )
    origins = Origins.of([obj], [n])
    return append_lake_columns(
        data,
        schema=SCHEMA,
        origins=origins,
        time=origins.ingested_at,
        account=None,
        region=None,
        ips=pa.array([[]] * n, pa.list_(pa.string())),
        rows=pa.array([r.row for r in rejects], pa.int64()),
    )
