"""Every AWS attack technique of Stratus Red Team raises an alert from the built-in CloudTrail rules.

One fixture per technique page in the shared corpus (`tests/fixtures/stratus/<technique>.json`): the CloudTrail
records the technique leaves, copied from the page's detonation logs or, for pages without them, written from
its description (see the folder's README). Each technique is checked on its own records: the rules named for it
in `EXPECTED` must alert (every built-in rule, for a page not in `EXPECTED` yet: at least one must alert). All
the fixtures together then go through every CloudTrail rule, which must run on them and leave every technique
with at least one alert; running every rule on every technique separately would take minutes.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from loglake.detect import engine, ruletest
from loglake.detect.connection import memory_connection, replace_rows
from loglake.detect.rule import Rule
from loglake.detect.rulebook import load_rulebook

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "stratus"
INDEX = FIXTURES / "index.md"  # the upstream list of AWS technique pages, copied unchanged
PAGES = Path("/work/shared/corpus/stratus-red-team-techniques")  # the pages themselves, where the corpus is
TABLE = "cloudtrail_logs"

# technique -> the built-in rules that must alert on its records
EXPECTED: dict[str, tuple[str, ...]] = {
    "aws.credential-access.ec2-get-password-data": ("aws.ec2.password_data_burst",),
    "aws.credential-access.ec2-steal-instance-credentials": ("aws.ec2.instance_credentials_used_outside_instance",),
    "aws.credential-access.secretsmanager-batch-retrieve-secrets": ("aws.secretsmanager.batch_secret_retrieval",),
    "aws.credential-access.secretsmanager-retrieve-secrets": ("aws.secretsmanager.mass_secret_retrieval",),
    "aws.credential-access.ssm-retrieve-securestring-parameters": ("aws.ssm.mass_parameter_decryption",),
    "aws.defense-evasion.cloudtrail-delete": ("aws.cloudtrail.logging_stopped",),
    "aws.defense-evasion.cloudtrail-event-selectors": ("aws.cloudtrail.logging_stopped",),
    "aws.defense-evasion.cloudtrail-lifecycle-rule": ("aws.s3.log_bucket_lifecycle_expiration",),
    "aws.defense-evasion.cloudtrail-stop": ("aws.cloudtrail.logging_stopped",),
    "aws.defense-evasion.dns-delete-logs": ("aws.route53resolver.query_logging_deleted",),
    "aws.defense-evasion.organizations-leave": ("aws.organizations.leave_organization",),
    "aws.defense-evasion.vpc-remove-flow-logs": ("aws.ec2.vpc_flow_logs_deleted",),
    "aws.discovery.ec2-download-user-data": ("aws.ec2.user_data_download_burst",),
    "aws.discovery.ec2-enumerate-from-instance": ("aws.ec2.instance_role_discovery",),
    "aws.discovery.ses-enumerate": ("aws.ses.enumeration",),
    "aws.execution.ec2-launch-unusual-instances": ("aws.ec2.unusual_instance_type_launch",),
    "aws.execution.ec2-user-data": ("aws.ec2.user_data_modified",),
    "aws.execution.sagemaker-update-lifecycle-config": ("aws.sagemaker.notebook_lifecycle_config_changed",),
    "aws.execution.ssm-send-command": ("aws.ssm.send_command_multiple_instances",),
    "aws.execution.ssm-start-session": ("aws.ssm.start_session_multiple_instances",),
    "aws.exfiltration.ec2-security-group-open-port-22-ingress": ("aws.ec2.security_group_open_to_internet",),
    "aws.exfiltration.ec2-share-ami": ("aws.ec2.ami_shared",),
    "aws.exfiltration.ec2-share-ebs-snapshot": ("aws.ec2.ebs_snapshot_shared",),
    "aws.exfiltration.rds-share-snapshot": ("aws.rds.snapshot_shared",),
    "aws.exfiltration.s3-backdoor-bucket-policy": ("aws.s3.bucket_policy_external_account",),
    "aws.impact.bedrock-invoke-model": ("aws.bedrock.model_access_enabled",),
    "aws.impact.ec2-deregister-ami": ("aws.ec2.ami_deregistered",),
    "aws.impact.s3-ransomware-batch-deletion": ("aws.s3.object_version_purge",),
    "aws.impact.s3-ransomware-client-side-encryption": ("aws.s3.sse_c_encryption_burst",),
    "aws.impact.s3-ransomware-individual-deletion": ("aws.s3.object_version_purge", "aws.s3.mass_object_deletion"),
    "aws.initial-access.console-login-without-mfa": ("aws.signin.console_login_without_mfa",),
    "aws.lateral-movement.ec2-instance-connect": ("aws.ec2.instance_connect_multiple_instances",),
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key": ("aws.ec2.serial_console_access",),
    "aws.persistence.iam-backdoor-role": ("aws.iam.role_trust_external_account",),
    "aws.persistence.iam-backdoor-user": ("aws.iam.access_key_created",),
    "aws.persistence.iam-create-admin-user": (
        "aws.iam.user_created",
        "aws.iam.admin_policy_attached",
        "aws.iam.access_key_created",
    ),
    "aws.persistence.iam-create-backdoor-role": (
        "aws.iam.role_trust_external_account",
        "aws.iam.admin_policy_attached",
    ),
    "aws.persistence.iam-create-user-login-profile": ("aws.iam.login_profile_changed",),
    "aws.persistence.lambda-backdoor-function": ("aws.lambda.function_policy_external_access",),
    "aws.persistence.lambda-layer-extension": ("aws.lambda.layer_added",),
    "aws.persistence.lambda-overwrite-code": ("aws.lambda.function_code_updated",),
    "aws.persistence.rolesanywhere-create-trust-anchor": ("aws.rolesanywhere.trust_anchor_created",),
    "aws.persistence.sts-federation-token": ("aws.sts.federation_token_issued",),
    "aws.privilege-escalation.iam-update-user-login-profile": ("aws.iam.login_profile_changed",),
}
TECHNIQUES = sorted(p.stem for p in FIXTURES.glob("aws.*.json"))


@cache
def cloudtrail_rules() -> dict[str, Rule]:
    return {r.id: r for r in load_rulebook(None).rules if r.tables == (TABLE,)}


def records(technique: str) -> list[dict]:
    return json.loads((FIXTURES / f"{technique}.json").read_text(encoding="utf-8"))


@cache
def _connection():
    return memory_connection({})


def connection_over(rows: list[dict]):
    """The in-memory connection, its CloudTrail table replaced by these records (one connection per worker)."""
    con = _connection()
    replace_rows(con, {TABLE: ruletest.rows_of(TABLE, rows)})
    return con


def alerts(con, rule: Rule) -> int:
    return len(engine.evaluate(con, rule, None))


def technique_pages() -> list[str]:
    pages = set(re.findall(r"\(\./(aws\.[a-z0-9.-]+)\.md\)", INDEX.read_text(encoding="utf-8")))
    if PAGES.is_dir():
        pages |= {p.stem for p in PAGES.glob("aws.*.md")}
    return sorted(pages)


def test_every_technique_page_has_a_fixture_and_rules() -> None:
    pages = technique_pages()
    assert len(pages) >= 44
    assert pages == TECHNIQUES, "a Stratus technique page without its fixture (or a fixture without a page)"
    assert sorted(EXPECTED) == pages, "name the built-in rules that catch each technique in EXPECTED"


def test_expected_rules_exist() -> None:
    unknown = sorted({rule for rules in EXPECTED.values() for rule in rules} - set(cloudtrail_rules()))
    assert not unknown, f"EXPECTED names rules the built-in pack lacks: {unknown}"


def test_fixtures_are_cloudtrail_records() -> None:
    ids = [r["eventID"] for t in TECHNIQUES for r in records(t)]
    assert len(ids) == len(set(ids)), "event ids repeat across fixtures"
    for technique in TECHNIQUES:
        for record in records(technique):
            missing = {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "eventID"} - set(record)
            assert not missing, f"{technique}: a record lacks {sorted(missing)}"


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_technique_raises_an_alert_on_its_own_records(technique: str) -> None:
    con = connection_over(records(technique))
    rules = cloudtrail_rules()
    expected = EXPECTED.get(technique, ())
    silent = [rule_id for rule_id in expected if not alerts(con, rules[rule_id])]
    assert not silent, f"{technique}: no alert from {silent}"
    if not expected:  # a new page: any built-in rule will do until EXPECTED names one
        assert any(alerts(con, rule) for rule in rules.values()), f"{technique}: no built-in rule alerts"


def test_every_rule_runs_on_all_techniques_and_leaves_none_undetected() -> None:
    """All fixtures in one lake, every CloudTrail rule over it: no rule fails, each technique has an alert."""
    technique_of = {r["eventID"]: t for t in TECHNIQUES for r in records(t)}
    con = connection_over([r for t in TECHNIQUES for r in records(t)])
    detected: dict[str, set[str]] = {}
    for rule in cloudtrail_rules().values():
        for hit in engine.evaluate(con, rule, None):  # raises RuleRunError if the rule's SQL fails
            for ref in hit.refs:
                detected.setdefault(technique_of[ref["event_id"]], set()).add(rule.id)
    undetected = [t for t in TECHNIQUES if t not in detected]
    assert not undetected, f"techniques without any alert: {undetected}"
