"""Threat intel over a real ingested lake: feeds (plain list, CSV, STIX 2.1) in, rule matches by IP, CIDR, domain."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import orjson
import pytest

from loglake.cli import main
from loglake.detect import engine as detect_engine
from loglake.detect import intel
from loglake.detect.connection import memory_connection, open_connection
from loglake.detect.rulebook import load_rulebook
from loglake.query import engine

ACCOUNT = "111122223333"
DAY = "2026-03-02"
RULE = load_rulebook(None).get("intel.indicator_match")
NOW = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)

PLAIN = """\
# Example C2 list, one indicator a line
203.0.113.50   # seen scanning our ALB
0.0.0.0 tracker.example
this line is not an indicator
2001:DB8:0:0::beef
"""
CSV = """\
indicator,type,description,source
198.51.100.0/24,cidr,bulletproof hosting range,acme-intel
192.0.2.99,ip,never seen in our logs,acme-intel
not_an_ip,ip,junk row,acme-intel
"""


def stix_bundle() -> dict:
    identity = "identity--b2f7e1a4-2f0e-4e3c-9a4e-5d4c3b2a1f00"

    def indicator(n: int, name: str, pattern: str, **extra) -> dict:
        return {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--0f5e8a5c-1c9b-4b7a-8d6e-00000000000{n}",
            "created": "2026-02-01T00:00:00.000Z",
            "modified": "2026-02-01T00:00:00.000Z",
            "created_by_ref": identity,
            "name": name,
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "pattern_version": "2.1",
            "valid_from": "2026-02-01T00:00:00Z",
            **extra,
        }

    return {
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {
                "type": "identity",
                "spec_version": "2.1",
                "id": identity,
                "created": "2026-01-01T00:00:00.000Z",
                "modified": "2026-01-01T00:00:00.000Z",
                "name": "Example CERT",
                "identity_class": "organization",
            },
            indicator(1, "Phishing kit domain", "[domain-name:value = 'evil.example']"),
            indicator(2, "Payload URL", "[url:value = 'http://malware.test/stage2.bin']"),
            indicator(3, "VPN exit range", "[ipv6-addr:value ISSUBSET '2001:db8:bad::/48']"),
            indicator(
                4,
                "C2 over TLS",
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.7']",
            ),
            indicator(5, "Retired sinkhole", "[ipv4-addr:value = '192.0.2.200']", valid_until="2026-02-15T00:00:00Z"),
            indicator(6, "Withdrawn", "[domain-name:value = 'notevil.example']", revoked=True),
            indicator(7, "Bad pattern", "[ipv4-addr:value = "),
            indicator(
                8,
                "A file hash",
                "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            ),
            {"type": "indicator", "id": "indicator--yara", "pattern_type": "yara", "pattern": "rule x {}"},
            {"type": "malware", "id": "malware--1", "name": "not an indicator", "is_family": True},
        ],
    }


def cloudtrail(minute: int, ip: str, name: str = "ListBuckets") -> dict:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice", "accountId": ACCOUNT},
        "eventTime": f"{DAY}T10:{minute:02d}:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "eventID": f"evt-{minute}",
        "recipientAccountId": ACCOUNT,
    }


def dns(minute: int, name: str, answer: str = "192.0.2.10") -> dict:
    return {
        "version": "1.100000",
        "account_id": ACCOUNT,
        "region": "us-east-1",
        "vpc_id": "vpc-0abc",
        "query_timestamp": f"{DAY}T10:{minute:02d}:00Z",
        "query_name": name,
        "query_type": "A",
        "query_class": "IN",
        "rcode": "NOERROR",
        "answers": [{"Rdata": answer, "Type": "A", "Class": "IN"}],
        "srcaddr": "10.0.1.15",
        "srcport": "53211",
        "transport": "UDP",
        "srcids": {"instance": "i-0abc"},
    }


def write_logs(root: Path) -> None:
    trail = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "03" / "02"
    trail.mkdir(parents=True)
    events = [
        cloudtrail(1, "203.0.113.50"),  # ip indicator (plain list)
        cloudtrail(2, "2001:db8:bad:1::9"),  # in the STIX IPv6 range
        cloudtrail(3, "198.51.100.23"),  # in the CSV range
        cloudtrail(4, "198.51.101.23"),  # just outside it
        cloudtrail(5, "2001:db8::beef"),  # ip indicator written uncompressed in the list
    ]
    (trail / f"{ACCOUNT}_CloudTrail_us-east-1_20260302T1030Z_b2.json").write_bytes(orjson.dumps({"Records": events}))
    start = int(dt.datetime.fromisoformat(f"{DAY}T10:00:00+00:00").timestamp())
    flows = [
        f"2 {ACCOUNT} eni-0a1 10.0.1.15 198.51.100.77 43210 443 6 40 52000 {start} {start + 60} ACCEPT OK",
        f"2 {ACCOUNT} eni-0a1 10.0.1.15 192.0.2.200 43211 443 6 4 400 {start} {start + 60} ACCEPT OK",  # expired
        f"2 {ACCOUNT} eni-0a1 10.0.1.15 192.0.2.7 43212 443 6 4 400 {start} {start + 60} ACCEPT OK",
        f"2 {ACCOUNT} eni-0a1 10.0.1.15 192.0.2.8 43213 443 6 4 400 {start} {start + 60} ACCEPT OK",
    ]
    (root / "flows.log").write_text("\n".join(flows) + "\n")
    queries = [
        dns(10, "c2.Evil.example."),  # subdomain of a domain indicator
        dns(11, "login.notevil.example."),  # revoked, and not a subdomain of evil.example either
        dns(12, "malware.test."),  # the host of a URL indicator
        dns(13, "tracker.example"),  # no trailing dot; from the hosts-file line
        dns(14, "www.example.com", answer="203.0.113.50"),  # an answer that is an ip indicator
    ]
    (root / "resolver.log").write_bytes(b"\n".join(orjson.dumps(q) for q in queries) + b"\n")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("intel")
    write_logs(root / "logs")
    assert main(["ingest", str(root / "logs"), "--lake", str(root / "lake"), "--workers", "1"]) == 0
    feeds = root / "feeds"
    feeds.mkdir()
    (feeds / "c2.txt").write_text(PLAIN)
    (feeds / "acme.csv").write_text(CSV)
    (feeds / "cert.json").write_bytes(orjson.dumps(stix_bundle()))
    for feed in ("c2.txt", "acme.csv", "cert.json"):
        intel.add_feed(root / "lake", feeds / feed, now=NOW)
    return root / "lake"


@pytest.fixture(scope="module")
def hits(lake: Path) -> list[detect_engine.Hit]:
    return detect_engine.evaluate(open_connection(lake), RULE, None)


def matched(hits: list[detect_engine.Hit]) -> set[tuple[str, str, str]]:
    return {(ref["lake_table"], h.entities["ip"], h.entities["resource"]) for h in hits for ref in h.refs}


def test_feeds_are_stored_normalised_with_their_sources(lake: Path) -> None:
    rows = engine.connect(lake).execute("SELECT indicator, kind, source FROM intel_indicators ORDER BY 1").fetchall()
    assert rows == [
        ("192.0.2.7", "ip", "Example CERT"),
        ("192.0.2.99", "ip", "acme-intel"),
        ("198.51.100.0/24", "cidr", "acme-intel"),
        ("2001:db8::beef", "ip", "c2.txt"),
        ("2001:db8:bad::/48", "cidr", "Example CERT"),
        ("203.0.113.50", "ip", "c2.txt"),
        ("evil.example", "domain", "Example CERT"),
        ("malware.test", "domain", "Example CERT"),
        ("tracker.example", "domain", "c2.txt"),
    ]


def test_rule_matches_ip_cidr_and_domain_indicators_and_nothing_else(hits: list[detect_engine.Hit]) -> None:
    assert matched(hits) == {
        ("cloudtrail_logs", "203.0.113.50", "203.0.113.50"),
        ("r53_rlogs", "203.0.113.50", "203.0.113.50"),  # a DNS answer
        ("cloudtrail_logs", "2001:db8:bad:1::9", "2001:db8:bad::/48"),
        ("cloudtrail_logs", "198.51.100.23", "198.51.100.0/24"),
        ("vpc_flow_logs", "198.51.100.77", "198.51.100.0/24"),
        ("cloudtrail_logs", "2001:db8::beef", "2001:db8::beef"),
        ("vpc_flow_logs", "192.0.2.7", "192.0.2.7"),
        ("r53_rlogs", "10.0.1.15", "evil.example"),
        ("r53_rlogs", "10.0.1.15", "malware.test"),
        ("r53_rlogs", "10.0.1.15", "tracker.example"),
    }


def test_alerts_carry_entities(hits: list[detect_engine.Hit]) -> None:
    trail = next(h for h in hits if h.entities["ip"] == "198.51.100.23")
    assert trail.entities["principal"] == f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert trail.entities["account"] == ACCOUNT
    assert trail.refs[0]["event_id"] == "evt-3" and trail.refs[0]["lake_row"] == 3


def test_adding_a_feed_again_adds_nothing(tmp_path: Path) -> None:
    lake = tmp_path / "lake"  # a feed may come before any log
    feed = tmp_path / "c2.txt"
    feed.write_text(PLAIN)
    first = intel.add_feed(lake, feed, now=NOW)
    assert (first.added, first.present) == (3, 0)
    again = intel.add_feed(lake, feed, now=NOW)
    assert (again.added, again.present) == (0, 3)
    renamed = intel.add_feed(lake, feed, source="other-feed", now=NOW)  # the same values from another source count
    assert (renamed.added, renamed.present) == (3, 0)
    assert engine.connect(lake).execute("SELECT count(*) FROM intel_indicators").fetchone() == (6,)


def test_unreadable_lines_are_reported_with_line_numbers(tmp_path: Path) -> None:
    feed = tmp_path / "c2.txt"
    feed.write_text(PLAIN)
    assert [str(p) for p in intel.read_feed(feed).problems] == [
        "line 4: 'this line is not an indicator' is not an IP, CIDR, domain or URL"
    ]
    csv_feed = tmp_path / "acme.csv"
    csv_feed.write_text(CSV)
    assert [(p.where, p.text) for p in intel.read_feed(csv_feed).problems] == [("line 4", "not_an_ip")]


def test_stix_skips_expired_revoked_and_reports_bad_patterns(tmp_path: Path) -> None:
    feed = intel.read_stix(stix_bundle(), NOW)
    assert (feed.expired, feed.revoked) == (1, 1)
    assert sorted(i.indicator for i in feed.indicators) == [
        "192.0.2.7", "2001:db8:bad::/48", "evil.example", "malware.test"
    ]  # fmt: skip
    reasons = {p.where.removeprefix("indicator--0f5e8a5c-1c9b-4b7a-8d6e-"): p.reason for p in feed.problems}
    assert "not a valid STIX pattern" in reasons["000000000007"]
    assert reasons["000000000008"] == "names no IP address, network, domain or URL"
    assert reasons["indicator--yara"] == "is a yara pattern, not a STIX one"
    # before the sinkhole's valid_until it is loaded
    early = intel.read_stix(stix_bundle(), dt.datetime(2026, 2, 2, tzinfo=dt.UTC))
    assert "192.0.2.200" in {i.indicator for i in early.indicators}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("203.0.113.9", ("203.0.113.9", "ip")),
        ("2001:0DB8:0000::0001", ("2001:db8::1", "ip")),
        ("10.1.2.3/16", ("10.1.0.0/16", "cidr")),
        ("192.0.2.5/32", ("192.0.2.5", "ip")),
        ("Evil.Example.", ("evil.example", "domain")),
        ("evil[.]example", ("evil.example", "domain")),
        ("hxxps://files.evil.example:8443/x?y=1", ("files.evil.example", "domain")),
        ("http://[2001:db8::5]/a", ("2001:db8::5", "ip")),
        ("203.0.113.9:443", ("203.0.113.9", "ip")),
        ("*.evil.example", ("evil.example", "domain")),
        ("bücher.example", ("xn--bcher-kva.example", "domain")),
    ],
)
def test_classify_normalises(text: str, expected: tuple[str, str]) -> None:
    found = intel.classify(text)
    assert isinstance(found, intel.Indicator)
    assert (found.indicator, found.kind) == expected


@pytest.mark.parametrize("text", ["localhost", "1.2.3.999", "10.0.0.0/4", "http:///nohost", "a b", "evil..example"])
def test_classify_rejects(text: str) -> None:
    assert isinstance(intel.classify(text), str)


def test_rule_runs_on_a_lake_without_intel(lake: Path) -> None:
    con = memory_connection({})  # every table loglake owns exists there, empty: intel_indicators too
    assert detect_engine.evaluate(con, RULE, None) == []


def test_rule_covers_every_log_table() -> None:
    from loglake.formats import registry

    assert set(RULE.tables) == set(registry.tables())
    assert all(f"'{table}'" in RULE.query for table in RULE.tables)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_and_list(tmp_path: Path, capsys) -> None:
    lake = tmp_path / "lake"
    feed = tmp_path / "acme.csv"
    feed.write_text(CSV)
    code, out, err = run(capsys, "intel", "add", str(feed), "--lake", str(lake))
    assert code == 0
    assert "2 indicators (ip 1, cidr 1); 2 new, 0 already in the lake, 1 unreadable" in out
    assert "acme.csv line 4: 'not_an_ip'" in err
    code, out, _ = run(capsys, "intel", "add", str(feed), "--source", "mine", "--lake", str(lake))
    code, out, _ = run(capsys, "intel", "list", "--lake", str(lake), "--format", "json")
    assert code == 0
    counts = {(r["source"], r["kind"]): r["indicators"] for r in json.loads(out)}
    assert counts == {("acme-intel", "cidr"): 1, ("acme-intel", "ip"): 1, ("mine", "cidr"): 1, ("mine", "ip"): 1}


def test_cli_feed_without_indicators_is_a_user_error(tmp_path: Path, capsys) -> None:
    feed = tmp_path / "empty.txt"
    feed.write_text("# nothing here\njust words\n")
    code, _, err = run(capsys, "intel", "add", str(feed), "--lake", str(tmp_path / "lake"))
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: {feed}: no IP, CIDR or domain indicators found; first problem: line 2: 'just words' is not an IP, "
        "CIDR, domain or URL"
    ]
    bad = tmp_path / "bad.json"
    bad.write_text('{"type": "report"}')
    code, _, err = run(capsys, "intel", "add", str(bad), "--lake", str(tmp_path / "lake"))
    assert code == 1 and "not a STIX 2.1 bundle" in err


def test_detect_raises_one_alert_per_address_and_indicator(lake: Path, hits: list[detect_engine.Hit], capsys) -> None:
    code, out, _ = run(capsys, "detect", "--lake", str(lake), "--rule", RULE.id, "--format", "json")
    assert code == 0 and json.loads(out)[0]["status"] == "evaluated"
    code, out, _ = run(capsys, "alerts", "list", "--lake", str(lake), "--rule", RULE.id, "--format", "json")
    assert code == 0
    alerts = json.loads(out)
    assert {(a["ip"], a["resource"]) for a in alerts} == {(ip, resource) for _, ip, resource in matched(hits)}
    assert len(alerts) == 9  # the ip indicator seen in CloudTrail and in a DNS answer is one alert
    assert {a["severity"] for a in alerts} == {"high"}
