"""CPU cost of each stage of CloudTrail ingest, against DuckDB reading the same files in the same run.

    python bench/cloudtrail_stages.py [--scale 1] [--hours 24]

Generates the demo estate's CloudTrail log files (gzip, as delivered), then times each stage alone in this
process, with the garbage collector paused as ingest workers run: CPU seconds per million events and the
rate that would give on two fully used cores. The sum of loglake's stages is a floor for end-to-end ingest
(which also lists, hashes, partitions and commits). The DuckDB lines are the same files read by DuckDB with
explicit columns, one thread: the 11 columns the ingest bench compares against, then the full schema.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import gzip
import io
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from loglake.demo import cloudtrail as demo_cloudtrail
from loglake.demo.base import Context
from loglake.demo.estate import build_estate
from loglake.demo.story import plan_story
from loglake.formats import cloudtrail
from loglake.formats.base import ObjectInfo
from loglake.formats.jsonshape import Json, ListOf, MapOf, Shape, Struct
from loglake.ingest.decompress import decompress

ELEVEN_COLUMNS = (
    "STRUCT(eventVersion VARCHAR, eventTime VARCHAR, eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR,"
    " sourceIPAddress VARCHAR, userAgent VARCHAR, errorCode VARCHAR, requestParameters JSON,"
    " responseElements JSON, eventID VARCHAR)"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--hours", type=int, default=24)
    args = parser.parse_args()
    gzipped = demo_files(args.scale, args.hours)
    plain = [gzip.decompress(g) for g in gzipped]
    events = sum(len(cloudtrail._decode_log_file(p).Records) for p in plain)
    print(f"{len(gzipped)} CloudTrail files, {events:,} events, {sum(map(len, gzipped)) / 1e6:.1f} MB gzip")
    print(f"{'stage':<52} {'CPU-s/M':>8} {'events/s on 2 cores':>20}")
    info = ObjectInfo("s3://b/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/f.json.gz")
    write_parquet(cloudtrail.to_arrow(parse_all(plain[:2], info)))  # first calls load code: not a stage's cost
    gc.disable()  # as in ingest workers (formats.base.gc_paused)
    stages = 0.0
    stages += report("gunzip (ISA-L, ingest.decompress)", events, lambda: [decompress(g, "x") for g in gzipped])
    report("  gunzip with zlib, for comparison", events, lambda: [zlib.decompress(g, 31) for g in gzipped])
    decoded: list[Any] = []
    stages += report("msgspec decode (strict, typed)", events, lambda: decoded.extend(decode_all(plain)))
    stages += report("  freeing the decoded objects", events, decoded.clear)
    parts: list[Any] = []
    report("parse() per object (decode, positions)", events, lambda: parts.extend(parse_all(plain, info)))
    tables: list[Any] = []
    stages += report("columns: to_arrow() of the batch", events, lambda: tables.append(cloudtrail.to_arrow(parts)))
    parts.clear()
    stages += report("Parquet zstd(3) of the final table", events, lambda: write_parquet(tables[0]))
    print(f"{'sum of the loglake stages above':<52} {stages * 1e6 / events:>8.2f} {2 * events / stages:>20,.0f}")
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for i, data in enumerate(gzipped):
            names.append(str(Path(tmp) / f"{i}.json.gz"))
            Path(names[-1]).write_bytes(data)
        con = duckdb.connect()
        con.execute("SET threads=1")
        duck_count(con, names[:2], ELEVEN_COLUMNS)
        report("DuckDB read_json, 11 columns, count(*)", events, lambda: duck_count(con, names, ELEVEN_COLUMNS))
        full = duck_type(cloudtrail.EVENT)
        report("DuckDB read_json, full schema, count(*)", events, lambda: duck_count(con, names, full))


def demo_files(scale: float, hours: int) -> list[bytes]:
    start = int(dt.datetime(2024, 5, 1, tzinfo=dt.UTC).timestamp())
    end = start + hours * 3600
    estate = build_estate(7)
    ctx = Context(estate, 7, start, end, scale, plan_story(estate, 7, start, end))
    return [
        gzip.compress(obj.body, compresslevel=6, mtime=0)
        for region in estate.regions
        for obj in demo_cloudtrail.iter_objects(ctx, region)
        if obj.source == "cloudtrail"
    ]


def report(name: str, events: int, stage: Callable[[], Any]) -> float:
    started = time.process_time()
    stage()
    seconds = time.process_time() - started
    print(f"{name:<52} {seconds * 1e6 / events:>8.2f} {2 * events / seconds:>20,.0f}", flush=True)
    return seconds


def decode_all(plain: list[bytes]) -> list[Any]:
    return [cloudtrail._decode_log_file(p) for p in plain]


def parse_all(plain: list[bytes], info: ObjectInfo) -> list[Any]:
    return [cloudtrail.parse(p, info).part for p in plain]


def write_parquet(table: Any) -> int:
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd", compression_level=3)
    return out.tell()


def duck_type(shape: Shape) -> str:
    if isinstance(shape, Struct):
        return "STRUCT(" + ", ".join(f'"{f.key}" {duck_type(f.shape)}' for f in shape.fields) + ")"
    if isinstance(shape, ListOf):
        return duck_type(shape.item) + "[]"
    if isinstance(shape, MapOf):
        return "MAP(VARCHAR, VARCHAR)"
    return "JSON" if isinstance(shape, Json) else "VARCHAR"


def duck_count(con: duckdb.DuckDBPyConnection, names: list[str], record_type: str) -> int:
    query = (
        "SELECT count(*) FROM (SELECT unnest(Records) FROM read_json(?, format='unstructured',"
        f" maximum_object_size=1000000000, columns={{Records: '{record_type}[]'}}))"
    )
    return con.execute(query, [names]).fetchone()[0]


if __name__ == "__main__":
    main()
