"""The whole rule pack over a large lake, and an incremental run over one new hour, against same-run baselines.

    python bench/detect.py [--events 10_000_000] [--keep DIR]                  # 10M events, the demo's mix
    python bench/detect.py --cloudtrail 10_000_000 --flows 10_000_000 [--days 14] [--keep DIR]

Builds a lake from the demo estate's logs (one generated day, ingested by loglake), then copies its rows,
shifted by whole days: real-shaped rows (the demo's mix of principals, APIs, errors and traffic, with its attack
in every copy) without generating and parsing 10M log lines first. By default every log table is copied until
the lake holds `--events` events together in the demo's proportions (flows, web requests, DNS, WAF,
CloudTrail, S3); with `--cloudtrail/--flows` only those two tables grow, to those sizes, over `--days` days.
`--keep DIR` builds the lake there once and measures it again on later runs.

Prints: the pack's first run over all history (the target is under 60 s on 2 cores), then an incremental run
after one more hour of data lands (target under 5 s), each with the CPU seconds it used (per million events:
a figure the load of other processes does not inflate), its 15 slowest rules, and a ratio to a baseline
measured in the same run: one filtered scan of every log table (DuckDB, a count with a filter on each).
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
from grown_lake import build_seed, grow, grow_mix, shifted, table_rows

from loglake.detect.connection import open_connection
from loglake.detect.rulebook import load_rulebook
from loglake.detect.run import detect, log_tables
from loglake.lake import catalog as lake_catalog

MIX = (
    "cloudtrail_logs",
    "vpc_flow_logs",
    "alb_access_logs",
    "alb_connection_logs",
    "cloudfront_logs",
    "s3_access_logs",
    "waf_logs",
    "r53_rlogs",
    "apigateway_logs",
)
DETECT_STATE = ("detect-state.db", "locks")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000, help="Events in all tables together (the mix).")
    parser.add_argument("--cloudtrail", type=int, help="Grow only CloudTrail (and --flows) to this many rows.")
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="Build the lake here and keep it (later runs reuse it).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        lake = work / "lake"
        if not (work / "built").exists():
            build_lake(work, args)
            (work / "built").touch()
        forget_detections(lake)
        tables = log_tables(lake)
        counts = {name: table_rows(table) for name, table in tables.items()}
        events = sum(counts.values())
        print(f"lake: {events:,} events; " + ", ".join(f"{n} {c:,}" for n, c in counts.items() if c))
        rules = [r for r in load_rulebook(None).rules if r.enabled]
        baseline = scan_seconds(lake, args.threads, list(tables))
        print(f"baseline (one filtered scan of every log table): {baseline:.2f} s")
        timed("whole pack, all history", lake, rules, args.threads, baseline, events)
        added = one_more_hour(lake, list(tables))
        timed("incremental, one new hour", lake, rules, args.threads, baseline, added)


def build_lake(work: Path, args: argparse.Namespace) -> None:
    lake = work / "lake"
    seed_day = build_seed(work / "raw", lake)
    if args.cloudtrail is None:
        grow_mix(lake, args.events, MIX, seed_day)
        return
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    for name, target in (("cloudtrail_logs", args.cloudtrail), ("vpc_flow_logs", args.flows)):
        grow(lake_catalog.load_table(catalog, name), target, args.days, seed_day)


def forget_detections(lake: Path) -> None:
    """A kept lake measured again: drop its watermarks, alerts and baselines so the first run sees everything."""
    for name in DETECT_STATE:
        path = lake / name
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    for name in lake_catalog.table_names(catalog):
        if name.startswith(("alert", "detect_")):
            catalog.drop_table(f"{lake_catalog.NAMESPACE}.{name}")


def one_more_hour(lake: Path, tables: list[str]) -> int:
    """Append an hour of each table's rows (its busiest hour of one day) at noon the day after its last event."""
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    added = 0
    for name in tables:
        table = lake_catalog.load_table(catalog, name)
        rows = table.scan(limit=500_000).to_arrow()
        hours = pc.floor_temporal(rows["lake_time"], unit="hour")
        busiest = max(pc.value_counts(hours).to_pylist(), key=lambda c: c["counts"])["values"]
        hour = rows.filter(pc.equal(hours, busiest))
        last = pc.max(table.scan(selected_fields=("lake_time",)).to_arrow()["lake_time"]).as_py()
        target = dt.datetime.combine(last.date() + dt.timedelta(days=1), dt.time(12), dt.UTC)
        table.append(shifted(hour, target - busiest))
        added += len(hour)
        print(f"{name}: {len(hour):,} rows appended for {target:%Y-%m-%d %H}:00")
    return added


def scan_seconds(lake: Path, threads: int, tables: list[str]) -> float:
    con = open_connection(lake, threads=threads)
    started = time.perf_counter()
    for name in tables:
        con.execute(f"SELECT count(*) FROM {name} WHERE lake_file = 'none'").fetchall()
    return time.perf_counter() - started


def cpu_seconds() -> float:
    """CPU time of this process and its children so far (user + system)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, lake: Path, rules: list, threads: int, baseline: float, events: int) -> None:  # noqa: PLR0917
    cpu, started = cpu_seconds(), time.perf_counter()
    result = detect(lake, rules, threads=threads)
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    print(
        f"{label}: {seconds:.1f} s wall, {cpu:.1f} CPU-s for {len(rules)} rules over {events:,} events "
        f"({events / seconds:,.0f} events/s, {cpu / events * 1e6:.2f} CPU-s per million events, "
        f"{seconds / baseline:.1f}x the baseline scan); "
        f"{len(result.new)} new, {len(result.updated)} updated alerts; errors: {len(result.errors)}"
    )
    for run in result.errors:
        print(f"  error: {run.error}")
    print("  slowest rules:")
    for run in sorted(result.runs, key=lambda r: -r.seconds)[:15]:
        print(f"    {run.seconds:6.2f} s  {run.rule_id}")


if __name__ == "__main__":
    main()
