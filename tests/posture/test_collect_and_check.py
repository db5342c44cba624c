"""One estate in moto_server with every resource kind built twice -- logging on and off -- then: each collector reads
the settings it reports, and each check passes on the resource built to pass it and fails on the other."""

from __future__ import annotations

import json
import time

import pytest

from loglake.classify.classifier import classify_inventory
from loglake.inventory.collect import run_inventory
from loglake.inventory.snapshot import Inventory
from loglake.policy.audit import build_context
from loglake.policy.checks import CHECKS, FAIL, MANUAL, PASS
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

V5 = "${version} ${srcaddr} ${dstaddr} ${action} ${pkt-srcaddr} ${pkt-dstaddr} ${flow-direction} ${tcp-flags}"


def build(acct: Account) -> dict[str, str]:
    n = acct.name
    s3 = acct.client("s3")
    names = {
        "logs": log_target(acct, n("logs")),
        "logged": bucket(acct, n("prod-ext-cards"), {"Classification": "pci"}),
        "plain": bucket(acct, n("plain")),
        "acl": bucket(acct, n("aclpub")),
        "trailbucket": bucket(acct, n("trails")),
    }
    s3.put_bucket_logging(
        Bucket=names["logged"],
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": names["logs"], "TargetPrefix": "s3/"}},
    )
    s3.put_public_access_block(
        Bucket=names["logged"],
        PublicAccessBlockConfiguration={
            k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        },
    )
    s3.put_bucket_encryption(
        Bucket=names["logged"],
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{names['plain']}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=names["plain"], Policy=json.dumps(public))
    s3.put_bucket_acl(Bucket=names["acl"], ACL="public-read")

    ec2 = acct.client("ec2")
    vpc_all, subnets_all = vpc(acct, "vpc-all", "10.1.0.0/16")
    vpc_reject, _ = vpc(acct, "vpc-reject", "10.2.0.0/16")
    vpc_none, subnets_none = vpc(acct, "vpc-none", "10.3.0.0/16", igw=False)
    ec2.create_flow_logs(
        ResourceIds=[vpc_all],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{names['logs']}",
        LogFormat=V5,
    )
    ec2.create_flow_logs(
        ResourceIds=[vpc_reject],
        ResourceType="VPC",
        TrafficType="REJECT",
        LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{names['logs']}",
    )
    instance(acct, subnets_all[0], vpc_all, open_to_world=True, name="open-web")
    instance(acct, subnets_none[0], vpc_none, open_to_world=False, public_ip=False, name="private-worker")
    names.update(vpc_all=vpc_all, vpc_reject=vpc_reject, vpc_none=vpc_none)

    elbv2 = acct.client("elbv2")
    alb_on = load_balancer(acct, "alb-on", subnets_all, scheme="internet-facing")
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=alb_on,
        Attributes=[
            {"Key": "access_logs.s3.enabled", "Value": "true"},
            {"Key": "access_logs.s3.bucket", "Value": names["logs"]},
            {"Key": "connection_logs.s3.enabled", "Value": "true"},
            {"Key": "connection_logs.s3.bucket", "Value": names["logs"]},
        ],
    )
    load_balancer(acct, "alb-off", subnets_all)
    elb = acct.client("elb")
    for name, enabled in (("clb-on", True), ("clb-off", False)):
        elb.create_load_balancer(
            LoadBalancerName=name,
            Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}],
            Subnets=[subnets_all[0]],
            Scheme="internet-facing",
        )
        if enabled:
            elb.modify_load_balancer_attributes(
                LoadBalancerName=name,
                LoadBalancerAttributes={
                    "AccessLog": {"Enabled": True, "S3BucketName": names["logs"], "EmitInterval": 5}
                },
            )

    cloudfront = acct.client("cloudfront")
    for name, enabled in (("cf-on", True), ("cf-off", False)):
        config = {
            "CallerReference": name,
            "Comment": name,
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "o",
                        "DomainName": f"{names['logged']}.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
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
        if enabled:
            config["Logging"] = {
                "Enabled": True,
                "IncludeCookies": False,
                "Bucket": f"{names['logs']}.s3.amazonaws.com",
                "Prefix": "cf/",
            }
        cloudfront.create_distribution(DistributionConfig=config)

    api = acct.client("apigateway")
    rest_on = rest_stage(acct, "rest-on")
    api.update_stage(
        restApiId=rest_on,
        stageName="prod",
        patchOperations=[
            {
                "op": "replace",
                "path": "/accessLogSettings/destinationArn",
                "value": f"arn:aws:logs:us-east-1:{acct.id}:log-group:api",
            },
            {"op": "replace", "path": "/accessLogSettings/format", "value": "$context.requestId"},
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "INFO"},
        ],
    )
    rest_error = rest_stage(acct, "rest-error", endpoint="PRIVATE")
    api.update_stage(
        restApiId=rest_error,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/*/*/logging/loglevel", "value": "ERROR"},
        ],
    )
    http = acct.client("apigatewayv2")
    for name, logged in (("http-on", True), ("http-off", False)):
        api_id = http.create_api(Name=name, ProtocolType="HTTP")["ApiId"]
        extra = (
            {
                "AccessLogSettings": {
                    "DestinationArn": f"arn:aws:logs:us-east-1:{acct.id}:log-group:http",
                    "Format": "$context.requestId",
                }
            }
            if logged
            else {}
        )
        http.create_stage(ApiId=api_id, StageName="live", **extra)

    rds = acct.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="pg-all",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        AllocatedStorage=20,
        PubliclyAccessible=True,
        EnableCloudwatchLogsExports=["postgresql", "upgrade", "iam-db-auth-error"],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="mysql-error",
        DBInstanceClass="db.t3.micro",
        Engine="mysql",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        AllocatedStorage=20,
        EnableCloudwatchLogsExports=["error"],
    )
    rds.create_db_cluster(
        DBClusterIdentifier="aurora-audit",
        Engine="aurora-mysql",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        EnableCloudwatchLogsExports=["audit", "error"],
    )

    ddb = acct.client("dynamodb")
    for name in ("table-on", "table-off"):
        stream = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}
        names[name] = ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **(stream if name == "table-on" else {}),
        )["TableDescription"]["TableArn"]
    names["fn-on"] = lambda_function(acct, "fn-on", url_auth="NONE")
    names["fn-off"] = lambda_function(acct, "fn-off", url_auth="AWS_IAM")

    search = acct.client("opensearch")
    group = f"arn:aws:logs:us-east-1:{acct.id}:log-group:os"
    search.create_domain(
        DomainName="search-on",
        EngineVersion="OpenSearch_2.11",
        LogPublishingOptions={
            k: {"CloudWatchLogsLogGroupArn": group, "Enabled": True}
            for k in ("AUDIT_LOGS", "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS")
        },
    )
    search.create_domain(DomainName="search-off", EngineVersion="OpenSearch_2.11")

    trail(
        acct,
        "main",
        names["trailbucket"],
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=f"arn:aws:kms:us-east-1:{acct.id}:key/test",
    )
    acct.client("cloudtrail").put_event_selectors(
        TrailName="main",
        AdvancedEventSelectors=[
            {"Name": "mgmt", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {
                "Name": "cards",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "resources.ARN", "StartsWith": [f"arn:aws:s3:::{names['logged']}/"]},
                ],
            },
            {
                "Name": "table",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::DynamoDB::Table"]},
                    {"Field": "resources.ARN", "Equals": [names["table-on"]]},
                ],
            },
        ],
    )
    trail(acct, "weak", names["plain"])
    acct.client("cloudtrail").put_event_selectors(
        TrailName="weak",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::Lambda::Function", "Values": [names["fn-on"]]}],
            },
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": False,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{names['plain']}/"]}],
            },
        ],
    )

    logs = acct.client("logs")
    for name, days in (("short", 30), ("long", 400), ("forever", None), ("empty", 7)):
        logs.create_log_group(logGroupName=name)
        if days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)
        if name != "empty":
            logs.create_log_stream(logGroupName=name, logStreamName="s")
            logs.put_log_events(
                logGroupName=name, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "x"}]
            )
    return names


