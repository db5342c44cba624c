"""The rules whose DuckDB list and JSON functions are rewritten for Spark, and the asset-context rule, pass their
own inline tests on Spark: the same alerts from the same records, positive and negative."""

from __future__ import annotations

import pytest

from loglake.detect.rulebook import load_rulebook

# each reads requestparameters through JSON wildcards, json_type or json_array_length, or lists through lambdas
REWRITTEN = [
    "aws.ec2.ami_shared",
    "aws.ec2.ebs_snapshot_shared",
    "aws.rds.snapshot_shared",
    "aws.ec2.security_group_open_to_internet",
    "aws.ssm.mass_parameter_decryption",
    "aws.ssm.send_command_multiple_instances",
    "aws.iam.admin_policy_attached",
    "aws.iam.role_trust_external_account",
    "aws.s3.bucket_made_public",
    "aws.s3.bucket_policy_external_account",
    "aws.lambda.layer_added",
    "aws.secretsmanager.batch_secret_retrieval",
    "aws.waf.attack_counted_not_blocked",
    "aws.waf.rate_based_rule_match",
    "intel.indicator_match",  # list slices and indexes, bin(), hex digits, IPv4 and IPv6 cidrs, domain suffixes
    "aws.context.internet_reached_internal_asset",  # context: true, on the enriched views in Spark SQL
]


@pytest.mark.parametrize("rule_id", REWRITTEN)
def test_rule_passes_its_inline_tests_on_spark(spark, rule_id: str) -> None:
    from loglake.spark.detect import run_rule_tests

    rule = load_rulebook(None).get(rule_id)
    outcomes = run_rule_tests(rule, spark=spark)
    assert {o.expected for o in outcomes} >= {0} and any(o.expected > 0 for o in outcomes)
    assert [(o.name, o.alerts, o.error) for o in outcomes] == [(o.name, o.expected, None) for o in outcomes]
