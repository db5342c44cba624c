"""Classification from tags, names and measured exposure (offline, on snapshots built here); conflicts; the VPC
roll-up; a custom naming grammar and matrix from policy.yaml; and bad policy.yaml files named by line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from loglake.classify.classifier import classify_inventory
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory, resource
from loglake.policy.audit import audit
from loglake.policy.config import PolicyError, load_policy


def res(kind: str, name: str, tags=None, vpc_id=None, **config) -> dict:
    return resource(
        arn=f"arn:aws:test:::{kind}/{name}",
        type=kind,
        service="test",
        name=name,
        region="us-east-1",
        account="111122223333",
        tags=tags,
        vpc_id=vpc_id,
        config=config,
    )


def classify(*resources, policy=None, discovery=None):
    inventory = Inventory(
        account="111122223333", regions=["us-east-1"], resources=list(resources), discovery=discovery or {}
    )
    return inventory, classify_inventory(inventory, policy or load_policy())


def test_tags_set_sensitivity_with_their_evidence():
    _, found = classify(
        res(t.DYNAMODB_TABLE, "orders", {"Classification": "PCI"}),
        res(t.DYNAMODB_TABLE, "catalog", {"classification": "public"}),
        res(t.DYNAMODB_TABLE, "notes", {"DataClassification": "internal"}),
        res(t.DYNAMODB_TABLE, "unknown"),
    )
    by_name = {c.name: c for c in found.values()}
    assert by_name["orders"].sensitivity == "restricted"
    assert by_name["orders"].sensitivity_evidence == ["tag Classification=PCI"]
    assert by_name["catalog"].sensitivity == "public"
    assert by_name["notes"].sensitivity == "internal"
    assert (by_name["unknown"].sensitivity, by_name["unknown"].reachability) == ("internal", "internal")
    assert "default" in by_name["unknown"].sensitivity_evidence[0]


def test_names_and_environment_tags():
    _, found = classify(
        res(t.DYNAMODB_TABLE, "prod-int-payments"),
        res(t.DYNAMODB_TABLE, "dev-pub-site"),
        res(t.DYNAMODB_TABLE, "scratch", {"Environment": "test"}),
    )
    by_name = {c.name: c for c in found.values()}
    payments = by_name["prod-int-payments"]
    assert (payments.environment, payments.sensitivity, payments.reachability) == ("prod", "internal", "internal")
    assert "name 'prod-int-payments' says int" in payments.reachability_evidence[0]
    site = by_name["dev-pub-site"]
    assert (site.sensitivity, site.reachability) == ("public", "internet")
    assert by_name["scratch"].sensitivity == "public"
    assert "tag Environment=test" in by_name["scratch"].sensitivity_evidence[0]


@pytest.mark.parametrize(
    ("kind", "config", "evidence"),
    [
        (t.ELBV2, {"scheme": "internet-facing", "lb_type": "application"}, "internet-facing"),
        (t.CLOUDFRONT, {"domain_name": "d1.cloudfront.net"}, "CloudFront"),
        (t.APIGW_STAGE, {"endpoint_types": ["REGIONAL"], "api_name": "prod-int-api"}, "not PRIVATE"),
        (t.RDS_INSTANCE, {"publicly_accessible": True}, "PubliclyAccessible"),
        (t.LAMBDA_FUNCTION, {"url": {"auth_type": "NONE"}}, "auth type NONE"),
        (t.S3_BUCKET, {"policy_is_public": True, "public_access_block": None}, "bucket policy is public"),
        (t.S3_BUCKET, {"acl_public_grants": ["AllUsers:READ"]}, "AllUsers:READ"),
        (
            t.INSTANCE,
            {
                "public_ip": "54.1.2.3",
                "open_to_world": [{"group": "sg-1", "protocol": "tcp", "from_port": 22, "cidr": "0.0.0.0/0"}],
            },
            "0.0.0.0/0",
        ),
        (t.OPENSEARCH_DOMAIN, {"in_vpc": False, "access_policy_open": True}, "open to everyone"),
    ],
)
def test_measured_exposure_beats_an_internal_label_and_is_a_conflict(kind, config, evidence):
    inventory, found = classify(res(kind, "prod-int-thing", **config))
    result = next(iter(found.values()))
    assert result.reachability == "internet"
    assert result.conflicts and "says int" in result.conflicts[0] and evidence in result.conflicts[0]
    rows = [r for r in audit(inventory, load_policy(), found) if r["check_id"] == "classification.conflict"]
    assert rows and rows[0]["status"] == "fail" and rows[0]["severity"] == "high"


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        (t.ELBV2, {"scheme": "internal", "lb_type": "application"}),
        (t.APIGW_STAGE, {"endpoint_types": ["PRIVATE"]}),
        (t.S3_BUCKET, {"policy_is_public": True, "public_access_block": {"RestrictPublicBuckets": True}}),
        (t.INSTANCE, {"public_ip": None, "open_to_world": [{"group": "sg-1", "cidr": "::/0"}]}),
        (t.INSTANCE, {"public_ip": "54.1.2.3", "open_to_world": []}),
        (t.LAMBDA_FUNCTION, {"url": {"auth_type": "AWS_IAM"}}),
    ],
)
def test_not_exposed_stays_as_labelled(kind, config):
    _, found = classify(res(kind, "prod-int-thing", **config))
    result = next(iter(found.values()))
    assert (result.reachability, result.conflicts) == ("internal", [])


def test_account_public_access_block_stops_a_public_bucket():
    inventory = Inventory(
        account="1",
        regions=["us-east-1"],
        resources=[res(t.S3_BUCKET, "b", policy_is_public=True)],
        account_settings={"s3_public_access_block": {"RestrictPublicBuckets": True}},
    )
    result = next(iter(classify_inventory(inventory, load_policy()).values()))
    assert result.reachability == "internal"
    assert "account public access block" in result.reachability_evidence[0]


def test_discovery_makes_a_bucket_restricted_and_contradicts_its_label():
    bucket = res(t.S3_BUCKET, "dev-int-exports", {"Classification": "public"})
    discovery = {bucket["arn"]: {"sensitivity": "restricted", "summary": "3 card_number in s3://dev-int-exports/a.csv"}}
    _, found = classify(bucket, discovery=discovery)
    result = found[bucket["arn"]]
    assert result.sensitivity == "restricted"
    assert "card_number" in result.conflicts[0] and "labelled public" in result.conflicts[0]


def test_a_vpc_takes_the_highest_of_what_runs_in_it():
    vpc = res(t.VPC, "prod-int-core", vpc_id="vpc-1", vpc_id_config="vpc-1", internet_gateway=True)
    vpc["config"]["vpc_id"] = "vpc-1"
    db = res(t.RDS_INSTANCE, "ledger", {"Classification": "pii"}, vpc_id="vpc-1", publicly_accessible=False)
    lb = res(t.ELBV2, "edge", vpc_id="vpc-1", scheme="internet-facing", lb_type="application")
    _, found = classify(vpc, db, lb)
    result = found[vpc["arn"]]
    assert (result.sensitivity, result.reachability) == ("restricted", "internet")
    assert any("holds ledger" in e for e in result.sensitivity_evidence)
    assert result.conflicts and "edge" in result.conflicts[0]


def test_a_vpc_without_internet_gateway_is_isolated():
    vpc = res(t.VPC, "vault", internet_gateway=False, vpc_id="vpc-9")
    _, found = classify(vpc)
    assert found[vpc["arn"]].reachability == "isolated"


def test_custom_grammar_vocabulary_and_matrix(tmp_path: Path):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(
        """
