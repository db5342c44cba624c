"""remediate: the dry run prints calls and changes nothing; --apply makes them and the re-audit passes everything
it claimed to fix; a passing resource is left as it was; Terraform files describe the same changes."""

from __future__ import annotations

import json

import pytest

from loglake.inventory.snapshot import load_inventory
from loglake.policy.audit import audit
from loglake.policy.config import load_policy
from tests.posture.conftest import (
    Account,
    bucket,
    instance,
    lambda_function,
    load_balancer,
    log_target,
    rest_stage,
    trail,
    vpc,
)


def build_failing_estate(acct: Account) -> dict[str, str]:
    n = acct.name
    s3 = acct.client("s3")
    names = {
        "cards": bucket(acct, n("prod-ext-cards"), {"Classification": "pci"}),
        "kept": bucket(acct, n("prod-int-ledger"), {"Classification": "pci"}),
        "target": log_target(acct, n("team-logs")),
        "legacy": bucket(acct, n("legacy-trail")),
    }
    s3.put_bucket_logging(
        Bucket=names["kept"],
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": names["target"], "TargetPrefix": "ledger/"}},
    )
    vpc_id, subnets = vpc(acct, "prod-ext-web")
    instance(acct, subnets[0], vpc_id, open_to_world=True)
    load_balancer(acct, "prod-ext-alb", subnets, scheme="internet-facing")
    acct.client("elb").create_load_balancer(
        LoadBalancerName="stg-int-clb",
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
        Subnets=[subnets[0]],
        Scheme="internal",
    )
    acct.client("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": "site",
            "Comment": "prod-ext-site",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "o",
                        "DomainName": "origin.example.com",
                        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "o",
                "ViewerProtocolPolicy": "https-only",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
            },
        }
    )
    rest_stage(acct, "prod-ext-shop")
    acct.client("rds").create_db_instance(
        DBInstanceIdentifier="stg-int-orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    acct.client("dynamodb").create_table(
        TableName="prod-int-payments",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "Classification", "Value": "pci"}],
    )
    lambda_function(acct, "prod-ext-hook", url_auth="NONE")
    acct.client("opensearch").create_domain(DomainName="stg-int-search", EngineVersion="OpenSearch_2.11")
    trail(acct, "legacy", names["legacy"])
    logs = acct.client("logs")
    logs.create_log_group(logGroupName="/app/short")
    logs.put_retention_policy(logGroupName="/app/short", retentionInDays=30)
    logs.create_log_stream(logGroupName="/app/short", logStreamName="s")
    import time

    logs.put_log_events(
        logGroupName="/app/short", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "x"}]
    )
    return names


@pytest.fixture
def estate(account, capsys, tmp_path):
    names = build_failing_estate(account)
    snapshot = tmp_path / "inventory.json"
    from tests.posture.conftest import run_cli

    code, _, err = run_cli(capsys, "inventory", "--endpoint-url", account.endpoint, "--out", str(snapshot))
    assert code == 0, err
    return names, snapshot


EXPECTED_FAILURES = {
    "s3.server_access_logging",
    "s3.data_events.read",
    "s3.data_events.write",
    "vpc.flow_logs.all",
    "elb.access_logs",
    "alb.connection_logs",
    "cloudfront.logging",
    "apigw.access_logging",
    "apigw.execution_logging",
    "rds.log_exports",
    "dynamodb.data_events",
    "lambda.data_events",
    "opensearch.audit_logs",
    "cloudtrail.multi_region",
    "cloudtrail.log_file_validation",
    "cloudtrail.kms",
    "cwl.retention",
}


def failing(snapshot_path):
    return {
        (r["check_id"], r["resource_arn"])
        for r in audit(load_inventory(snapshot_path), load_policy())
        if r["status"] == "fail"
    }


def test_dry_run_changes_nothing_then_apply_passes_what_it_claimed(account, estate, capsys, tmp_path):
    """One estate for both (building it costs more than the checks): the dry run first, then --apply."""
    from tests.posture.conftest import run_cli

    names, snapshot = estate
    before = failing(snapshot)
    assert {check for check, _ in before} == EXPECTED_FAILURES
    code, out, err = run_cli(capsys, "remediate", "-i", str(snapshot), "--terraform", str(tmp_path / "tf"))
    assert code == 0, err
    assert f"s3.put_bucket_logging(Bucket='{names['cards']}'" in out
    assert "ec2.create_flow_logs(" in out and "cloudtrail.create_trail(Name='loglake'" in out
    assert f"Bucket='{names['kept']}'" not in out  # passes s3.server_access_logging: never touched
    assert "# dry run:" in out
    code, _, _ = run_cli(capsys, "inventory", "--endpoint-url", account.endpoint, "--out", str(tmp_path / "again.json"))
    assert failing(tmp_path / "again.json") == before

    main_tf = (tmp_path / "tf" / "loglake_logging.tf").read_text()
    for resource in (
        "aws_s3_bucket_logging",
        "aws_flow_log",
        "aws_cloudtrail",
        "aws_kms_key",
        "aws_api_gateway_method_settings",
        "advanced_event_selector",
    ):
        assert resource in main_tf
    patches = (tmp_path / "tf" / "loglake_changes_to_existing.tf.example").read_text()
    assert (
        "access_logs {" in patches and "connection_logs {" in patches and "enabled_cloudwatch_logs_exports" in patches
    )

    # --apply: make the calls, re-inventory, re-audit
    code, out, err = run_cli(capsys, "remediate", "-i", str(snapshot), "--apply")
    assert code == 0, out + err
    assert "claimed fixes pass on re-audit" in err
    rows = audit(load_inventory(snapshot), load_policy())
    still = [(r["check_id"], r["name"], r["evidence"]) for r in rows if r["status"] == "fail"]
    assert still == []
    kept = next(r for r in load_inventory(snapshot).resources if r["name"] == names["kept"])
    assert kept["config"]["logging"] == {"target_bucket": names["target"], "target_prefix": "ledger/"}
    code, out, err = run_cli(capsys, "audit", "-i", str(snapshot), "--fail-on", "high", "--format", "json")
    assert code == 0, err
    assert {r["status"] for r in json.loads(out)} == {"pass"}
    code, out, _ = run_cli(capsys, "remediate", "-i", str(snapshot))
    assert "nothing to fix" in out
