"""An ingest run: list sources, skip what the lake has, parse batches in workers, commit each exactly once."""

from __future__ import annotations

import base64
import concurrent.futures as cf
import difflib
import multiprocessing
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from loglake.context import stamps
from loglake.formats import registry, vpcflow
from loglake.ingest import faults
from loglake.ingest.sources import ObjectRef, list_objects
from loglake.ingest.summary import Summary
from loglake.ingest.worker import Batch, BatchResult, run_batch
from loglake.lake import catalog as lake_catalog
from loglake.lake import rejects as rejects_table
from loglake.lake import state as lake_state
from loglake.lake.catalog import LakeError
from loglake.lake.ledger import Ledger
from loglake.lake.locks import commit_lock, holding, lake_locks
from loglake.query.engine import QueryError

# Compressed input per batch: small enough that every worker gets several batches and that a batch's decoded
# records (held until the batch is written) stay well under a gigabyte; large enough for sizeable Parquet files.
MIN_BATCH_BYTES = 1 << 20
MAX_BATCH_BYTES = 8 << 20
# Results are committed together (one snapshot per table) when this many are waiting or this much time passed.
COMMIT_BATCHES = int(os.environ.get("LOGLAKE_COMMIT_BATCHES", "16"))
COMMIT_SECONDS = 10.0
BATCH_OBJECTS = int(os.environ.get("LOGLAKE_BATCH_OBJECTS", "2000"))  # tests set it low to get many batches


@dataclass(frozen=True)
class IngestOptions:
    sources: list[str]
    lake: Path
    forced_format: str | None = None
    workers: int = 2
    endpoint_url: str | None = None
    vpc_format: str | None = None  # the flow log's LogFormat, for VPC flow lines that come without a header

    @property
    def vpc_fields(self) -> list[str] | None:
        return vpc_format_fields(self.vpc_format) if self.vpc_format is not None else None


class VpcFormatError(registry.UnknownFormatError):
    """A --vpc-format string names a field VPC Flow Logs does not have."""


_LOG_FORMAT_TOKEN = re.compile(r"\$\{([^}]*)\}|(\S+)")


def vpc_format_fields(text: str) -> list[str]:
    """The field order of a VPC flow log format: AWS's `${version} ${account-id} ...` or plain names."""
    fields = [(m[1] if m[1] is not None else m[2]).strip() for m in _LOG_FORMAT_TOKEN.finditer(text)]
    if not fields:
        raise VpcFormatError("--vpc-format is empty: give the flow log's fields, e.g. '${version} ${account-id} ...'")
    for name in fields:
        if name not in vpcflow.FIELD_TYPES:
            close = difflib.get_close_matches(name, vpcflow.FIELD_TYPES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(vpcflow.FIELD_TYPES)
            raise VpcFormatError(f"unknown VPC flow log field {name!r} in --vpc-format{hint}; fields: {known}")
    repeated = sorted({f for f in fields if fields.count(f) > 1})
    if repeated:
        raise VpcFormatError(f"field {repeated[0]!r} appears more than once in --vpc-format")
    return fields


ProgressHook = Callable[[int, int, int], None]  # (objects done, bytes done, records done)
# Runs claimed batches (with `workers` in parallel), yielding results as they finish: local processes by
# default, Spark executors for `loglake spark ingest`. Everything else (ledger, commits) stays the same.
Runner = Callable[[list[Batch], int], Iterable[BatchResult]]


def ensure_tables(lake: Path) -> None:
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake), create=True)
    for name, schema in {**registry.tables(), rejects_table.TABLE: rejects_table.SCHEMA}.items():
        lake_catalog.ensure_table(catalog, name, stamps.table_schema(name, schema))


def _stamper(lake: Path) -> stamps.Stamper | None:
    """The asset index rows are written with (context/stamps.py). None when it cannot be read here (damaged
    assets, an S3 lake without DuckDB's httpfs extension): rows are written without stamps, and the views join
    them, as they do rows an older loglake wrote."""
    try:
        return stamps.load(lake)
    except (QueryError, LakeError, duckdb.Error, OSError):
        return None


