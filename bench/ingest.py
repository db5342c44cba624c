"""Ingest throughput and footprint, measured against baselines from the same run (the machine is noisy).

    python bench/ingest.py [--days 1] [--scale 1 5] [--workers 2] [--only cloudtrail] [--raw DIR]

For each scale, generates the demo estate's raw logs (every source it writes), groups the files by the format
loglake recognises in them, and prints for each format: events/s and MB/s of uncompressed input end to end
into the lake, lake bytes vs compressed input bytes, the time relative to DuckDB reading the same files
(CloudTrail with explicit columns, flow logs with read_csv; "-" where no DuckDB reader fits), and the peak RSS
of the largest ingest process (the main process or a worker). Several scales show whether memory grows with
the input. "CPU-s/M" is the CPU time of the ingest (user+sys of the CLI process and its workers) per million
events: unlike events/s it does not depend on what else the machine runs. `--raw DIR` keeps the generated logs
there and reuses them on the next run with the same DIR.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import duckdb

from loglake.demo import generate_raw_logs
from loglake.formats import registry
from loglake.ingest.decompress import decompress
from loglake.ingest.keylayout import facts_from_key

# Runs the CLI in a child and reports the peak RSS of it and its workers (ru_maxrss is per process, in KB).
CLI_WITH_PEAK_RSS = """
import resource, sys
from loglake.cli import main
code = main(sys.argv[1:])
peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(f"PEAK_RSS_KB={peak}", file=sys.stderr)
sys.exit(code)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--scale", type=float, nargs="+", default=[1.0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="+", help="format names to measure (default: every format)")
    parser.add_argument("--raw", type=Path, help="keep the generated logs here (per days and scale) and reuse them")
    args = parser.parse_args()
    print(
        f"{'scale':>5} {'table':<20} {'events':>10} {'events/s':>10} {'CPU-s/M':>8} {'MB/s in':>8} {'lake/gzip':>9} "
        f"{'vs duckdb':>9} {'peak RSS':>9}"
    )
    for scale in args.scale:
        with tempfile.TemporaryDirectory() as tmp:
            raw = (args.raw or Path(tmp)) / f"raw-{args.days}d-{scale:g}"
            if not (raw / "complete").exists():
                generate_raw_logs(raw, days=args.days, scale=scale, workers=2)
                (raw / "complete").touch()
            for module, files in files_by_format(raw, Path(tmp) / "by-format").items():
                if args.only is None or module.NAME in args.only:
                    measure(scale, files, module.TABLE, Path(tmp) / f"lake-{module.NAME}", args.workers)


def files_by_format(raw: Path, out: Path) -> dict[ModuleType, Path]:
    """Symlink folders, one per recognised format, keeping the key layout (it names account and region)."""
    groups: dict[ModuleType, Path] = {}
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        data, _ = decompress(path.read_bytes(), str(path))
        module = registry.detect(data[:65536], str(path), facts_from_key(str(path)).service)
        if module is None:
            continue
        if getattr(module, "is_digest", None) and module.is_digest(data[:4096], str(path)):
            continue
        link = out / module.NAME / path.relative_to(raw)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(path)
        groups[module] = out / module.NAME
    return groups


def measure(scale: float, folder: Path, table: str, lake: Path, workers: int) -> None:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    gzip_bytes = sum(p.stat().st_size for p in files)
    plain_bytes = sum(len(decompress(p.read_bytes(), str(p))[0]) for p in files)
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            CLI_WITH_PEAK_RSS,
            "ingest",
            str(folder),
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
    cpu = _children_cpu() - cpu_before  # the CLI and its workers (each reaped by its parent)
    # a carrier (CloudWatch Logs) fills several tables from one object: count the whole run
    totals = json.loads(result.stdout)
    summary = {"records": totals["records"], "lake_bytes": sum(t["lake_bytes"] for t in totals["tables"].values())}
    peak_mb = int(result.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) / 1024
    baseline = duckdb_seconds(files, table)
    versus = f"{seconds / baseline:>8.1f}x" if baseline else f"{'-':>9}"
    events = summary["records"]
    print(
        f"{scale:>5g} {table:<20} {events:>10,} {events / seconds:>10,.0f} {cpu / events * 1e6:>8.1f} "
        f"{plain_bytes / seconds / 1e6:>8.1f} "
        f"{summary['lake_bytes'] / gzip_bytes:>9.2f} {versus} {peak_mb:>7.0f}MB"
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def duckdb_seconds(files: list[Path], table: str) -> float | None:
    """DuckDB reading the same files, where one of its readers fits the format (else None)."""
    con = duckdb.connect()
    names = [str(p.resolve()) for p in files]
    started = time.perf_counter()
    if table == "cloudtrail_logs":
        con.execute(
            "SELECT count(*) FROM (SELECT unnest(Records, recursive := true) FROM read_json(?, format='unstructured',"
            " maximum_object_size=1000000000, columns={Records: 'STRUCT(eventVersion VARCHAR, eventTime VARCHAR,"
            " eventSource VARCHAR, eventName VARCHAR, awsRegion VARCHAR, sourceIPAddress VARCHAR, userAgent VARCHAR,"
            " errorCode VARCHAR, requestParameters JSON, responseElements JSON, eventID VARCHAR)[]'}))",
            [names],
        ).fetchall()
    elif table == "vpc_flow_logs":
        con.execute(
            "SELECT count(*) FROM read_csv(?, delim=' ', header=true, nullstr='-', union_by_name=true)", [names]
        ).fetchall()
    else:
        return None
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
