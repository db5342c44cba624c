"""AWS WAF logs: the samples, the live Athena types, unknown keys kept, bad lines rejected, mutated lines."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglake.formats import cloudtrail, registry, vpcflow, waf
from loglake.formats.base import ObjectInfo
from loglake.formats.jsonshape import Field, Int, Struct, Text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = {"awsdocs/waf-examples.jsonl": 6, "loki/waflog.log.gz": 1}  # file -> records
ACL = "arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/shop/1a2b3c4d"
RECORD = {
    "timestamp": 1714557600123,
    "formatVersion": 1,
    "webaclId": ACL,
    "terminatingRuleId": "Default_Action",
    "terminatingRuleType": "REGULAR",
    "action": "ALLOW",
    "terminatingRuleMatchDetails": [],
    "httpSourceName": "ALB",
    "httpSourceId": "111122223333-app/shop/6a1939d39ac9ef3c",
    "ruleGroupList": [],
    "rateBasedRuleList": [],
    "nonTerminatingMatchingRules": [],
    "requestHeadersInserted": None,
    "responseCodeSent": None,
    "httpRequest": {
        "clientIp": "198.51.100.7",
        "country": "DE",
        "headers": [{"name": "Host", "value": "shop.example.com"}],
        "uri": "/cart",
        "args": "id=1",
        "httpVersion": "HTTP/2.0",
        "httpMethod": "GET",
        "requestId": "1-64f01dc6-7d2deb5d54820c4d7284912a",
    },
}


def read(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def parse(data: bytes, uri: str = "mem://x"):
    return waf.parse(data, ObjectInfo(uri))


def rows_of(*records) -> list[dict]:
    return parse(b"\n".join(orjson.dumps(r) for r in records) + b"\n").rows.to_pylist()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_parses_without_rejects(name):
    parsed = parse(read(name))
    assert parsed.rejects == []
    assert parsed.records == SAMPLES[name]
    assert parsed.rows.schema == waf.SCHEMA


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_are_sniffed_as_waf_only(name):
    head = read(name)[:65536]
    assert waf.sniff(head, name)
    assert not cloudtrail.sniff(head, name)
    assert not vpcflow.sniff(head, name)
    assert registry.detect(head, name) is waf


def test_cloudtrail_about_waf_is_not_sniffed_as_waf():
    event = {"eventVersion": "1.08", "eventName": "UpdateDistribution", "requestParameters": {"webACLId": ACL}}
    assert not waf.sniff(orjson.dumps({"Records": [event]}), "x.json")
    assert not waf.sniff(read("awsdocs/cloudtrail-log-file-examples.json"), "x.json")


def test_columns_hold_what_the_documentation_shows():
    rows = parse(read("awsdocs/waf-examples.jsonl")).rows.to_pylist()
    sqli = rows[0]
    assert (sqli["timestamp"], sqli["formatversion"], sqli["action"]) == (1576280412771, 1, "BLOCK")
    assert sqli["terminatingruleid"] == "STMTest_SQLi_XSS"
    assert sqli["terminatingrulematchdetails"] == [
        {
            "conditiontype": "SQL_INJECTION",
            "sensitivitylevel": "HIGH",
            "location": "HEADER",
            "matcheddata": ["10", "AND", "1"],
        }
    ]
    request = sqli["httprequest"]
    assert (request["clientip"], request["country"], request["httpmethod"], request["uri"]) == (
        "1.1.1.1",
        "AU",
        "GET",
        "/myUri",
    )
    assert request["headers"][3] == {"name": "x-stm-test", "value": "10 AND 1=1"}
    assert sqli["labels"] == [{"name": "value"}]
    assert sqli["lake_time"].isoformat() == "2019-12-13T23:40:12.771000+00:00"
    assert (sqli["lake_account"], sqli["lake_region"], sqli["lake_ips"]) == (
        "111122223333",
        "ap-southeast-2",
        ["1.1.1.1"],
    )
    assert [r["lake_row"] for r in rows] == list(range(1, 7))

    group = rows[2]["rulegrouplist"][0]
    assert group["terminatingrule"] == {"ruleid": "RuleA-XSS", "action": "BLOCK", "rulematchdetails": None}
    assert group["nonterminatingmatchingrules"][0]["ruleid"] == "RuleB-SQLi"
    assert group["excludedrules"] is None

    captcha = rows[4]
    assert captcha["nonterminatingmatchingrules"][0]["captcharesponse"] == {
        "responsecode": "0",
        "solvetimestamp": "1632420429",
    }
    assert captcha["requestheadersinserted"] == [{"name": "x-amzn-waf-test-header-name", "value": "test-header-value"}]
    blocked = rows[5]
    assert blocked["captcharesponse"] == {
        "responsecode": "405",
        "solvetimestamp": "0",
        "failurereason": "TOKEN_MISSING",
    }
    assert blocked["responsecodesent"] == "405"


def test_keys_the_ddl_does_not_name_are_kept_in_unmapped():
    rows = parse(read("awsdocs/waf-examples.jsonl")).rows.to_pylist()
    assert orjson.loads(rows[1]["unmapped"]) == {
        "httpRequest": {"headers": [None, None, None, {"myValue": "10 AND 1=1"}]}
    }
    assert rows[1]["httprequest"]["headers"][3] == {"name": "myHeader", "value": None}
    real = parse(read("loki/waflog.log.gz")).rows.to_pylist()[0]
    assert real["unmapped"] is None  # `"customerConfig": null`: a key outside the DDL with no value
    assert real["rulegrouplist"][0]["rulegroupid"] == "AWS#AWSManagedRulesAmazonIpReputationList"


def test_newer_fields_of_the_live_ddl():
    record = {
        **RECORD,
        "ja3Fingerprint": "e7a1b2c3d4",
        "ja4Fingerprint": "t13d1516h2_8daaf6152771",
        "oversizeFields": ["REQUEST_BODY", "REQUEST_HEADERS"],
        "requestBodySize": 9000,
        "requestBodySizeInspectedByWAF": 8192,
        "challengeResponse": {"responseCode": 202, "solveTimestamp": 0, "failureReason": "TOKEN_MISSING"},
        "httpRequest": {**RECORD["httpRequest"], "fragment": "top", "scheme": "https", "host": "shop.example.com"},
        "rateBasedRuleList": [
            {
                "rateBasedRuleId": "rbr-1",
                "rateBasedRuleName": "per-ip",
                "limitKey": "IP",
                "maxRateAllowed": 100,
                "limitValue": "198.51.100.7",
            }
        ],
        "ruleGroupList": [
            {
                "ruleGroupId": "AWS#AWSManagedRulesCommonRuleSet",
                "terminatingRule": None,
                "nonTerminatingMatchingRules": [
                    {"ruleId": "SizeRestrictions_BODY", "action": "COUNT", "overriddenAction": "BLOCK"}
                ],
                "excludedRules": [{"exclusionType": "EXCLUDED_AS_COUNT", "ruleId": "NoUserAgent_HEADER"}],
            }
        ],
    }
    row = rows_of(record)[0]
    assert (row["ja3fingerprint"], row["ja4fingerprint"]) == ("e7a1b2c3d4", "t13d1516h2_8daaf6152771")
    assert row["oversizefields"] == '["REQUEST_BODY","REQUEST_HEADERS"]'  # a string column in Athena: JSON text
    assert (row["requestbodysize"], row["requestbodysizeinspectedbywaf"]) == (9000, 8192)
    assert row["challengeresponse"] == {"responsecode": "202", "solvetimestamp": "0", "failurereason": "TOKEN_MISSING"}
    assert (row["httprequest"]["fragment"], row["httprequest"]["scheme"]) == ("top", "https")
    assert row["ratebasedrulelist"] == [{"ratebasedruleid": "rbr-1", "limitkey": "IP", "maxrateallowed": 100}]
    assert orjson.loads(row["unmapped"]) == {
        "rateBasedRuleList": [{"rateBasedRuleName": "per-ip", "limitValue": "198.51.100.7"}]
    }
    group = row["rulegrouplist"][0]
    assert group["nonterminatingmatchingrules"][0]["overriddenaction"] == "BLOCK"
    assert orjson.loads(group["excludedrules"]) == [
        {"exclusionType": "EXCLUDED_AS_COUNT", "ruleId": "NoUserAgent_HEADER"}
    ]


def test_forwarded_addresses_join_the_client_address():
    headers = [
        {"name": "X-Forwarded-For", "value": "203.0.113.9, 10.0.0.2, 198.51.100.7"},
        {"name": "x-forwarded-for", "value": "unknown, 2001:db8::1"},
    ]
    record = {**RECORD, "httpRequest": {**RECORD["httpRequest"], "headers": headers}}
    rows = rows_of(record, RECORD)
    assert rows[0]["lake_ips"] == ["198.51.100.7", "203.0.113.9", "10.0.0.2", "2001:db8::1"]
    assert rows[1]["lake_ips"] == ["198.51.100.7"]


def test_keys_match_without_regard_to_case_and_values_are_cast_as_athena_does():
    record = {**RECORD, "TimeStamp": "1714557600123", "formatVersion": "one", "Action": "BLOCK"}
    del record["timestamp"], record["action"]
    row = rows_of(record)[0]
    assert (row["timestamp"], row["action"]) == (1714557600123, "BLOCK")
    assert row["formatversion"] is None
    assert orjson.loads(row["unmapped"]) == {"formatVersion": "one"}
    assert row["lake_time"].isoformat() == "2024-05-01T10:00:00.123000+00:00"


def test_classic_web_acl_ids_and_impossible_times_fall_back_to_the_object():
    record = {**RECORD, "webaclId": "5933d6d9-9dde-js82-v8aw-9ck28nv9", "timestamp": 10**17}
    info = ObjectInfo("s3://b/x.log.gz", account="444455556666", region="us-east-1", day=dt.date(2024, 5, 1))
    row = waf.parse(orjson.dumps(record), info).rows.to_pylist()[0]
    assert row["timestamp"] == 10**17
    assert row["lake_time"].isoformat() == "2024-05-01T00:00:00+00:00"
    assert (row["lake_account"], row["lake_region"]) == ("444455556666", "us-east-1")


def test_good_lines_are_kept_and_junk_lines_rejected_with_their_line_numbers():
    good = orjson.dumps(RECORD).decode()
    lines = [good, "{not json", "", good, "[1, 2]", "null", good, '{"timestamp": 5', "   ", good]
    parsed = parse(("\n".join(lines) + "\n").encode())
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [1, 4, 7, 10]
    assert [(r.row, r.reason.split(":")[0]) for r in parsed.rejects] == [
        (2, "invalid JSON"),
        (5, "record is not a JSON object"),
        (6, "record is not a JSON object"),
        (8, "invalid JSON"),
    ]
    assert parsed.rejects[0].raw == "{not json"


def test_int_and_text_shapes():
    shape = Struct("Probe", [Field("n", "n", Int(pa.int32())), Field("t", "t", Text())])
    assert shape.convert({"n": "42", "t": "plain"})[0].n == "42"
    assert shape.fields[0].shape.to_arrow(["42", 7, None]).to_pylist() == [42, 7, None]
    assert shape.convert({"n": 2**40})[1] == {"n": 2**40}  # out of the int column's range: kept, not lost
    assert shape.convert({"n": True})[1] == {"n": True}
    decoded = shape.convert({"t": ["a", {"b": 1}]})[0]
    assert shape.fields[1].shape.to_arrow([decoded.t]).to_pylist() == ['["a",{"b":1}]']


REAL_LINES = [line for name in SAMPLES for line in read(name).split(b"\n") if line.strip()]


@st.composite
def mutated_files(draw):
    body = bytearray(b"\n".join(draw(st.lists(st.sampled_from(REAL_LINES), min_size=1, max_size=4))) + b"\n")
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(body) - 1))
        byte = draw(st.one_of(st.integers(0, 255), st.sampled_from(list(b'\n{}[]",:0123456789 \\nult'))))
        operation = draw(st.sampled_from(["replace", "insert", "delete"]))
        if operation == "replace":
            body[at] = byte
        elif operation == "insert":
            body.insert(at, byte)
        else:
            del body[at]
    return bytes(body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_files())
def test_mutated_lines_never_raise_and_each_lands_as_a_row_or_a_reject(data):
    parsed = parse(data)
    rows = [] if parsed.part is None else parsed.rows.column("lake_row").to_pylist()
    lines = [i for i, text in enumerate(data.split(b"\n"), 1) if text.strip()]
    assert sorted(rows + [r.row for r in parsed.rejects]) == lines
