"""Query speed on the lake against DuckDB reading the raw gzip logs directly, measured in the same run.

    python bench/query.py [--days 3] [--scale 1.0]

Generates the demo estate's logs, ingests them, then times each query (best of 3) on the lake and on the raw
files, and prints the ratio. Also shows partition pruning: a one-day filter against the whole lake.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from loglake.demo import generate_raw_logs
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.query import engine

RAW_CLOUDTRAIL = (
    "(SELECT unnest(Records, recursive := true) FROM read_json({files}, format='unstructured',"
    " maximum_object_size=1000000000, columns={{Records: 'STRUCT(eventName VARCHAR, eventTime VARCHAR)[]'}}))"
)
RAW_FLOWS = "read_csv({files}, delim=' ', header=true, nullstr='-', union_by_name=true)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw, lake = Path(tmp) / "raw", Path(tmp) / "lake"
        manifest = generate_raw_logs(raw, days=args.days, scale=args.scale, workers=2)
        ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=2))
        trails = [str(p) for p in raw.rglob("AWSLogs/*/CloudTrail/**/*.json.gz")]
        flows = [str(p) for p in raw.rglob("AWSLogs/*/vpcflowlogs/**/*.log.gz")]
        con = engine.connect(lake)
        raw_con = duckdb.connect()
        day = manifest.end.date().isoformat()
        print(f"{'query':<44} {'lake s':>8} {'raw gzip s':>10} {'speed-up':>9}")
        compare(
            "count(*) GROUP BY eventname",
            lambda: con.execute("SELECT eventname, count(*) FROM cloudtrail_logs GROUP BY 1").fetchall(),
            lambda: raw_con.execute(
                f"SELECT eventName, count(*) FROM {RAW_CLOUDTRAIL.format(files=trails)} GROUP BY 1"
            ).fetchall(),
        )
        compare(
            "flows: top 10 talkers by bytes",
            lambda: con.execute(
                "SELECT srcaddr, sum(bytes) FROM vpc_flow_logs GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
            ).fetchall(),
            lambda: raw_con.execute(
                f"SELECT srcaddr, sum(bytes) FROM {RAW_FLOWS.format(files=flows)} GROUP BY 1 ORDER BY 2 DESC LIMIT 10"
            ).fetchall(),
        )
        whole = best(lambda: con.execute("SELECT count(*), count(DISTINCT srcaddr) FROM vpc_flow_logs").fetchall())
        one_day = best(
            lambda: con.execute(
                "SELECT count(*), count(DISTINCT srcaddr) FROM vpc_flow_logs"
                f" WHERE lake_time >= TIMESTAMPTZ '{day}' AND lake_time < TIMESTAMPTZ '{day}' + INTERVAL 1 DAY"
            ).fetchall()
        )
        print(
            f"{'flows: one day vs all ' + str(args.days) + ' days (pruning)':<44} {one_day:>8.3f} {whole:>10.3f}"
            f" {whole / one_day:>8.1f}x"
        )


def best(run: Callable[[], object], tries: int = 3) -> float:
    times = []
    for _ in range(tries):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def compare(label: str, lake_query: Callable[[], object], raw_query: Callable[[], object]) -> None:
    lake_s, raw_s = best(lake_query), best(raw_query)
    print(f"{label:<44} {lake_s:>8.3f} {raw_s:>10.3f} {raw_s / lake_s:>8.1f}x")


if __name__ == "__main__":
    main()