@pytest.fixture(scope="module")
def estate(module_account: Account) -> tuple[Inventory, dict[str, str]]:
    names = build(module_account)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in module_account.env().items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        snapshot = run_inventory(regions=["us-east-1"], endpoint_url=module_account.endpoint)
    return snapshot, names


def find(snapshot: Inventory, name: str) -> dict:
    matches = [r for r in snapshot.resources if name in (r["name"], r["arn"]) or r["name"].startswith(name + "/")]
    assert matches, f"{name} not in the inventory: {sorted(r['name'] for r in snapshot.resources)}"
    return matches[0]


# -- collectors -----------------------------------------------------------------------------------------------------


def test_inventory_is_the_account_and_reports_no_collector_errors(estate, module_account):
    snapshot, _ = estate
    assert snapshot.account == module_account.id
    assert snapshot.errors == []
    assert "s3_public_access_block" in snapshot.account_settings


def test_s3_collector(estate):
    snapshot, names = estate
    logged = find(snapshot, names["logged"])
    assert logged["tags"] == {"Classification": "pci"}
    assert logged["config"]["logging"] == {"target_bucket": names["logs"], "target_prefix": "s3/"}
    assert logged["config"]["public_access_block"]["RestrictPublicBuckets"] is True
    assert logged["config"]["encryption"] == "aws:kms"
    plain = find(snapshot, names["plain"])
    assert plain["config"]["policy_is_public"] is True and plain["config"]["logging"] is None
    assert find(snapshot, names["acl"])["config"]["acl_public_grants"] == ["AllUsers:READ"]
    assert "logging.s3.amazonaws.com" in find(snapshot, names["logs"])["config"]["policy_principals"]


