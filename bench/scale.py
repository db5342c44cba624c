"""Scale-out figures: ingest to an S3 server against local disk, and growth with the number of events.

    python bench/scale.py [--events 1e6 1e7] [--s3-events 1e6] [--days 30] [--per-day 100000] [--workers 2]

1. The same VPC flow log files ingested with the same workers into a local lake and into a lake on a real
   S3 server (`rclone serve s3` on 127.0.0.1, started here): events/s of each and their ratio (target >= 70%).
2. Growth, on local disk: for each size, a fresh lake of that many events at --per-day events a day (a lake
   grows by adding days, so 10x the events is 10x the days); ingest time and events/s, and the time of a
   one-day query (count and top talkers of one day), each as a ratio to the smallest size measured in this
   run. Linear ingest keeps events/s flat (ratio ~1); partition pruning keeps the one-day query flat while the
   lake grows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.servers: the S3 server the tests use

from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.lake.catalog import lake_location
from loglake.query import engine
from tests.servers import rclone_s3

ACCOUNT = "111122223333"
HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
LINES_PER_FILE = 50_000
FIRST_DAY = dt.date(2025, 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--s3-events", type=float, default=1e6)
    parser.add_argument("--days", type=int, default=30, help="Days the S3-vs-local events are spread over.")
    parser.add_argument("--per-day", type=int, default=100_000, help="Events a day in the growth lakes.")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["LOGLAKE_STATE_DIR"] = str(root / "state")
        s3_vs_local(root, int(args.s3_events), args.days, args.workers)
        growth(root, [int(n) for n in args.events], args.per_day, args.workers)


def s3_vs_local(root: Path, events: int, days: int, workers: int) -> None:
    source = write_flow_logs(root / "src-s3", events, days)
    local = ingest_seconds(source, root / "lake-local", workers)
    with rclone_s3(root / "s3root") as server:
        os.environ.update(server.env())
        server.client().create_bucket(Bucket="bench-lake")
        lake = lake_location("s3://bench-lake/scale", endpoint_url=server.endpoint_url).root
        on_s3 = ingest_seconds(source, lake, workers)
    print(f"\ningest of {events:,} flow log events, {workers} workers")
    print(f"{'lake':<22} {'seconds':>8} {'events/s':>10} {'vs local':>9}")
    print(f"{'local disk':<22} {local:>8.1f} {events / local:>10,.0f} {'1.00':>9}")
    print(f"{'S3 (rclone serve s3)':<22} {on_s3:>8.1f} {events / on_s3:>10,.0f} {local / on_s3:>9.2f}")


def growth(root: Path, sizes: list[int], per_day: int, workers: int) -> None:
    print(f"\ngrowth: {per_day:,} events a day, {workers} workers; ratios against the first row")
    print(
        f"{'events':>12} {'days':>5} {'ingest s':>9} {'events/s':>10} {'(ratio)':>8} "
        f"{'1-day count s':>14} {'(ratio)':>8} {'1-day top s':>12} {'(ratio)':>8}"
    )
    base = None
    for events in sizes:
        days = max(1, events // per_day)
        source = write_flow_logs(root / f"src-{events}", events, days)
        lake = root / f"lake-{events}"
        seconds = ingest_seconds(source, lake, workers)
        count, top = one_day_queries(lake, FIRST_DAY + dt.timedelta(days=days // 2))
        rate = events / seconds
        base = base or (rate, count, top)
        print(
            f"{events:>12,} {days:>5} {seconds:>9.1f} {rate:>10,.0f} {rate / base[0]:>8.2f} {count:>14.3f} "
            f"{count / base[1]:>8.2f} {top:>12.3f} {top / base[2]:>8.2f}"
        )


def ingest_seconds(source: Path, lake: Path, workers: int) -> float:
    started = time.perf_counter()
    summary = ingest(IngestOptions(sources=[str(source)], lake=lake, workers=workers))
    if summary.errors:
        raise SystemExit(f"ingest failed: {summary.errors[:3]}")
    return time.perf_counter() - started


def one_day_queries(lake: Path, day: dt.date) -> tuple[float, float]:
    """Seconds of a count and of a top-10 of one day, each the best of three on a fresh connection."""
    where = f"lake_time >= TIMESTAMPTZ '{day}' AND lake_time < TIMESTAMPTZ '{day + dt.timedelta(days=1)}'"
    queries = (
        f"SELECT count(*) FROM vpc_flow_logs WHERE {where}",
        f"SELECT srcaddr, sum(bytes) AS b FROM vpc_flow_logs WHERE {where} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    )
    times = []
    for sql in queries:
        best = float("inf")
        for _ in range(3):
            con = engine.connect(lake)
            started = time.perf_counter()
            con.execute(sql).fetchall()
            best = min(best, time.perf_counter() - started)
        times.append(best)
    return times[0], times[1]


def write_flow_logs(folder: Path, events: int, days: int) -> Path:
    """VPC flow log files as AWS delivers them (gzip, AWS key layout), `events` lines spread over `days`."""
    per_day = max(1, events // days)
    written = 0
    for d in range(days):
        day = FIRST_DAY + dt.timedelta(days=d)
        start = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
        target = folder / "AWSLogs" / ACCOUNT / "vpcflowlogs" / "us-east-1" / day.strftime("%Y/%m/%d")
        target.mkdir(parents=True, exist_ok=True)
        remaining = per_day if d < days - 1 else events - written
        for f in range(0, remaining, LINES_PER_FILE):
            n = min(LINES_PER_FILE, remaining - f)
            lines = [HEADER]
            for i in range(f, f + n):
                t = start + i * 86_000 // max(remaining, 1)
                lines.append(
                    f"2 {ACCOUNT} eni-0{i % 64:x} 10.0.{i % 200}.{i % 250} 198.51.{i % 100}.{i % 200} "
                    f"{1024 + i % 60000} 443 6 {i % 90 + 1} {i % 9000 + 40} {t} {t + 60} ACCEPT OK"
                )
            name = f"{ACCOUNT}_vpcflowlogs_us-east-1_fl-0a_{day:%Y%m%d}T{f // LINES_PER_FILE:04d}Z_{f:08x}.log.gz"
            (target / name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), compresslevel=1))
        written += remaining
    return folder


if __name__ == "__main__":
    main()
