"""The posture half of `loglake demo` against the suite's moto_server: AnyCompany's account is built, and the steps
find what was put there on purpose -- the mislabeled resources, the card numbers and the CI key, the missing
logging -- while the dry-run remediation changes nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from loglake.demo.estate import ACCOUNT, CLOUDTRAIL_BUCKET, HOME_REGION, SENSITIVE_BUCKET
from loglake.demo.moto import moto_account, moto_server
from loglake.demo.posture import PostureDemo, run_posture_demo
from loglake.demo.posture_estate import ADMIN_ALB, CI_BUCKET, HOME_VPC, PAYMENTS_API, REPORTS_BUCKET, WEBHOOK_FUNCTION
from loglake.inventory.collect import run_inventory
from loglake.policy.cost import STRATEGIES
from tests.posture.conftest import run_cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostureDemo]:
    """A server of this module's own (the one the suite starts when run by hand): the account's names are fixed,
    so two xdist workers building it on the one server CI shares would collide."""
    with moto_server() as endpoint:
        yield run_posture_demo(tmp_path_factory.mktemp("demo-out"), endpoint=endpoint)


def failing(demo: PostureDemo, check_id: str) -> set[str]:
    return {r["name"] for r in demo.failures if r["check_id"] == check_id}


def test_the_account_is_anycompanys_and_every_collector_read_it(demo):
    assert demo.inventory.account == ACCOUNT
    assert demo.inventory.errors == []
    names = {r["name"] for r in demo.inventory.resources}
    assert {SENSITIVE_BUCKET, CLOUDTRAIL_BUCKET, "prod-ext-web", ADMIN_ALB, "payments-db", "customers-db"} <= names


def test_each_mislabeled_resource_is_a_conflict_and_is_classified_as_measured(demo):
    by_name = {c.name.split("/")[0]: c for c in demo.conflicts}
    for name in (ADMIN_ALB, PAYMENTS_API, WEBHOOK_FUNCTION, REPORTS_BUCKET, HOME_VPC):
        assert name in by_name, f"{name} should be a classification conflict: {sorted(by_name)}"
        assert by_name[name].reachability == "internet"
        assert "measured internet" in " ".join(by_name[name].conflicts)
    assert sorted(demo.estate.mislabeled) == sorted(
        [ADMIN_ALB, PAYMENTS_API, WEBHOOK_FUNCTION, REPORTS_BUCKET, HOME_VPC]
    )
    assert "prod-ext-web" not in by_name  # the correctly named public ALB is not a conflict
    assert len(failing(demo, "classification.conflict")) == len(demo.conflicts)


def test_discover_finds_the_card_numbers_and_the_ci_key(demo):
    found = {f["bucket"]: f for f in demo.inventory.discovery.values()}
    cards = found[SENSITIVE_BUCKET]
    assert cards["sensitivity"] == "restricted"
    counts = {f["type"]: f["count"] for f in cards["findings"]}
    assert counts["card_number"] == demo.estate.cards_written  # every card in the sampled objects, none extra
    assert 0 < cards["bytes_read"] <= 2 * 1024 * 1024
    keys = {f["type"]: f["count"] for f in found[CI_BUCKET]["findings"]}
    assert keys["aws_access_key"] == 1 and keys["aws_secret_key"] == 1
    assert demo.estate.leaked_key_id[:4] == "AKIA"
    assert found["anycompany-app-assets"]["sensitivity"] is None  # JavaScript holds nothing sensitive
    payments = next(c for c in demo.classes.values() if c.name == SENSITIVE_BUCKET)
    assert payments.sensitivity == "restricted" and "card_number" in payments.conflicts[0]


def test_missing_logging_fails_and_what_is_logged_passes(demo):
    assert failing(demo, "vpc.flow_logs.all") == {HOME_VPC}  # v2 format: no pkt-srcaddr, flow-direction, tcp-flags
    assert failing(demo, "elb.access_logs") == {ADMIN_ALB}
    assert failing(demo, "rds.log_exports") == {"payments-db", "customers-db"}
    assert failing(demo, "cloudtrail.kms") == {"anycompany-management-trail"}
    assert failing(demo, "cwl.retention") == {f"/aws/lambda/{WEBHOOK_FUNCTION}"}
    assert {CI_BUCKET, "anycompany-eu-customer-uploads"} <= failing(demo, "s3.server_access_logging")
    passing = {(r["check_id"], r["name"]) for r in demo.audit_rows if r["status"] == "pass"}
    assert ("elb.access_logs", "prod-ext-web") in passing
    assert ("s3.server_access_logging", SENSITIVE_BUCKET) in passing
    assert ("s3.data_events.read", SENSITIVE_BUCKET) in passing
    assert ("cloudtrail.multi_region", ACCOUNT) in passing  # an account check
    severities = {r["severity"] for r in demo.failures}
    assert severities == {"high", "medium"}


def test_the_files_are_written(demo):
    folder = demo.folder
    audit = json.loads((folder / "audit.json").read_text())
    assert len(audit) == len(demo.audit_rows)
    sarif = json.loads((folder / "audit.sarif").read_text())
    assert len(sarif["runs"][0]["results"]) == len(demo.failures)
    terraform = (folder / "terraform" / "loglake_logging.tf").read_text()
    assert "aws_flow_log" in terraform and "aws_cloudtrail" in terraform
    plan = (folder / "remediate.txt").read_text()
    assert f"# dry run: {len(demo.actions)} call(s), none made" in plan
    assert "ec2.create_flow_logs(" in plan
    inventory = json.loads((folder / "inventory.json").read_text())
    assert any(v["sensitivity"] == "restricted" for v in inventory["discovery"].values())


def test_cost_per_strategy_grows_with_the_required_logging(demo):
    assert [t["strategy"] for t in demo.cost_totals] == list(STRATEGIES)
    for total in demo.cost_totals:
        assert 0 < total["today"] < total["required"]
        assert total["difference"] == pytest.approx(total["required"] - total["today"], abs=0.01)
    required_only = [r for r in demo.cost_rows if r["required"] and not r["on_today"]]
    assert {r["check_id"] for r in required_only} >= {"vpc.flow_logs.all", "rds.log_exports", "elb.access_logs"}
    cost = json.loads((demo.folder / "cost.json").read_text())
    assert cost["totals"] == demo.cost_totals


def test_remediate_dry_run_changes_nothing(demo, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run_cli(capsys, "remediate", "--inventory", str(demo.folder / "inventory.json"))
    assert code == 0
    assert f"# dry run: {len(demo.actions)} call(s)" in out
    with moto_account(demo.endpoint, ACCOUNT, HOME_REGION):
        again = run_inventory(regions=list(demo.estate.regions), endpoint_url=demo.endpoint)
    before = {r["arn"]: r for r in demo.inventory.resources}
    after = {r["arn"]: r for r in again.resources}
    assert after == before
    assert again.account_settings == demo.inventory.account_settings


def test_the_aws_environment_names_only_the_moto_account_and_is_put_back(moto_server, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "someones-real-profile")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    with moto_account(moto_server, ACCOUNT, HOME_REGION):
        assert "AWS_PROFILE" not in os.environ
        # a client made with no endpoint or keys of its own still reaches the moto account, not AWS
        assert boto3.client("sts").get_caller_identity()["Account"] == ACCOUNT
    assert os.environ["AWS_PROFILE"] == "someones-real-profile"
    assert "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ


def test_the_demo_server_is_stopped_after_use():
    with moto_server() as endpoint:
        port = int(endpoint.rsplit(":", 1)[1])
        assert boto3.client(
            "sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        ).get_caller_identity()
    import socket

    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_summaries_printed(demo, capsys, monkeypatch):
    from loglake.cli.app import console
    from loglake.cli.demo_posture import print_posture

    monkeypatch.setattr(console, "width", 220)
    capsys.readouterr()
    print_posture(demo)
    out = capsys.readouterr().out
    assert f"{len(demo.conflicts)} classification conflicts" in out
    assert f"{len(demo.failures)} of {len(demo.audit_rows)} checks fail, by severity" in out
    high = sum(1 for r in demo.failures if r["severity"] == "high")
    assert f"│ high     │ {high}" in out and "█" * 40 in out  # the largest severity gets the full bar
    assert f"remediate (dry run, nothing changed): {len(demo.actions)} calls" in out
    for total in demo.cost_totals:
        assert f"{total['required']:,.2f}" in out


def test_without_moto_the_demo_says_so_in_one_line(tmp_path: Path, capsys, monkeypatch):
    import sys

    from loglake.cli.demo_posture import posture_half

    monkeypatch.setitem(sys.modules, "moto", None)  # what `import moto` does when it is not installed
    capsys.readouterr()
    posture_half(tmp_path, 7)
    out = capsys.readouterr().out
    assert out.strip() == "posture half skipped: it needs moto (pip install 'moto[server]')"
    assert not (tmp_path / "posture").exists()
