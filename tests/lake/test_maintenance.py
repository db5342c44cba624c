"""compact and retention on a real lake: same rows after, safe to kill at any point, no alert fired twice."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from loglake.lake import catalog as lake_catalog
from tests.ingest.helpers import run_cli, table_rows, write_cloudtrail, write_flows
from tests.lake.s3lake import write_stop_logging

DAYS = (dt.date(2024, 5, 1), dt.date(2024, 5, 2))
ORDER = {"cloudtrail_logs": "lake_file, lake_row", "vpc_flow_logs": "lake_file, lake_row"}
RULE = "aws.cloudtrail.logging_stopped"


def _env(**extra: str) -> dict:
    return {**os.environ, "LOGLAKE_BATCH_OBJECTS": "1", "LOGLAKE_COMMIT_BATCHES": "1", **extra}  # a file per object


@pytest.fixture
def lake(tmp_path):
    """A lake of many small files: two days, one commit per object, and a StopLogging the rule finds."""
    source = tmp_path / "src"
    for day in DAYS:
        write_cloudtrail(source, day, 4, 10)
        write_flows(source, day, 3, 20)
    write_stop_logging(source, dt.datetime(2024, 5, 2, 9, 0, tzinfo=dt.UTC))
    lake = tmp_path / "lake"
    result = run_cli("ingest", str(source), "--lake", str(lake), "--workers", "1", env=_env())
    assert result.returncode == 0, result.stderr
    return lake


def _rows(lake) -> dict:
    return {name: table_rows(lake, name, order) for name, order in ORDER.items()}


def _files_per_day(lake, name: str) -> dict[int, int]:
    table = lake_catalog.load_table(lake_catalog.open_catalog(lake_catalog.LakeLocation(lake)), name)
    counts: dict[int, int] = {}
    for task in table.scan().plan_files():
        counts[task.file.partition[0]] = counts.get(task.file.partition[0], 0) + 1
    return counts


def _data_files_on_disk(lake) -> set[str]:
    """The log tables' Parquet files in the warehouse folder."""
    return {str(p) for name in ORDER for p in lake.rglob(f"{name}/data/**/*.parquet")}


def _data_files_referenced(lake) -> set[str]:
    """The log tables' data files some snapshot still in the metadata holds."""
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    files = set()
    for name in ORDER:
        table = lake_catalog.load_table(catalog, name)
        for snapshot in table.metadata.snapshots:
            for manifest in snapshot.manifests(table.io):
                entries = manifest.fetch_manifest_entry(table.io, discard_deleted=True)
                files |= {e.data_file.file_path.removeprefix("file://") for e in entries}
    return files


def _rule_status(lake) -> str:
    result = run_cli("detect", "--lake", str(lake), "--rule", RULE, "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)[0]["status"]


def test_compact_merges_each_day_and_detection_sees_nothing_new(lake):
    before = _rows(lake)
    data_before = _data_files_on_disk(lake)
    assert min(_files_per_day(lake, "cloudtrail_logs").values()) >= 4
    assert _rule_status(lake) == "evaluated"
    alerts = run_cli("alerts", "list", "--lake", str(lake), "--format", "json")
    assert len(json.loads(alerts.stdout)) == 1
    result = run_cli("compact", "--lake", str(lake), "--expire-hours", "0", "--keep-snapshots", "1", "-f", "json")
    assert result.returncode == 0, result.stderr
    report = {r["table"]: r for r in json.loads(result.stdout)}
    assert report["cloudtrail_logs"]["days_compacted"] == 2
    assert report["cloudtrail_logs"]["files_before"] > report["cloudtrail_logs"]["files_after"] == 2
    assert report["vpc_flow_logs"]["rows_rewritten"] == 120
    assert report["cloudtrail_logs"]["snapshots_expired"] > 0
    assert set(_files_per_day(lake, "cloudtrail_logs").values()) == {1}
    assert _rows(lake) == before
    # the small files the compacted ones replaced are gone from disk once no kept snapshot holds them
    data_after = _data_files_on_disk(lake)
    assert data_after == _data_files_referenced(lake) and len(data_after) < len(data_before)
    assert sum(r["files_deleted"] for r in report.values()) > len(data_before) - len(data_after)
    assert sum(r["bytes_freed"] for r in report.values()) > 0
    # the rewrite is the same rows in new files: the rule has nothing new, no alert is raised again
    assert _rule_status(lake) == "nothing new"
    again = run_cli("alerts", "list", "--lake", str(lake), "--format", "json")
    assert json.loads(again.stdout) == json.loads(alerts.stdout)


@pytest.mark.parametrize("fault", ["compact-before-commit:1", "compact-before-commit:3", "compact-after-commit:2"])
def test_compact_killed_midway_leaves_the_same_rows(lake, fault):
    before = _rows(lake)
    killed = run_cli("compact", "--lake", str(lake), "--expire-hours", "0", env=_env(LOGLAKE_FAULT=fault))
    assert killed.returncode == 137, killed.stderr
    assert _rows(lake) == before
    finished = run_cli("compact", "--lake", str(lake), "--expire-hours", "0", "--keep-snapshots", "1")
    assert finished.returncode == 0, finished.stderr
    assert _rows(lake) == before
    assert set(_files_per_day(lake, "vpc_flow_logs").values()) == {1}


def test_retention_drops_old_days_and_survives_a_kill(lake, tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    recent = tmp_path / "recent"
    write_flows(recent, today, 1, 15)
    assert run_cli("ingest", str(recent), "--lake", str(lake)).returncode == 0
    before = _rows(lake)
    dry = run_cli("retention", "--days", "7", "--lake", str(lake), "--dry-run", "-f", "json")
    assert {r["table"]: r["days_dropped"] for r in json.loads(dry.stdout)} == {
        "cloudtrail_logs": "2024-05-01, 2024-05-02",
        "vpc_flow_logs": "2024-05-01, 2024-05-02",
    }
    assert _rows(lake) == before
    fault = _env(LOGLAKE_FAULT="retention-before-commit:2")
    killed = run_cli("retention", "--days", "7", "--lake", str(lake), env=fault)
    assert killed.returncode == 137
    half = _rows(lake)  # killed before its second commit: cloudtrail_logs is done, vpc_flow_logs untouched
    assert half["cloudtrail_logs"] == [] and half["vpc_flow_logs"] == before["vpc_flow_logs"]
    done = run_cli("retention", "--days", "7", "--lake", str(lake))
    assert done.returncode == 0, done.stderr
    after = _rows(lake)
    assert after["cloudtrail_logs"] == []
    assert len(after["vpc_flow_logs"]) == 15 and all(r in before["vpc_flow_logs"] for r in after["vpc_flow_logs"])
