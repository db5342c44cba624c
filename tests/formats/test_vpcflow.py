"""VPC Flow Logs parsing: default and custom formats, repeated headers, NULLs, IPv6, bad lines."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from loglake.formats import vpcflow
from loglake.formats.base import ObjectInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = {  # file -> (records, rejects): the rejects are the doc artefacts described in fixtures/README.md
    "awsdocs/vpcflow-v2-default-format.log": (7, 0),
    "awsdocs/vpcflow-v3-custom-nat-gateway.log": (6, 0),
    "awsdocs/vpcflow-v3-custom-tcpflags.log": (7, 1),
    "awsdocs/vpcflow-v3-custom-transit-gateway.log": (4, 1),
    "awsdocs/vpcflow-v5-custom-aws-service.log": (2, 0),
    "loki/vpcflowlog.log.gz": (3, 0),
}
HEADER = " ".join(vpcflow.DEFAULT_FORMAT).encode() + b"\n"


def read(name: str) -> bytes:
    data = (FIXTURES / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def parse(data: bytes, uri: str = "mem://x"):
    return vpcflow.parse(data, ObjectInfo(uri))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_parses(name):
    data = read(name)
    assert vpcflow.sniff(data[:4096], name)
    parsed = parse(data)
    assert (parsed.records, len(parsed.rejects)) == SAMPLES[name]
    assert parsed.rows.schema == vpcflow.SCHEMA


def test_default_format_without_header_and_nodata_rows():
    rows = parse(read("awsdocs/vpcflow-v2-default-format.log")).rows.to_pylist()
    first, nodata = rows[0], rows[2]
    assert (first["srcaddr"], first["dstport"], first["action"], first["log_status"]) == (
        "172.31.16.139",
        22,
        "ACCEPT",
        "OK",
    )
    assert first["lake_time"].isoformat() == "2014-12-14T04:06:50+00:00"
    assert nodata["log_status"] == "NODATA"
    assert (nodata["srcaddr"], nodata["srcport"], nodata["packets"], nodata["action"]) == (None, None, None, None)
    assert nodata["lake_ips"] == []
    assert [r["lake_row"] for r in rows] == list(range(1, 8))


def test_custom_order_comes_from_the_header():
    rows = parse(read("awsdocs/vpcflow-v5-custom-aws-service.log")).rows.to_pylist()
    assert rows[0]["pkt_src_aws_service"] == "S3"
    assert rows[1]["traffic_path"] == 8
    assert rows[1]["flow_direction"] == "egress"
    assert rows[0]["lake_region"] == "ap-southeast-2"
    assert rows[0]["lake_row"] == 2  # the header is line 1


def test_repeated_headers_start_new_segments_with_their_own_order():
    other = b"srcaddr dstaddr action\n10.0.0.1 10.0.0.2 REJECT\n"
    line = b"2 111122223333 eni-0a 10.0.0.5 10.0.0.6 443 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    data = HEADER + line + other + HEADER + line
    rows = parse(data).rows.to_pylist()
    assert [(r["srcaddr"], r["action"], r["lake_row"]) for r in rows] == [
        ("10.0.0.5", "ACCEPT", 2),
        ("10.0.0.1", "REJECT", 4),
        ("10.0.0.5", "ACCEPT", 6),
    ]


def test_ipv6_flows():
    line = b"2 111122223333 eni-0a 2001:db8::10 2001:db8:1::20 443 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    row = parse(HEADER + line).rows.to_pylist()[0]
    assert row["srcaddr"] == "2001:db8::10"
    assert row["lake_ips"] == ["2001:db8::10", "2001:db8:1::20"]


def test_bad_lines_are_rejected_with_line_number_and_reason():
    good = b"2 111122223333 eni-0a 10.0.0.5 10.0.0.6 443 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    short = b"2 111122223333 eni-0a 10.0.0.5\n"
    not_number = b"2 111122223333 eni-0a 10.0.0.5 10.0.0.6 https 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    parsed = parse(HEADER + good + short + b"\n" + not_number + good)
    assert parsed.records == 2
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [2, 6]
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert reasons[3] == "expected 14 space-separated fields, found 4"
    assert reasons[5] == "field 'srcport' must be a number or '-', found 'https'"
    assert [r.raw for r in parsed.rejects if r.row == 5] == [not_number.decode().strip()]


def test_unknown_header_field_is_kept_in_unmapped():
    data = b"version srcaddr future-field action\n2 10.0.0.1 hello ACCEPT\n"
    row = parse(data).rows.to_pylist()[0]
    assert row["unmapped"] == '{"future-field":"hello"}'
    assert row["action"] == "ACCEPT"


def test_other_content_is_not_sniffed_as_flow_logs():
    assert not vpcflow.sniff(b'{"Records": []}', "x.json")
    assert not vpcflow.sniff(b"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188", "x.log")


def test_numbers_too_large_for_their_column_are_rejected_not_fatal():
    good = b"2 111122223333 eni-0a 10.0.0.5 10.0.0.6 443 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    huge_port = b"2 111122223333 eni-0a 10.0.0.5 10.0.0.6 99999999999 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    huge_bytes = b"2 111122223333 eni-0a 10.0.0.5 10.0.0.6 443 51000 6 10 99999999999999999999 1 2 ACCEPT OK\n"
    parsed = parse(HEADER + good + huge_port + huge_bytes)
    assert parsed.records == 1
    assert parsed.rows.num_rows == 1
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert reasons[3] == "field 'srcport' is out of range for int32: 99999999999"
    assert reasons[4].startswith("field 'bytes'")


def test_lines_that_are_not_utf8_are_rejected_and_the_rest_read():
    good = b"2 111122223333 eni-0a 10.0.0.5 10.0.0.6 443 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    broken = b"2 111122223333 eni-\xff\xfe 10.0.0.5 10.0.0.6 443 51000 6 10 840 1700000000 1700000060 ACCEPT OK\n"
    parsed = parse(HEADER + good + broken + good)
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [2, 4]
    assert [(r.row, r.reason) for r in parsed.rejects] == [(3, "line is not valid UTF-8")]
