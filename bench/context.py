"""Enriched flow-log queries (`vpc_flow_logs_ctx`: every row with its asset at its time) against the same
queries on the plain table, all measured in this run: the view as it reads rows whose asset stamps are current
(context/stamps.py), and the same view joining every row to the asset index (what it does for files whose
stamps are not known current, and what every query did before stamps).

    python bench/context.py [--flows 10_000_000] [--days 14] [--keep DIR]

The lake is built by bench/detect.py's builder (the demo estate's flow logs, one generated day ingested by
loglake, then day-shifted copies up to `--flows` records); the demo estate's posture is written to its
`assets` table by the demo's own writer, so flows carry real-shaped identifiers that match assets.

A lake kept from an older run is brought up to date first (`restamp`: its time is printed; a no-op when the
stamps are current). Prints each query's best-of-3 time on each side and the ratios (target: enriched within
2x), as wall-clock time and as CPU time of the process (DuckDB's threads included): on a machine shared with
other work the CPU time is the steadier figure. Each side's rate follows: wall events/s and CPU-s per million.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from detect import build_seed, grow  # bench/detect.py: one lake builder for the benches

from loglake.context import stamps, views
from loglake.demo.assets import write_demo_assets
from loglake.lake import catalog as lake_catalog
from loglake.lake.locks import lake_locks
from loglake.query import engine

# (what is asked, the query without context, the same question with it); {t} is the table or view
QUERIES = [
    (
        "bytes per destination port (the same SQL on both)",
        "SELECT dstport, count(*), sum(bytes) FROM {t} WHERE action = 'ACCEPT' GROUP BY dstport ORDER BY 3 DESC",
        "SELECT dstport, count(*), sum(bytes) FROM {t} WHERE action = 'ACCEPT' GROUP BY dstport ORDER BY 3 DESC",
    ),
    (
        "top talkers: per address vs per asset and its classification",
        "SELECT dstaddr, count(*), sum(bytes) FROM {t} WHERE action = 'ACCEPT' "
        "GROUP BY dstaddr ORDER BY 3 DESC LIMIT 10",
        "SELECT asset_name, any_value(sensitivity), count(*), sum(bytes) FROM {t} WHERE action = 'ACCEPT' "
        "GROUP BY asset_name ORDER BY 4 DESC LIMIT 10",
    ),
    (
        "internet to not internet-reachable assets",
        "SELECT count(*) FROM {t} WHERE action = 'ACCEPT' AND NOT regexp_matches(srcaddr, '^(10|172|192)\\.') "
        "AND srcport >= dstport",
        "SELECT count(*) FROM {t} WHERE action = 'ACCEPT' AND NOT regexp_matches(srcaddr, '^(10|172|192)\\.') "
        "AND srcport >= dstport AND reachability IN ('internal', 'isolated')",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="Build the lake here and keep it (a second run measures it again).")
    parser.add_argument(
        "--restamp-checks", action="store_true", help="Also time a restamp's check after an inventory change."
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lake = (args.keep or Path(tmp)) / "lake"
        if not (lake / "catalog.db").exists():
            seed_day = build_seed((args.keep or Path(tmp)) / "raw", lake)
            catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
            grow(lake_catalog.load_table(catalog, "vpc_flow_logs"), args.flows, args.days, seed_day)
            start = lake_catalog.load_table(catalog, "vpc_flow_logs").scan(limit=1).to_arrow()["lake_time"][0]
            write_demo_assets(lake, 7, start.as_py())  # bench/detect.py's seed lake is the demo's seed 7
        timed_restamp(lake, "bring the stamps up to date")
        if args.restamp_checks:
            restamp_checks(lake)
        con = engine.connect(lake, threads=args.threads)
        rows, matched = con.execute("SELECT count(*), count(asset_name) FROM vpc_flow_logs_ctx").fetchone()
        print(f"lake: {rows:,} flow records, {matched / max(rows, 1):.0%} of them matched to an asset")
        joined = f"({views.enriched_sql('vpc_flow_logs')})"
        for label, plain, enriched in QUERIES:
            base = best_of(con, plain.format(t="vpc_flow_logs"))
            ctx = best_of(con, enriched.format(t="vpc_flow_logs_ctx"))
            join = best_of(con, enriched.format(t=joined))
            print(
                f"{label}:\n  wall {base[0]:.2f} s plain, {ctx[0]:.2f} s stamped = {ctx[0] / base[0]:.2f}x, "
                f"{join[0]:.2f} s joined = {join[0] / base[0]:.2f}x\n"
                f"  cpu {base[1]:.2f} s, {ctx[1]:.2f} s = {ctx[1] / base[1]:.2f}x, {join[1]:.2f} s = "
                f"{join[1] / base[1]:.2f}x (target <= 2x)\n"
                f"  {rates(base, rows)} plain; {rates(ctx, rows)} stamped; {rates(join, rows)} joined"
            )


def timed_restamp(lake: Path, label: str) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    report = next(r for r in stamps.restamp(lake) if r.table == "vpc_flow_logs")
    print(
        f"restamp, {label}: {report.files_checked} files and {report.rows_checked:,} rows checked, "
        f"{report.files_rewritten} rewritten ({report.rows_restamped:,} rows) in {time.perf_counter() - wall:.1f} s, "
        f"{time.process_time() - cpu:.1f} CPU-s"
    )


def restamp_checks(lake: Path) -> None:
    """A restamp's check of every flow file, as after an inventory change, twice: with the previous epoch's
        index kept (only rows carrying an identifier whose index rows changed are compared) and without it (every
        row is). The change: the sensitivity of the asset the most flows name, in a copy of the current index (the
    dearest one-asset change); nothing needs rewriting."""
    root = lake_catalog.LakeLocation(lake).root
    con = engine.connect(lake)
    stamper = stamps.Stamper.of(con)
    files = stamps.recorded(root, "vpc_flow_logs")
    busiest = con.execute(  # the asset the most flows name: the dearest one-asset change to check
        "SELECT asset_name FROM vpc_flow_logs_ctx WHERE asset_name IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC"
    ).fetchone()[0]
    changed = con.execute(
        f"SELECT * REPLACE (CASE WHEN asset_name = ? THEN 'reclassified' ELSE sensitivity END AS sensitivity) "
        f"FROM main.{views.INDEX}",
        [busiest],
    ).to_arrow_table()
    previous = stamper.epoch.rsplit("-", 1)[0] + "-0000000000000000"  # the same views, another index
    stamps.keep_index(root, stamps.Stamper(previous, changed))
    locks = lake_locks(lake_catalog.LakeLocation(lake))
    stamps.record(root, "vpc_flow_logs", dict.fromkeys(files, previous), locks)
    timed_restamp(lake, "after an inventory change, previous index kept")
    stamps.record(root, "vpc_flow_logs", dict.fromkeys(files, "unknown"), locks)
    timed_restamp(lake, "after an inventory change, previous index unknown")


def rates(seconds: tuple[float, float], rows: int) -> str:
    """Wall events/s and CPU-s per million events of one query's (wall, CPU) best time over `rows` records."""
    wall, cpu = seconds
    return f"{rows / wall:,.0f} events/s, {cpu / rows * 1e6:.3f} CPU-s per million events"


def best_of(con, sql: str, runs: int = 3) -> tuple[float, float]:
    """The best (wall, CPU) seconds of `runs` runs."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        con.execute(sql).fetchall()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


if __name__ == "__main__":
    main()
