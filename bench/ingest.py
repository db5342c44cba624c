"""Ingest throughput and footprint, measured against baselines from the same run (the machine is noisy).

    python bench/ingest.py [--days 1] [--scale 1.0] [--workers 2]

Generates the demo estate's raw logs (CloudTrail + VPC Flow Logs) at the given size, then prints for each
format: events/s and MB/s of uncompressed input end to end into the lake, peak RSS of the ingest, lake bytes
vs gzip input bytes, and the ratio to DuckDB reading the same gzip files (explicit columns) as a baseline.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from loglake.demo import generate_raw_logs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        generate_raw_logs(raw, days=args.days, scale=args.scale, workers=2)
        print(
            f"{'format':<12} {'events':>10} {'events/s':>10} {'MB/s in':>8} {'lake/gzip':>9} "
            f"{'vs duckdb':>9} {'peak RSS':>9}"
        )
        for service, table in (("CloudTrail", "cloudtrail_logs"), ("vpcflowlogs", "vpc_flow_logs")):
            files = sorted(p for p in raw.rglob(f"AWSLogs/*/{service}/**/*.gz"))
            measure(files, table, Path(tmp) / f"lake-{table}", args.workers)


def measure(files: list[Path], table: str, lake: Path, workers: int) -> None:
    gzip_bytes = sum(p.stat().st_size for p in files)
    plain_bytes = sum(len(gzip.decompress(p.read_bytes())) for p in files)
    listing = lake.parent / f"{table}.txt"
    listing.write_text("\n".join(map(str, files)))
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loglake",
            "ingest",
            *map(str, files),
            "--lake",
            str(lake),
            "--workers",
            str(workers),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    summary = json.loads(result.stdout)["tables"][table]
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    baseline = duckdb_seconds(files, table)
    events = summary["records"]
    print(
        f"{table:<12.12} {events:>10,} {events / seconds:>10,.0f} {plain_bytes / seconds / 1e6:>8.1f} "
        f"{summary['lake_bytes'] / gzip_bytes:>9.2f} {seconds / baseline:>8.1f}x {peak_mb:>7.0f}MB"
    )


def duckdb_seconds(files: list[Path], table: str) -> float:
    con = duckdb.connect()
    names = [str(p) for p in files]
    started = time.perf_counter()
    if table == "cloudtrail_logs":
        con.execute(
            "SELECT count(*) FROM (SELECT unnest(Records, recursive := true) FROM read_json(?, format='unstructured',"
            " maximum_object_size=1000000000, columns={Records: 'STRUCT(eventVersion VARCHAR, eventTime VARCHAR,"
            " eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR, sourceIPAddress VARCHAR, userAgent VARCHAR,"
            " errorCode VARCHAR, requestParameters JSON, responseElements JSON, eventID VARCHAR)[]'}))",
            [names],
        ).fetchall()
    else:
        con.execute(
            "SELECT count(*) FROM read_csv(?, delim=' ', header=true, nullstr='-', union_by_name=true)", [names]
        ).fetchall()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