def plan(options: IngestOptions) -> list[ObjectRef]:
    """Every object of every source, in a stable order (a source listed twice is read once)."""
    return _unique(ref for source in options.sources for ref in list_objects(source, options.endpoint_url))


def _unique(objects: Iterable[ObjectRef]) -> list[ObjectRef]:
    seen: dict[str, ObjectRef] = {}
    for ref in objects:
        seen.setdefault(ref.uri, ref)
    return list(seen.values())


def ingest(
    options: IngestOptions,
    on_start: Callable[[int, int], None] | None = None,
    on_progress: ProgressHook | None = None,
    *,
    objects: list[ObjectRef] | None = None,
    runner: Runner | None = None,
) -> Summary:
    """Ingest every object of `options.sources`, or exactly the given `objects` (what a Lambda is handed)."""
    if options.forced_format:
        registry.get(options.forced_format)  # a wrong --format fails before any work
    if options.vpc_format is not None:
        vpc_format_fields(options.vpc_format)  # and so does a wrong --vpc-format
    started = time.perf_counter()
    objects = plan(options) if objects is None else _unique(objects)
    ensure_tables(options.lake)
    stamper = _stamper(options.lake)
    location = lake_catalog.LakeLocation(options.lake)
    ledger = Ledger(lake_state.ingest_state_url(location), lake_locks(location))
    summary = Summary()
    try:
        catalog = lake_catalog.open_catalog(location)
        batches = list(_resumed_batches(ledger, catalog, options))
        fresh, skipped = _new_objects(objects, ledger)
        summary.count_already_ingested(skipped)
        target = min(MAX_BATCH_BYTES, max(MIN_BATCH_BYTES, sum(r.size for r, _ in fresh) // (options.workers * 4)))
        batches.extend(_batches(fresh, ledger, options, target))
        for batch in batches:
            batch.stamper = stamper
        if on_start:
            on_start(sum(len(b.objects) for b in batches), sum(o.size for b in batches for o in b.objects))
        pending: list[BatchResult] = []
        last_commit = time.monotonic()
        for result in (runner or _run)(batches, options.workers):
            pending.append(result)
            if len(pending) >= COMMIT_BATCHES or time.monotonic() - last_commit >= COMMIT_SECONDS:
                _commit(pending, catalog, ledger, (location.root, stamper))
                pending, last_commit = [], time.monotonic()
            summary.add(result)
            if on_progress:
                on_progress(
                    len(result.objects), sum(o.size for o in result.objects), sum(o.records for o in result.objects)
                )
        if pending:
            _commit(pending, catalog, ledger, (location.root, stamper))
    finally:
        ledger.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _new_objects(objects: list[ObjectRef], ledger: Ledger) -> tuple[list[tuple[ObjectRef, str | None]], int]:
    """Objects to read, each with the fingerprint the lake has for its key (local files must be hashed)."""
    known = ledger.ingested([o.uri for o in objects])
    fresh, skipped = [], 0
    for ref in objects:
        previous = known.get(ref.uri)
        if previous and previous[0] == ref.size and ref.etag is not None and previous[1] == ref.etag:
            skipped += 1  # S3 tells us the ETag without reading the object
            continue
        fresh.append((ref, previous[1] if previous and previous[0] == ref.size else None))
    return fresh, skipped


def _batches(
    objects: list[tuple[ObjectRef, str | None]], ledger: Ledger, options: IngestOptions, target_bytes: int
) -> Iterator[Batch]:
    for group in _group(objects, target_bytes):
        batch_id = uuid.uuid4().hex
        by_key = {ref.uri: (ref, fp) for ref, fp in group}
        spec = {
            "forced_format": options.forced_format,
            "endpoint_url": options.endpoint_url,
            "vpc_fields": options.vpc_fields,  # a take-over re-parses with the same field order
            "objects": {ref.uri: [ref.size, ref.etag] for ref, _ in group},
            # records handed over in memory: kept with the claim, so a take-over can re-read them
            "inline": {ref.uri: base64.b64encode(ref.data).decode() for ref, _ in group if ref.data is not None},
        }
        claimed = ledger.claim(batch_id, list(by_key), spec)
        if not claimed:
            continue  # another live run is ingesting these objects
        yield Batch(
            id=batch_id,
            objects=[by_key[k][0] for k in claimed],
            lake_root=str(options.lake),
            forced_format=options.forced_format,
            endpoint_url=options.endpoint_url,
            vpc_fields=options.vpc_fields,
            known={k: by_key[k][1] for k in claimed if by_key[k][1] is not None},
        )


def _group(
    objects: list[tuple[ObjectRef, str | None]], target_bytes: int
) -> Iterator[list[tuple[ObjectRef, str | None]]]:
    group: list[tuple[ObjectRef, str | None]] = []
    size = 0
    for item in objects:
        group.append(item)
        size += item[0].size
        if size >= target_bytes or len(group) >= BATCH_OBJECTS:
            yield group
            group, size = [], 0
    if group:
        yield group


def _resumed_batches(ledger: Ledger, catalog, options: IngestOptions) -> Iterator[Batch]:
    """Batches a killed run left claimed: re-run them, skipping tables that already hold them."""
    for batch_id, spec in ledger.take_over_abandoned():
        committed = {
            name
            for name in lake_catalog.table_names(catalog)
            if batch_id in lake_catalog.committed_batches(lake_catalog.load_table(catalog, name))
        }
        inline = spec.get("inline", {})
        objects = [
            ObjectRef(key, *spec["objects"][key], data=base64.b64decode(inline[key]) if key in inline else None)
            for key in spec["keys"]
        ]
        known = ledger.ingested(spec["keys"])
        yield Batch(
            id=batch_id,
            objects=objects,
            lake_root=str(options.lake),
            forced_format=spec.get("forced_format"),
            endpoint_url=spec.get("endpoint_url") or options.endpoint_url,
            vpc_fields=spec.get("vpc_fields"),  # the format of the run that claimed the batch, not this run's
            known={k: fp for k, (_, fp) in known.items()},
            skip_tables=committed,
        )


def _run(batches: list[Batch], workers: int) -> Iterable[BatchResult]:
    """Results in completion order; with one worker everything runs in this process."""
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            yield run_batch(batch)
        return
    # fork: workers start at once with everything imported (spawn re-imports pyarrow/pyiceberg, ~1.5 s each).
    # The parent's only other thread draws the progress bar, which the workers never touch.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = iter(batches)
        running = {pool.submit(run_batch, b) for b in _take(pending, workers + 1)}
        while running:
            done, running = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                yield future.result()
            running |= {pool.submit(run_batch, b) for b in _take(pending, len(done))}


def _take(iterator: Iterator[Batch], n: int) -> list[Batch]:
    return [b for _, b in zip(range(n), iterator, strict=False)]


def _commit(results: list[BatchResult], catalog, ledger: Ledger, stamped: tuple[Path, stamps.Stamper | None]) -> None:
    """One snapshot per table for several batches, then one ledger transaction: few commits, still atomic.

    The stamped tables' new files are recorded at the run's index epoch after their commit: a run killed in
    between leaves files that are only unrecorded (joined in `_ctx` views until a restamp checks them)."""
    faults.point("before-commit")
    tables = sorted({name for result in results for name in result.files})
    for name in tables:
        files = {r.batch: r.files[name] for r in results if name in r.files}
        with holding(ledger.locks, commit_lock(name)):
            lake_catalog.commit_data_files(lake_catalog.load_table(catalog, name), files)
        root, stamper = stamped
        if stamper is not None and stamps.stamped(name):
            stamps.keep_index(root, stamper)
            written = {f.file_path: stamper.epoch for batch_files in files.values() for f in batch_files}
            stamps.record(root, name, written, ledger.locks)
        faults.point("between-table-commits")
    faults.point("before-ledger")
    ledger.complete({r.batch: r.objects for r in results})
    faults.point("after-ledger")
