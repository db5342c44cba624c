"""Printing rows as a table (people) or JSON, JSON lines, CSV (programs)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import sys
import uuid
from typing import Any

import orjson
import pyarrow as pa
from rich.table import Table

from loglake.cli.app import console

TABLE_ROW_LIMIT = 1000


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def print_rows(rows: pa.Table, fmt: str, title: str | None = None) -> None:
    records = [{k: _plain(v) for k, v in r.items()} for r in rows.to_pylist()]
    if fmt == "json":
        sys.stdout.write(orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "jsonl":
        sys.stdout.write("".join(orjson.dumps(r).decode() + "\n" for r in records))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(rows.column_names)
        for r in records:
            writer.writerow(
                [
                    "" if v is None else (orjson.dumps(v).decode() if isinstance(v, dict | list) else v)
                    for v in r.values()
                ]
            )
        sys.stdout.write(out.getvalue())
    else:
        print_table(rows.column_names, [list(r.values()) for r in records[:TABLE_ROW_LIMIT]], title)
        if len(records) > TABLE_ROW_LIMIT:
            console.print(f"[dim]{len(records) - TABLE_ROW_LIMIT} more rows; use --format csv or a LIMIT[/dim]")


def print_table(columns: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            *["" if v is None else (orjson.dumps(v).decode() if isinstance(v, dict | list) else str(v)) for v in row]
        )
    console.print(table)


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
