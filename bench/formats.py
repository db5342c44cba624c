"""Text-format throughput (issue 3's targets): each parser alone, and end to end into a lake, per format.

    python bench/formats.py [--scale 8] [--formats alb s3access cloudfront waf] [--workers 2] [--raw DIR]

Generates one demo day at `--scale` (a larger scale means larger objects as well as more of them; `--raw DIR`
keeps the generated logs there and reuses them on the next run), groups the files by the format loglake
recognises, then prints per format:

- parser alone (one process, objects already decompressed in memory): `parse` of every object, then
  `to_arrow` over batches of objects, as the ingest worker does; the baseline, measured in the same run over
  the same objects, is the tokenising alone: pyarrow's CSV reader turning each object into string columns
  (tab- or space-delimited, `"` quoting) for the text formats, orjson decoding each line for the JSON ones.
- end to end: `loglake ingest` of the format's files into a fresh lake (`--workers` processes).

Each figure is given as wall events/s AND CPU seconds per million events (user+sys of every process involved,
the ingest's workers included), so a run on a busy machine still says what the code costs; `2-core` is the
rate that CPU cost allows on two fully used cores (what a quiet machine shows, at best). `one object` is an
ingest of the format's first object alone (its CPU seconds are the fixed cost of any run: process start,
imports, creating the lake); `marginal` is the whole run minus that one, the rate a longer run tends to.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
from ingest import files_by_format

from loglake.demo import generate_raw_logs
from loglake.formats import registry
from loglake.formats.base import ObjectInfo
from loglake.ingest.decompress import decompress

TEXT_FORMATS = ("alb", "s3access", "cloudfront", "waf")
WARM_OBJECTS = 20
BATCH_RECORDS = 50_000  # records per `to_arrow` call, about what one ingest batch holds
TAB_SEPARATED = {"cloudfront"}
JSON_LINES = {"waf"}


@dataclass
class Cost:
    events: int
    wall: float  # seconds
    cpu: float  # user+sys seconds of every process involved

    def cells(self, cores: int = 2) -> str:
        per_million = self.cpu / self.events * 1e6
        return f"{self.events / self.wall:>10,.0f} {per_million:>8.2f} {self.events / (self.cpu / cores):>10,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=8.0)
    parser.add_argument("--formats", nargs="+", default=list(TEXT_FORMATS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--raw", type=Path, help="keep the generated logs here, and reuse them if present")
    parser.add_argument("--parser-only", action="store_true", help="skip the end-to-end ingest runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        raw = args.raw or Path(tmp) / "raw"
        if not (raw.exists() and any(raw.iterdir())):
            generate_raw_logs(raw, days=1, scale=args.scale, workers=2)
        groups = {m.NAME: folder for m, folder in files_by_format(raw, Path(tmp) / "by-format").items()}
        print(
            f"{'format':<11} {'stage':<10} {'objects':>7} {'events':>9} {'events/s':>10} {'CPU-s/M':>8} "
            f"{'2-core':>10} {'vs baseline':>11}"
        )
        for name in args.formats:
            module = registry.formats()[name]
            files = sorted(p for p in groups[name].rglob("*") if p.is_file())
            objects = [(decompress(p.read_bytes(), str(p))[0], str(p)) for p in files]
            baseline = _timed(lambda some: _tokenise(name, some), objects)  # noqa: B023
            parsing = _timed(lambda some: _parse_all(module, some), objects)  # noqa: B023
            print(
                f"{name:<11} {'parser':<10} {len(objects):>7} {parsing.events:>9,} {parsing.cells()} "
                f"{parsing.cpu / baseline.cpu:>10.1f}x"
            )
            if not args.parser_only:
                one = _ingest(_first_object(groups[name], Path(tmp) / f"one-{name}"), Path(tmp) / f"lake1-{name}", 1)
                whole = _ingest(groups[name], Path(tmp) / f"lake-{name}", args.workers)
                print(f"{'':<11} {'end to end':<10} {len(objects):>7} {whole.events:>9,} {whole.cells()}")
                print(f"{'':<11} {'one object':<10} {1:>7} {one.events:>9,} {one.wall:>9.1f}s {one.cpu:>7.1f}s")
                marginal = Cost(whole.events - one.events, whole.wall - one.wall, whole.cpu - one.cpu)
                print(f"{'':<11} {'marginal':<10} {len(objects) - 1:>7} {marginal.events:>9,} {marginal.cells()}")


def _timed(run: Callable[[list], int], objects: list) -> Cost:
    run(objects[:WARM_OBJECTS])  # imports, compiled patterns
    cpu, wall = time.process_time(), time.perf_counter()
    events = run(objects)
    return Cost(events, time.perf_counter() - wall, time.process_time() - cpu)


def _parse_all(module: ModuleType, objects: list[tuple[bytes, str]]) -> int:
    """Every object parsed, then its parts turned into lake rows in batches: the worker's work without I/O."""
    parts, events = [], 0
    for data, key in objects:
        parsed = module.parse(data, ObjectInfo(key))
        if parsed.part is not None:
            parts.append(parsed.part)
            events += parsed.records
    batch: list = []
    for part in parts:
        batch.append(part)
        if sum(p.records for p in batch) >= BATCH_RECORDS:
            module.to_arrow(batch)
            batch = []
    if batch:
        module.to_arrow(batch)
    return events


def _tokenise(name: str, objects: list[tuple[bytes, str]]) -> int:
    """The baseline: the same objects cut into string fields by a native reader, nothing checked or typed."""
    lines = 0
    for data, _ in objects:
        if name in JSON_LINES:
            lines += sum(1 for line in data.splitlines() if line.strip() and orjson.loads(line) is not None)
            continue
        body = data
        while body.startswith(b"#"):  # CloudFront's directive lines
            body = body[body.find(b"\n") + 1 or len(body) :]
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter="\t" if name in TAB_SEPARATED else " ",
                quote_char=False if name in TAB_SEPARATED else '"',
                invalid_row_handler=lambda _row: "skip",
            ),
            convert_options=pacsv.ConvertOptions(column_types={}, check_utf8=False, strings_can_be_null=True),
        )
        lines += table.num_rows
    return lines


def _first_object(folder: Path, out: Path) -> Path:
    """A folder holding only the format's first object (at its key), to measure what any run costs: process
    start, imports, creating the lake."""
    first = min(p for p in folder.rglob("*") if p.is_file())
    link = out / first.relative_to(folder)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(first.resolve())
    return out


def _ingest(folder: Path, lake: Path, workers: int) -> Cost:
    """`loglake ingest` in a child process; CPU of the child and its workers (reaped, so counted as children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = ["ingest", str(folder), "--lake", str(lake), "--workers", str(workers), "--format", "json"]
    result = subprocess.run(
        [sys.executable, "-m", "loglake", *command],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Cost(json.loads(result.stdout)["records"], wall, cpu)


if __name__ == "__main__":
    main()
