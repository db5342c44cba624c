"""The shared prefilter: which rules it serves, and that they read its copy and find the same hits as the lake."""

from __future__ import annotations

from loglake.detect import engine, ruletest
from loglake.detect.connection import memory_connection
from loglake.detect.prefilter import build_candidates, simple_condition
from loglake.detect.rule import rule_from_dict
from loglake.detect.rulebook import load_rulebook

EVENTS = [
    {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/u{i % 3}"},
        "eventTime": f"2026-01-01T10:{i:02d}:00Z",
        "eventSource": "cloudtrail.amazonaws.com" if i % 2 else "kms.amazonaws.com",
        "eventName": "StopLogging" if i % 2 else "ScheduleKeyDeletion",
        "sourceIPAddress": "203.0.113.66",
        "requestParameters": {"name": f"trail-{i % 2}", "keyId": f"key-{i % 4}"},
        "eventID": f"e-{i}",
        "recipientAccountId": "111122223333",
    }
    for i in range(20)
]


def rule(rule_id: str, query: str, **extra) -> object:
    return rule_from_dict(
        {"id": rule_id, "title": rule_id, "severity": "high", "tables": ["cloudtrail_logs"], "query": query, **extra}
    )


STOP = rule("t.stop", "SELECT * FROM cloudtrail_logs WHERE eventname = 'StopLogging'")
KMS = rule(
    "t.kms",
    "SELECT * FROM cloudtrail_logs WHERE eventsource = 'kms.amazonaws.com'",
    threshold={"count": 2, "window": "1h", "group_by": ["principal"], "field": "requestparameters->>'$.keyId'"},
)


def test_only_single_table_filters_are_simple() -> None:
    assert simple_condition(STOP) == "eventname = 'StopLogging'"
    assert simple_condition(rule("t.alias", "SELECT * FROM cloudtrail_logs AS c WHERE c.eventname = 'x'")) is None
    assert simple_condition(rule("t.cols", "SELECT eventname, lake_time FROM cloudtrail_logs WHERE true")) is None
    history = "SELECT * FROM cloudtrail_logs WHERE eventid IN (SELECT eventid FROM lake.cloudtrail_logs)"
    assert simple_condition(rule("t.sub", history)) is None


def test_rules_read_the_copy_and_find_what_they_find_on_the_lake() -> None:
    con = memory_connection({"cloudtrail_logs": ruletest.rows_of("cloudtrail_logs", EVENTS)})
    direct = {r.id: engine.evaluate(con, r, None) for r in (STOP, KMS)}
    sources = build_candidates(con, [(STOP, None), (KMS, None)])
    assert set(sources) == {"cloudtrail_logs"}
    assert {r.id: engine.evaluate(con, r, None, sources) for r in (STOP, KMS)} == direct
    assert direct["t.stop"] and direct["t.kms"]
    # emptied, the copy yields nothing: the rules really read it, not the table
    con.execute(f'DELETE FROM "{sources["cloudtrail_logs"]}"')
    assert engine.evaluate(con, STOP, None, sources) == []


def test_flow_rules_read_the_copy_with_the_columns_their_enriched_view_needs() -> None:
    """The copy of a table with asset context keeps what `<table>_ctx` joins on: the rules do not fall back."""
    pack = load_rulebook(None)
    rules = [pack.get("aws.vpc.port_scan"), pack.get("aws.vpc.mining_or_tor_port")]
    lines = [
        f"2 111122223333 eni-0a1b2c3d4e5f60718 198.51.100.23 10.0.0.5 51234 {port} 6 1 44 "
        f"{1767261600 + port} {1767261600 + port} REJECT OK"
        for port in range(1, 60)
    ]
    lines.append(
        "2 111122223333 eni-0a1b2c3d4e5f60718 10.0.0.5 203.0.113.9 40000 3333 6 9 900 1767261700 1767261760 ACCEPT OK"
    )
    con = memory_connection({"vpc_flow_logs": ruletest.rows_of("vpc_flow_logs", lines)})
    direct = {r.id: engine.evaluate(con, r, None) for r in rules}
    sources = build_candidates(con, [(r, None) for r in rules])
    assert {r.id: engine.evaluate(con, r, None, sources) for r in rules} == direct  # raised before: no flow_direction
    assert all(direct.values())
