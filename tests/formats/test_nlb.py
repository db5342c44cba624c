"""Network Load Balancer TLS access logs: the AWS and Loki samples (22 and 21 fields), IPv6, junk."""

from __future__ import annotations

import datetime as dt

import pytest

from loglake.formats import nlb
from loglake.formats.base import ObjectInfo
from tests.formats.test_alb import accounted, both_ways, read

SAMPLES = ["awsdocs/nlb-tls.log", "loki/nlbaccesslog.log.gz"]
LINE = (
    "tls 2.0 2026-04-29T07:46:43 net/my-internet-nlb/c6e77e28c25b2234 g3d4b5e8bb8464cd"
    " 2001:db8:1d0c:29b7:c9b2:7b5a:e7d0:2380:55932 2001:db8:138:7c01:63c:b510:129f:89f1:443 35040 48 2150 1726 -"
    " arn:aws:acm:ap-south-1:111122223333:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - TLS_AES_128_GCM_SHA256"
    " tlsv13 x25519 example.com - - - 2026-04-29T07:46:08"
)


def parse(data: bytes | str, obj: ObjectInfo | None = None):
    return both_ways(nlb, data, obj)


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_field_by_field(name):
    parsed = parse(read(name))
    assert (parsed.records, parsed.rejects) == (2, [])
    assert parsed.rows.schema == nlb.SCHEMA
    assert len([n for n, _ in nlb.COLUMNS]) == 24
    first, second = parsed.rows.to_pylist()
    assert {k: first[k] for k in [n for n, _ in nlb.COLUMNS][:15]} == {
        "type": "tls",
        "version": "2.0",
        "time": "2018-12-20T02:59:40",
        "elb": "net/my-network-loadbalancer/c6e77e28c25b2234",
        "listener_id": "g3d4b5e8bb8464cd",
        "client_ip": "72.21.218.154",
        "client_port": 51341,
        "target_ip": "172.100.100.185",
        "target_port": 443,
        "tcp_connection_time_ms": 5.0,
        "tls_handshake_time_ms": 2.0,
        "received_bytes": 98,
        "sent_bytes": 246,
        "incoming_tls_alert": None,
        "cert_arn": "arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99",
    }
    assert (first["tls_cipher_suite"], first["tls_protocol_version"]) == ("ECDHE-RSA-AES128-SHA", "tlsv12")
    assert first["domain_name"] == "my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com"
    assert (first["alpn_fe_protocol"], first["alpn_client_preference_list"]) == (None, None)
    assert (second["alpn_fe_protocol"], second["alpn_be_protocol"]) == ("h2", "h2")
    assert second["alpn_client_preference_list"] == '"h2","http/1.1"'  # its own quotes, as Athena keeps them
    creation = [first["tls_connection_creation_time"], second["tls_connection_creation_time"]]
    assert creation == ([None, None] if name.startswith("awsdocs") else ["2018-12-20T02:59:30", "2020-04-01T08:51:20"])
    assert first["lake_time"] == dt.datetime(2018, 12, 20, 2, 59, 40, tzinfo=dt.UTC)  # no zone: UTC
    assert (first["lake_account"], first["lake_region"]) == ("671290407336", "us-east-2")
    assert first["lake_ips"] == ["72.21.218.154", "172.100.100.185"]


def test_ipv6_addresses_and_tls13():
    row = parse(LINE).rows.to_pylist()[0]
    assert (row["client_ip"], row["client_port"]) == ("2001:db8:1d0c:29b7:c9b2:7b5a:e7d0:2380", 55932)
    assert (row["target_ip"], row["target_port"]) == ("2001:db8:138:7c01:63c:b510:129f:89f1", 443)
    assert (row["tls_protocol_version"], row["tls_named_group"]) == ("tlsv13", "x25519")
    assert (row["lake_account"], row["lake_region"]) == ("111122223333", "ap-south-1")


def test_appended_fields_unmapped_and_bad_lines_rejected():
    data = "\n".join([LINE + " future 42", LINE.replace(" 35040 ", " 3s "), "tls 2.0", "", LINE]).encode()
    parsed = parse(data)
    assert parsed.rows.column("lake_row").to_pylist() == [1, 5]
    assert parsed.rows.column("unmapped").to_pylist() == ['["future","42"]', None]
    reasons = {r.row: r.reason for r in parsed.rejects}
    assert reasons == {
        2: "field 'connection_time' must be a number or '-', found '3s'",
        3: "expected at least 18 space-separated fields, found 2",
    }
    accounted(parsed, data)
