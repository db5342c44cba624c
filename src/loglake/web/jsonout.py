"""JSON out: DuckDB/Arrow values as JSON-native ones (times ISO-8601), and a response class that writes them."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import orjson
import pyarrow as pa
from fastapi.responses import JSONResponse

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_UTC_Z  # UTC times end in Z


def _default(value: Any) -> Any:
    """What orjson cannot write itself: decimals (HUGEINT, DECIMAL) as numbers, the rest as text."""
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)  # INTERVAL (MonthDayNano), UUID and anything new: readable beats an error


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default, option=_OPTIONS)


class JSON(JSONResponse):
    """FastAPI's JSONResponse with orjson: datetimes ISO-8601 (UTC as ...Z), NaN as null, map keys of any type.

    Routes return it themselves: a route returning a dict would first go through pydantic, which writes
    DECIMAL and HUGEINT values (sums, percentiles) as strings that no chart can plot.
    """

    def render(self, content: Any) -> bytes:
        return dumps(content)


def table_rows(table: pa.Table) -> list[list[Any]]:
    """Rows as lists, column by column (duplicate column names, `SELECT 1 a, 2 a`, survive)."""
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [list(row) for row in zip(*columns, strict=True)]


def table_records(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()
