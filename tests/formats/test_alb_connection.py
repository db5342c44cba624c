"""ALB connection logs: the documented entries (mutual TLS success and failure), later fields, junk."""

from __future__ import annotations

import datetime as dt

from loglake.formats import alb_connection, registry
from loglake.formats.base import ObjectInfo
from tests.formats.test_alb import accounted, both_ways

# The example entries of the ELB user guide ("Connection logs for your Application Load Balancer"), one per line.
SUCCESS = (
    "2023-10-04T17:05:15.514108Z 203.0.113.1 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036"
    ' "CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US"'
    " NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Success"
    " TID_3180a73013c8ca4bac2f731159d4b0fe"
)
FAILED = (
    "2023-10-04T17:05:15.514108Z 203.0.113.1 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 -"
    ' "CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US"'
    " NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z FEF257372D5C14D4 Failed:ClientCertUntrusted"
    " TID_1c71a68d70587445ad5127ff8b2687d7"
)


def parse(data: bytes | str, obj: ObjectInfo | None = None):
    return both_ways(alb_connection, data, obj)


def test_documented_entries_field_by_field():
    parsed = parse(SUCCESS + "\n" + FAILED + "\n")
    assert (parsed.records, parsed.rejects) == (2, [])
    assert parsed.rows.schema == alb_connection.SCHEMA
    success, failed = parsed.rows.to_pylist()
    assert {k: success[k] for k, _ in alb_connection.COLUMNS} == {
        "time": "2023-10-04T17:05:15.514108Z",
        "client_ip": "203.0.113.1",
        "client_port": 36280,
        "listener_port": 443,
        "tls_protocol": "TLSv1.2",
        "tls_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
        "tls_handshake_latency": 4.036,
        "leaf_client_cert_subject": "CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US",
        "leaf_client_cert_validity": "NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z",
        "leaf_client_cert_serial_number": "FEF257372D5C14D4",
        "tls_verify_status": "Success",
        "conn_trace_id": "TID_3180a73013c8ca4bac2f731159d4b0fe",
    }
    assert (failed["tls_handshake_latency"], failed["tls_verify_status"]) == (None, "Failed:ClientCertUntrusted")
    assert success["lake_time"] == dt.datetime(2023, 10, 4, 17, 5, 15, 514108, tzinfo=dt.UTC)
    assert success["lake_ips"] == ["203.0.113.1"]


def test_todays_later_fields_go_to_unmapped_and_spaces_in_the_subject_are_kept():
    line = SUCCESS.replace("CN=amazondomains.com", "CN=Jane Doe") + " X25519 app/my-lb/50dc6c495c0c9188 10.0.1.5"
    row = parse(line).rows.to_pylist()[0]
    assert row["leaf_client_cert_subject"].startswith("CN=Jane Doe,O=")
    assert row["unmapped"] == '["X25519","app/my-lb/50dc6c495c0c9188","10.0.1.5"]'


def test_bad_lines_rejected_with_line_numbers():
    data = "\n".join([SUCCESS, SUCCESS.replace(" 36280 ", " port "), "2023-10-04T17:05:15Z x", FAILED]).encode()
    parsed = parse(data)
    assert parsed.rows.column("lake_row").to_pylist() == [1, 4]
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert reasons == {
        2: "field 'client_port' must be a number or '-', found 'port'",
        3: "expected at least 11 space-separated fields, found 2",
    }
    accounted(parsed, data)


def test_sniffed_as_connection_log_only():
    key = "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2023/10/04/conn_log.123456789012_x.log.gz"
    names = [m.NAME for m in registry.formats().values() if m.sniff(SUCCESS.encode(), key)]
    assert names == ["alb_connection"]
    assert registry.detect(FAILED.encode(), key, "elasticloadbalancing").NAME == "alb_connection"
