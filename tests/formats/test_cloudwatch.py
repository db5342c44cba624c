"""CloudWatch Logs carriers: every real-shaped sample, routing of messages to their tables, exports, bad input."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglake.formats import cloudwatch, registry
from loglake.formats.base import ObjectInfo, Parsed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = {  # file -> messages it holds
    "lambda/cloudWatchLogEvent.json": 2,
    "lambda/cloudWatchLogEventWithPolicyLevel.json": 2,
    "lambda/cloudwatch-logs-event.json": 2,
    "lambda/kinesis-event.json": 2,
    "lambda/kinesis-firehose-event.json": 2,
    "lambda/kinesisStreamCloudWatchLogsEvent.json": 6,
    "awsdocs/cwl-subscription-decoded-examples.jsonl": 6,
    "loki/kinesis-event.json": 3,
}
ACCOUNT = "111122223333"
T0 = 1714521600000  # 2024-05-01T00:00:00Z in milliseconds
FLOW = f"2 {ACCOUNT} eni-0a1b2c3d 10.0.0.5 10.0.0.6 443 51000 6 10 840 1714521600 1714521660 ACCEPT OK"
NODATA = f"2 {ACCOUNT} eni-0a1b2c3d - - - - - - - 1714521600 1714521660 - NODATA"
CUSTOM = "vpc-0a1b2c3d eni-0a1b2c3d 10.0.0.5 10.0.0.6 ACCEPT"  # ${vpc-id} ${interface-id} ${srcaddr} ...
CUSTOM_FIELDS = ["vpc-id", "interface-id", "srcaddr", "dstaddr", "action"]
TRAIL_EVENT = {
    "eventVersion": "1.09",
    "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::999988887777:user/alice", "accountId": "999988887777"},
    "eventTime": "2024-05-01T10:00:00Z",
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "198.51.100.7",
    "recipientAccountId": "999988887777",
    "brandNewField": {"x": 1},
}
API_JSON = {
    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    "ip": "203.0.113.9",
    "requestTime": "01/May/2024:10:00:00 +0000",
    "httpMethod": "GET",
    "routeKey": "GET /pets",
    "status": "200",
    "protocol": "HTTP/1.1",
    "responseLength": "42",
}
API_CLF = '203.0.113.9 - - [01/May/2024:10:00:01 +0000] "POST POST /pets HTTP/1.1" 201 7 Jd9mKg1Ah8EEFsQ='


def read(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def parse(data: bytes, uri: str = "mem://x", vpc: list[str] | None = None) -> Parsed:
    return cloudwatch.parse(data, ObjectInfo(uri), default_fields=vpc)


def rows_by_table(parsed: Parsed) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for result in parsed.results():
        if result.part is not None:
            out.setdefault(result.table, []).extend(result.rows.to_pylist())
    return out


def payload(messages: list[str], group: str = "app", kind: str = "DATA_MESSAGE", owner: str = ACCOUNT) -> dict:
    return {
        "messageType": kind,
        "owner": owner,
        "logGroup": group,
        "logStream": "stream-1",
        "subscriptionFilters": ["to-s3"],
        "logEvents": [{"id": f"{group}-{i}", "timestamp": T0 + i, "message": m} for i, m in enumerate(messages)],
    }


def firehose_object(*payloads: dict) -> bytes:
    """What Firehose writes to S3 from a CloudWatch Logs subscription: gzip members back to back, once inflated."""
    return gzip.decompress(b"".join(gzip.compress(json.dumps(p).encode()) for p in payloads))


def millis(value: dt.datetime) -> int:
    return round(value.timestamp() * 1000)


# --- the samples, checked against an independent decoding of the source ------------------------------------------


def _inflate(data: bytes) -> bytes:
    return zlib.decompress(data, 47)  # gzip or zlib, by their headers


def expected_messages(name: str) -> list[dict]:
    """Every message of a sample, decoded with the standard library only."""
    text = read(name).decode()
    if name.endswith(".jsonl"):
        documents = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        documents = [json.loads(text)]
    out: list[dict] = []
    for document in documents:
        if "awslogs" in document:
            document = json.loads(_inflate(base64.b64decode(document["awslogs"]["data"])))  # noqa: PLW2901
        if "Records" in document:
            for record in document["Records"]:
                data = base64.b64decode(record["kinesis"]["data"])
                if data[:2] == b"\x1f\x8b":
                    out += _events(json.loads(_inflate(data)))
                else:
                    arrival = int(record["kinesis"]["approximateArrivalTimestamp"] * 1000)
                    owner = record["eventSourceARN"].split(":")[4]
                    out.append(_raw(record["eventID"], arrival, data.decode(), owner))
        elif "records" in document:
            owner = document["sourceKinesisStreamArn"].split(":")[4]
            for record in document["records"]:
                data = base64.b64decode(record["data"]).decode()
                out.append(_raw(record["recordId"], record["approximateArrivalTimestamp"], data, owner))
        else:
            out += _events(document)
    return out


def _events(payload: dict) -> list[dict]:
    return [
        {
            "log_group": payload["logGroup"],
            "log_stream": payload["logStream"],
            "owner": payload["owner"],
            "subscription_filters": payload["subscriptionFilters"],
            "id": event["id"],
            "timestamp": event["timestamp"],
            "message": event["message"],
        }
        for event in payload["logEvents"]
    ]


def _raw(record_id: str, arrival: int, data: str, owner: str) -> dict:
    return {
        "log_group": None,
        "log_stream": None,
        "owner": owner,
        "subscription_filters": None,
        "id": record_id,
        "timestamp": arrival,
        "message": data,
    }


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_is_recognised_and_parses(name):
    data = read(name)
    assert registry.detect(data[:65536], name).NAME == "cloudwatch"
    parsed = parse(data)
    assert parsed.rejects == []
    assert parsed.total_records == SAMPLES[name]
    rows = parsed.rows.to_pylist()
    assert parsed.rows.schema == cloudwatch.SCHEMA
    got = [
        {**{k: r[k] for k in ("log_group", "log_stream", "owner", "subscription_filters", "id", "message")}}
        | {"timestamp": millis(r["timestamp"])}
        for r in rows
    ]
    assert got == expected_messages(name)
    assert [r["lake_row"] for r in rows] == list(range(1, SAMPLES[name] + 1))
    assert [millis(r["lake_time"]) for r in rows] == [g["timestamp"] for g in got]
    assert [r["lake_account"] for r in rows] == [g["owner"] for g in got]


def test_lambda_samples_hold_the_documented_fields():
    gzip_rows = parse(read("lambda/cloudWatchLogEvent.json")).rows.to_pylist()
    zlib_rows = parse(read("lambda/cloudWatchLogEventWithPolicyLevel.json")).rows.to_pylist()
    assert [r["message"] for r in zlib_rows] == ["[ERROR] First test message", "[ERROR] Second test message"]
    assert [r["id"] for r in gzip_rows] == ["eventId1", "eventId2"]
    assert gzip_rows[0]["timestamp"] == dt.datetime(2015, 8, 24, 19, 3, 7, tzinfo=dt.UTC)
    assert gzip_rows[0]["subscription_filters"] == ["testFilter"]
    kinesis = parse(read("lambda/kinesisStreamCloudWatchLogsEvent.json")).rows.to_pylist()
    assert kinesis[0]["log_group"] == "/aws/lambda/pt-1488-DummyLogDataFunction-gnWXPvL6jJyG"
    assert kinesis[0]["lake_region"] == "eu-west-1"  # the Kinesis record's awsRegion
    assert kinesis[2]["message"].startswith("REPORT RequestId: 06e46194") and kinesis[2]["message"].endswith("\n")
    firehose = parse(read("lambda/kinesis-firehose-event.json")).rows.to_pylist()
    assert [(r["id"], r["message"], r["lake_region"]) for r in firehose] == [
        ("record1", "Hello World", "us-west-2"),
        ("record2", "Hello World", "us-west-2"),
    ]


def test_vrl_documented_example_gives_the_documented_fields():
    doc = json.loads(read("vrl/parse_aws_cloudwatch_log_subscription_message.json"))
    example = doc["examples"][0]
    source = example["source"]
    body = source[source.index("(s'") + 3 : source.rindex("')")]
    row = parse(body.encode()).rows.to_pylist()[0]
    expected = example["return"]
    assert (row["log_group"], row["log_stream"], row["owner"]) == (
        expected["log_group"],
        expected["log_stream"],
        expected["owner"],
    )
    assert row["subscription_filters"] == expected["subscription_filters"]
    event = expected["log_events"][0]
    assert (row["id"], row["message"]) == (event["id"], event["message"])
    assert row["timestamp"] == dt.datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
    assert row["lake_ips"] == ["157.130.216.193"]  # the address in the (JSON text) message


def test_doc_payloads_with_cut_short_cloudtrail_messages_stay_text():
    rows = parse(read("awsdocs/cwl-subscription-decoded-examples.jsonl")).rows.to_pylist()
    assert {r["log_group"] for r in rows} == {"CloudTrail/logs", "CloudTrail"}
    assert rows[0]["message"] == '{"eventVersion":"1.03","userIdentity":{"type":"Root"}'


# --- routing ----------------------------------------------------------------------------------------------------


def test_vpc_flow_lines_go_to_vpc_flow_logs_with_the_default_order():
    parsed = parse(firehose_object(payload([FLOW, NODATA], group="flows")))
    tables = rows_by_table(parsed)
    assert set(tables) == {"vpc_flow_logs"}
    flows = tables["vpc_flow_logs"]
    assert [(r["srcaddr"], r["dstport"], r["action"], r["log_status"]) for r in flows] == [
        ("10.0.0.5", 51000, "ACCEPT", "OK"),
        (None, None, None, "NODATA"),
    ]
    assert [r["lake_row"] for r in flows] == [1, 2]
    assert flows[0]["lake_time"] == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)  # from the flow's start
    assert parsed.primary_table == "vpc_flow_logs"
    assert parsed.total_records == 2


def test_custom_flow_lines_are_rejected_without_vpc_format_and_read_with_it():
    data = firehose_object(payload([FLOW, CUSTOM], group="flows"))
    without = parse(data)
    assert [r["lake_row"] for r in rows_by_table(without)["vpc_flow_logs"]] == [1]
    [reject] = without.rejects
    assert reject.row == 2
    assert "--vpc-format" in reject.reason
    assert reject.raw == CUSTOM
    with_format = parse(data, vpc=CUSTOM_FIELDS)
    assert with_format.rejects == []
    flows = rows_by_table(with_format)["vpc_flow_logs"]
    assert [(r["vpc_id"], r["interface_id"], r["srcaddr"], r["action"], r["lake_row"]) for r in flows] == [
        (None, "eni-0a1b2c3d", "10.0.0.5", "ACCEPT", 1),  # 14 fields: still the default order
        ("vpc-0a1b2c3d", "eni-0a1b2c3d", "10.0.0.5", "ACCEPT", 2),
    ]
    # the custom format has no start/end: the event's timestamp is the row's time; its account, the owner
    assert flows[1]["lake_time"] == dt.datetime(2024, 5, 1, 0, 0, 0, 1000, tzinfo=dt.UTC)
    assert flows[1]["lake_account"] == ACCOUNT


def test_a_flow_line_matching_neither_order_names_the_option():
    parsed = parse(firehose_object(payload([CUSTOM + " 6"])), vpc=CUSTOM_FIELDS)
    [reject] = parsed.rejects
    assert "--vpc-format" in reject.reason
    assert "6 fields" in reject.reason


def test_a_flow_value_too_wide_for_its_column_is_rejected_not_raised():
    wide = FLOW.replace(" 51000 ", " 99999999999 ")  # dstport is an int column
    parsed = parse(firehose_object(payload([wide, FLOW])))
    assert [r["lake_row"] for r in rows_by_table(parsed)["vpc_flow_logs"]] == [2]
    [reject] = parsed.rejects
    assert reject.row == 1
    assert "not valid for its field" in reject.reason and "--vpc-format" in reject.reason


def test_cloudtrail_events_go_to_cloudtrail_logs():
    message = json.dumps(TRAIL_EVENT)
    parsed = parse(firehose_object(payload(["hello", message], group="CloudTrail/DefaultLogGroup")))
    tables = rows_by_table(parsed)
    [event] = tables["cloudtrail_logs"]
    assert event["eventname"] == "ConsoleLogin"
    assert event["useridentity"]["arn"] == "arn:aws:iam::999988887777:user/alice"
    assert json.loads(event["unmapped"]) == {"brandNewField": {"x": 1}}
    assert event["lake_row"] == 2
    assert event["lake_time"] == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)  # eventTime, not the CWL timestamp
    assert event["lake_account"] == "999988887777"
    assert event["lake_ips"] == ["198.51.100.7"]
    assert [r["message"] for r in tables["cloudwatch_logs"]] == ["hello"]


def test_api_gateway_access_logs_go_to_apigateway_logs():
    parsed = parse(firehose_object(payload([json.dumps(API_JSON), API_CLF, "plain text"], group="api-access")))
    tables = rows_by_table(parsed)
    api = tables["apigateway_logs"]
    assert [(r["request_id"], r["http_method"], r["route_key"], r["status"], r["lake_row"]) for r in api] == [
        ("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "GET", "GET /pets", 200, 1),
        ("Jd9mKg1Ah8EEFsQ=", "POST", "POST /pets", 201, 2),
    ]
    assert api[1]["lake_time"] == dt.datetime(2024, 5, 1, 10, 0, 1, tzinfo=dt.UTC)
    assert api[0]["lake_account"] == ACCOUNT
    assert [r["message"] for r in tables["cloudwatch_logs"]] == ["plain text"]


def test_other_text_and_json_stay_in_cloudwatch_logs():
    messages = [
        "ACCEPT connection from 10.0.0.1 port 22",  # flow-like words, but free text
        '{"level":"INFO","requestId":"79b4f56e","message":"done"}',  # a Lambda JSON log line
        "[1, 2]",
        "",
    ]
    parsed = parse(firehose_object(payload(messages)))
    assert parsed.rejects == []
    assert [r["message"] for r in rows_by_table(parsed)["cloudwatch_logs"]] == messages


def test_one_payload_can_fill_four_tables_with_positions_across_payloads():
    data = firehose_object(
        payload([FLOW, json.dumps(TRAIL_EVENT)], group="mixed"),
        payload(["text", json.dumps(API_JSON)], group="mixed-2"),
    )
    parsed = parse(data)
    tables = rows_by_table(parsed)
    assert {name: [r["lake_row"] for r in rows] for name, rows in tables.items()} == {
        "cloudwatch_logs": [3],
        "vpc_flow_logs": [1],
        "cloudtrail_logs": [2],
        "apigateway_logs": [4],
    }
    assert tables["cloudwatch_logs"][0]["log_group"] == "mixed-2"


def test_control_messages_are_skipped_not_rejected():
    control = payload(["CWL CONTROL MESSAGE: Checking health of destination Firehose."], "", "CONTROL_MESSAGE")
    only = parse(firehose_object(control))
    assert only.skipped == "CloudWatch Logs control message"
    assert (only.total_records, only.rejects) == (0, [])
    mixed = parse(firehose_object(control, payload(["a", "b"])))
    assert mixed.skipped is None
    assert [r["message"] for r in mixed.rows.to_pylist()] == ["a", "b"]
    assert [r["lake_row"] for r in mixed.rows.to_pylist()] == [1, 2]


def test_concatenated_firehose_payloads_are_all_read():
    payloads = [payload([f"message {i}-{j}" for j in range(3)], group=f"g{i}") for i in range(5)]
    for data in (
        firehose_object(*payloads),  # gzip members back to back, inflated by ingest
        b"".join(json.dumps(p).encode() for p in payloads),  # no separator at all
        b"\n".join(json.dumps(p).encode() for p in payloads),  # JSON lines
        # Firehose compressing once more: ingest inflates its layer and the payloads' own gzip is left
        gzip.decompress(gzip.compress(b"".join(gzip.compress(json.dumps(p).encode()) for p in payloads))),
    ):
        assert cloudwatch.sniff(data[:65536], "firehose/2024/05/01/00/stream-1-2024-05-01-00-00-00-abc")
        rows = parse(data).rows.to_pylist()
        assert [r["message"] for r in rows] == [f"message {i}-{j}" for i in range(5) for j in range(3)]
        assert [r["lake_row"] for r in rows] == list(range(1, 16))


def test_a_damaged_payload_is_rejected_and_the_next_ones_are_read():
    good = json.dumps(payload(["after"])).encode()
    data = json.dumps(payload(["before"])).encode() + b'{"messageType":"DATA_MESSAGE","logEv' + b"\n" + good
    parsed = parse(data)
    assert [r["message"] for r in parsed.rows.to_pylist()] == ["before", "after"]
    [reject] = parsed.rejects
    assert reject.reason.startswith("invalid JSON")


def test_wrappers_carrying_payloads_and_other_records():
    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    flows = gzip.compress(json.dumps(payload([FLOW])).encode())
    lambda_event = json.dumps({"awslogs": {"data": b64(flows)}}).encode()
    assert [r["srcaddr"] for r in rows_by_table(parse(lambda_event))["vpc_flow_logs"]] == ["10.0.0.5"]
    firehose_event = {
        "invocationId": "i-1",
        "deliveryStreamArn": f"arn:aws:firehose:eu-west-1:{ACCOUNT}:deliverystream/amazon-apigateway-x",
        "region": "eu-west-1",
        "records": [
            {"recordId": "r1", "approximateArrivalTimestamp": T0, "data": b64(json.dumps(API_JSON).encode())},
            {"recordId": "r2", "approximateArrivalTimestamp": T0, "data": b64(flows)},
            {"recordId": "r3", "approximateArrivalTimestamp": T0, "data": "not base64!"},
        ],
    }
    parsed = parse(json.dumps(firehose_event).encode())
    tables = rows_by_table(parsed)
    assert [r["request_id"] for r in tables["apigateway_logs"]] == [API_JSON["requestId"]]
    assert tables["apigateway_logs"][0]["lake_region"] == "eu-west-1"
    assert [r["lake_row"] for r in tables["vpc_flow_logs"]] == [2]
    [reject] = parsed.rejects
    assert (reject.row, "Firehose record 3" in reject.reason) == (3, True)


# --- exports ----------------------------------------------------------------------------------------------------

EXPORT_KEY = "s3://bucket/exportedlogs/0b9c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d/2022/11/10/[$LATEST]26b6a45d/000000.gz"


def test_export_files_keep_stream_time_and_multi_line_messages():
    data = (
        b"2022-11-10T15:10:27.015Z START RequestId: 06e46194 Version: $LATEST\n"
        b"\n"
        b"2022-11-10T15:10:27.024Z REPORT RequestId: 06e46194\tDuration: 9.14 ms\t\n"
        b"XRAY TraceId: 1-636d1462\tSampled: true\t\n"
        b"\n"
        b"2022-11-10T15:10:28.000Z " + FLOW.encode() + b"\n"
    )
    assert registry.detect(data, EXPORT_KEY).NAME == "cloudwatch"
    parsed = parse(data, uri=EXPORT_KEY)
    assert parsed.rejects == []
    tables = rows_by_table(parsed)
    logs = tables["cloudwatch_logs"]
    assert [r["message"] for r in logs] == [
        "START RequestId: 06e46194 Version: $LATEST\n",
        "REPORT RequestId: 06e46194\tDuration: 9.14 ms\t\nXRAY TraceId: 1-636d1462\tSampled: true\t\n",
    ]
    assert [r["lake_row"] for r in logs] == [1, 3]  # the line each message starts on
    assert {r["log_stream"] for r in logs} == {"2022/11/10/[$LATEST]26b6a45d"}
    assert logs[0]["timestamp"] == dt.datetime(2022, 11, 10, 15, 10, 27, 15000, tzinfo=dt.UTC)
    assert [r["lake_row"] for r in tables["vpc_flow_logs"]] == [6]


def test_export_permission_check_object_is_skipped():
    key = "s3://bucket/exportedlogs/aws-logs-write-test"
    assert cloudwatch.sniff(b"Permission Check Successful", key)
    assert parse(b"Permission Check Successful", uri=key).skipped.startswith("CloudWatch Logs export permission")


def test_other_formats_are_not_taken_for_carriers():
    trail = read("awsdocs/cloudtrail-log-file-examples.json")
    assert not cloudwatch.sniff(trail[:65536], "x.json")
    elb = b"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 200 200 0 29"
    assert not cloudwatch.sniff(elb, "x.log")
    assert not cloudwatch.sniff(b"2024-05-01T00:00:00.000Z my-elb 192.168.131.39:2817 10.0.0.1:80 0 0 200", "x.log")
    assert not cloudwatch.sniff(FLOW.encode(), "x.log")
    assert not cloudwatch.sniff(b'{"requestId":"1","ip":"1.2.3.4","status":"200"}', "x.json")
    with pytest.raises(cloudwatch.FormatError):
        parse(b"hello world\n")


def test_not_a_carrier_json_is_rejected_with_its_keys():
    parsed = parse(b'{"Records": [{"eventVersion": "1.0"}]}')
    [reject] = parsed.rejects
    assert "not a CloudWatch Logs carrier" in reject.reason and "Records" in reject.reason


# --- never an exception -----------------------------------------------------------------------------------------

_SEED = [
    firehose_object(payload([FLOW, CUSTOM, json.dumps(TRAIL_EVENT)]), payload([json.dumps(API_JSON), API_CLF])),
    read("lambda/kinesisStreamCloudWatchLogsEvent.json"),
    read("lambda/kinesis-firehose-event.json"),
    read("lambda/cloudWatchLogEventWithPolicyLevel.json"),
    b"2022-11-10T15:10:27.015Z START\nmore\n2022-11-10T15:10:27.016Z " + FLOW.encode() + b"\n",
]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
_FLOW_VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["-", "ACCEPT", "NODATA", "eni-0a", "10.0.0.1", "2001:db8::1", "vpc-1", "x"]),
)
_MESSAGES = st.one_of(
    st.sampled_from([FLOW, NODATA, CUSTOM, json.dumps(TRAIL_EVENT), json.dumps(API_JSON), API_CLF]),
    st.lists(_FLOW_VALUES, min_size=3, max_size=16).map(" ".join),
    st.text(max_size=80),
    _JSON.map(json.dumps),
)


def _build_all(parsed: Parsed) -> None:
    for result in parsed.results():
        if result.part is not None:
            assert result.rows.num_rows == result.records


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(_SEED),
    edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.binary(min_size=0, max_size=4)), max_size=6),
    cut=st.integers(0, 1 << 16),
)
def test_mutated_payloads_never_raise(seed, edits, cut):
    data = bytearray(seed)
    for offset, replacement in edits:
        at = offset % max(len(data), 1)
        data[at : at + len(replacement)] = replacement
    data = bytes(data[: max(cut, len(data) // 2)])
    try:
        parsed = parse(data, vpc=CUSTOM_FIELDS)
    except cloudwatch.FormatError:
        return
    _build_all(parsed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(_MESSAGES, max_size=6),
    fields=st.dictionaries(
        st.sampled_from(["messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents"]),
        _JSON,
        max_size=3,
    ),
    events=st.lists(st.dictionaries(st.sampled_from(["id", "timestamp", "message"]), _JSON, max_size=3), max_size=3),
)
def test_payloads_with_odd_values_never_raise(messages, fields, events):
    document = payload(messages)
    document["logEvents"] += events
    document.update(fields)
    parsed = parse(json.dumps(document).encode())
    _build_all(parsed)
    wrapped = json.dumps({"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()}})
    _build_all(parse(wrapped.encode()))
