"""`loglake spark ingest`: the ingest pipeline with Spark executors as its workers.

The driver does what a local ingest does: list the sources, skip objects the ledger has, claim batches, and
commit each batch's data files to the Iceberg tables then mark its objects ingested (exactly once, the same
ledger). Only running a batch moves: each claimed batch is one Spark task (`mapInArrow`) that reads its
objects, parses them with the same formats and writes Parquet data files into the tables' warehouse
locations (zstd, partitioned by lake_time's day), returning the data files it wrote as an Arrow row.
Executors must therefore reach the sources and the lake's warehouse (an S3 lake, or a shared folder).
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from loglake.ingest import worker
from loglake.ingest.pipeline import IngestOptions, ProgressHook, Runner, ingest
from loglake.ingest.summary import Summary
from loglake.ingest.worker import Batch, BatchResult, run_batch
from loglake.spark.session import session

# One row per batch: its id and the pickled BatchResult (the data files written, the objects' outcomes).
RESULT_SCHEMA = pa.schema([pa.field("batch", pa.string()), pa.field("result", pa.binary())])
RESULT_DDL = "batch string, result binary"
WAVE_PER_CORE = 2  # batches started per core at once: results come back (and are committed) wave by wave


def spark_runner(spark) -> Runner:
    """A pipeline runner that runs each batch as a Spark task, a wave of batches per Spark job."""

    def run(batches: list[Batch], workers: int) -> Iterable[BatchResult]:
        wave = max(1, workers * WAVE_PER_CORE)
        for start in range(0, len(batches), wave):
            yield from _run_wave(spark, batches[start : start + wave])

    return run


def _run_wave(spark, batches: list[Batch]) -> Iterator[BatchResult]:
    rows = [(batch.id, pickle.dumps(batch)) for batch in batches]
    specs = spark.sparkContext.parallelize(rows, len(rows)).toDF("batch string, spec binary")
    for row in specs.mapInArrow(run_batches, RESULT_DDL).collect():
        yield pickle.loads(row["result"])


def run_batches(chunks: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """On an executor: run each batch of the task's rows, one result row per batch."""
    # Python workers outlive a job; tables loaded by an earlier job may predate columns added since.
    worker._tables.clear()
    for chunk in chunks:
        for spec in chunk.column("spec").to_pylist():
            result = run_batch(pickle.loads(spec))
            yield pa.record_batch([[result.batch], [pickle.dumps(result)]], schema=RESULT_SCHEMA)


def spark_ingest(
    options: IngestOptions,
    *,
    spark=None,
    on_start: Callable[[int, int], None] | None = None,
    on_progress: ProgressHook | None = None,
) -> Summary:
    """Ingest `options.sources` into `options.lake` with Spark; the same Summary as `ingest` gives."""
    spark = spark or session()
    options = dataclasses.replace(options, workers=spark.sparkContext.defaultParallelism)
    return ingest(options, on_start=on_start, on_progress=on_progress, runner=spark_runner(spark))
