"""`--vpc-format` end to end: headerless flow files, flows carried in CloudWatch Logs, bad values, crash take-over."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from loglake.ingest.pipeline import VpcFormatError, vpc_format_fields
from tests.ingest.helpers import ACCOUNT, run_cli

LOG_FORMAT = "${version} ${vpc-id} ${subnet-id} ${interface-id} ${srcaddr} ${dstaddr} ${action} ${flow-direction}"
CUSTOM = [
    f"5 vpc-0a1b2c3d subnet-0f1e2d3c eni-0a1b2c3d 10.0.{i}.5 203.0.113.{i} {'ACCEPT' if i % 2 else 'REJECT'} ingress"
    for i in range(6)
]
DEFAULT = f"2 {ACCOUNT} eni-0a1b2c3d 10.0.0.5 10.0.0.6 443 51000 6 10 840 1714521600 1714521660 ACCEPT OK"
T0 = 1714521600000


def payload(messages: list[str], group: str) -> bytes:
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": group,
        "logStream": "eni-0a1b2c3d-all",
        "subscriptionFilters": ["to-firehose"],
        "logEvents": [{"id": str(i), "timestamp": T0 + i * 1000, "message": m} for i, m in enumerate(messages)],
    }
    return gzip.compress(json.dumps(document).encode(), mtime=0)


def write_sources(root: Path) -> None:
    """A headerless custom-format flow file, and a Firehose object of two CloudWatch Logs payloads."""
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "custom-no-header.log").write_text("\n".join(CUSTOM[:3]) + "\n")
    (root / "firehose" / "2024" / "05" / "01" / "00").mkdir(parents=True)
    control = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": T0, "message": "CWL CONTROL MESSAGE: Checking health of destination"}],
    }
    body = (
        payload([*CUSTOM[3:], DEFAULT], "/vpc/flow-logs")
        + gzip.compress(json.dumps(control).encode(), mtime=0)
        + payload(["START RequestId: 1 Version: $LATEST"], "/aws/lambda/fn")
    )
    (root / "firehose" / "2024" / "05" / "01" / "00" / "cwl-to-s3-1-2024-05-01-00-00-00-0a1b").write_bytes(body)


def ingest(*args: str, env: dict | None = None):
    return run_cli("ingest", *args, "--format", "json", "--workers", "1", env=env)


def query(lake: Path, sql: str) -> list[dict]:
    result = run_cli("query", sql, "--lake", str(lake), "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_vpc_format_reads_headerless_files_and_carried_flow_lines(tmp_path):
    write_sources(tmp_path / "src")
    lake = tmp_path / "lake"
    # the headerless custom file is only known as flow logs by --format; the carrier is sniffed
    files = ingest(
        str(tmp_path / "src" / "flows"), "--lake", str(lake), "--format", "vpcflow", "--vpc-format", LOG_FORMAT
    )
    assert files.returncode == 0, files.stderr
    carried = ingest(str(tmp_path / "src" / "firehose"), "--lake", str(lake), "--vpc-format", LOG_FORMAT)
    assert carried.returncode == 0, carried.stderr
    summary = json.loads(carried.stdout)
    assert summary["records"] == 5  # 3 custom + 1 default flow line, 1 Lambda line; the control message skipped
    assert summary["rejects"] == 0
    assert summary["tables"]["vpc_flow_logs"]["objects"] == 1  # the object's main table: most of its records
    rows = query(
        lake,
        "SELECT regexp_extract(lake_file, '[^/]+$') AS file, lake_row, vpc_id, subnet_id, srcaddr, action, "
        "flow_direction, start, lake_account, strftime(lake_time, '%H:%M:%S') AS t FROM vpc_flow_logs "
        "ORDER BY file, lake_row",
    )
    assert [(r["file"], r["lake_row"], r["vpc_id"], r["srcaddr"], r["action"]) for r in rows] == [
        ("custom-no-header.log", 1, "vpc-0a1b2c3d", "10.0.0.5", "REJECT"),
        ("custom-no-header.log", 2, "vpc-0a1b2c3d", "10.0.1.5", "ACCEPT"),
        ("custom-no-header.log", 3, "vpc-0a1b2c3d", "10.0.2.5", "REJECT"),
        ("cwl-to-s3-1-2024-05-01-00-00-00-0a1b", 1, "vpc-0a1b2c3d", "10.0.3.5", "ACCEPT"),
        ("cwl-to-s3-1-2024-05-01-00-00-00-0a1b", 2, "vpc-0a1b2c3d", "10.0.4.5", "REJECT"),
        ("cwl-to-s3-1-2024-05-01-00-00-00-0a1b", 3, "vpc-0a1b2c3d", "10.0.5.5", "ACCEPT"),
        ("cwl-to-s3-1-2024-05-01-00-00-00-0a1b", 4, None, "10.0.0.5", "ACCEPT"),  # the default 14-field line
    ]
    carried_rows = [r for r in rows if r["file"].startswith("cwl")]
    # no start/end in the custom format: the CloudWatch Logs event time; the owner is the account
    assert [r["t"] for r in carried_rows] == ["00:00:00", "00:00:01", "00:00:02", "00:00:00"]
    assert {r["lake_account"] for r in carried_rows} == {ACCOUNT}
    lambda_rows = query(lake, "SELECT log_group, message, lake_row FROM cloudwatch_logs")
    assert lambda_rows == [
        {"log_group": "/aws/lambda/fn", "message": "START RequestId: 1 Version: $LATEST", "lake_row": 5}
    ]


def test_without_vpc_format_custom_lines_are_rejected_naming_the_option(tmp_path):
    write_sources(tmp_path / "src")
    lake = tmp_path / "lake"
    result = ingest(str(tmp_path / "src" / "firehose"), "--lake", str(lake))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rejects"] == 3
    rejects = query(lake, "SELECT format, lake_row, reason, raw FROM rejects ORDER BY lake_row")
    assert [(r["format"], r["lake_row"], r["raw"]) for r in rejects] == [
        ("cloudwatch", 1, CUSTOM[3]),
        ("cloudwatch", 2, CUSTOM[4]),
        ("cloudwatch", 3, CUSTOM[5]),
    ]
    assert all("--vpc-format" in r["reason"] for r in rejects)
    assert query(lake, "SELECT lake_row FROM vpc_flow_logs") == [{"lake_row": 4}]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${version} ${vpc-idd} ${srcaddr}", "'vpc-idd'"),
        ("version bogus", "'bogus'"),
        ("", "empty"),
        ("${srcaddr} ${srcaddr}", "more than once"),
    ],
)
def test_a_bad_vpc_format_is_a_one_line_user_error(tmp_path, value, expected):
    (tmp_path / "src").mkdir()
    result = run_cli("ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--vpc-format", value)
    assert result.returncode == 1, result.stderr
    assert expected in result.stderr
    assert "--vpc-format" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "lake").exists()  # nothing was started


def test_a_taken_over_batch_is_parsed_with_the_format_it_was_claimed_with(tmp_path):
    write_sources(tmp_path / "src")
    lake = tmp_path / "lake"
    source = str(tmp_path / "src" / "firehose")
    env = {**os.environ, "LOGLAKE_FAULT": "before-commit:1"}
    crashed = ingest(source, "--lake", str(lake), "--vpc-format", LOG_FORMAT, env=env)
    assert crashed.returncode == 137, crashed.stderr
    rerun = ingest(source, "--lake", str(lake))  # no --vpc-format this time: the ledger's batch spec has it
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["rejects"] == 0
    assert [r["vpc_id"] for r in query(lake, "SELECT vpc_id FROM vpc_flow_logs ORDER BY lake_row")] == [
        "vpc-0a1b2c3d",
        "vpc-0a1b2c3d",
        "vpc-0a1b2c3d",
        None,
    ]


def test_both_spellings_of_a_log_format_give_the_same_fields():
    assert vpc_format_fields(LOG_FORMAT) == vpc_format_fields(LOG_FORMAT.replace("${", "").replace("}", ""))
    assert vpc_format_fields("${version}${srcaddr}") == ["version", "srcaddr"]
    with pytest.raises(VpcFormatError, match="'pkt-src-addr'"):
        vpc_format_fields("${pkt-src-addr}")
