"""Each built-in dashboard through the web API on a lake of 10M events: a day's range against all time.

    python bench/web.py [--events 10_000_000] [--keep DIR] [--runs 3]

Builds a lake from the demo estate's logs (one generated day, ingested by loglake) and copies the rows of
every table the dashboards read, shifted by whole days, until they hold `--events` events together (the
demo's proportions: flows, web requests, CloudTrail, DNS, WAF, S3). `--keep DIR` builds it there once and
reuses it on later runs.

Then starts `loglake serve` on 127.0.0.1 and asks it for each dashboard over HTTP, with the token (the
requests name a non-loopback host, so the token check runs): with the range the page opens on (the lake's
last 24 hours) and, as the baseline, the same panels without a time filter (all time). Each is timed on the
first request after the server starts (cold) and as the best of `--runs` more (warm). Target: every
dashboard under 1 s for the day's range.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from grown_lake import build_seed, grow

from loglake.lake import catalog as lake_catalog
from loglake.web.auth import token_path

DASHBOARDS = ("cloudtrail", "network", "web", "s3", "waf", "dns")
TABLES = (
    "cloudtrail_logs",
    "vpc_flow_logs",
    "alb_access_logs",
    "cloudfront_logs",
    "s3_access_logs",
    "waf_logs",
    "r53_rlogs",
)
TARGET_SECONDS = 1.0
HOST = "loglake-bench"  # not a loopback name: the server checks the token, as for a remote browser


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Build the lake here and keep it (later runs reuse it).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        lake = work / "lake"
        if not (work / "built").exists():
            build_lake(work, args.events)
            (work / "built").touch()
        counts = table_rows(lake)
        print(f"lake: {sum(counts.values()):,} events; " + ", ".join(f"{n} {c:,}" for n, c in counts.items()))
        day = measure(lake, args.runs, last_day=True)
        whole = measure(lake, args.runs, last_day=False)
        report(day, whole)


def build_lake(work: Path, events: int) -> None:
    """One demo day, then as many day-shifted copies of every dashboard table as make `events` in total."""
    lake = work / "lake"
    seed_day = build_seed(work / "raw", lake)
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    seeds = {name: lake_catalog.load_table(catalog, name) for name in TABLES}
    seed_rows = {name: len(table.scan().to_arrow()) for name, table in seeds.items()}
    copies = -(-events // sum(seed_rows.values()))
    for name, table in seeds.items():  # one copy a day: the last 24 hours hold one copy of the demo day
        grow(table, seed_rows[name] * copies, copies, seed_day)


def table_rows(lake: Path) -> dict[str, int]:
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    rows = {}
    for name in TABLES:
        snapshot = lake_catalog.load_table(catalog, name).current_snapshot()
        rows[name] = int(snapshot.summary["total-records"]) if snapshot and snapshot.summary else 0
    return rows


def measure(lake: Path, runs: int, *, last_day: bool) -> dict[str, tuple[float, float]]:
    """Per dashboard: (cold, warm) seconds for one API answer, on a server started for this measurement."""
    with served(lake) as client:
        started = time.perf_counter()
        end = client.post("/api/query", json={"sql": "SELECT max(lake_time) FROM vpc_flow_logs"}).json()
        label = "a day" if last_day else "all time"
        print(f"server up ({label}): first lake query answered in {time.perf_counter() - started:.2f} s")
        params = {}
        if last_day:
            until = dt.datetime.fromisoformat(end["rows"][0][0].replace("Z", "+00:00"))
            params = {"since": (until - dt.timedelta(hours=24)).isoformat(), "until": until.isoformat()}
        cold = {board: timed(client, board, params) for board in DASHBOARDS}
        warm = {board: min(timed(client, board, params) for _ in range(runs)) for board in DASHBOARDS}
    return {board: (cold[board], warm[board]) for board in DASHBOARDS}


def timed(client: httpx.Client, board: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = client.get(f"/api/dashboards/{board}", params=params)
    seconds = time.perf_counter() - started
    answer.raise_for_status()
    failed = [f"{p['id']}: {p['error']}" for p in answer.json()["panels"] if p["error"]]
    if failed:
        raise SystemExit(f"dashboard {board}: panels failed: {'; '.join(failed)}")
    return seconds


@contextmanager
def served(lake: Path) -> Iterator[httpx.Client]:
    """`loglake serve` on a free loopback port, and an HTTP client that sends the lake's token."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "loglake", "serve", "--lake", str(lake), "--port", str(port)]
    process = subprocess.Popen(command, env=os.environ, stdout=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            wait_for(lambda: token_path(lake).exists(), process)
            token = token_path(lake).read_text().strip()
            client.headers.update({"Host": HOST, "Authorization": f"Bearer {token}"})
            wait_for(lambda: answers(client), process)
            yield client
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_for(ready: Callable[[], bool], process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("loglake serve did not start")
        time.sleep(0.1)


def answers(client: httpx.Client) -> bool:
    try:
        return client.get("/api/dashboards").status_code == 200
    except httpx.TransportError:
        return False


def report(day: dict[str, tuple[float, float]], whole: dict[str, tuple[float, float]]) -> None:
    heads = ("day cold s", "day warm s", "all cold s", "all warm s")
    print(f"{'dashboard':<12} " + " ".join(f"{h:>10}" for h in heads) + f" {'all/day':>8}")
    for board in DASHBOARDS:
        (day_cold, day_warm), (all_cold, all_warm) = day[board], whole[board]
        verdict = "" if max(day_cold, day_warm) < TARGET_SECONDS else f"  over the {TARGET_SECONDS:g} s target"
        print(
            f"{board:<12} {day_cold:>10.3f} {day_warm:>10.3f} {all_cold:>10.3f} {all_warm:>10.3f}"
            f" {all_warm / day_warm:>7.1f}x{verdict}"
        )


if __name__ == "__main__":
    main()
