"""`loglake discover`: sample S3 objects within a byte budget and find sensitive data in them.

Per bucket: list keys, pick up to `max_objects_per_bucket` spread over the listing, read at most
`max_bytes_per_object` of each with a ranged GET and stop at `max_bytes_per_bucket` in all. gzip is inflated as
far as the bytes read allow; CSV cells and JSON values are scanned with their column or key name as context;
Parquet is read whole when it fits, else only its footer (column names). Results go into the snapshot's
`discovery` section; any restricted finding makes the bucket restricted when classified.
"""

from __future__ import annotations

import csv
import io
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from loglake.classify.detectors import Match, scan_text
from loglake.inventory.aws import describe_error

TEXT_LIMIT = 4 * 1024 * 1024  # inflated text kept per object
COLUMN_HINTS = ("card", "credit", "pan", "ssn", "social", "iban", "secret", "password", "email", "dob", "passport")


@dataclass
class Limits:
    max_bytes_per_bucket: int = 2 * 1024 * 1024
    max_bytes_per_object: int = 256 * 1024
    max_objects_per_bucket: int = 40
    keyword_distance: int = 60
    restricted_types: tuple[str, ...] = (
        "card_number",
        "aws_access_key",
        "aws_secret_key",
        "private_key",
        "iban",
        "us_ssn",
    )

    @classmethod
    def from_policy(cls, discovery: dict[str, Any]) -> Limits:
        return cls(
            max_bytes_per_bucket=int(discovery["max_bytes_per_bucket"]),
            max_bytes_per_object=int(discovery["max_bytes_per_object"]),
            max_objects_per_bucket=int(discovery["max_objects_per_bucket"]),
            keyword_distance=int(discovery["keyword_distance"]),
            restricted_types=tuple(discovery["restricted_types"]),
        )


@dataclass
class BucketScan:
    bucket: str
    objects_listed: int = 0
    objects_sampled: int = 0
    bytes_read: int = 0
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    column_hints: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, match: Match) -> None:
        entry = self.findings.setdefault(
            match.type, {"type": match.type, "count": 0, "objects": [], "examples": [], "keywords": []}
        )
        entry["count"] += 1
        if key not in entry["objects"] and len(entry["objects"]) < 5:
            entry["objects"].append(key)
        if match.masked not in entry["examples"] and len(entry["examples"]) < 3:
            entry["examples"].append(match.masked)
        if match.keyword and match.keyword not in entry["keywords"]:
            entry["keywords"].append(match.keyword)

    def result(self, limits: Limits) -> dict[str, Any]:
        findings = sorted(self.findings.values(), key=lambda f: (-f["count"], f["type"]))
        for finding in findings:
            finding["confidence"] = "high" if finding["keywords"] else "medium"
            finding["restricted"] = finding["type"] in limits.restricted_types
        restricted = [f for f in findings if f["restricted"]]
        sensitivity = "restricted" if restricted else ("internal" if findings else None)
        shown = restricted or findings
        summary = (
            "; ".join(
                f"{f['count']} {f['type']} in s3://{self.bucket}/{f['objects'][0]}"
                + (f" (keyword {f['keywords'][0]!r} nearby)" if f["keywords"] else "")
                for f in shown[:3]
            )
            if shown
            else None
        )
        return {
            "bucket": self.bucket,
            "objects_listed": self.objects_listed,
            "objects_sampled": self.objects_sampled,
            "bytes_read": self.bytes_read,
            "budget_bytes": limits.max_bytes_per_bucket,
            "findings": findings,
            "column_hints": self.column_hints,
            "sensitivity": sensitivity,
            "summary": summary,
            "errors": self.errors,
        }


def scan_bucket(s3, bucket: str, limits: Limits) -> dict[str, Any]:
    scan = BucketScan(bucket)
    try:
        keys = _list_keys(s3, bucket, limits.max_objects_per_bucket * 25)
    except (ClientError, BotoCoreError) as error:
        scan.errors.append(f"list_objects_v2: {describe_error(error)}")
        return scan.result(limits)
    scan.objects_listed = len(keys)
    for key, size in _spread(keys, limits.max_objects_per_bucket):
        remaining = limits.max_bytes_per_bucket - scan.bytes_read
        if remaining <= 0:
            break
        if size == 0:
            continue
        try:
            _scan_object(_Object(s3, bucket, key, size, min(remaining, limits.max_bytes_per_object)), scan, limits)
        except (ClientError, BotoCoreError) as error:
            scan.errors.append(f"{key}: {describe_error(error)}")
        scan.objects_sampled += 1
    return scan.result(limits)


def _list_keys(s3, bucket: str, cap: int) -> list[tuple[str, int]]:
    keys: list[tuple[str, int]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"MaxItems": cap}):
        keys.extend((o["Key"], int(o.get("Size", 0))) for o in page.get("Contents", []) or [])
    return keys


def _spread(keys: list[tuple[str, int]], count: int) -> list[tuple[str, int]]:
    """Up to `count` keys spread evenly over the listing (prefixes differ in what they hold)."""
    if len(keys) <= count:
        return keys
    step = len(keys) / count
    return [keys[int(i * step)] for i in range(count)]