def test_vpc_collector(estate):
    snapshot, names = estate
    all_ = find(snapshot, "vpc-all")["config"]
    assert all_["internet_gateway"] is True and len(all_["subnets"]) == 2
    assert [(f["traffic_type"], f["destination_type"], f["log_format"]) for f in all_["flow_logs"]] == [
        ("ALL", "s3", V5)
    ]
    assert find(snapshot, "vpc-reject")["config"]["flow_logs"][0]["traffic_type"] == "REJECT"
    assert find(snapshot, "vpc-none")["config"]["internet_gateway"] is False
    web = find(snapshot, "open-web")
    assert web["vpc_id"] == names["vpc_all"] and web["config"]["public_ip"]
    assert web["config"]["open_to_world"][0]["cidr"] == "::/0"
    assert find(snapshot, "private-worker")["config"]["public_ip"] is None


def test_elb_collector(estate):
    snapshot, names = estate
    on = find(snapshot, "alb-on")["config"]
    assert on["scheme"] == "internet-facing" and on["lb_type"] == "application"
    assert on["access_logs"] == {"enabled": True, "bucket": names["logs"], "prefix": ""}
    assert on["connection_logs"]["enabled"] is True
    off = find(snapshot, "alb-off")["config"]
    assert off["access_logs"]["enabled"] is False and off["connection_logs"]["enabled"] is False
    assert find(snapshot, "clb-on")["config"]["access_logs"]["enabled"] is True
    assert find(snapshot, "clb-off")["config"]["access_logs"]["enabled"] is False


