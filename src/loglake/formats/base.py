"""What every format module provides, and the small types parsers exchange with the ingest pipeline."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RAW_TEXT_LIMIT = 64 * 1024  # a reject keeps this much of the raw text; the source object keeps the rest


@dataclass(frozen=True)
class ObjectInfo:
    """What a parser may know about the object besides its bytes (from the AWS key layout)."""

    uri: str
    account: str | None = None
    region: str | None = None
    day: dt.date | None = None
    ingested_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Reject:
    row: int  # 1-based line number, or 1-based record index for JSON documents; 0 for the whole object
    reason: str
    raw: str


@dataclass
class Parsed:
    """A parser's output for one object: rows for its table (with lake columns) and what it could not read."""

    table: str
    rows: pa.Table | None
    rejects: list[Reject] = field(default_factory=list)
    skipped: str | None = None  # why the whole object holds no records by design (e.g. a digest file)

    @property
    def records(self) -> int:
        return 0 if self.rows is None else self.rows.num_rows


class FormatError(Exception):
    """The whole object cannot be read as this format (the reason goes to the rejects table)."""


class LogFormat(Protocol):
    name: str  # the --format value
    table: str  # the lake table it writes
    schema: pa.Schema  # the table's full schema, lake columns included

    def sniff(self, head: bytes, key: str) -> bool:
        """True when the first bytes of the (decompressed) object look like this format."""
        ...

    def parse(self, data: bytes, obj: ObjectInfo) -> Parsed:
        """Parse a whole decompressed object; malformed records become rejects, never exceptions."""
        ...


_NON_SPACE = re.compile(rb"\S")


def first_byte(data: bytes) -> bytes:
    """The first non-whitespace byte (b"" for blank data), without copying the object."""
    match = _NON_SPACE.search(data)
    return match.group() if match else b""


def raw_text(data: bytes | str) -> str:
    """The raw text a reject keeps: bounded, and readable even when the input is binary."""
    if isinstance(data, str):
        return data[:RAW_TEXT_LIMIT]
    return data[:RAW_TEXT_LIMIT].decode("utf-8", errors="backslashreplace")


IP_PATTERN = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*)$"


def ip_lists(columns: list[pa.Array]) -> pa.ListArray:
    """Per row, the distinct values among the given string columns that are IP addresses, in column order.

    Log fields named like addresses also hold service names (`s3.amazonaws.com`), `-` and empty strings;
    only real-looking IPv4/IPv6 literals are kept, so `lake_ips` can be joined across tables.
    """
    n = len(columns[0])
    keeps = []
    for i, column in enumerate(columns):
        keep = pc.fill_null(pc.match_substring_regex(column, IP_PATTERN), False)
        for earlier in columns[:i]:
            keep = pc.and_(keep, pc.fill_null(pc.not_equal(column, earlier), True))
        keeps.append(keep)
    width = len(columns)
    # column-major -> row-major, so each row's addresses sit together in the flat values
    order = np.arange(n * width, dtype=np.int64).reshape(width, n).T.ravel()
    values = pa.concat_arrays([c.cast(pa.string()) for c in columns]).take(order)
    keep_all = pa.concat_arrays(keeps).take(order)
    counts = np.zeros(n, dtype=np.int32)
    for keep in keeps:
        counts += keep.to_numpy(zero_copy_only=False).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int32)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values.filter(keep_all))
