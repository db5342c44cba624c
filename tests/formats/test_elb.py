"""Classic Load Balancer access logs: the AWS samples (HTTP, HTTPS, TCP, SSL listeners), splits, junk."""

from __future__ import annotations

import datetime as dt

from loglake.formats import elb
from loglake.formats.base import ObjectInfo
from tests.formats.test_alb import accounted, both_ways, read

LINE = (
    "2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057"
    ' 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -'
)


def parse(data: bytes | str, obj: ObjectInfo | None = None):
    return both_ways(elb, data, obj)


def test_aws_samples_field_by_field():
    parsed = parse(read("awsdocs/elb-classic.log"))
    assert (parsed.records, parsed.rejects) == (4, [])
    assert parsed.rows.schema == elb.SCHEMA
    http, https, tcp, ssl = parsed.rows.to_pylist()
    assert {k: http[k] for k in [n for n, _ in elb.COLUMNS]} == {
        "timestamp": "2015-05-13T23:39:43.945958Z",
        "elb_name": "my-loadbalancer",
        "request_ip": "192.168.131.39",
        "request_port": 2817,
        "backend_ip": "10.0.0.1",
        "backend_port": 80,
        "request_processing_time": 0.000073,
        "backend_processing_time": 0.001048,
        "client_response_time": 0.000057,
        "elb_response_code": "200",
        "backend_response_code": "200",
        "received_bytes": 0,
        "sent_bytes": 29,
        "request_verb": "GET",
        "url": "http://www.example.com:80/",
        "protocol": "HTTP/1.1",
        "user_agent": "curl/7.38.0",  # without the quotes Athena's regex keeps
        "ssl_cipher": None,
        "ssl_protocol": None,
    }
    assert (https["ssl_cipher"], https["ssl_protocol"]) == ("DHE-RSA-AES128-SHA", "TLSv1.2")
    for row in (tcp, ssl):  # TCP/SSL listeners: no HTTP status codes, request "- - - ", no user agent
        assert (row["elb_response_code"], row["backend_response_code"]) == (None, None)
        assert (row["request_verb"], row["url"], row["protocol"], row["user_agent"]) == (None, None, None, None)
    assert ssl["ssl_cipher"] == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert tcp["sent_bytes"] == 305
    assert http["lake_time"] == dt.datetime(2015, 5, 13, 23, 39, 43, 945958, tzinfo=dt.UTC)
    assert http["lake_ips"] == ["192.168.131.39", "10.0.0.1"]
    assert [r["lake_row"] for r in (http, https, tcp, ssl)] == [1, 2, 3, 4]


def test_account_and_region_come_from_the_key_layout():
    obj = ObjectInfo("s3://b/AWSLogs/111122223333/elasticloadbalancing/eu-west-1/x.log", "111122223333", "eu-west-1")
    row = parse(LINE, obj).rows.to_pylist()[0]
    assert (row["lake_account"], row["lake_region"]) == ("111122223333", "eu-west-1")


def test_request_not_dispatched_and_ipv6_client():
    line = LINE.replace("192.168.131.39:2817 10.0.0.1:80 0.000073", "2001:db8:5883:b5f3:aaaa:bbbb:cccc:64ec:53016 - -1")
    row = parse(line).rows.to_pylist()[0]
    assert (row["request_ip"], row["request_port"]) == ("2001:db8:5883:b5f3:aaaa:bbbb:cccc:64ec", 53016)
    assert (row["backend_ip"], row["backend_port"], row["request_processing_time"]) == (None, None, -1.0)


def test_bad_lines_are_rejected_and_an_appended_field_kept():
    lines = [LINE, LINE.replace("0.000073", "fast"), "garbage", LINE + " new-field", LINE.replace(" 0 29 ", " 0 ")]
    data = "\n".join(lines).encode()
    parsed = parse(data)
    assert parsed.rows.column("lake_row").to_pylist() == [1, 4]
    assert parsed.rows.column("unmapped").to_pylist() == [None, '["new-field"]']
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert reasons[2] == "field 'request_processing_time' must be a number or '-', found 'fast'"
    assert reasons[3] == "expected at least 12 space-separated fields, found 1"
    assert "received_bytes" in reasons[5] or "sent_bytes" in reasons[5]
    accounted(parsed, data)


def test_other_formats_are_not_sniffed_as_classic():
    assert elb.sniff(LINE.encode(), "x")
    assert not elb.sniff(read("awsdocs/alb.log"), "x")
    conn = b'2023-10-04T17:05:15.514108Z 203.0.113.1 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4 "CN=a" - - Success'
    assert not elb.sniff(conn, "x")
