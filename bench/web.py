"""Each built-in dashboard through the web API on a lake of 10M events: a day's range against all time.

    python bench/web.py [--events 10_000_000] [--keep DIR] [--runs 3]

Builds a lake from the demo estate's logs (one generated day, ingested by loglake) and copies the rows of
every table the dashboards read, shifted by whole days, until they hold `--events` events together (the
demo's proportions: flows, web requests, CloudTrail, DNS, WAF, S3). `--keep DIR` builds it there once and
reuses it on later runs.

Then starts `loglake serve` on 127.0.0.1 and asks it for each dashboard over HTTP, with the token (the
requests name a non-loopback host, so the token check runs): with the range the page opens on (the lake's
last 24 hours) and, as the baseline, the same panels without a time filter (all time). Each is timed on the
first request after the server starts (cold) and as the best of `--runs` more (warm), with the CPU time the
server spent on that warm answer (a figure that other load on the machine does not inflate). Target: every
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
from dataclasses import dataclass
from pathlib import Path

import httpx
from grown_lake import build_seed, grow_mix
from grown_lake import table_rows as snapshot_rows

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
    grow_mix(lake, events, TABLES, build_seed(work / "raw", lake))


def table_rows(lake: Path) -> dict[str, int]:
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    return {name: snapshot_rows(lake_catalog.load_table(catalog, name)) for name in TABLES}


@dataclass(frozen=True)
class Timing:
    cold: float  # seconds for the first answer after the server started
    warm: float  # best of the later answers
    cpu: float  # CPU seconds the server spent on the best later answer (a figure the machine's load does not skew)


def measure(lake: Path, runs: int, *, last_day: bool) -> dict[str, Timing]:
    """Each dashboard's timings on a server started for this measurement."""
    with served(lake) as (client, server):
        started = time.perf_counter()
        end = client.post("/api/query", json={"sql": "SELECT max(lake_time) FROM vpc_flow_logs"}).json()
        label = "a day" if last_day else "all time"
        print(f"server up ({label}): first lake query answered in {time.perf_counter() - started:.2f} s")
        params = {}
        if last_day:
            until = dt.datetime.fromisoformat(end["rows"][0][0].replace("Z", "+00:00"))
            params = {"since": (until - dt.timedelta(hours=24)).isoformat(), "until": until.isoformat()}
        cold = {board: timed(client, server, board, params) for board in DASHBOARDS}
        warm = {board: min(timed(client, server, board, params) for _ in range(runs)) for board in DASHBOARDS}
    return {board: Timing(cold[board][0], *warm[board]) for board in DASHBOARDS}


def timed(client: httpx.Client, server: int, board: str, params: dict[str, str]) -> tuple[float, float]:
    """Wall and server CPU seconds for one dashboard answer."""
    cpu, started = cpu_seconds(server), time.perf_counter()
    answer = client.get(f"/api/dashboards/{board}", params=params)
    seconds, cpu = time.perf_counter() - started, cpu_seconds(server) - cpu
    answer.raise_for_status()
    failed = [f"{p['id']}: {p['error']}" for p in answer.json()["panels"] if p["error"]]
    if failed:
        raise SystemExit(f"dashboard {board}: panels failed: {'; '.join(failed)}")
    return seconds, cpu


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(lake: Path) -> Iterator[tuple[httpx.Client, int]]:
    """`loglake serve` on a free loopback port: an HTTP client that sends the lake's token, and its pid."""
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
            yield client, process.pid
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


def report(day: dict[str, Timing], whole: dict[str, Timing]) -> None:
    heads = ("day cold", "day warm", "day cpu", "all cold", "all warm", "all cpu", "all/day", "cpu a/d")
    print(f"{'dashboard':<12}" + "".join(f"{h:>10}" for h in heads) + "   (seconds; all/day: warm wall time)")
    for board in DASHBOARDS:
        d, a = day[board], whole[board]
        figures = (d.cold, d.warm, d.cpu, a.cold, a.warm, a.cpu)
        verdict = "" if max(d.cold, d.warm) < TARGET_SECONDS else f"  over the {TARGET_SECONDS:g} s target"
        ratios = f"{a.warm / d.warm:>9.1f}x{a.cpu / max(d.cpu, 0.01):>9.1f}x"
        print(f"{board:<12}" + "".join(f"{f:>10.3f}" for f in figures) + ratios + verdict)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
