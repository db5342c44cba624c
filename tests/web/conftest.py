"""A small real lake for the web tests (API and browser): one demo day, ingested, a few detection rules run.

Built once per test run: under pytest-xdist every worker asks for it, the first builds it in the run's shared
temp folder (under a file lock) and the others wait and reuse it. Tests that change a lake (alert status,
user dashboards) take `lake_copy`, so the shared one stays as built.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import shutil
from pathlib import Path

import pytest

WEB_LAKE_END = dt.datetime(2024, 3, 7, tzinfo=dt.UTC)
# Rules whose alerts the tests use (a high, a medium and a low one, over CloudTrail, ALB/CloudFront and VPC
# rows): the whole rulebook takes about a minute on this lake, these a few seconds.
WEB_RULES = (
    "aws.cloudtrail.logging_stopped",
    "aws.web.sqli_attempt",
    "aws.web.sensitive_path_probe",
    "aws.vpc.ssh_rdp_from_internet",
)


def build_web_lake(root: Path) -> Path:
    """Generate, ingest and detect into `root`; returns the lake folder (root/lake, raw logs in root/raw)."""
    from loglake.demo import generate_raw_logs
    from loglake.demo.assets import write_demo_assets
    from loglake.detect.rulebook import load_rulebook
    from loglake.detect.run import detect
    from loglake.ingest.pipeline import IngestOptions, ingest

    raw, lake = root / "raw", root / "lake"
    generate_raw_logs(raw, days=1, seed=7, end=WEB_LAKE_END, scale=0.2, workers=2)
    # the posture first, as the demo does: rows are stamped with their asset at ingest, none restamped after
    write_demo_assets(lake, 7, WEB_LAKE_END - dt.timedelta(days=1))  # alerts and hunts name the assets
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=2))
    rules = [rule for rule in load_rulebook(None).rules if rule.id in WEB_RULES]
    detect(lake, rules)
    return lake


@pytest.fixture(scope="session")
def web_lake(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The shared lake (read it, do not change it: see lake_copy)."""
    if worker_id == "master":  # not under xdist
        return build_web_lake(tmp_path_factory.mktemp("web-lake"))
    shared = tmp_path_factory.getbasetemp().parent / "web-lake"
    shared.mkdir(exist_ok=True)
    with (shared.parent / "web-lake.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built").exists():
            build_web_lake(shared)
            (shared / "built").touch()
    return shared / "lake"


@pytest.fixture
def lake_copy(web_lake: Path, tmp_path: Path) -> Path:
    """A copy of the shared lake to change. Its tables' files stay where the catalog says (the shared lake's
    warehouse) and new snapshots are written beside them, but only this copy's catalog points at them."""
    copy = tmp_path / "lake"
    shutil.copytree(web_lake, copy, ignore=shutil.ignore_patterns("web", "locks", "dashboards"))
    return copy
