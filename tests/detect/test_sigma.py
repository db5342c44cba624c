"""Sigma rules to loglake rules: every SigmaHQ CloudTrail rule loads and runs, and matches what it says it matches.

Events are built as CloudTrail writes them and read by the real parser, so field names, nesting and the JSON
text columns are those a lake holds.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest

from loglake.detect import engine
from loglake.detect.connection import memory_connection
from loglake.detect.rule import RuleError, Threshold
from loglake.detect.sigma import SigmaUnsupported, check_query, cloudtrail_field, is_sigma, load_sigma_file
from loglake.formats import cloudtrail
from loglake.formats.base import ObjectInfo

SIGMA = Path(__file__).resolve().parents[1] / "fixtures" / "sigma"
RULES = sorted((SIGMA / "rules").glob("*.yml"))
OTHERS = sorted((SIGMA / "unsupported").glob("*.yml")) + sorted((SIGMA / "rules-placeholder").glob("*.yml"))
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def event(name: str = "DescribeInstances", source: str = "ec2.amazonaws.com", **fields: Any) -> dict[str, Any]:
    """A CloudTrail event as AWS writes it; keyword arguments replace or add top-level keys."""
    record = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLE",
            "userName": "alice",
        },
        "eventTime": T0.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11",
        "requestParameters": None,
        "responseElements": None,
        "requestID": "req-1",
        "eventID": "evt-1",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
    }
    record.update(fields)
    return record


def at(record: dict[str, Any], minutes: float) -> dict[str, Any]:
    return {**record, "eventTime": (T0 + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def rows(*records: dict[str, Any]) -> pa.Table:
    parsed = cloudtrail.parse(orjson.dumps({"Records": list(records)}), ObjectInfo(uri="test"))
    assert parsed.rejects == []
    return parsed.rows


@pytest.fixture(scope="module")
def con():
    """One connection for the module (opening one per case would be most of the run time): tests swap its rows."""
    return memory_connection({"cloudtrail_logs": rows(event())})


def hits(con, rule, *records: dict[str, Any]) -> list[engine.Hit]:
    """The rule's hits on these records, counted by the engine as in a real run."""
    con.register("__sigma_test_rows", rows(*records))
    con.execute("CREATE OR REPLACE VIEW main.cloudtrail_logs AS SELECT * FROM __sigma_test_rows")
    return engine.evaluate(con, rule, None)


def matched(con, rule, *records: dict[str, Any]) -> set[int]:
    """Which of the records (by position) are among the events of the rule's hits."""
    numbered = [{**record, "eventID": f"e{i}"} for i, record in enumerate(records)]
    return {int(ref["event_id"][1:]) for hit in hits(con, rule, *numbered) for ref in hit.refs}


def upstream(name: str):
    (rule,) = load_sigma_file(SIGMA / "rules" / f"{name}.yml")
    return rule


