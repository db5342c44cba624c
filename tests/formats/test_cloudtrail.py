"""CloudTrail parsing: every real-shaped sample, every container shape, and no field lost."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from loglake.formats import cloudtrail
from loglake.formats.base import ObjectInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = {  # file -> events it holds
    "awsdocs/cloudtrail-log-file-examples.json": 9,
    "awsdocs/cloudtrail-event-reference-aws-console-sign-in-events.json": 10,
    "awsdocs/cloudtrail-event-reference.json": 1,
    "awsdocs/cloudtrail-event-reference-user-identity.json": 1,
    "loki/cloudtrail-log-file.json.gz": 2,
}


def read(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def parse(data: bytes, uri: str = "mem://x"):
    return cloudtrail.parse(data, ObjectInfo(uri))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_parses_without_rejects(name):
    parsed = parse(read(name))
    assert parsed.rejects == []
    assert parsed.records == SAMPLES[name]
    assert parsed.rows.schema == cloudtrail.SCHEMA


def test_columns_follow_the_athena_table():
    rows = parse(read("awsdocs/cloudtrail-log-file-examples.json")).rows.to_pylist()
    first = rows[0]
    assert first["eventname"] == "StartInstances"
    assert first["useridentity"]["arn"] == "arn:aws:iam::123456789012:user/Alice"
    assert first["useridentity"]["username"] == "Alice"
    assert orjson.loads(first["requestparameters"]) == {"instancesSet": {"items": [{"instanceId": "i-ebeaf9e2"}]}}
    assert first["lake_time"].isoformat() == "2014-03-06T21:22:54+00:00"
    assert first["lake_ips"] == ["205.251.233.176"]
    assert first["lake_account"] == "123456789012"
    assert [r["lake_row"] for r in rows] == list(range(1, 10))


def test_console_sign_in_keeps_additional_event_data_and_responses():
    rows = parse(read("awsdocs/cloudtrail-event-reference-aws-console-sign-in-events.json")).rows.to_pylist()
    login = rows[0]
    assert login["eventname"] == "ConsoleLogin"
    assert orjson.loads(login["responseelements"]) == {"ConsoleLogin": "Success"}
    assert orjson.loads(login["additionaleventdata"])["MFAUsed"] == "No"
    assert login["unmapped"] is None


def test_insight_event_keeps_its_details():
    row = parse(read("awsdocs/cloudtrail-event-reference.json")).rows.to_pylist()[0]
    assert row["eventtype"] == "AwsCloudTrailInsight"
    details = orjson.loads(row["insightdetails"])
    assert details["insightType"] == "ApiCallRateInsight"
    assert details["eventName"] == "CompleteLifecycleAction"


def test_pretty_printed_json_is_stored_compact():
    row = parse(read("awsdocs/cloudtrail-log-file-examples.json")).rows.to_pylist()[0]
    assert "\n" not in row["requestparameters"]


EVENT = {
    "eventVersion": "1.09",
    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/ci", "accessKeyId": "AKIAEXAMPLE"},
    "eventTime": "2024-05-01T10:00:00Z",
    "eventSource": "s3.amazonaws.com",
    "eventName": "GetObject",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "203.0.113.9",
    "readOnly": True,
    "managementEvent": False,
    "recipientAccountId": "111122223333",
}


@pytest.mark.parametrize(
    "shape",
    ["log-file", "log-file-pretty", "array", "json-lines", "single-event"],
)
def test_every_container_shape(shape):
    events = [EVENT, {**EVENT, "eventName": "PutObject"}]
    data = {
        "log-file": orjson.dumps({"Records": events}),
        "log-file-pretty": orjson.dumps({"Records": events}, option=orjson.OPT_INDENT_2),
        "array": orjson.dumps(events),
        "json-lines": b"\n".join(orjson.dumps(e) for e in events) + b"\n",
        "single-event": orjson.dumps(EVENT),
    }[shape]
    parsed = parse(data)
    assert parsed.rejects == []
    names = [r["eventname"] for r in parsed.rows.to_pylist()]
    assert names == (["GetObject"] if shape == "single-event" else ["GetObject", "PutObject"])
    row = parsed.rows.to_pylist()[0]
    assert row["readonly"] == "true"
    assert row["managementevent"] == "false"
    assert row["lake_region"] == "eu-west-1"


def test_unknown_fields_are_kept_in_unmapped_not_lost():
    event = {
        **EVENT,
        "brandNewField": {"a": 1},
        "userIdentity": {**EVENT["userIdentity"], "inScopeOf": {"issuerType": "AWS::Lambda::Function"}},
        "eventName": {"not": "a string"},  # a type the schema cannot hold
    }
    row = parse(orjson.dumps({"Records": [event]})).rows.to_pylist()[0]
    unmapped = orjson.loads(row["unmapped"])
    assert unmapped["brandNewField"] == {"a": 1}
    assert unmapped["userIdentity"] == {"inScopeOf": {"issuerType": "AWS::Lambda::Function"}}
    assert unmapped["eventName"] == {"not": "a string"}
    assert row["eventname"] is None
    assert row["useridentity"]["arn"] == "arn:aws:iam::111122223333:user/ci"


def test_keys_match_without_regard_to_case_like_athena():
    event = {**EVENT, "resources": [{"arn": "arn:aws:s3:::b", "accountId": "111122223333", "type": "AWS::S3::Bucket"}]}
    row = parse(orjson.dumps([event])).rows.to_pylist()[0]
    assert row["resources"] == [{"arn": "arn:aws:s3:::b", "accountid": "111122223333", "type": "AWS::S3::Bucket"}]
    assert row["unmapped"] is None


def test_event_missing_fields_still_lands():
    parsed = parse(
        orjson.dumps({"Records": [{"eventName": "Mystery"}]}),
        "s3://b/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/02/x.json.gz",
    )
    row = parsed.rows.to_pylist()[0]
    assert row["eventname"] == "Mystery"
    assert row["eventtime"] is None
    assert row["lake_time"] is not None  # no eventTime: the time falls back to the object's day or now


def test_service_names_and_two_ips_in_source_address():
    events = [
        {**EVENT, "sourceIPAddress": "s3.amazonaws.com"},
        {**EVENT, "sourceIPAddress": "198.51.100.7, 10.0.0.8"},
        {**EVENT, "sourceIPAddress": "2001:db8::1"},
    ]
    rows = parse(orjson.dumps(events)).rows.to_pylist()
    assert [r["lake_ips"] for r in rows] == [[], ["198.51.100.7", "10.0.0.8"], ["2001:db8::1"]]


def test_malformed_lines_are_rejected_with_their_line_number():
    data = orjson.dumps(EVENT) + b"\n{not json\n" + orjson.dumps(EVENT) + b"\n42\n"
    parsed = parse(data)
    assert parsed.records == 2
    assert [(r.row, r.reason.split(":")[0]) for r in parsed.rejects] == [
        (2, "invalid JSON"),
        (4, "record is not a JSON object"),
    ]
    assert parsed.rejects[0].raw == "{not json"


def test_digest_files_are_skipped_not_rejected():
    digest = orjson.dumps(
        {
            "awsAccountId": "111122223333",
            "digestStartTime": "2024-05-01T10:00:00Z",
            "digestEndTime": "2024-05-01T11:00:00Z",
            "digestPublicKeyFingerprint": "abc",
            "logFiles": [],
        }
    )
    parsed = parse(digest, "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/x.json.gz")
    assert parsed.skipped == "CloudTrail digest file"
    assert parsed.records == 0
    assert parsed.rejects == []


def test_truncated_document_is_one_reject_with_the_reason():
    parsed = parse(orjson.dumps({"Records": [EVENT, EVENT]})[:-40])
    assert parsed.records == 0
    assert len(parsed.rejects) == 1
    assert parsed.rejects[0].reason.startswith("invalid JSON")


def test_invalid_utf8_in_keys_is_a_reject_not_a_crash():
    lines = parse(orjson.dumps(EVENT) + b'\n{"\xff\xfe": 1}\n')
    assert lines.records == 1
    assert [r.row for r in lines.rejects] == [2]
    document = parse(b'{"Records": [{"\xff\xfe": 1}]}')
    assert document.records == 0
    assert document.rejects[0].reason.startswith("invalid JSON")