def test_cloudfront_apigateway_collectors(estate):
    snapshot, names = estate
    assert find(snapshot, "cf-on")["config"]["logging"]["bucket"] == f"{names['logs']}.s3.amazonaws.com"
    assert find(snapshot, "cf-off")["config"]["logging"]["enabled"] is False
    rest = find(snapshot, "rest-on")["config"]
    assert rest["access_log"]["format"] == "$context.requestId" and rest["method_logging"] == {"*/*": "INFO"}
    assert find(snapshot, "rest-error")["config"]["endpoint_types"] == ["PRIVATE"]
    assert find(snapshot, "http-on")["config"]["access_log"]["destination_arn"].endswith(":log-group:http")
    assert find(snapshot, "http-off")["config"]["access_log"] is None


def test_rds_dynamodb_lambda_opensearch_collectors(estate):
    snapshot, names = estate
    pg = find(snapshot, "pg-all")["config"]
    assert pg["publicly_accessible"] is True and pg["log_exports"] == ["iam-db-auth-error", "postgresql", "upgrade"]
    assert find(snapshot, "aurora-audit")["config"]["log_exports"] == ["audit", "error"]
    assert find(snapshot, "table-on")["arn"] == names["table-on"]
    assert find(snapshot, "table-on")["config"]["stream"] is True
    assert find(snapshot, "table-off")["config"]["stream"] is False
    assert find(snapshot, "table-off")["config"]["status"] == "ACTIVE"
    assert find(snapshot, "fn-on")["config"]["log_group"] == "/aws/lambda/fn-on"
    assert find(snapshot, "fn-on")["config"]["url"]["auth_type"] == "NONE"
    assert find(snapshot, "fn-off")["config"]["url"]["auth_type"] == "AWS_IAM"
    publishing = find(snapshot, "search-on")["config"]["log_publishing"]
    assert {k for k, v in publishing.items() if v["enabled"]} == {"AUDIT_LOGS", "SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"}
    assert find(snapshot, "search-off")["config"]["log_publishing"] == {}


def test_cloudtrail_and_logs_collectors(estate):
    snapshot, _ = estate
    main = find(snapshot, "main")["config"]
    assert main["multi_region"] and main["log_file_validation"] and main["kms_key_id"] and main["is_logging"]
    assert [s["Name"] for s in main["advanced_event_selectors"]] == ["mgmt", "cards", "table"]
    weak = find(snapshot, "weak")["config"]
    assert not weak["multi_region"] and not weak["log_file_validation"] and weak["kms_key_id"] is None
    assert [s["ReadWriteType"] for s in weak["event_selectors"]] == ["All", "WriteOnly"]
    assert find(snapshot, "short")["config"]["retention_days"] == 30
    assert find(snapshot, "short")["config"]["stored_bytes"] > 0
    assert find(snapshot, "empty")["config"]["stored_bytes"] == 0


# -- checks: each passes on the resource built for it and fails on the other -----------------------------------------

CASES = [  # (check, resource built to pass, resource built to fail, options)
    ("s3.server_access_logging", "logged", "acl", {}),
    ("s3.server_access_logging", "plain", "acl", {}),  # a bucket receiving logs (trail 'weak') is exempt
    ("s3.data_events.read", "logged", "plain", {}),
    ("s3.data_events.write", "plain", "acl", {}),
    ("vpc.flow_logs.all", "vpc-all", "vpc-reject", {}),
    ("vpc.flow_logs.reject", "vpc-reject", "vpc-none", {}),
    ("elb.access_logs", "alb-on", "alb-off", {}),
    ("elb.access_logs", "clb-on", "clb-off", {}),
    ("alb.connection_logs", "alb-on", "alb-off", {}),
    ("cloudfront.logging", "cf-on", "cf-off", {}),
    ("apigw.access_logging", "rest-on", "rest-error", {}),
    ("apigw.access_logging", "http-on", "http-off", {}),
    ("apigw.execution_logging", "rest-on", "rest-error", {"levels": ["INFO"]}),
    ("rds.log_exports", "pg-all", "mysql-error", {"logs": "errors"}),
    ("rds.log_exports", "pg-all", "aurora-audit", {"logs": "all"}),
    ("rds.log_exports", "aurora-audit", "mysql-error", {"logs": "errors"}),
    ("dynamodb.data_events", "table-on", "table-off", {"events": "all"}),
    ("dynamodb.data_events", "table-on", "table-off", {"events": "write"}),
    ("lambda.data_events", "fn-on", "fn-off", {}),
    ("opensearch.audit_logs", "search-on", "search-off", {}),
    ("opensearch.slow_logs", "search-on", "search-off", {}),
    ("cloudtrail.log_file_validation", "main", "weak", {}),
    ("cloudtrail.kms", "main", "weak", {}),
    ("cloudtrail.bucket_not_public", "main", "weak", {}),
    ("cwl.retention", "long", "short", {}),
    ("cwl.retention", "forever", "short", {}),
]


