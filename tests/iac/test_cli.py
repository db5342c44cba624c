"""`loglake iac check` through the real CLI: the gate's exit codes, SARIF for code scanning, malformed files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.iac.conftest import CFN, HCL, PLAN, SAM
from tests.posture.conftest import run_cli


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """No AWS at all: no credentials, no endpoint; run from the repository root so paths are relative."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("LOGLAKE_POLICY", raising=False)
    monkeypatch.chdir(Path(__file__).parents[2])


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--fail-on", "none"], 0),
        (["--fail-on", "critical"], 0),  # nothing is critical in the default matrix
        (["--fail-on", "high"], 2),
        (["--fail-on", "medium"], 2),
    ],
)
def test_exit_code_gates_a_pipeline(capsys, args, code):
    got, out, err = run_cli(capsys, "iac", "check", str(HCL), "--format", "json", *args)
    assert got == code, err
    findings = json.loads(out)["findings"]
    assert any(f["status"] == "fail" and f["severity"] == "high" for f in findings)
    if code == 2:
        assert "failure(s) at or above" in err


def test_a_passing_stack_exits_0_at_any_gate(capsys, tmp_path):
    (tmp_path / "main.tf").write_text(
        'resource "aws_vpc" "quiet" {\n  cidr_block = "10.9.0.0/16"\n  tags = { Name = "dev-int-sandbox" }\n}\n'
        'resource "aws_flow_log" "quiet" {\n  vpc_id = aws_vpc.quiet.id\n  traffic_type = "REJECT"\n}\n'
    )
    code, out, err = run_cli(capsys, "iac", "check", str(tmp_path), "--fail-on", "info", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["stacks"][0]["resources"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["iac", "check", "nowhere/"], "nowhere does not exist"),
        (["iac", "check", str(HCL), "--format", "csv"], "unknown output format 'csv'"),
        (["iac", "check", str(HCL), "--fail-on", "severe"], "unknown severity 'severe'"),
        (["iac", "check", "tests/iac/conftest.py"], "neither a `terraform show -json` plan nor a CloudFormation"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(capsys, args, message):
    code, _, err = run_cli(capsys, *args)
    assert code == 1
    assert message in " ".join(err.split()) and "Traceback" not in err


def test_sarif_is_structurally_valid_with_file_and_line(capsys):
    code, out, _ = run_cli(capsys, "iac", "check", str(HCL), str(PLAN), str(CFN), str(SAM), "--format", "sarif")
    assert code == 0
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    rule_ids = [r["id"] for r in rules]
    assert len(rule_ids) == len(set(rule_ids))
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    assert {"s3.server_access_logging", "vpc.flow_logs.all", "apigw.access_logging", "rds.log_exports"} <= set(rule_ids)
    results = run["results"]
    assert results and len(results) == len({(r["ruleId"], json.dumps(r["locations"])) for r in results})
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        uri, line = physical["artifactLocation"]["uri"], physical["region"]["startLine"]
        assert not uri.startswith("/") and Path(uri).is_file(), uri  # relative to the checkout, as code scanning wants
        source_line = Path(uri).read_text().splitlines()[line - 1]
        address = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        # the line named is the resource's declaration: its block, its logical id, or its plan entry
        resource = result["properties"].get("resource_type")
        assert resource and any(part in source_line for part in _declaration_marks(address, uri)), (uri, line, address)
    kinds = {r["properties"]["resource_type"] for r in results}
    assert {"AWS::S3::Bucket", "AWS::EC2::VPC", "AWS::ElasticLoadBalancingV2::LoadBalancer"} <= kinds
    notifications = run["invocations"][0]["toolConfigurationNotifications"]
    assert {n["descriptor"]["id"] for n in notifications} == {"cloudtrail.multi_region", "cwl.retention"}


def _declaration_marks(address: str, uri: str) -> list[str]:
    if uri.endswith(".tf"):
        kind, name = address.split(".")[-2:]
        return [f'resource "{kind}" "{name.split("[")[0]}"']
    if uri.endswith("plan.json"):
        return [f'"address": "{address}"']
    return [f"{address}:", f'"{address}"', "Function:"]  # SAM's implicit API sits at its function


def test_json_carries_fixes_and_what_was_skipped(capsys):
    code, out, _ = run_cli(capsys, "iac", "check", str(CFN / "web-stack.yaml"), "--format", "json", "--failed")
    assert code == 0
    data = json.loads(out)
    assert data["findings"] and all(f["status"] != "pass" for f in data["findings"])
    cdn = next(f for f in data["findings"] if f["check_id"] == "cloudfront.logging")
    assert "Logging:" in cdn["fix"] and "prod-int-cfn-logs.s3.amazonaws.com" in cdn["fix"]
    assert {s["check_id"] for s in data["skipped_checks"]} == {"cloudtrail.multi_region", "cwl.retention"}


def test_table_shows_where_and_the_fix(capsys):
    code, out, err = run_cli(capsys, "iac", "check", str(SAM), "--failed")
    assert code == 0
    assert "template.yaml:" in out and "apigw.access_logging" in out
    assert "AccessLogSetting:" in out  # the fix for the implicit REST API
    assert "skipped cloudtrail.multi_region" in err


def test_malformed_files_name_file_and_line_and_the_rest_is_checked(capsys, tmp_path):
    hcl = tmp_path / "terraform"
    shutil.copytree(HCL, hcl)
    (hcl / "broken.tf").write_text('resource "aws_s3_bucket" "half" {\n  bucket = "x"\n  tags = {\n    a =\n  }\n}\n')
    templates = tmp_path / "templates"
    templates.mkdir()
    shutil.copy(CFN / "api-stack.json", templates / "api-stack.json")
    (templates / "broken.yaml").write_text("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties: [a, b\n")
    (templates / "broken.json").write_text('{\n  "Resources": {\n    "Bucket": {"Type": "AWS::S3::Bucket",}\n  }\n}\n')
    code, out, err = run_cli(capsys, "iac", "check", str(hcl), str(templates), "--format", "json")
    assert code == 1  # unreadable files fail the run after everything else was checked
    errors = {Path(e["file"]).name: e for e in json.loads(out)["errors"]}
    assert errors["broken.tf"]["line"] == 4 and "not valid HCL" in errors["broken.tf"]["error"]
    assert errors["broken.yaml"]["line"] == 5 and "not valid YAML" in errors["broken.yaml"]["error"]
    assert errors["broken.json"]["line"] == 3 and "not valid JSON" in errors["broken.json"]["error"]
    flat = " ".join(err.split())
    assert "broken.tf:4: not valid HCL" in flat and "broken.yaml:5" in flat and "broken.json:3" in flat
    findings = json.loads(out)["findings"]
    assert {f["address"] for f in findings} >= {"aws_lb.web", "aws_vpc.edge", "CatalogStage", "OrdersTable"}
    # a gate still exits 2 on findings, whatever else failed to parse
    code, _, _ = run_cli(capsys, "iac", "check", str(hcl), str(templates), "--fail-on", "high")
    assert code == 2
