"""Spark in local mode against the local engine on the same demo logs, measured in the same run.

    python bench/spark.py [--days 1] [--scale 0.2] [--cores 2]

Generates the demo estate's logs, then ingests them with `loglake ingest` (worker processes) and with
`loglake spark ingest` (local[cores]) into two lakes, runs the same queries with DuckDB and with Spark, and
the built-in rules with `loglake detect` and `loglake spark detect`. Prints seconds and Spark's time as a
ratio of the local engine's (Spark's start-up is timed apart: a cluster pays it once per job).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from loglake.demo import generate_raw_logs
from loglake.detect.rulebook import load_rulebook
from loglake.detect.run import detect
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.query import engine
from loglake.spark.detect import spark_detect
from loglake.spark.ingest import spark_ingest
from loglake.spark.query import spark_query
from loglake.spark.session import session

QUERIES = {
    "group-by (CloudTrail)": "SELECT eventsource, count(*) FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC",
    "one hour (VPC flows)": "SELECT action, count(*), sum(bytes) FROM vpc_flow_logs "
    "WHERE lake_time >= TIMESTAMP '{day} 12:00:00' AND lake_time < TIMESTAMP '{day} 13:00:00' GROUP BY 1",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        end = dt.datetime(2024, 3, 7, tzinfo=dt.UTC)
        generate_raw_logs(raw, days=args.days, end=end, scale=args.scale, workers=2)
        rows = []
        started = time.perf_counter()
        spark = session(f"local[{args.cores}]")
        spark.range(1).collect()
        print(f"Spark start-up: {time.perf_counter() - started:.1f} s")
        local, on_spark = Path(tmp) / "local", Path(tmp) / "spark"
        rows.append(
            (
                "ingest",
                _timed(lambda: ingest(IngestOptions(sources=[str(raw)], lake=local, workers=args.cores))),
                _timed(lambda: spark_ingest(IngestOptions(sources=[str(raw)], lake=on_spark), spark=spark)),
            )
        )
        day = (end - dt.timedelta(days=1)).date().isoformat()
        for name, template in QUERIES.items():
            sql = template.format(day=day)
            rows.append(
                (
                    f"query: {name}",
                    _timed(lambda sql=sql: engine.run(engine.connect(local), sql)),
                    _timed(lambda sql=sql: spark_query(on_spark, sql, spark=spark)),
                )
            )
        rules = load_rulebook(None).rules
        rows.append(
            (
                f"detect: {len(rules)} rules",
                _timed(lambda: detect(local, rules)),
                _timed(lambda: spark_detect(on_spark, rules, spark=spark)),
            )
        )
    print(f"{'step':34} {'local s':>8} {'Spark s':>8} {'Spark/local':>11}")
    for step, base, measured in rows:
        print(f"{step:34} {base:8.1f} {measured:8.1f} {measured / base:10.1f}x")


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