classification:
  tags:
    sensitivity: [DataClass]
  sensitivity_values:
    restricted: [secret]
  naming:
    pattern: "{app}.{env}.{exposure}"
    env: [live, sandbox]
    exposure: {edge: internet, core: internal}
matrix:
  internal: {internal: full}
requirements:
  dynamodb:
    full: [{dynamodb.data_events: {events: write}}]
"""
    )
    policy = load_policy(policy_file)
    _, found = classify(
        res(t.DYNAMODB_TABLE, "billing.live.core"),
        res(t.DYNAMODB_TABLE, "keys", {"DataClass": "Secret"}),
        res(t.DYNAMODB_TABLE, "prod-int-orders"),  # the default grammar no longer applies
        policy=policy,
    )
    by_name = {c.name: c for c in found.values()}
    assert by_name["billing.live.core"].reachability == "internal"
    assert by_name["billing.live.core"].environment == "live"
    assert by_name["keys"].sensitivity == "restricted"
    assert by_name["prod-int-orders"].environment is None
    assert policy.level("internal", "internal") == "full"  # overridden
    assert policy.level("public", "internet") == "standard"  # default kept
    assert policy.required("dynamodb", "full")[0].options == {"events": "write"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "matrix:\n  internal:\n    internet: ful\n",
            "policy.yaml line 3: matrix.internal.internet: 'ful' is not a level",
        ),
        ("matrix:\n  secret: {internet: full}\n", "policy.yaml line 2: matrix.secret: unknown sensitivity 'secret'"),
        ("classifcation: {}\n", "policy.yaml line 1: classifcation: unknown section 'classifcation'"),
        (
            "requirements:\n  s3:\n    full:\n      - s3.access_logging\n",
            "policy.yaml line 4: requirements.s3.full.0: unknown check 's3.access_logging' for s3",
        ),
        (
            "requirements:\n  rds:\n    full: [{rds.log_exports: {logs: some}}]\n",
            "policy.yaml line 3: requirements.rds.full.0.rds.log_exports: logs: 'some' is not allowed",
        ),
        (
            "classification:\n  naming:\n    exposure:\n      int: intranet\n",
            "policy.yaml line 4: classification.naming.exposure.int: 'intranet' is not a reachability",
        ),
        (
            "baseline:\n  cwl_retention_days: -1\n",
            "policy.yaml line 2: baseline.cwl_retention_days: expected a whole number",
        ),
        ("matrix: [\n", "policy.yaml line 2: invalid YAML"),
    ],
)
def test_bad_policy_names_line_and_key(tmp_path: Path, text: str, message: str):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(text)
    with pytest.raises(PolicyError) as error:
        load_policy(policy_file)
    assert str(error.value).startswith(message), str(error.value)
    assert "\n" not in str(error.value)
