"""API Gateway access logs: the documented JSON and CLF templates (REST, HTTP, WebSocket), standalone and odd input."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglake.formats import apigateway, registry
from loglake.formats.base import ObjectInfo

# the documented templates (set-up-logging.md, http-api-logging.md, websocket-api-logging.md), filled in
REST_JSON = {
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "extendedRequestId": "Jd9mKg1Ah8EEFsQ=",
    "ip": "192.0.2.10",
    "caller": "-",
    "user": "-",
    "requestTime": "14/Sep/2020:11:45:41 +0000",
    "httpMethod": "GET",
    "resourcePath": "/pets/{petId}",
    "status": "200",
    "protocol": "HTTP/1.1",
    "responseLength": "94",
}
HTTP_JSON = {
    "requestId": "Jd9mKg1Ah8EEFsQ=",
    "ip": "2001:db8::10",
    "requestTime": "14/Sep/2020:11:45:42 -0400",
    "httpMethod": "POST",
    "routeKey": "POST /orders",
    "status": "502",
    "protocol": "HTTP/1.1",
    "responseLength": "36",
    "integrationError": "The Lambda function returned the following error: boom",
    "requestTimeEpoch": "1600098342000",
}
WEBSOCKET_JSON = {
    "requestId": "L0SM9cOFvHcCIhw=",
    "ip": "198.51.100.3",
    "caller": "-",
    "user": "-",
    "requestTime": "14/Sep/2020:11:45:43 +0000",
    "eventType": "CONNECT",
    "routeKey": "$connect",
    "status": "200",
    "connectionId": "L0SM9cOFvHcCIhw=",
}
REST_CLF = (
    "192.0.2.10 AIDACKCEVSQ6C2EXAMPLE arn:aws:iam::111122223333:user/alice [14/Sep/2020:11:45:41 +0000] "
    '"GET /pets/{petId} HTTP/1.1" 200 94 c6af9ac6-7b61-11e6-9a41-93e8deadbeef Jd9mKg1Ah8EEFsQ='
)
HTTP_CLF = '192.0.2.11 - - [14/Sep/2020:11:45:42 +0000] "GET GET /pets HTTP/1.1" 200 12 Jd9mKg1Ah8EEFsQ='
CFN_CLF = (
    'Jd9mKg1Ah8EEFsQ= 192.0.2.12 - - [14/Sep/2020:11:45:44 +0000] "PUT /pets HTTP/1.1" 403 - '
    "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
)


def parse(data: bytes, uri: str = "mem://x"):
    return apigateway.parse(data, ObjectInfo(uri))


def rows(data: bytes) -> list[dict]:
    return parse(data).rows.to_pylist()


def lines(*records) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records).encode()


def test_rest_json_template():
    row = rows(lines(REST_JSON))[0]
    assert row["request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert row["extended_request_id"] == "Jd9mKg1Ah8EEFsQ="
    assert (row["ip"], row["caller"], row["user"]) == ("192.0.2.10", None, None)  # `-` is NULL
    assert (row["http_method"], row["resource_path"], row["protocol"]) == ("GET", "/pets/{petId}", "HTTP/1.1")
    assert (row["status"], row["response_length"]) == (200, 94)
    assert row["request_time"] == "14/Sep/2020:11:45:41 +0000"
    assert row["lake_time"] == dt.datetime(2020, 9, 14, 11, 45, 41, tzinfo=dt.UTC)
    assert row["lake_ips"] == ["192.0.2.10"]
    assert row["unmapped"] is None
    assert row["lake_row"] == 1


def test_http_api_json_template_and_its_variables():
    row = rows(lines(HTTP_JSON))[0]
    assert (row["route_key"], row["resource_path"], row["status"]) == ("POST /orders", None, 502)
    assert row["integration_error"] == "The Lambda function returned the following error: boom"
    assert row["request_time_epoch"] == 1600098342000
    assert row["lake_time"] == dt.datetime(2020, 9, 14, 15, 45, 42, tzinfo=dt.UTC)  # -0400 -> UTC
    assert row["lake_ips"] == ["2001:db8::10"]


def test_websocket_json_template():
    row = rows(lines(WEBSOCKET_JSON))[0]
    assert (row["event_type"], row["route_key"], row["connection_id"]) == ("CONNECT", "$connect", "L0SM9cOFvHcCIhw=")


def test_keys_are_matched_loosely_and_the_rest_is_kept():
    record = {
        "RequestId": "r-1",
        "sourceIp": "192.0.2.1",
        "http_method": "DELETE",
        "status": 204,  # an unquoted variable in the template
        "$context.identity.userAgent": "curl/8.0",
        "responseLatency": "12",
        "integrationErrorMessage": "-",
        "myKey": {"nested": True},
        "responseLength": "lots",  # not a number: kept as it is in unmapped
    }
    row = rows(lines(record))[0]
    assert (row["request_id"], row["ip"], row["http_method"], row["status"]) == ("r-1", "192.0.2.1", "DELETE", 204)
    assert (row["user_agent"], row["response_latency"], row["integration_error"]) == ("curl/8.0", 12, None)
    assert row["response_length"] is None
    assert json.loads(row["unmapped"]) == {"myKey": {"nested": True}, "responseLength": "lots"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            REST_CLF,
            {
                "ip": "192.0.2.10",
                "caller": "AIDACKCEVSQ6C2EXAMPLE",
                "user": "arn:aws:iam::111122223333:user/alice",
                "http_method": "GET",
                "resource_path": "/pets/{petId}",
                "route_key": None,
                "protocol": "HTTP/1.1",
                "status": 200,
                "response_length": 94,
                "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                "extended_request_id": "Jd9mKg1Ah8EEFsQ=",
            },
        ),
        (
            HTTP_CLF,
            {
                "ip": "192.0.2.11",
                "caller": None,
                "http_method": "GET",
                "resource_path": None,
                "route_key": "GET /pets",
                "status": 200,
                "request_id": "Jd9mKg1Ah8EEFsQ=",
                "extended_request_id": None,
            },
        ),
        (
            CFN_CLF,
            {
                "extended_request_id": "Jd9mKg1Ah8EEFsQ=",
                "ip": "192.0.2.12",
                "http_method": "PUT",
                "resource_path": "/pets",
                "status": 403,
                "response_length": None,
                "request_id": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            },
        ),
    ],
)
def test_clf_templates(line, expected):
    assert apigateway.sniff(line.encode(), "x.log")
    row = rows(lines(line))[0]
    assert {k: row[k] for k in expected} == expected
    assert row["lake_time"].date() == dt.date(2020, 9, 14)


def test_standalone_files_are_recognised_and_bad_lines_rejected():
    data = lines(REST_JSON, HTTP_CLF, "garbage line", "[1,2]", HTTP_JSON)
    assert registry.detect(data[:65536], "firehose/amazon-apigateway-x-1-2024-05-01").NAME == "apigateway"
    parsed = parse(data)
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [1, 2, 5]
    assert [(r.row, r.reason) for r in parsed.rejects] == [
        (3, "not an API Gateway access log line (JSON or CLF template)"),
        (4, "not an API Gateway access log line (JSON or CLF template)"),
    ]


def test_firehose_records_back_to_back_are_numbered_by_record():
    data = (json.dumps(REST_JSON) + json.dumps(HTTP_JSON) + json.dumps(WEBSOCKET_JSON)).encode()
    assert apigateway.sniff(data, "x")
    got = rows(data)
    assert [r["request_id"] for r in got] == [REST_JSON["requestId"], HTTP_JSON["requestId"], "L0SM9cOFvHcCIhw="]
    assert [r["lake_row"] for r in got] == [1, 2, 3]


def test_time_comes_from_the_epoch_when_there_is_no_request_time():
    seconds = {"requestId": "a", "ip": "192.0.2.1", "status": "200", "requestTimeEpoch": "1600098342"}
    millis = {"requestId": "b", "ip": "192.0.2.1", "status": "200", "requestTimeEpoch": 1600098342123}
    got = rows(lines(seconds, millis))
    assert got[0]["lake_time"] == dt.datetime(2020, 9, 14, 15, 45, 42, tzinfo=dt.UTC)
    assert got[1]["lake_time"] == dt.datetime(2020, 9, 14, 15, 45, 42, 123000, tzinfo=dt.UTC)


def test_other_formats_are_not_taken_for_access_logs():
    cloudtrail = {
        "eventVersion": "1.08",
        "requestID": "x",
        "eventName": "GetObject",
        "eventTime": "2024-01-01T00:00:00Z",
    }
    assert not apigateway.sniff(json.dumps(cloudtrail).encode(), "x")
    lambda_json_log = {"timestamp": "2024-01-01T00:00:00Z", "level": "INFO", "requestId": "79b4", "message": "hi"}
    assert not apigateway.sniff(json.dumps(lambda_json_log).encode(), "x")
    alb = b"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001"
    assert not apigateway.sniff(alb, "x")
    flow = b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070"
    assert not apigateway.sniff(flow, "x")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
_KEYS = st.sampled_from([*REST_JSON, *HTTP_JSON, *WEBSOCKET_JSON, "status", "x"]) | st.text(max_size=12)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(st.dictionaries(_KEYS, _JSON, max_size=8), max_size=4), texts=st.lists(st.text(), max_size=3))
def test_odd_records_and_lines_never_raise(records, texts):
    data = lines(*records, *(t.replace("\n", " ") for t in texts))
    if not data.strip():
        return
    parsed = parse(data)
    if parsed.part is not None:
        assert parsed.rows.num_rows == parsed.records


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from([lines(REST_JSON, HTTP_CLF), lines(CFN_CLF, WEBSOCKET_JSON), lines(REST_CLF)]),
    edits=st.lists(st.tuples(st.integers(0, 4096), st.binary(max_size=3)), max_size=5),
)
def test_mutated_lines_never_raise(seed, edits):
    data = bytearray(seed)
    for offset, replacement in edits:
        at = offset % len(data)
        data[at : at + len(replacement)] = replacement
    apigateway.sniff(bytes(data), "x")
    parsed = parse(bytes(data))
    if parsed.part is not None:
        assert parsed.rows.num_rows == parsed.records
