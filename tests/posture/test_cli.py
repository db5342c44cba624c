"""The posture commands as a user meets them: one-line errors with exit 1, the audit gate's exit 2, SARIF/ASFF/OCSF."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory, resource, save_inventory
from tests.posture.conftest import run_cli


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    """An offline snapshot: an internet-facing ALB named internal (a conflict) without logs, and an empty account."""
    lb = resource(
        arn="arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/prod-int-api/1",
        type=t.ELBV2,
        service="elb",
        name="prod-int-api",
        region="us-east-1",
        account="111122223333",
        config={
            "scheme": "internet-facing",
            "lb_type": "application",
            "access_logs": {"enabled": False},
            "connection_logs": {"enabled": True, "bucket": "logs"},
        },
    )
    path = tmp_path / "inventory.json"
    save_inventory(Inventory(account="111122223333", regions=["us-east-1"], resources=[lb]), path)
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["audit", "-i", "missing.json"], "no inventory at missing.json"),
        (["audit", "--format", "xml"], "unknown output format 'xml'"),
        (["audit", "--fail-on", "severe"], "unknown severity 'severe'"),
        (["classify", "--config", "nope.yaml"], "nope.yaml: no such policy file"),
        (["discover", "--bucket", "not-there"], "bucket 'not-there' is not in"),
        (["inventory", "--services", "s4"], "unknown service 's4'"),
    ],
)
def test_user_errors_are_one_message_and_exit_1(capsys, snapshot, monkeypatch, args, message):
    monkeypatch.setenv("LOGLAKE_INVENTORY", str(snapshot))
    monkeypatch.chdir(snapshot.parent)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    code, _, err = run_cli(capsys, *args)
    assert code == 1
    assert err.startswith("error: ") and message in " ".join(err.split())
    assert "Traceback" not in err


def test_bad_policy_is_one_line_naming_line_and_key(snapshot, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("matrix:\n  internal:\n    internet: ful\n")
    env = {**os.environ, "COLUMNS": "300"}
    result = subprocess.run(
        [sys.executable, "-m", "loglake", "audit", "-i", str(snapshot), "--config", str(policy)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: policy.yaml line 3: matrix.internal.internet: 'ful' is not a level (use full, standard, minimal)"
    ]


def test_unreachable_endpoint_is_a_user_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, _, err = run_cli(
        capsys, "inventory", "--endpoint-url", "http://127.0.0.1:9", "--out", str(tmp_path / "i.json")
    )
    assert code == 1 and err.startswith("error: cannot reach AWS")


def test_audit_gate_exit_codes(capsys, snapshot):
    code, out, _ = run_cli(capsys, "audit", "-i", str(snapshot), "--format", "json", "--fail-on", "high")
    assert code == 2
    rows = json.loads(out)
    by_check = {r["check_id"]: r for r in rows}
    assert by_check["elb.access_logs"]["status"] == "fail" and by_check["elb.access_logs"]["severity"] == "high"
    assert by_check["alb.connection_logs"]["status"] == "pass"
    assert by_check["classification.conflict"]["severity"] == "high"
    assert by_check["cloudtrail.multi_region"]["evidence"] == "no CloudTrail trail"
    assert set(rows[0]) == {
        "resource_arn",
        "resource_type",
        "name",
        "region",
        "sensitivity",
        "reachability",
        "level",
        "check_id",
        "status",
        "severity",
        "evidence",
        "remediation",
    }
    code, _, _ = run_cli(capsys, "audit", "-i", str(snapshot), "--format", "csv", "--fail-on", "critical")
    assert code == 0


def test_audit_machine_formats(capsys, snapshot):
    _, out, _ = run_cli(capsys, "audit", "-i", str(snapshot), "--format", "sarif")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"elb.access_logs", "classification.conflict"}
    assert all(r["level"] == "error" for r in results if r["ruleId"] == "elb.access_logs")
    _, out, _ = run_cli(capsys, "audit", "-i", str(snapshot), "--format", "asff")
    finding = next(f for f in json.loads(out) if f["GeneratorId"] == "loglake/elb.access_logs")
    assert finding["Compliance"]["Status"] == "FAILED" and finding["Resources"][0]["Type"] == "AwsElbv2LoadBalancer"
    _, out, _ = run_cli(capsys, "audit", "-i", str(snapshot), "--format", "ocsf")
    finding = next(f for f in json.loads(out) if f["compliance"]["control"] == "elb.access_logs")
    assert finding["class_uid"] == 2003 and finding["compliance"]["status"] == "Fail"


def test_classify_table_shows_the_conflict(capsys, snapshot):
    code, out, _ = run_cli(capsys, "classify", "-i", str(snapshot), "--format", "csv")
    assert code == 0
    assert "prod-int-api" in out and "internet-facing" in out


def test_cost_today_against_required(capsys, snapshot, tmp_path):
    code, out, err = run_cli(capsys, "cost", "-i", str(snapshot), "--format", "csv")
    assert code == 0, err
    assert "prod-int-api,AWS::ElasticLoadBalancingV2::LoadBalancer,full,elb.access_logs,False,True" in out
    code, out, _ = run_cli(capsys, "cost", "-i", str(snapshot), "--format", "json", "--totals")
    totals = {t["strategy"]: t for t in json.loads(out)}
    assert set(totals) == {"cloudwatch", "s3_gzip_athena", "s3_parquet_athena"}
    # the ALB logs connections today and must add access logs: the required logging costs more than today's
    for total in totals.values():
        assert total["required"] > total["today"] > 0
    assert (
        totals["s3_parquet_athena"]["required"]
        <= totals["s3_gzip_athena"]["required"]
        < totals["cloudwatch"]["required"]
    )
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"volumes_gb_month": {"elb.access_logs": 500.0}}))
    code, out, _ = run_cli(capsys, "cost", "-i", str(snapshot), "--format", "json", "--totals", "--prices", str(prices))
    bigger = {t["strategy"]: t for t in json.loads(out)}
    assert bigger["cloudwatch"]["required"] > 100 * totals["cloudwatch"]["required"] / 10