@pytest.fixture(scope="module")
def context(estate):
    snapshot, _ = estate
    policy = load_policy()
    return build_context(snapshot, policy, classify_inventory(snapshot, policy))


@pytest.mark.parametrize(
    ("check_id", "good", "bad", "options"),
    CASES,
    ids=[f"{c[0]}:{c[1]}" + "".join(f":{v}" for v in c[3].values()) for c in CASES],
)
def test_check_passes_and_fails(estate, context, check_id, good, bad, options):  # noqa: PLR0917 - fixtures
    snapshot, names = estate
    check = CHECKS[check_id]
    passing = find(snapshot, names.get(good, good))
    failing = find(snapshot, names.get(bad, bad))
    assert check.applies(passing) and check.applies(failing)
    result = check.evaluate(passing, context, options)
    assert result.status == PASS, result.evidence
    result = check.evaluate(failing, context, options)
    assert result.status == FAIL, result.evidence
    assert result.evidence


def test_execution_logging_accepts_error_at_standard(estate, context):
    snapshot, _ = estate
    stage = find(snapshot, "rest-error")
    assert CHECKS["apigw.execution_logging"].evaluate(stage, context, {"levels": ["ERROR", "INFO"]}).status == PASS


def test_account_multi_region_trail_and_its_absence(estate, context):
    snapshot, _ = estate
    account = {"arn": snapshot.account_arn, "type": "AWS::::Account", "name": snapshot.account, "config": {}}
    result = CHECKS["cloudtrail.multi_region"].evaluate(account, context, {})
    assert result.status == PASS and "main" in result.evidence
    only_weak = type(context)(inventory=snapshot, trails=[t for t in context.trails if t["name"] == "weak"])
    result = CHECKS["cloudtrail.multi_region"].evaluate(account, only_weak, {})
    assert result.status == FAIL and "single-region" in result.evidence


def test_empty_log_group_and_gateway_balancers_are_not_checked(estate):
    snapshot, _ = estate
    assert not CHECKS["cwl.retention"].applies(find(snapshot, "empty"))
    assert not CHECKS["alb.connection_logs"].applies(find(snapshot, "clb-on"))


def test_trail_bucket_outside_the_inventory_is_manual(estate, context):
    snapshot, _ = estate
    other = json.loads(json.dumps(find(snapshot, "main")))
    other["config"]["s3_bucket"] = "bucket-of-another-account"
    assert CHECKS["cloudtrail.bucket_not_public"].evaluate(other, context, {}).status == MANUAL


def test_a_failing_collector_is_reported_and_the_others_go_on(module_account, monkeypatch):
    from botocore.exceptions import ClientError

    from loglake.inventory.collectors import dynamodb

    def denied(ctx):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "ListTables")

    monkeypatch.setattr(dynamodb, "collect", denied)
    for key, value in module_account.env().items():
        monkeypatch.setenv(key, value)
    snapshot = run_inventory(regions=["us-east-1"], endpoint_url=module_account.endpoint, services=["s3", "dynamodb"])
    assert snapshot.errors == [
        {"service": "dynamodb", "region": "us-east-1", "error": "AccessDeniedException: not allowed"}
    ]
    assert {r["type"] for r in snapshot.resources} == {"AWS::S3::Bucket"}
