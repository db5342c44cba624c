"""What every format module provides, and the small types parsers exchange with the ingest pipeline."""

from __future__ import annotations

import datetime as dt
import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

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
class Part:
    """One object's decoded rows, not yet Arrow columns.

    Building columns has a fixed cost per call (dozens of Arrow calls per table); CloudTrail delivers many
    small files, so a batch turns all its parts into one table at once with the format's `to_arrow`.
    """

    obj: ObjectInfo
    records: int
    data: Any  # the format's own decoded form


@dataclass
class Parsed:
    """A parser's output for one object: its decoded rows, and what it could not read.

    A carrier format (CloudWatch Logs subscription payloads, exports) holds messages of other formats: it
    returns its own table's result here and the other tables' results in `extra`, one `Parsed` per table
    (or per builder), each with its own `to_arrow`. The ingest worker collects them all.
    """

    table: str
    part: Part | None = None
    rejects: list[Reject] = field(default_factory=list)
    skipped: str | None = None  # why the whole object holds no records by design (e.g. a digest file)
    to_arrow: Callable[[list[Part]], pa.Table] | None = None
    extra: list[Parsed] = field(default_factory=list)  # results for other tables from the same object

    @property
    def records(self) -> int:
        """Records for this result's own table (see `total_records` for a carrier's other tables too)."""
        return 0 if self.part is None else self.part.records

    def results(self) -> list[Parsed]:
        """This result and every other table's result from the same object."""
        return [self, *(r for extra in self.extra for r in extra.results())]

    @property
    def total_records(self) -> int:
        return sum(r.records for r in self.results())

    @property
    def total_rejects(self) -> int:
        return sum(len(r.rejects) for r in self.results())

    @property
    def primary_table(self) -> str:
        """The table holding most of the object's records (this result's own table on a tie or when empty)."""
        best = self
        for result in self.results():
            if result.records > best.records:
                best = result
        return best.table

    @property
    def rows(self) -> pa.Table | None:
        """This object's rows alone, lake columns included (ingest builds a whole batch at once instead)."""
        if self.part is None or self.to_arrow is None:
            return None
        return self.to_arrow([self.part])


class FormatError(Exception):
    """The whole object cannot be read as this format (the reason goes to the rejects table)."""


class LogFormat(Protocol):
    NAME: str  # the --format value
    TABLE: str  # the lake table it writes
    SCHEMA: pa.Schema  # the table's full schema, lake columns included

    def sniff(self, head: bytes, key: str) -> bool:
        """True when the first bytes of the (decompressed) object look like this format."""
        ...

    def parse(self, data: bytes, obj: ObjectInfo) -> Parsed:
        """Decode a whole decompressed object; malformed records become rejects, never exceptions."""
        ...

    def to_arrow(self, parts: list[Part]) -> pa.Table:
        """The table rows, lake columns included, of many objects' parts at once."""
        ...


@contextmanager
def gc_paused() -> Iterator[None]:
    """Decoding allocates millions of small acyclic objects; cyclic collections would only rescan them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        keep = _looks_like_ip(column)
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


def _looks_like_ip(column: pa.Array) -> pa.Array:
    """Per value, whether it is an IP literal: each distinct value is tested once (logs repeat addresses)."""
    encoded = pc.dictionary_encode(column)
    return pc.fill_null(pc.match_substring_regex(encoded.dictionary, IP_PATTERN).take(encoded.indices), False)


def ip_lists_by_row(n: int, rows: pa.Array, values: pa.Array) -> pa.ListArray:
    """Per row (0..n-1), the distinct IP literals among (row, value) pairs, in the order the pairs are given.

    The counterpart of `base.ip_lists` for fields holding a variable number of addresses per record (an
    X-Forwarded-For list, DNS answers); values are trimmed, and anything not an IPv4/IPv6 literal is dropped.
    """
    values = pc.utf8_trim_whitespace(values.cast(pa.string()))
    keep = pc.fill_null(pc.match_substring_regex(values, IP_PATTERN), False)
    owners = rows.cast(pa.int64()).filter(keep).to_numpy()
    values = values.filter(keep)
    if len(owners) > 1 and (owners[1:] < owners[:-1]).any():
        order = np.argsort(owners, kind="stable")
        owners, values = owners[order], values.take(pa.array(order))
    if len(owners) > 1 and (owners[1:] == owners[:-1]).any():  # rows with several: keep each address once
        several = np.flatnonzero(np.bincount(owners, minlength=n)[owners] > 1)
        codes = pc.dictionary_encode(values.take(pa.array(several))).indices.to_numpy().astype(np.int64)
        _, firsts = np.unique(owners[several] * (int(codes.max()) + 1) + codes, return_index=True)
        keep_pair = np.ones(len(owners), dtype=bool)
        keep_pair[several] = False
        keep_pair[several[firsts]] = True
        owners, values = owners[keep_pair], values.filter(pa.array(keep_pair))
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(owners, minlength=n), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)
