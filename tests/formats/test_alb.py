"""ALB access logs: the AWS samples, Vector's documented examples, trailing fields, generated records, junk."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglake.formats import alb, registry, spaced
from loglake.formats.base import ObjectInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = {"awsdocs/alb.log": 7, "loki/albaccesslog.log.gz": 2}  # file -> records (no rejects)
FAMILY = {  # every sample of the spaced formats -> its format
    "awsdocs/alb.log": "alb",
    "loki/albaccesslog.log.gz": "alb",
    "awsdocs/elb-classic.log": "elb",
    "awsdocs/nlb-tls.log": "nlb",
    "loki/nlbaccesslog.log.gz": "nlb",
    "awsdocs/s3-server-access.log": "s3access",
}
LINE = (
    "http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000"
    ' 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - -'
    " arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
    ' "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "-" "-" "-"'
    ' "-" "-"'
)


def read(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def both_ways(module, data: bytes | str, obj: ObjectInfo | None = None):
    """Parse with the CSV reader (the fast path, forced) and line by line in Python: both must agree."""
    data = data.encode() if isinstance(data, str) else data
    obj = obj or ObjectInfo("mem://x")
    with mock.patch.object(spaced, "SMALL", 0):
        fast = module.parse(data, obj)
    with mock.patch.object(spaced, "SMALL", 1 << 62):
        slow = module.parse(data, obj)
    assert fast.rejects == slow.rejects
    assert (fast.part is None) == (slow.part is None)
    if fast.part is not None and not fast.part.data.equals(slow.part.data):
        assert fast.part.data.to_pylist() == slow.part.data.to_pylist()
    return fast


def parse(data: bytes | str, obj: ObjectInfo | None = None):
    return both_ways(alb, data, obj)


def rows_of(data: bytes | str) -> list[dict]:
    parsed = parse(data)
    assert parsed.rejects == []
    return parsed.rows.to_pylist()


def accounted(parsed, data: bytes) -> None:
    """Every line with content is a row or a reject (with a reason), once; blank lines are neither."""
    lines = data.split(b"\n")
    expected = {i + 1 for i, line in enumerate(lines) if line.rstrip(b"\r").rstrip(b" ")}
    rows = [] if parsed.part is None else parsed.rows.column("lake_row").to_pylist()
    rejected = [r.row for r in parsed.rejects]
    assert all(r.reason for r in parsed.rejects)
    assert len(rows) + len(rejected) == len(set(rows) | set(rejected))
    assert set(rows) | set(rejected) == expected


# ------------------------------------------------------------------------------------------------ samples


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_parses(name):
    parsed = parse(read(name))
    assert (parsed.records, parsed.rejects) == (SAMPLES[name], [])
    assert parsed.rows.schema == alb.SCHEMA
    assert len(alb.SCHEMA.names) == 34 + 1 + 8  # the Athena columns, unmapped, the lake columns
    assert parsed.rows.column("lake_row").to_pylist() == list(range(1, SAMPLES[name] + 1))


def test_aws_doc_samples_field_by_field():
    rows = rows_of(read("awsdocs/alb.log"))
    https = rows[1]
    assert {k: https[k] for k in list(https)[:17]} == {
        "type": "https",
        "time": "2018-07-02T22:23:00.186641Z",
        "elb": "app/my-loadbalancer/50dc6c495c0c9188",
        "client_ip": "192.168.131.39",
        "client_port": 2817,
        "target_ip": "10.0.0.1",
        "target_port": 80,
        "request_processing_time": 0.086,
        "target_processing_time": 0.048,
        "response_processing_time": 0.037,
        "elb_status_code": 200,
        "target_status_code": "200",
        "received_bytes": 0,
        "sent_bytes": 57,
        "request_verb": "GET",
        "request_url": "https://www.example.com:443/",
        "request_proto": "HTTP/1.1",
    }
    assert https["domain_name"] == "www.example.com"
    assert (
        https["chosen_cert_arn"]
        == "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    )
    assert https["matched_rule_priority"] == "1"
    assert https["actions_executed"] == "authenticate,forward"
    assert https["target_port_list"] == "10.0.0.1:80"
    assert https["ssl_cipher"] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert https["lake_time"] == dt.datetime(2018, 7, 2, 22, 23, 0, 186641, tzinfo=dt.UTC)
    assert https["lake_date"] == dt.date(2018, 7, 2)
    assert (https["lake_account"], https["lake_region"]) == ("123456789012", "us-east-2")
    assert https["lake_ips"] == ["192.168.131.39", "10.0.0.1"]
    assert rows[2]["redirect_url"] == "https://example.com:80/"  # h2 redirect
    assert rows[4]["lake_region"] == "us-west-2"  # the wss line's target group is in another region
    lambda_error = rows[6]
    assert (lambda_error["target_ip"], lambda_error["target_port"], lambda_error["target_status_code"]) == (
        None,
        None,
        None,
    )
    assert lambda_error["lambda_error_reason"] == "LambdaInvalidResponse"
    assert lambda_error["elb_status_code"] == 502
    assert lambda_error["lake_ips"] == ["192.168.131.39"]


def test_loki_sample_keeps_minus_one_timings_and_odd_client():
    rows = rows_of(read("loki/albaccesslog.log.gz"))
    first = rows[0]
    assert (first["request_processing_time"], first["target_processing_time"]) == (-1.0, -1.0)
    assert first["client_ip"] == "12.34.178.90.32"  # five parts: kept as written, but not an IP
    assert first["lake_ips"] == []
    assert first["target_group_arn"] is None
    assert first["user_agent"].startswith("Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    assert first["lake_account"] is None
    # no target group: the certificate ARN names the account and region
    assert (rows[1]["lake_account"], rows[1]["lake_region"]) == ("123456789012", "us-east-1")


def _vrl_examples() -> list[tuple[str, dict]]:
    doc = json.loads((FIXTURES / "vrl/parse_aws_alb_log.json").read_text())
    examples = []
    for example in doc["examples"]:
        literal = re.search(r'\(\s*("(?:[^"\\]|\\.)*")', example["source"]).group(1)
        examples.append((json.loads(literal), example["return"]))
    return examples


@pytest.mark.parametrize("line,expected", _vrl_examples())
def test_vector_documented_examples(line, expected):
    row = rows_of(line)[0]
    nulls = [None, []]
    same = {  # Vector's field name -> ours (Vector keeps client:port whole and elb_status_code as text)
        "type": "type",
        "timestamp": "time",
        "elb": "elb",
        "request_processing_time": "request_processing_time",
        "target_processing_time": "target_processing_time",
        "response_processing_time": "response_processing_time",
        "received_bytes": "received_bytes",
        "sent_bytes": "sent_bytes",
        "request_method": "request_verb",
        "request_url": "request_url",
        "request_protocol": "request_proto",
        "user_agent": "user_agent",
        "ssl_cipher": "ssl_cipher",
        "ssl_protocol": "ssl_protocol",
        "target_group_arn": "target_group_arn",
        "trace_id": "trace_id",
        "domain_name": "domain_name",
        "chosen_cert_arn": "chosen_cert_arn",
        "matched_rule_priority": "matched_rule_priority",
        "request_creation_time": "request_creation_time",
        "actions_executed": "actions_executed",
        "redirect_url": "redirect_url",
        "error_reason": "lambda_error_reason",
        "target_port_list": "target_port_list",
        "target_status_code": "target_status_code",
        "target_status_code_list": "target_status_code_list",
        "classification": "classification",
        "classification_reason": "classification_reason",
        "traceability_id": "conn_trace_id",
    }
    for theirs, ours in same.items():
        want = None if expected[theirs] in nulls else expected[theirs]
        assert row[ours] == want, theirs
    assert f"{row['client_ip']}:{row['client_port']}" == expected["client_host"]
    assert expected["target_host"] is None and row["target_ip"] is None
    assert str(row["elb_status_code"]) == expected["elb_status_code"]


def test_vector_trailing_fields_example_keeps_them_in_unmapped():
    line, expected = _vrl_examples()[1]
    row = rows_of(line)[0]
    assert row["conn_trace_id"] == expected["traceability_id"] == "TID_12345"
    assert json.loads(row["unmapped"]) == ["-", "-", "-"]


def test_new_trailing_field_is_kept_not_rejected():
    today = LINE + ' TID_3180a73013c8ca4bac2f731159d4b0fe "www.example.com" "/new" "TransformSucceeded" 10.0.0.7'
    rows = rows_of(today + "\n" + today + ' "one more field"\n')
    assert rows[0]["conn_trace_id"] == "TID_3180a73013c8ca4bac2f731159d4b0fe"
    assert json.loads(rows[0]["unmapped"]) == ["www.example.com", "/new", "TransformSucceeded", "10.0.0.7"]
    assert json.loads(rows[1]["unmapped"])[-1] == "one more field"
    assert rows[1]["lake_row"] == 2


def test_unmapped_fields_that_json_must_escape():
    rows = rows_of("\n".join([LINE + ' TID_1 "a\\b" "caf\u00e9" "tab\there"', LINE + " TID_2 plain - x"]))
    assert json.loads(rows[0]["unmapped"]) == ["a\\b", "caf\u00e9", "tab\there"]
    assert json.loads(rows[1]["unmapped"]) == ["plain", "-", "x"]


def test_mixed_layouts_in_one_file():
    """29 fields (before conn_trace_id), 30, and an old 20-field line: each read with what it has."""
    old = LINE.rsplit(" 0 2018-11-30T22:22:48", 1)[0]  # through chosen_cert_arn: the 2018 layout
    data = "\n".join([LINE, LINE + " TID_1", old, LINE + " TID_2 extra"]) + "\n"
    rows = rows_of(data)
    assert [r["conn_trace_id"] for r in rows] == [None, "TID_1", None, "TID_2"]
    assert [r["matched_rule_priority"] for r in rows] == ["0", "0", None, "0"]
    assert [r["unmapped"] for r in rows] == [None, None, None, '["extra"]']
    assert [r["lake_row"] for r in rows] == [1, 2, 3, 4]


def test_ipv6_client_and_target_split_at_the_last_colon():
    line = LINE.replace("192.168.131.39:2817 -", "2001:db8:4538:1:bcf4:5264:e01c:f215:50718 [2001:db8::10]:8080")
    row = rows_of(line)[0]
    assert (row["client_ip"], row["client_port"]) == ("2001:db8:4538:1:bcf4:5264:e01c:f215", 50718)
    assert (row["target_ip"], row["target_port"]) == ("2001:db8::10", 8080)
    assert row["lake_ips"] == ["2001:db8:4538:1:bcf4:5264:e01c:f215", "2001:db8::10"]


def test_many_lines_with_few_targets():
    """Long files split each distinct target once; a target without a port sends the column the slow way."""
    targets = ["10.0.0.1:80", "[2001:db8::10]:8080", "-"]
    lines = [LINE.replace("2817 - ", f"2817 {targets[i % 3]} ") for i in range(4500)]
    rows = rows_of("\n".join(lines))
    assert [(r["target_ip"], r["target_port"]) for r in rows[:3]] == [
        ("10.0.0.1", 80),
        ("2001:db8::10", 8080),
        (None, None),
    ]
    assert len(rows) == 4500
    lines[7] = LINE.replace("2817 - ", "2817 10.0.0.9 ")
    rows = rows_of("\n".join(lines))
    assert [(r["target_ip"], r["target_port"]) for r in rows[6:9]] == [
        ("10.0.0.1", 80),
        ("10.0.0.9", None),
        (None, None),
    ]
    assert (rows[4]["target_ip"], rows[4]["target_port"]) == ("2001:db8::10", 8080)


def test_request_line_with_spaces_and_odd_requests():
    lines = [
        LINE.replace("GET http://www.example.com:80/ HTTP/1.1", "GET http://www.example.com:80/a b c HTTP/1.1"),
        LINE.replace("GET http://www.example.com:80/ HTTP/1.1", "- http://www.example.com:80- -"),
        LINE.replace("GET http://www.example.com:80/ HTTP/1.1", "garbage"),
        LINE,
    ]
    rows = rows_of("\n".join(lines))
    parts = [(r["request_verb"], r["request_url"], r["request_proto"]) for r in rows]
    assert parts == [
        ("GET", "http://www.example.com:80/a b c", "HTTP/1.1"),
        (None, "http://www.example.com:80-", None),
        (None, "garbage", None),
        ("GET", "http://www.example.com:80/", "HTTP/1.1"),
    ]


def test_key_layout_gives_account_and_region_when_the_record_has_none():
    line = LINE.replace(
        "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067", "-"
    )
    obj = ObjectInfo("s3://b/AWSLogs/111122223333/elasticloadbalancing/eu-west-1/x.log", "111122223333", "eu-west-1")
    row = parse(line, obj).rows.to_pylist()[0]
    assert (row["lake_account"], row["lake_region"]) == ("111122223333", "eu-west-1")


def test_view_name_of_the_athena_docs():
    assert alb.VIEWS == {"alb_logs": "SELECT * FROM alb_access_logs"}


# ------------------------------------------------------------------------------------------------ junk


def test_good_lines_kept_and_each_bad_line_rejected_with_its_line_number():
    lines = [
        LINE,  # 1
        "",  # 2 blank
        "not a log line",  # 3
        LINE.replace(" 200 200 34 ", " 2x0 200 34 "),  # 4 status not a number
        LINE,  # 5
        LINE.replace("2018-11-30T22:23:00.186641Z", "yesterday"),  # 6 time
        LINE.replace('"GET http://www.example.com:80/ HTTP/1.1" "curl', '"GET http://x HTTP/1.1 "curl'),  # 7 quote
        LINE,  # 8
        "\x00\x01\x02 binary \xff junk",  # 9
        LINE[:80],  # 10 cut short
        LINE.replace("192.168.131.39:2817", "-"),  # 11 no client
        LINE,  # 12
    ]
    data = "\r\n".join(lines).encode("utf-8", errors="surrogateescape")
    parsed = parse(data)
    assert parsed.rows.column("lake_row").to_pylist() == [1, 5, 8, 12]
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert sorted(reasons) == [3, 4, 6, 7, 9, 10, 11]
    assert reasons[3] == "expected at least 20 space-separated fields, found 4"
    assert reasons[4] == "field 'elb_status_code' must be a number or '-', found '2x0'"
    assert reasons[6] == "field 'time' is not an ISO 8601 time: 'yesterday'"
    assert reasons[11] == "field 'client:port' is missing"
    raw = {r.row: r.raw for r in parsed.rejects}
    assert raw[4] == lines[3]
    assert "\r" not in raw[4]
    accounted(parsed, data)


def test_unclosed_quote_does_not_swallow_the_following_lines():
    cut = LINE.split('"curl', maxsplit=1)[0] + '"curl/7.46.0'  # the user agent's quote never closes
    data = "\n".join([LINE, cut, LINE, LINE, cut + " more", LINE]).encode()
    parsed = parse(data)
    assert parsed.rows.column("lake_row").to_pylist() == [1, 3, 4, 6]
    assert [r.row for r in parsed.rejects] == [2, 5]


def test_file_cut_short_inside_a_quote_and_numbers_out_of_range():
    cut = LINE.split('"Root=1-', maxsplit=1)[0] + '"Root=1-5833'  # the object ends inside a quoted field
    too_big = LINE.replace(" 200 200 34 366 ", " 200 200 34 99999999999999999999 ")
    parsed = parse("\n".join([LINE, too_big, LINE, cut]))
    assert parsed.rows.column("lake_row").to_pylist() == [1, 3]
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert reasons == {
        2: "field 'sent_bytes' must be a number or '-', found '99999999999999999999'",
        4: "expected at least 20 space-separated fields, found 18",
    }


def test_bare_carriage_returns_and_invalid_utf8_are_read_line_by_line():
    data = (LINE + "\n" + LINE.replace("curl/7.46.0", "curl\r7\xff") + "\n" + LINE).encode("latin-1")
    parsed = parse(data)
    assert parsed.records == 3
    assert parsed.rows.column("user_agent").to_pylist()[1] == "curl\r7\\xff"


def test_empty_and_blank_objects():
    assert parse(b"").part is None
    assert parse(b"\n\n  \n").rejects == []


def _mutations():
    base = read("awsdocs/alb.log") + read("loki/albaccesslog.log.gz")
    positions = st.integers(0, len(base) - 1)
    byte = st.sampled_from([b'"', b" ", b"\n", b"\r", b"-", b":", b"[", b"]", b"\xff", b"\x00", b"a", b"9", b""])
    edit = st.tuples(positions, st.integers(0, 3), byte)
    return base, st.lists(edit, min_size=1, max_size=12)


BASE, EDITS = _mutations()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EDITS)
def test_random_byte_mutations_never_raise(edits):
    data = bytearray(BASE)
    for where, cut, byte in edits:
        at = min(where, len(data))
        data[at : at + cut] = byte
    data = bytes(data)
    parsed = parse(data)
    if parsed.part is not None:
        parsed.rows  # noqa: B018 (to_arrow must work on whatever was kept)
    accounted(parsed, data.decode("utf-8", errors="backslashreplace").encode())


# ------------------------------------------------------------------------------------------------ generated

_TOKEN = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/=+-,"), min_size=1)
_WORD = _TOKEN.filter(lambda s: s != "-" and not s.startswith(('"', "[")))
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters='"\n\r'), min_size=1).filter(
    lambda s: s != "-"
)
_URL = _TEXT.filter(lambda s: s == s.strip(" ") and s not in ("-", ""))
_IP = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)
_TIME = st.datetimes(dt.datetime(2016, 1, 1), dt.datetime(2030, 1, 1)).map(lambda t: t.replace(tzinfo=dt.UTC))
_SECONDS = st.one_of(st.just(-1.0), st.integers(0, 10**6).map(lambda n: n / 1000))


@st.composite
def alb_records(draw) -> dict:
    opt = lambda s: draw(st.one_of(st.none(), s))  # noqa: E731
    target = opt(st.tuples(_IP, st.integers(0, 65535)))
    return {
        "type": draw(st.sampled_from(["http", "https", "h2", "grpcs", "ws", "wss"])),
        "time": draw(_TIME),
        "elb": "app/" + draw(_WORD) + "/50dc6c495c0c9188",
        "client": (draw(_IP), draw(st.integers(0, 65535))),
        "target": target,
        "request_processing_time": draw(_SECONDS),
        "target_processing_time": draw(_SECONDS),
        "response_processing_time": draw(_SECONDS),
        "elb_status_code": opt(st.integers(100, 599)),
        "target_status_code": opt(st.integers(100, 599).map(str)),
        "received_bytes": draw(st.integers(0, 2**40)),
        "sent_bytes": draw(st.integers(0, 2**40)),
        "request": (
            draw(st.sampled_from(["GET", "POST", "PUT"])),
            draw(_URL),
            draw(st.sampled_from(["HTTP/1.1", "HTTP/2.0"])),
        ),
        "user_agent": opt(_TEXT),
        "ssl_cipher": opt(_WORD),
        "ssl_protocol": opt(_WORD),
        "target_group_arn": opt(
            st.tuples(
                st.sampled_from(["us-east-1", "eu-west-3", "ap-southeast-2"]),
                st.from_regex(r"[0-9]{12}", fullmatch=True),
            )
        ),
        **{name: opt(_TEXT) for name in ("trace_id", "domain_name", "chosen_cert_arn")},
        "matched_rule_priority": opt(st.integers(-1, 50000).map(str)),
        "request_creation_time": opt(_TIME.map(_iso)),
        **{name: opt(_TEXT) for name in ("actions_executed", "redirect_url", "lambda_error_reason")},
        **{name: opt(_TEXT) for name in ("target_port_list", "target_status_code_list")},
        **{name: opt(_TEXT) for name in ("classification", "classification_reason")},
        "conn_trace_id": opt(_WORD),
        "extra": draw(st.lists(_WORD, max_size=3)),
    }


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def alb_line(r: dict) -> str:
    dash = lambda v: "-" if v is None else str(v)  # noqa: E731
    quote = lambda v: f'"{dash(v)}"'  # noqa: E731
    arn = r["target_group_arn"]
    fields = [
        r["type"],
        _iso(r["time"]),
        r["elb"],
        f"{r['client'][0]}:{r['client'][1]}",
        "-" if r["target"] is None else f"{r['target'][0]}:{r['target'][1]}",
        *(
            f"{r[k]:.3f}" if r[k] != -1 else "-1"
            for k in ("request_processing_time", "target_processing_time", "response_processing_time")
        ),
        dash(r["elb_status_code"]),
        dash(r["target_status_code"]),
        str(r["received_bytes"]),
        str(r["sent_bytes"]),
        quote(" ".join(r["request"])),
        quote(r["user_agent"]),
        dash(r["ssl_cipher"]),
        dash(r["ssl_protocol"]),
        "-" if arn is None else f"arn:aws:elasticloadbalancing:{arn[0]}:{arn[1]}:targetgroup/t/73e2d6bc24d8a067",
        quote(r["trace_id"]),
        quote(r["domain_name"]),
        quote(r["chosen_cert_arn"]),
        dash(r["matched_rule_priority"]),
        dash(r["request_creation_time"]),
        *(quote(r[k]) for k in ("actions_executed", "redirect_url", "lambda_error_reason", "target_port_list")),
        *(quote(r[k]) for k in ("target_status_code_list", "classification", "classification_reason")),
        dash(r["conn_trace_id"]),
        *r["extra"],
    ]
    return " ".join(fields)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(alb_records(), min_size=1, max_size=6))
def test_generated_records_parse_back_to_their_values(records):
    data = "\n".join(alb_line(r) for r in records) + "\n"
    parsed = parse(data)
    assert parsed.rejects == []
    for i, (r, row) in enumerate(zip(records, parsed.rows.to_pylist(), strict=True)):
        assert row["lake_row"] == i + 1
        assert (row["type"], row["time"], row["elb"]) == (r["type"], _iso(r["time"]), r["elb"])
        assert row["lake_time"] == r["time"]
        assert (row["client_ip"], row["client_port"]) == r["client"]
        assert (row["target_ip"], row["target_port"]) == (r["target"] or (None, None))
        for key in ("request_processing_time", "target_processing_time", "response_processing_time"):
            assert row[key] == pytest.approx(r[key])
        for key in ("elb_status_code", "target_status_code", "received_bytes", "sent_bytes", "user_agent"):
            assert row[key] == r[key], key
        assert (row["request_verb"], row["request_url"], row["request_proto"]) == r["request"]
        for key in ("ssl_cipher", "ssl_protocol", "trace_id", "domain_name", "chosen_cert_arn"):
            assert row[key] == r[key], key
        for key in ("matched_rule_priority", "request_creation_time", "actions_executed", "redirect_url"):
            assert row[key] == r[key], key
        for key in ("lambda_error_reason", "target_port_list", "target_status_code_list"):
            assert row[key] == r[key], key
        for key in ("classification", "classification_reason", "conn_trace_id"):
            assert row[key] == r[key], key
        assert row["unmapped"] == (orjson.dumps(r["extra"]).decode() if r["extra"] else None)
        arn = r["target_group_arn"]
        assert (row["lake_region"], row["lake_account"]) == (arn or (None, None))
        ips = [ip for ip in (r["client"][0], (r["target"] or [None])[0]) if ip]
        assert row["lake_ips"] == list(dict.fromkeys(ips))


# ------------------------------------------------------------------------------------------------ sniffing


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_each_sample_is_sniffed_as_its_own_format_only(name):
    head = read(name)[:4096]
    assert [m.NAME for m in registry.formats().values() if m.sniff(head, name)] == [FAMILY[name]]
    key = f"AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/01/{Path(name).name}"
    service = None if FAMILY[name] == "s3access" else "elasticloadbalancing"
    assert registry.detect(head, key, service) is registry.get(FAMILY[name])


def test_other_content_is_not_sniffed_as_alb():
    assert not alb.sniff(b'{"Records": []}', "x.json")
    assert not alb.sniff(b"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249", "x")
    assert not alb.sniff(read("awsdocs/nlb-tls.log"), "x")
    assert not alb.sniff(read("awsdocs/elb-classic.log"), "x")
