"""The work done per batch, in a worker process: read, decompress, recognise, parse, write Parquet files.

Workers write the data files themselves (the CPU-heavy part: parsing and zstd compression); the main
process only commits the returned file lists, so commits stay short and ordered.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pyarrow as pa
from pyiceberg.manifest import DataFile
from pyiceberg.table import Table

from loglake.context import stamps
from loglake.formats import registry
from loglake.formats.base import FormatError, ObjectInfo, Parsed, Part, Reject, first_byte, gc_paused, raw_text
from loglake.ingest.decompress import decompress
from loglake.ingest.keylayout import facts_from_key
from loglake.ingest.sources import ObjectRef, SourceError, read_object
from loglake.lake import catalog as lake_catalog
from loglake.lake import datafiles
from loglake.lake import rejects as rejects_table
from loglake.lake.ledger import IngestedObject


@dataclass
class Batch:
    id: str
    objects: list[ObjectRef]
    lake_root: str
    forced_format: str | None = None
    endpoint_url: str | None = None
    vpc_fields: list[str] | None = None  # --vpc-format: the field order of VPC flow lines without a header
    known: dict[str, str | None] = field(default_factory=dict)  # key -> fingerprint already in the lake
    skip_tables: set[str] = field(default_factory=set)  # tables that already hold this batch (a take-over)
    stamper: stamps.Stamper | None = None  # the asset index rows are stamped with (context/stamps.py)


@dataclass
class BatchResult:
    batch: str
    objects: list[IngestedObject]
    files: dict[str, list[DataFile]]
    lake_bytes: dict[str, int]
    errors: list[str]


_tables: dict[str, Table] = {}


def _table(lake_root: str, name: str) -> Table:
    key = f"{lake_root}/{name}"
    if key not in _tables:
        catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(Path(lake_root)))
        _tables[key] = lake_catalog.load_table(catalog, name)
    return _tables[key]


def run_batch(batch: Batch) -> BatchResult:
    with gc_paused():
        return _run_batch(batch)


def _run_batch(batch: Batch) -> BatchResult:
    ingested_at = dt.datetime.now(dt.UTC)
    # parts are grouped by (table, builder): a carrier format's parts for a table may need another builder
    # than the table's own format, and each builder turns only the parts it knows into rows
    parts: dict[tuple[str, Callable[[list[Part]], pa.Table]], list[Part]] = {}
    rejects: list[pa.Table] = []
    outcomes: list[IngestedObject] = []
    errors: list[str] = []
    for ref in batch.objects:
        outcome, parsed, error = _ingest_object(ref, batch, ingested_at)
        outcomes.append(outcome)
        if error:
            errors.append(error)
        if parsed is None:
            continue
        object_rejects: list[Reject] = []
        for result in parsed.results():  # the object's own table, then a carrier's other tables
            if result.part is not None and result.to_arrow is not None:
                parts.setdefault((result.table, result.to_arrow), []).append(result.part)
            object_rejects.extend(result.rejects)
        if object_rejects:
            rejects.append(rejects_table.rejects_table(object_rejects, parsed_info(ref, ingested_at), outcome.format))
    built: dict[str, list[pa.Table]] = {}
    for (name, build), table_parts in parts.items():
        built.setdefault(name, []).append(build(table_parts))
    tables = {name: pa.concat_tables(pieces) if len(pieces) > 1 else pieces[0] for name, pieces in built.items()}
    if rejects:
        tables[rejects_table.TABLE] = pa.concat_tables(rejects)
    files: dict[str, list[DataFile]] = {}
    lake_bytes: dict[str, int] = {}
    for name, data in tables.items():
        if name in batch.skip_tables:
            continue
        files[name] = _write(batch, name, data)
        lake_bytes[name] = sum(f.file_size_in_bytes for f in files[name])
    return BatchResult(batch.id, outcomes, files, lake_bytes, errors)


def parsed_info(ref: ObjectRef, ingested_at: dt.datetime) -> ObjectInfo:
    """What the key layout says about an object, for its parser and its lake columns."""
    facts = facts_from_key(ref.uri)
    return ObjectInfo(ref.uri, facts.account, facts.region, facts.day, ingested_at)


def _write(batch: Batch, name: str, data: pa.Table) -> list[DataFile]:
    table = _table(batch.lake_root, name)
    if batch.stamper is not None:
        data = batch.stamper.stamp(name, data)
    # a write uuid derived from the batch makes file names traceable to the batch that wrote them
    write_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"{batch.id}/{name}/{os.getpid()}/{uuid.uuid4()}")
    return datafiles.write_data_files(table, data, write_uuid)


def _ingest_object(
    ref: ObjectRef, batch: Batch, ingested_at: dt.datetime
) -> tuple[IngestedObject, Parsed | None, str | None]:
    info = parsed_info(ref, ingested_at)

    def outcome(status: str, fmt: str | None, table: str | None, *counts: int, error: str | None = None):
        records, rejects = (*counts, 0, 0)[:2]
        return IngestedObject(ref.uri, ref.size, fingerprint, batch.id, fmt, table, records, rejects, status, error)

    fingerprint = ref.etag
    try:
        raw = read_object(ref, batch.endpoint_url)
    except (OSError, SourceError) as exc:
        message = f"{ref.uri}: cannot read ({exc})"
        return outcome("error", None, None, error=message), None, message
    if fingerprint is None:
        fingerprint = hashlib.md5(raw, usedforsecurity=False).hexdigest()  # what S3 reports as a simple ETag
    if ref.uri in batch.known and batch.known[ref.uri] == fingerprint:
        return outcome("unchanged", None, None), None, None
    data, damage = decompress(raw, ref.uri)
    parsed, fmt_name = _parse(data, ref, info, batch, facts_from_key(ref.uri).service)
    if damage:
        parsed.rejects.append(Reject(0, damage, f"{len(raw)} bytes in the object; {len(data)} bytes could be read"))
    records, rejects = parsed.total_records, parsed.total_rejects
    status = "skipped" if parsed.skipped else ("ingested" if records or rejects else "empty")
    table_name = parsed.primary_table if fmt_name else None
    result = outcome(status, fmt_name, table_name, records, rejects, error=damage or parsed.skipped)
    return result, parsed, damage


def _parse(
    data: bytes, ref: ObjectRef, info: ObjectInfo, batch: Batch, service: str | None
) -> tuple[Parsed, str | None]:
    forced = batch.forced_format
    if not first_byte(data):
        module = registry.get(forced) if forced else None
        return Parsed(module.TABLE if module else rejects_table.TABLE, None), forced
    module = registry.get(forced) if forced else registry.detect(data[:65536], ref.uri, service)
    if module is None:
        reason = (
            "unrecognised format: not one of " + ", ".join(sorted(registry.formats())) + " (use --format to force one)"
        )
        return Parsed(rejects_table.TABLE, None, [Reject(0, reason, raw_text(data))]), None
    try:
        return module.parse(data, info, **_parse_options(module, batch)), module.NAME
    except FormatError as error:
        return Parsed(module.TABLE, None, [Reject(0, f"not {module.NAME}: {error}", raw_text(data))]), module.NAME


def _parse_options(module, batch: Batch) -> dict:
    """Run options a format's `parse` takes: the --vpc-format field order for formats that read flow lines."""
    if batch.vpc_fields and _takes(module.parse, "default_fields"):
        return {"default_fields": list(batch.vpc_fields)}
    return {}


@cache
def _takes(function: Callable, name: str) -> bool:
    return name in inspect.signature(function).parameters
