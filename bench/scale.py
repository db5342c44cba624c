"""Scale-out figures: ingest to an S3 server against local disk, and growth with the number of events.

    python bench/scale.py [--events 1e6 1e7] [--s3-events 1e6] [--days 30] [--per-day 100000] [--workers 2]
                          [--lakes DIR] [--growth-only]

1. The same VPC flow log files ingested with the same workers into a local lake and into a lake on a real
   S3 server (`rclone serve s3` on 127.0.0.1, started here): events/s of each and their ratio (target >= 70%).
2. Growth, on local disk: for each size, a fresh lake of that many events at --per-day events a day (a lake
   grows by adding days, so 10x the events is 10x the days); ingest time and events/s, and the time of a
   one-day query (count and top talkers of one day), each as a ratio to the smallest size measured in this
   run. Linear ingest keeps events/s flat (ratio ~1); partition pruning keeps the one-day query flat while the
   lake grows. The one-day queries run as `loglake query` runs them (engine.run: the file index finds the
   day's files), and, for comparison, straight on the `iceberg_scan` view (DuckDB plans from every manifest
   entry). Times are the best of three, each on a fresh connection, with the CPU seconds of that run.

`--lakes DIR` keeps the growth lakes (and their ingest figures) in DIR and reuses them in a later run, so the
big lakes are built once; `--growth-only` skips part 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.servers: the S3 server the tests use

from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.lake import catalog as lake_catalog
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
    parser.add_argument("--lakes", type=Path, help="Keep the growth lakes here and reuse them in later runs.")
    parser.add_argument("--growth-only", action="store_true", help="Skip the S3-vs-local ingest.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["LOGLAKE_STATE_DIR"] = str(root / "state")
        if not args.growth_only:
            s3_vs_local(root, int(args.s3_events), args.days, args.workers)
        growth(args.lakes or root, [int(n) for n in args.events], args.per_day, args.workers)


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
    root.mkdir(parents=True, exist_ok=True)
    print(f"\ngrowth: {per_day:,} events a day, {workers} workers; ratios against the first row")
    print(
        f"{'events':>12} {'days':>5} {'files':>6} {'ingest s':>9} {'events/s':>10} {'(ratio)':>8} {'CPU-s/M':>8} "
        f"{'1-day count s':>14} {'(ratio)':>8} {'CPU-s':>7} {'1-day top s':>12} {'(ratio)':>8} {'CPU-s':>7} "
        f"{'unpruned count s':>17} {'CPU-s':>7}"
    )
    base = None
    for events in sizes:
        days = max(1, events // per_day)
        lake = root / f"lake-{events}-{per_day}"
        built = built_lake(root, lake, events, days, workers)
        day = FIRST_DAY + dt.timedelta(days=days // 2)
        count, top = one_day_queries(lake, day, pruned=True)
        unpruned, _ = one_day_queries(lake, day, pruned=False)
        rate = events / built["seconds"]
        base = base or (rate, count[0], top[0])
        print(
            f"{events:>12,} {days:>5} {data_files(lake):>6} {built['seconds']:>9.1f} {rate:>10,.0f} "
            f"{rate / base[0]:>8.2f} {built['cpu'] / events * 1e6:>8.1f} "
            f"{count[0]:>14.4f} {count[0] / base[1]:>8.2f} {count[1]:>7.4f} "
            f"{top[0]:>12.4f} {top[0] / base[2]:>8.2f} {top[1]:>7.4f} {unpruned[0]:>17.4f} {unpruned[1]:>7.4f}"
        )


def built_lake(root: Path, lake: Path, events: int, days: int, workers: int) -> dict:
    """The lake of that many events (ingested now unless a run with --lakes built it) and its ingest figures."""
    figures = lake.with_suffix(".json")
    if figures.exists() and lake.exists():
        return json.loads(figures.read_text())
    source = write_flow_logs(root / f"src-{events}", events, days)
    before = cpu_seconds()
    seconds = ingest_seconds(source, lake, workers)
    built = {"seconds": seconds, "cpu": cpu_seconds() - before}
    figures.write_text(json.dumps(built))
    return built


def cpu_seconds() -> float:
    """User and system CPU of this process and of its finished children (the ingest workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def data_files(lake: Path) -> int:
    table = lake_catalog.load_table(lake_catalog.open_catalog(lake_catalog.LakeLocation(lake)), "vpc_flow_logs")
    return len(engine.snapshot_files(table, lake=lake))


def ingest_seconds(source: Path, lake: Path, workers: int) -> float:
    started = time.perf_counter()
    summary = ingest(IngestOptions(sources=[str(source)], lake=lake, workers=workers))
    if summary.errors:
        raise SystemExit(f"ingest failed: {summary.errors[:3]}")
    return time.perf_counter() - started


def one_day_queries(lake: Path, day: dt.date, *, pruned: bool) -> list[tuple[float, float]]:
    """(seconds, CPU seconds) of a count and of a top-10 of one day, each the best of three on a fresh
    connection: through engine.run (pruned, as `loglake query`) or straight on the iceberg_scan view."""
    where = f"lake_time >= TIMESTAMPTZ '{day}' AND lake_time < TIMESTAMPTZ '{day + dt.timedelta(days=1)}'"
    queries = (
        f"SELECT count(*) FROM vpc_flow_logs WHERE {where}",
        f"SELECT srcaddr, sum(bytes) AS b FROM vpc_flow_logs WHERE {where} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    )
    engine.connect(lake)  # the first connection after an ingest brings the file index up to date: not timed
    times = []
    for sql in queries:
        best = (float("inf"), float("inf"))
        for _ in range(3):
            con = engine.connect(lake)
            started, cpu = time.perf_counter(), cpu_seconds()
            engine.run(con, sql) if pruned else con.execute(sql).fetchall()
            best = min(best, (time.perf_counter() - started, cpu_seconds() - cpu))
        times.append(best)
    return times


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
