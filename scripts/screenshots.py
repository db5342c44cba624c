"""Screenshots of every view of the web page, for the README: docs/screenshots/*.png.

    python scripts/screenshots.py [--lake DIR] [--out docs/screenshots]

Uses the lake of `make demo` (demo-out/lake) when it exists, else builds a small one-day demo lake in a
temporary folder; serves it with `loglake serve` on a free loopback port and photographs each view with
headless Debian Chromium (/usr/bin/chromium) through Playwright, at 1400x900.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ATTACKER_IP = "203.0.113.66"
EXPLORE_SQL = """SELECT date_trunc('hour', lake_time) AS hour, eventsource, count(*) AS calls
FROM cloudtrail_logs
WHERE eventsource IN ('s3.amazonaws.com', 'iam.amazonaws.com', 'sts.amazonaws.com', 'ec2.amazonaws.com')
GROUP BY ALL
ORDER BY 1"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, help="lake to serve (default: demo-out/lake, else a new small one)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="loglake-shots-") as scratch:
        lake = args.lake or find_or_build_lake(Path(scratch))
        with serve(lake) as base:
            take_screenshots(base, args.out)


def find_or_build_lake(scratch: Path) -> Path:
    demo = ROOT / "demo-out" / "lake"
    if (demo / "catalog.db").exists():
        print(f"using {demo}")
        return demo
    print("no demo-out/lake: building a small one-day demo lake (run `make demo` for three days)")
    from loglake.demo import generate_raw_logs
    from loglake.detect.rulebook import load_rulebook
    from loglake.detect.run import detect
    from loglake.ingest.pipeline import IngestOptions, ingest

    end = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    generate_raw_logs(scratch / "raw", days=1, seed=7, end=end, scale=0.3, workers=2)
    ingest(IngestOptions(sources=[str(scratch / "raw")], lake=scratch / "lake", workers=2))
    detect(scratch / "lake", load_rulebook(None).rules)
    return scratch / "lake"


@contextmanager
def serve(lake: Path) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "loglake", "serve", "--lake", str(lake), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_until_up(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"loglake serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/api/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"loglake serve did not answer on {base}")


def take_screenshots(base: str, out: Path) -> None:
    shots: list[tuple[str, str, Callable[[Page], None] | None]] = [
        ("overview", "overview", None),
        ("dashboard", "dashboards/cloudtrail", None),
        ("explore", "explore", run_query),
        ("alerts", "alerts", None),
        ("alert", "alerts", open_worst_alert),
        ("hunt", f"hunt?q={ATTACKER_IP}", None),
        ("assets", "assets", None),
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for name, route, action in shots:
            separator = "&" if "?" in route else "?"
            page.goto(f"{base}/#/{route}{separator}range=all")
            settle(page)
            if action:
                action(page)
                settle(page)
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        browser.close()


def settle(page: Page) -> None:
    page.wait_for_selector("main[aria-busy='false']")
    page.wait_for_timeout(400)  # charts lay out after the data arrives


def run_query(page: Page) -> None:
    page.fill("#sql", EXPLORE_SQL)
    page.click("#run")
    page.wait_for_selector("#result-meta")


def open_worst_alert(page: Page) -> None:
    page.get_by_role("table", name="Alerts").locator("tbody tr a").first.click()
    page.wait_for_selector("#status-save")


if __name__ == "__main__":
    main()