def _get(s3, bucket: str, key: str, start: int, length: int) -> bytes:
    body = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}")["Body"]
    return body.read(length)


@dataclass(frozen=True)
class _Object:
    s3: Any
    bucket: str
    key: str
    size: int
    budget: int

    def get(self, start: int, length: int) -> bytes:
        return _get(self.s3, self.bucket, self.key, start, length)


def _scan_object(obj: _Object, scan: BucketScan, limits: Limits) -> None:
    key, size = obj.key, obj.size
    head = obj.get(0, min(size, obj.budget))
    scan.bytes_read += len(head)
    if head[:4] == b"PAR1":
        _scan_parquet(obj, head, scan, limits)
        return
    data = _inflate(head) if head[:2] == b"\x1f\x8b" else head
    if _looks_binary(data):
        return
    text = data.decode("utf-8", errors="replace")
    if len(head) < size:
        text = text[: text.rfind("\n") + 1] or text  # drop a record cut by the range
    for context, chunk in _records(text, key):
        for match in scan_text(chunk, limits.keyword_distance, context):
            scan.add(key, match)


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=47)
    out = bytearray()
    try:
        while data and len(out) < TEXT_LIMIT:
            out += inflater.decompress(data, TEXT_LIMIT - len(out))
            data = inflater.unconsumed_tail
            if inflater.eof and inflater.unused_data:  # concatenated gzip members
                data = inflater.unused_data
                inflater = zlib.decompressobj(wbits=47)
    except zlib.error:
        pass  # a truncated or damaged stream: keep what inflated
    return bytes(out)


def _looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    return bool(sample) and sample.count(0) > len(sample) // 100


def _records(text: str, key: str) -> Iterator[tuple[str, str]]:
    """(context, text) pieces: CSV cells under their header, JSON values under their key, else the text itself."""
    stripped = text.lstrip()
    if stripped[:1] in "{[":
        values = list(_json_values(stripped))
        if values:
            yield from values
            return
    lines = text.splitlines()
    if len(lines) >= 2 and _is_table(lines[0], key):
        dialect = csv.excel_tab if "\t" in lines[0] else csv.excel
        rows = csv.reader(io.StringIO(text), dialect)
        header = [h.strip().lower() for h in next(rows, [])]
        for row in rows:
            for i, cell in enumerate(row):
                if cell:
                    yield (header[i] if i < len(header) else ""), cell
        return
    yield "", text


def _is_table(first: str, key: str) -> bool:
    separator = "\t" if "\t" in first else ","
    return key.lower().endswith((".csv", ".tsv")) or (
        first.count(separator) >= 1 and not any(c.isdigit() for c in first)
    )


def _json_values(text: str) -> Iterator[tuple[str, str]]:
    documents: list[Any] = []
    try:
        documents = [json.loads(text)]
    except json.JSONDecodeError:
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("{"):
                try:
                    documents.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    for document in documents:
        yield from _walk(document, "")


def _walk(value: Any, key: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, str(k).lower())
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item, key)
    elif isinstance(value, str | int) and not isinstance(value, bool):
        yield key, str(value)


def _scan_parquet(obj: _Object, head: bytes, scan: BucketScan, limits: Limits) -> None:
    key, size, budget = obj.key, obj.size, obj.budget
    import pyarrow.parquet as pq

    if len(head) >= size:
        table = pq.read_table(io.BytesIO(head))
        _hint_columns(table.schema.names, key, scan)
        for column in table.column_names:
            for value in table.column(column).slice(0, 5000).to_pylist():
                if isinstance(value, str | int) and not isinstance(value, bool):
                    for match in scan_text(str(value), limits.keyword_distance, column.lower()):
                        scan.add(key, match)
        return
    tail = obj.get(size - 8, 8)
    footer_length = int.from_bytes(tail[:4], "little")
    if tail[4:] != b"PAR1" or footer_length + 8 > budget:
        return
    footer = obj.get(size - 8 - footer_length, footer_length)
    scan.bytes_read += len(tail) + len(footer)
    metadata = pq.read_metadata(io.BytesIO(b"PAR1" + footer + tail))
    _hint_columns(metadata.schema.names, key, scan)


def _hint_columns(names: list[str], key: str, scan: BucketScan) -> None:
    for name in names:
        if any(hint in name.lower() for hint in COLUMN_HINTS):
            hint = f"{key}: column {name}"
            if hint not in scan.column_hints and len(scan.column_hints) < 20:
                scan.column_hints.append(hint)


def discover(
    s3_client_for: Callable[[str], Any],
    buckets: list[dict[str, Any]],
    limits: Limits,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Scan each bucket (resource dicts from the snapshot) with a client for its region; results by bucket ARN."""
    results = {}
    for res in buckets:
        results[res["arn"]] = scan_bucket(s3_client_for(res["region"]), res["name"], limits)
        if progress:
            progress(res["name"])
    return results