def write(tmp_path: Path, text: str, name: str = "rule.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def sigma_rule(tmp_path: Path, detection: str, logsource: str = "product: aws\n  service: cloudtrail"):
    """A one-rule Sigma file with the given detection block (YAML, indented by two spaces)."""
    text = (
        "title: Test rule\nid: 0b9f4a34-8d2c-4f57-9b0e-3c1a7e2d5f60\nstatus: test\nlevel: high\n"
        f"logsource:\n  {logsource}\ndetection:\n{textwrap.indent(textwrap.dedent(detection), '  ')}"
    )
    (rule,) = load_sigma_file(write(tmp_path, text))
    return rule


# --- the SigmaHQ corpus ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_connection():
    """A few varied events, so every converted query is bound and run, not only parsed."""
    records = [
        event(),
        event("ConsoleLogin", "signin.amazonaws.com", additionalEventData={"MFAUsed": "No"}),
        event("PutBucketVersioning", "s3.amazonaws.com", requestParameters={"VersioningConfiguration": {}}),
        event("RunTask", "ecs.amazonaws.com", requestParameters={"containerDefinitions": [{"command": ["sh"]}]}),
        event("ListBuckets", "s3.amazonaws.com", resources=[{"ARN": "arn:aws:s3:::b", "accountId": "1"}]),
    ]
    return memory_connection({"cloudtrail_logs": rows(*records)})  # a connection of its own: `con` swaps rows


def test_the_corpus_is_all_there() -> None:
    assert len(RULES) == 57
    assert len(OTHERS) == 9


@pytest.mark.parametrize("path", RULES, ids=lambda p: p.stem)
def test_every_upstream_rule_loads_and_runs(path: Path, sample_connection) -> None:
    rules = load_sigma_file(path)
    assert len(rules) == 1
    rule = rules[0]
    assert rule.query.startswith("SELECT * FROM cloudtrail_logs WHERE ")
    assert rule.id.startswith("sigma.") and rule.source == "sigma" and rule.path == path
    assert rule.tables == ("cloudtrail_logs",)
    engine.evaluate(sample_connection, rule, None)  # raises RuleRunError if DuckDB refuses the SQL


@pytest.mark.parametrize("path", OTHERS, ids=lambda p: p.stem)
def test_rules_other_tools_refuse_load_or_say_why(path: Path, sample_connection) -> None:
    try:
        rules = load_sigma_file(path)
    except SigmaUnsupported as why:
        assert str(why).strip() and "\n" not in str(why)
        return
    for rule in rules:
        engine.evaluate(sample_connection, rule, None)


def test_which_rules_other_tools_refuse_are_unsupported_here() -> None:
    reasons = {}
    for path in OTHERS:
        try:
            load_sigma_file(path)
        except SigmaUnsupported as why:
            reasons[path.stem] = str(why)
    assert sorted(reasons) == [
        "aws_cloudtrail_console_login_success_from_susp_locations",
        "aws_lambda_function_created_or_invoked",
    ]
    assert "%Legitimate_Countries%" in reasons["aws_cloudtrail_console_login_success_from_susp_locations"]
    assert "near" in reasons["aws_lambda_function_created_or_invoked"]


def test_metadata_comes_from_the_sigma_rule() -> None:
    rule = upstream("aws_cloudtrail_disable_logging")
    assert rule.id == "sigma.4db60cc0-36fb-42b7-9b58-a5b53019fb74"
    assert rule.title == "AWS CloudTrail Important Change"
    assert rule.severity == "medium"
    assert rule.tags == ("attack.defense-impairment", "attack.t1685.002")
    assert rule.attack == ["T1685.002"]
    assert rule.references and all(r.startswith("http") for r in rule.references)
    assert rule.falsepositives and rule.description
    assert upstream("aws_guardduty_disruption").severity == "high"


# --- what upstream rules match ------------------------------------------------------------------------------

CT, EC2, IAM, S3 = "cloudtrail.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com", "s3.amazonaws.com"


def test_cloudtrail_disable_logging(con) -> None:
    rule = upstream("aws_cloudtrail_disable_logging")
    candidates = [
        event("StopLogging", CT),
        event("DeleteTrail", CT),
        event("StartLogging", CT),
        event("StopLogging", EC2),
    ]
    assert matched(con, rule, *candidates) == {0, 1}


def test_matching_ignores_case_as_sigma_does(con) -> None:
    rule = upstream("aws_cloudtrail_disable_logging")
    assert matched(con, rule, event("stoplogging", "CloudTrail.AmazonAWS.com"), event("stoplogging", EC2)) == {0}
    rule = upstream("aws_sts_getcalleridentity_trufflehog")
    ua = [event("GetCallerIdentity", "sts.amazonaws.com", userAgent=agent) for agent in ("trufflehog v3", "aws-cli/2")]
    assert matched(con, rule, *ua) == {0}


def test_root_account_usage_not_condition(con) -> None:
    rule = upstream("aws_root_account_usage")
    root = {"type": "Root", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333"}
    without_type = event("ListBuckets", S3, userIdentity=root)
    del without_type["eventType"]
    candidates = [
        event("ListBuckets", S3, userIdentity=root),
        event("ListBuckets", S3, userIdentity=root, eventType="AwsServiceEvent"),
        event("ListBuckets", S3),  # an IAM user
        without_type,  # not a service event: `not` reads an absent field as not matching, so the rule fires
    ]
    assert matched(con, rule, *candidates) == {0, 3}


def test_console_login_without_mfa_reads_the_json_columns(con) -> None:
    rule = upstream("aws_cloudtrail_console_login_success_without_mfa")
    login = event("ConsoleLogin", "signin.amazonaws.com", responseElements={"ConsoleLogin": "Success"})
    candidates = [
        # AWS writes "No", the rule says 'NO': Sigma compares without case
        {**login, "additionalEventData": {"LoginTo": "https://console.aws.amazon.com", "MFAUsed": "No"}},
        {**login, "additionalEventData": {"MFAUsed": "Yes"}},
        {**login, "responseElements": {"ConsoleLogin": "Failure"}, "additionalEventData": {"MFAUsed": "No"}},
    ]
    assert matched(con, rule, *candidates) == {0}


def test_iam_backdoor_users_keys(con) -> None:
    rule = upstream("aws_iam_backdoor_users_keys")
    created = {"accessKey": {"userName": "bob", "accessKeyId": "AKIANEW", "status": "Active"}}
    # upstream compares the ARN with the literal text 'responseElements.accessKey.userName' (no field reference)
    named = {"arn": "arn:aws:iam::1:user/responseElements.accessKey.userName", "type": "IAMUser"}
    candidates = [
        event("CreateAccessKey", IAM, responseElements=created),
        event("CreateUser", IAM),
        event("CreateAccessKey", IAM, userIdentity=named, responseElements=created),
    ]
    assert matched(con, rule, *candidates) == {0}


def test_security_group_change_ingress_egress(con) -> None:
    rule = upstream("aws_cloudtrail_security_group_change_ingress_egress")
    params = {"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22}]}}
    candidates = [
        event("AuthorizeSecurityGroupIngress", requestParameters=params),
        event("RevokeSecurityGroupEgress", requestParameters=params),
        event("DescribeSecurityGroups"),
        event("AuthorizeSecurityGroupIngress", "rds.amazonaws.com"),
    ]
    assert matched(con, rule, *candidates) == {0, 1}


def test_contains_modifier(con) -> None:
    rule = upstream("aws_iam_s3browser_user_or_accesskey_creation")
    agents = ["S3 Browser 11.5.7 https://s3browser.com", "S3-Browser"]
    assert matched(con, rule, *(event("CreateUser", IAM, userAgent=agent) for agent in agents)) == {0}


def test_startswith_modifier_and_wildcard_value(con) -> None:
    rule = upstream("aws_new_lambda_layer_attached")
    layers = {"functionName": "f", "layers": ["arn:aws:lambda:eu-west-1:1:layer:evil:1"]}
    candidates = [
        event("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", requestParameters=layers),
        event("UpdateFunctionConfiguration20150331v2", "lambda.amazonaws.com", requestParameters={"timeout": 30}),
        event("GetFunctionConfiguration", "lambda.amazonaws.com", requestParameters=layers),
    ]
    assert matched(con, rule, *candidates) == {0}


def test_nested_request_parameter(con) -> None:
    rule = upstream("aws_ec2_startup_script_change")
    change = {"instanceId": "i-0abc", "attribute": "userData", "value": "IyEvYmluL3No"}
    candidates = [
        event("ModifyInstanceAttribute", requestParameters=change),
        event("ModifyInstanceAttribute", requestParameters={**change, "attribute": "instanceType"}),
    ]
    assert matched(con, rule, *candidates) == {0}


def test_nested_key_inside_an_array_of_objects(con) -> None:
    rule = upstream("aws_ecs_task_definition_cred_endpoint_query")
    steal = ["sh", "-c", "curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
    task = {"family": "t", "containerDefinitions": [{"name": "a", "command": ["sh"]}, {"name": "b", "command": steal}]}
    benign = {"family": "t", "containerDefinitions": [{"name": "a", "command": ["sh", "-c", "echo hi"]}]}
    candidates = [
        event("RegisterTaskDefinition", "ecs.amazonaws.com", requestParameters=task),
        event("RegisterTaskDefinition", "ecs.amazonaws.com", requestParameters=benign),
    ]
    assert matched(con, rule, *candidates) == {0}


def test_filter_on_a_nested_struct_field(con) -> None:
    role = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::1:assumed-role/r/s",
        "sessionContext": {"sessionIssuer": {"type": "Role"}},
    }
    candidates = [event("ListBuckets", S3), event("ListBuckets", S3, userIdentity=role)]
    assert matched(con, upstream("aws_enum_buckets"), *candidates) == {0}
    assert matched(con, upstream("aws_sts_assumerole_misuse"), *candidates) == {1}


def test_error_code_null_or_success(con) -> None:
    rule = upstream("aws_cloudtrail_bucket_deleted")
    candidates = [event("DeleteBucket", S3), event("DeleteBucket", S3, errorCode="AccessDenied")]
    assert matched(con, rule, *candidates) == {0}


def test_regular_expression_and_not_one_of_filters(con) -> None:
    rule = upstream("aws_cloudtrail_imds_malicious_usage")
    stolen = {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/aws:ec2-instance/i-0abc"}
    candidates = [
        event("ListBuckets", S3, userIdentity=stolen),
        event("ListBuckets", S3, userIdentity=stolen, sourceIPAddress="AWS Internal"),
        event("ListBuckets", S3),
    ]
    assert matched(con, rule, *candidates) == {0}


def test_field_reference(con) -> None:
    rule = upstream("aws_update_login_profile")
    self_service = {"type": "IAMUser", "arn": "BOB"}  # equal to the userName but for case: the filter applies
    candidates = [
        event("UpdateLoginProfile", IAM, requestParameters={"userName": "bob"}),
        event("UpdateLoginProfile", IAM, userIdentity=self_service, requestParameters={"userName": "bob"}),
    ]
    assert matched(con, rule, *candidates) == {0}


def test_sigma_1_aggregation_becomes_a_threshold(con) -> None:
    (rule,) = load_sigma_file(SIGMA / "unsupported" / "aws_macic_evasion.yml")
    assert rule.threshold == Threshold(count=6, window=dt.timedelta(minutes=10), group_by=("sourceipaddress",))
    burst = [at(event("ArchiveFindings", "macie2.amazonaws.com"), minutes=i) for i in range(6)]
    assert len(hits(con, rule, *burst)) == 1
    assert hits(con, rule, *burst[:5]) == []
    split = [{**r, "sourceIPAddress": "198.51.100.9"} if i % 2 else r for i, r in enumerate(burst)]
    assert hits(con, rule, *split) == []


def test_a_fresh_memory_connection_gives_the_same_answer() -> None:
    rule = upstream("aws_cloudtrail_disable_logging")
    assert engine.evaluate(memory_connection({"cloudtrail_logs": rows(event("StopLogging", CT))}), rule, None)
    assert not engine.evaluate(memory_connection({"cloudtrail_logs": rows(event("StartLogging", CT))}), rule, None)


# --- Sigma features on rules written here ---------------------------------------------------------------------


def test_field_names_ignore_case_and_unknown_keys_read_unmapped(tmp_path: Path, con) -> None:
    detection = "selection:\n  EVENTNAME: StopLogging\n  UserIdentity.Type: IAMUser\n  status: ok\ncondition: selection"
    rule = sigma_rule(tmp_path, detection)
    # `status` is no CloudTrail column: the parser keeps it in `unmapped`, where the rule reads it
    assert matched(con, rule, event("StopLogging", status="ok"), event("StopLogging")) == {0}


@pytest.mark.parametrize(
    ("detection", "match", "miss"),
    [
        (
            "sourceIPAddress|cidr: 203.0.113.0/24",
            {"sourceIPAddress": "203.0.113.200"},
            {"sourceIPAddress": "203.0.114.1"},
        ),
        ("userAgent|endswith: 'Python/3.11'", {}, {"userAgent": "Boto3/1.34"}),
        ("userAgent|startswith: 'AWS-CLI/'", {}, {"userAgent": "Boto3/1.34 aws-cli/2"}),
        ("userAgent: 'aws-cli/2.?5.*'", {}, {"userAgent": "aws-cli/2.16.0"}),
        ("userAgent|cased|contains: 'aws-cli'", {}, {"userAgent": "AWS-CLI/2.15.0"}),
        ("userIdentity.arn|re: ':user/al.ce$'", {}, {"userIdentity": {"arn": "arn:aws:iam::1:user/ALICE"}}),
        ("userIdentity.arn|re|i: ':USER/AL.CE$'", {}, {"userIdentity": {"arn": "arn:aws:iam::1:user/bob"}}),
        ("errorCode|exists: true", {"errorCode": "AccessDenied"}, {}),
        ("errorCode|exists: false", {}, {"errorCode": "AccessDenied"}),
        ("userAgent|contains|all: [cli, python]", {}, {"userAgent": "aws-cli/2"}),
        ("readOnly: 'false'", {}, {"readOnly": True}),
        ("readOnly: false", {}, {"readOnly": True}),
        ("eventVersion: 1.09", {}, {"eventVersion": "1.08"}),
        (
            "requestParameters.maxResults|gte: 100",
            {"requestParameters": {"maxResults": 1000}},
            {"requestParameters": {"maxResults": 5}},
        ),
        (
            "resources.ARN|endswith: ':secret'",
            {"resources": [{"ARN": "arn:x:a"}, {"ARN": "arn:x:SECRET"}]},
            {"resources": [{"ARN": "arn:x:a"}]},
        ),
        ("resources.ARN: null", {}, {"resources": [{"ARN": "arn:x:a"}]}),
        (
            "userIdentity.arn|fieldref|endswith: userIdentity.userName",
            {},
            {"userIdentity": {"arn": "x/bob", "userName": "alice"}},
        ),
        ("userAgent: '50%_off\\\\*'", {"userAgent": "50%_off\\xyz"}, {"userAgent": "50%Xoff\\xyz"}),
        ('userAgent: "it\'s"', {"userAgent": "It's"}, {"userAgent": "its"}),
        ("eventTime|hour: 12", {}, {"eventTime": "2024-05-01T13:00:00Z"}),
    ],
)
def test_modifiers(tmp_path: Path, con, detection: str, match: dict, miss: dict) -> None:
    rule = sigma_rule(tmp_path, f"selection:\n  {detection}\ncondition: selection")
    assert matched(con, rule, event(**match), event(**miss)) == {0}, rule.query


def test_null_and_not_null(tmp_path: Path, con) -> None:
    detection = (
        "selection:\n  eventName: DescribeInstances\nfilter:\n  errorCode: null\ncondition: selection and not filter"
    )
    rule = sigma_rule(tmp_path, detection)
    assert matched(con, rule, event(errorCode="Client.UnauthorizedOperation"), event()) == {0}


def test_several_conditions_match_when_any_does(tmp_path: Path, con) -> None:
    rule = sigma_rule(tmp_path, "a:\n  eventName: StopLogging\nb:\n  eventName: DeleteTrail\ncondition:\n  - a\n  - b")
    assert matched(con, rule, event("StopLogging"), event("DeleteTrail"), event("StartLogging")) == {0, 1}


def test_cloudtrail_field_expressions() -> None:
    assert cloudtrail_field("eventName") == "eventname"
    assert (
        cloudtrail_field("userIdentity.sessionContext.sessionIssuer.type")
        == "useridentity.sessioncontext.sessionissuer.type"
    )
    assert cloudtrail_field("requestParameters.attribute") == "json_extract_string(requestparameters, '$.attribute')"
    assert cloudtrail_field("additionalEventData.MFAUsed") == "json_extract_string(additionaleventdata, '$.MFAUsed')"
    assert (
        cloudtrail_field("responseElements.ConsoleLogin") == "json_extract_string(responseelements, '$.ConsoleLogin')"
    )
    assert cloudtrail_field("vpcEndpointId") == "vpcendpointid"
    assert cloudtrail_field("resources.ARN").startswith("[]list_transform(resources")


# --- correlations -------------------------------------------------------------------------------------------

CORRELATION = """\
title: Failed console login
name: failed_console_login
id: 5f2b3d6e-1c4a-4e8b-9f0d-2a7c6b8e1d34
status: test
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: ConsoleLogin
    errorMessage: Failed authentication
  condition: selection
level: low
---
title: Console password spraying
id: 8E1A4C2B-7D3F-4B6A-9C5E-0F1D2A3B4C5D
status: test
correlation:
  type: {type}
  rules:
    - failed_console_login
  group-by:
    - sourceIPAddress
  timespan: 10m
  condition:
    {condition}
level: high
tags:
  - attack.credential-access
  - attack.t1110.003
"""


def failed_login(user: str, minutes: float, ip: str = "198.51.100.4") -> dict[str, Any]:
    identity = {"type": "IAMUser", "arn": f"arn:aws:iam::1:user/{user}", "userName": user, "accountId": "1"}
    record = event("ConsoleLogin", "signin.amazonaws.com", userIdentity=identity, sourceIPAddress=ip,
                   errorMessage="Failed authentication", responseElements={"ConsoleLogin": "Failure"})  # fmt: skip
    return at(record, minutes)


def test_event_count_correlation(tmp_path: Path, con) -> None:
    path = write(tmp_path, CORRELATION.format(type="event_count", condition="gte: 3"))
    (rule,) = load_sigma_file(path)  # the base rule is not a rule of its own (no `generate: true`)
    assert rule.id == "sigma.8e1a4c2b-7d3f-4b6a-9c5e-0f1d2a3b4c5d" and rule.severity == "high"
    assert rule.threshold == Threshold(count=3, window=dt.timedelta(minutes=10), group_by=("sourceipaddress",))
    assert len(hits(con, rule, *(failed_login("alice", m) for m in (0, 1, 2)))) == 1
    assert hits(con, rule, failed_login("alice", 0), failed_login("alice", 1)) == []
    other_ip = failed_login("bob", 2, ip="192.0.2.1")
    assert hits(con, rule, failed_login("alice", 0), failed_login("alice", 1), other_ip) == []


def test_value_count_correlation(tmp_path: Path, con) -> None:
    path = write(tmp_path, CORRELATION.format(type="value_count", condition="gt: 2\n    field: userIdentity.userName"))
    (rule,) = load_sigma_file(path)
    assert rule.threshold.field == "useridentity.username" and rule.threshold.count == 3
    assert len(hits(con, rule, *(failed_login(user, i) for i, user in enumerate("abc")))) == 1
    assert hits(con, rule, *(failed_login(user, i) for i, user in enumerate("aabb"))) == []


def test_generate_keeps_the_base_rule(tmp_path: Path, con) -> None:
    text = CORRELATION.format(type="event_count", condition="gte: 3").replace(
        "  timespan:", "  generate: true\n  timespan:"
    )
    rules = load_sigma_file(write(tmp_path, text))
    assert sorted(r.title for r in rules) == ["Console password spraying", "Failed console login"]
    base = next(r for r in rules if r.threshold is None)
    assert matched(con, base, failed_login("alice", 0), event()) == {0}


@pytest.mark.parametrize(
    ("kind", "condition", "reason"),
    [
        ("temporal", "gte: 2", "correlation type temporal"),
        ("event_count", "lt: 3", "cannot be a threshold"),
        ("value_sum", "gte: 3\n    field: eventName", "value_sum"),
    ],
)
def test_correlations_a_threshold_cannot_express(tmp_path: Path, kind: str, condition: str, reason: str) -> None:
    with pytest.raises(SigmaUnsupported, match=reason):
        load_sigma_file(write(tmp_path, CORRELATION.format(type=kind, condition=condition)))


def test_correlation_of_a_rule_not_in_the_file(tmp_path: Path) -> None:
    text = CORRELATION.split("---\n")[1]
    with pytest.raises(SigmaUnsupported, match="failed_console_login"):
        load_sigma_file(write(tmp_path, text.format(type="event_count", condition="gte: 3")))


# --- what is refused, and why --------------------------------------------------------------------------------


def test_other_logsources_are_refused_by_name(tmp_path: Path) -> None:
    windows = "product: windows\n  category: process_creation"
    with pytest.raises(SigmaUnsupported, match=r"logsource \{product: windows, category: process_creation\}"):
        sigma_rule(tmp_path, "selection:\n  Image|endswith: \\cmd.exe\ncondition: selection", windows)
    with pytest.raises(SigmaUnsupported, match="service: guardduty"):
        sigma_rule(tmp_path, "selection:\n  x: y\ncondition: selection", "product: aws\n  service: guardduty")


@pytest.mark.parametrize(
    ("detection", "reason"),
    [
        ("keywords:\n  - mimikatz\ncondition: keywords", "keyword search"),
        ("selection:\n  userAgent|re: '(?<=aws)-cli'\ncondition: selection", "is invalid: invalid perl operator"),
        ("selection:\n  eventName.inner: x\ncondition: selection", "eventName.inner is not a field"),
        ("selection:\n  eventName: x\ncondition: selection | count() < 5\ntimeframe: 5m", "cannot be a threshold"),
        ("selection:\n  eventName: x\ncondition: selection | count() > 5", "needs a timeframe"),
        ("selection:\n  eventName: x\ncondition: selection | max(x) > 5\ntimeframe: 5m", "not supported"),
    ],
)
def test_unsupported_rules_say_why(tmp_path: Path, detection: str, reason: str) -> None:
    with pytest.raises(SigmaUnsupported, match=reason) as caught:
        sigma_rule(tmp_path, detection)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_not_yaml_is_a_rule_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="not valid YAML"):
        load_sigma_file(write(tmp_path, "title: [unclosed\n"))


def test_is_sigma() -> None:
    assert is_sigma({"title": "t", "logsource": {"product": "aws"}, "detection": {"condition": "s"}})
    assert is_sigma({"title": "t", "correlation": {"type": "event_count"}})
    assert not is_sigma(
        {"id": "x", "title": "t", "severity": "low", "tables": ["cloudtrail_logs"], "query": "SELECT 1"}
    )
    assert not is_sigma(["not", "a", "mapping"])


def test_a_query_duckdb_refuses_is_unsupported() -> None:
    with pytest.raises(SigmaUnsupported, match="does not run in DuckDB: Binder Error"):
        check_query("SELECT * FROM cloudtrail_logs WHERE no_such_column = 'x'")
    check_query("SELECT * FROM cloudtrail_logs WHERE lower(eventname) = 'x'")
