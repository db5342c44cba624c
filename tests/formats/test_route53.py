"""Route 53 Resolver query logs: the sample, the live Athena types, answers, bad lines, mutated lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loglake.formats import cloudtrail, registry, route53, vpcflow, waf
from loglake.formats.base import ObjectInfo

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = "awsdocs/route53-resolver-query-log.jsonl"
QUERY = {
    "version": "1.100000",
    "account_id": "111122223333",
    "region": "eu-west-1",
    "vpc_id": "vpc-0abc",
    "query_timestamp": "2024-05-01T10:00:00.177Z",
    "query_name": "shop.example.com.",
    "query_type": "A",
    "query_class": "IN",
    "rcode": "NOERROR",
    "answers": [
        {"Rdata": "shop.cdn.example.net.", "Type": "CNAME", "Class": "IN"},
        {"Rdata": "203.0.113.10", "Type": "A", "Class": "IN"},
        {"Rdata": "2001:db8::10", "Type": "AAAA", "Class": "IN"},
    ],
    "srcaddr": "10.0.1.25",
    "srcport": "40312",
    "transport": "UDP",
    "srcids": {"instance": "i-0abc", "resolver_endpoint": "rslvr-in-1"},
}


def parse(data: bytes, uri: str = "mem://x"):
    return route53.parse(data, ObjectInfo(uri))


def rows_of(*records) -> list[dict]:
    return parse(b"\n".join(orjson.dumps(r) for r in records) + b"\n").rows.to_pylist()


def test_the_documented_record():
    parsed = parse((FIXTURES / SAMPLE).read_bytes())
    assert (parsed.records, parsed.rejects) == (1, [])
    assert parsed.rows.schema == route53.SCHEMA
    row = parsed.rows.to_pylist()[0]
    assert (row["version"], row["account_id"], row["region"], row["vpc_id"]) == (
        "1.100000",
        "111122223333",
        "us-east-1",
        "vpc-7example",
    )
    assert (row["query_timestamp"], row["query_name"], row["query_type"], row["rcode"]) == (
        "2021-02-04T17:51:55Z",
        "15.3.4.32.in-addr.arpa.",
        "PTR",
        "NOERROR",
    )
    assert row["answers"] == [{"Rdata": "203.0.113.9", "Type": "PTR", "Class": "IN"}]
    assert (row["srcaddr"], row["srcport"], row["transport"]) == ("4.5.64.102", 56067, "UDP")
    assert row["srcids"] == {"instance": "i-0d15cd0d3example", "resolver_endpoint": None}
    assert (row["firewall_rule_action"], row["firewall_rule_group_id"], row["firewall_domain_list_id"]) == (
        "BLOCK",
        "rslvr-frg-01234567890abcdef",
        "rslvr-fdl-01234567890abcdef",
    )
    assert row["lake_time"].isoformat() == "2021-02-04T17:51:55+00:00"
    assert (row["lake_account"], row["lake_region"], row["lake_row"]) == ("111122223333", "us-east-1", 1)
    assert row["lake_ips"] == ["4.5.64.102"]  # a PTR answer holds a name, not an address
    assert row["unmapped"] is None


def test_sample_is_sniffed_as_route53_only():
    head = (FIXTURES / SAMPLE).read_bytes()
    assert route53.sniff(head, SAMPLE)
    assert not cloudtrail.sniff(head, SAMPLE)
    assert not vpcflow.sniff(head, SAMPLE)
    assert not waf.sniff(head, SAMPLE)
    assert registry.detect(head, SAMPLE) is route53
    assert not route53.sniff((FIXTURES / "awsdocs/cloudtrail-log-file-examples.json").read_bytes(), "x.json")


def test_addresses_of_the_answers_and_fractional_times():
    row = rows_of(QUERY)[0]
    assert row["lake_ips"] == ["10.0.1.25", "203.0.113.10", "2001:db8::10"]
    assert row["lake_time"].isoformat() == "2024-05-01T10:00:00.177000+00:00"
    assert row["srcport"] == 40312
    assert row["answers"][0] == {"Rdata": "shop.cdn.example.net.", "Type": "CNAME", "Class": "IN"}


def test_keys_the_ddl_does_not_name_and_values_it_cannot_hold_are_kept_in_unmapped():
    record = {
        **QUERY,
        "srcport": "not-a-port",
        "srcids": {"instance": "i-0abc", "resolver_network_interface": "rni-1"},
        "firewall_protection": "DGA",
    }
    row = rows_of(record)[0]
    assert row["srcport"] is None
    assert row["srcids"] == {"instance": "i-0abc", "resolver_endpoint": None}
    assert orjson.loads(row["unmapped"]) == {
        "srcport": "not-a-port",
        "srcids": {"resolver_network_interface": "rni-1"},
        "firewall_protection": "DGA",
    }


def test_odd_timestamps_fall_back_to_the_object_day():
    records = [{**QUERY, "query_timestamp": "2024-05-01T10:00:00"}, {**QUERY, "query_timestamp": "yesterday"}]
    info = ObjectInfo("s3://b/AWSLogs/111122223333/vpcdnsquerylogs/vpc-0abc/2024/05/02/x.gz", day=dt.date(2024, 5, 2))
    parsed = route53.parse(b"\n".join(orjson.dumps(r) for r in records), info)
    rows = parsed.rows.to_pylist()
    assert rows[0]["lake_time"].isoformat() == "2024-05-01T10:00:00+00:00"  # no zone: UTC, as the format says
    assert rows[1]["query_timestamp"] == "yesterday"
    assert rows[1]["lake_time"].isoformat() == "2024-05-02T00:00:00+00:00"


def test_good_lines_are_kept_and_junk_lines_rejected_with_their_line_numbers():
    good = orjson.dumps(QUERY).decode()
    lines = [good, "garbage", good, "", '"a string"', good, good[:40]]
    parsed = parse(("\n".join(lines)).encode())
    assert [r["lake_row"] for r in parsed.rows.to_pylist()] == [1, 3, 6]
    assert [(r.row, r.reason.split(":")[0]) for r in parsed.rejects] == [
        (2, "invalid JSON"),
        (5, "record is not a JSON object"),
        (7, "invalid JSON"),
    ]


REAL_LINES = [(FIXTURES / SAMPLE).read_bytes().strip(), orjson.dumps(QUERY)]


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


@pytest.mark.parametrize("answers", [[], None])
def test_queries_without_answers(answers):
    row = rows_of({**QUERY, "answers": answers, "rcode": "NXDOMAIN"})[0]
    assert row["answers"] == answers
    assert row["lake_ips"] == ["10.0.1.25"]
