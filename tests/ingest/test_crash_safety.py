"""Exactly once under failure: a run killed at any point, then re-run, equals one clean run row for row."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.ingest.helpers import run_cli, table_rows, write_cloudtrail, write_flows

TABLES = {
    "cloudtrail_logs": "lake_file, lake_row",
    "vpc_flow_logs": "lake_file, lake_row",
    "rejects": "lake_file, lake_row, reason",
}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("src")
    for day in (dt.date(2024, 5, 1), dt.date(2024, 5, 2)):
        write_cloudtrail(root, day, 4, 40)
        for path in write_flows(root, day, 3, 60):
            # one malformed line per flow file, so batches also write the rejects table
            path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes()) + b"2 broken line\n", mtime=0))
    return root


@pytest.fixture(scope="module")
def reference(source, tmp_path_factory):
    lake = tmp_path_factory.mktemp("ref") / "lake"
    result = run_cli("ingest", str(source), "--lake", str(lake), "--workers", "1", env=_env())
    assert result.returncode == 0, result.stderr
    return {name: table_rows(lake, name, order) for name, order in TABLES.items()}


def _env(**extra: str) -> dict:
    return {**os.environ, "LOGLAKE_BATCH_OBJECTS": "3", "LOGLAKE_COMMIT_BATCHES": "2", **extra}


def _assert_same_as_reference(lake, reference):
    for name, order in TABLES.items():
        rows = table_rows(lake, name, order)
        assert len(rows) == len(reference[name]), name
        assert rows == reference[name], name


@pytest.mark.parametrize(
    "fault",
    [
        "before-commit:1",
        "before-commit:3",
        "between-table-commits:2",
        "between-table-commits:5",
        "before-ledger:2",
        "after-ledger:2",
    ],
)
def test_killed_at_a_named_point_then_rerun(fault, source, reference, tmp_path):
    lake = tmp_path / "lake"
    crashed = run_cli("ingest", str(source), "--lake", str(lake), "--workers", "1", env=_env(LOGLAKE_FAULT=fault))
    assert crashed.returncode == 137, crashed.stderr  # the fault point ended the process like kill -9
    rerun = run_cli("ingest", str(source), "--lake", str(lake), "--workers", "1", env=_env())
    assert rerun.returncode == 0, rerun.stderr
    _assert_same_as_reference(lake, reference)
    again = run_cli("ingest", str(source), "--lake", str(lake), "--format", "json", env=_env())
    assert '"records": 0' in again.stdout


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_at_random_moments_then_rerun(seed, source, reference, tmp_path):
    lake = tmp_path / "lake"
    rng = random.Random(seed)
    for _ in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "loglake", "ingest", str(source), "--lake", str(lake), "--workers", "2"],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(1.5, 5.0))
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: the run and its worker processes
        process.wait()
    rerun = run_cli("ingest", str(source), "--lake", str(lake), "--workers", "2", env=_env())
    assert rerun.returncode == 0, rerun.stderr
    _assert_same_as_reference(lake, reference)


def test_two_ingests_at_once_into_one_lake_both_land(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_cloudtrail(first, dt.date(2024, 6, 1), 6, 30)
    write_flows(second, dt.date(2024, 6, 1), 6, 50)
    lake = tmp_path / "lake"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "loglake", "ingest", str(folder), "--lake", str(lake), "--workers", "1"],
            env=_env(LOGLAKE_BATCH_OBJECTS="1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in (first, second)
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    assert len(table_rows(lake, "cloudtrail_logs", "lake_file, lake_row")) == 180
    assert len(table_rows(lake, "vpc_flow_logs", "lake_file, lake_row")) == 300
