"""What rules of one run share: CTEs computed once, views created once per scope, bindings on empty shapes."""

from __future__ import annotations

import datetime as dt
import functools

from loglake.detect import engine, ruletest
from loglake.detect.connection import Scopes, memory_connection
from loglake.detect.rule import rule_from_dict
from loglake.detect.rulebook import load_rulebook
from loglake.detect.shared import SharedCtes, ctes

EVENTS = [
    {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::111122223333:user/u{i % 3}"},
        "eventTime": f"2026-01-01T{10 + i % 3}:{i:02d}:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": ("GetObject", "DeleteObject", "PutBucketPolicy")[i % 3],
        "sourceIPAddress": f"203.0.113.{i % 5}",
        "requestParameters": {"bucketName": f"b-{i % 2}"},
        "eventID": f"e-{i}",
        "recipientAccountId": "111122223333",
    }
    for i in range(30)
]
# Two rules sharing their first CTE (with a comment, a string holding a parenthesis, and a second CTE reading it)
COMMON = """WITH calls AS (  -- the S3 calls (and a ')' in a string)
    SELECT *, requestparameters->>'$.bucketName' AS bucket FROM cloudtrail_logs
    WHERE eventsource = 's3.amazonaws.com' AND eventname <> ')'
  ),
  per_bucket AS (SELECT bucket, count(*) AS n FROM calls GROUP BY bucket)
"""
DELETES = (
    COMMON
    + "SELECT c.* EXCLUDE (bucket) FROM calls c JOIN per_bucket p USING (bucket) WHERE eventname = 'DeleteObject'"
)
POLICIES = COMMON + "SELECT c.* EXCLUDE (bucket) FROM calls c WHERE eventname = 'PutBucketPolicy'"


def rule(rule_id: str, query: str) -> object:
    return rule_from_dict(
        {"id": rule_id, "title": rule_id, "severity": "high", "tables": ["cloudtrail_logs"], "query": query}
    )


def test_ctes_are_found_with_the_ctes_they_read() -> None:
    found = ctes(DELETES)
    assert [c.name for c in found] == ["calls", "per_bucket"]
    assert "SELECT *, requestparameters" in found[0].body and found[0].body.rstrip().endswith("<> ')'")
    assert found[1].uses == ("calls",) and found[1].definition.startswith("WITH calls AS (")
    assert ctes("SELECT 1") == []
    assert [c.key for c in ctes(POLICIES)] == [c.key for c in found]  # same text, same keys


@functools.cache
def pack() -> list:
    return [r for r in load_rulebook(None).rules if r.enabled]


def test_the_pack_shares_the_web_requests_and_the_known_accounts() -> None:
    rules = pack()
    shared = SharedCtes(rules)
    users = {r.id for r in rules for c in ctes(r.query) if c.key in shared.shared}
    assert {"aws.web.xss_attempt", "aws.web.sqli_attempt", "aws.ec2.ami_shared", "aws.rds.snapshot_shared"} <= users
    for r in rules:  # every rule starting with WITH is parsed (a miss would only lose sharing, never results)
        assert not r.query.lstrip().upper().startswith("WITH") or ctes(r.query), r.id


def test_shared_ctes_give_the_same_hits_and_are_computed_once_per_scope() -> None:
    con = memory_connection({"cloudtrail_logs": ruletest.rows_of("cloudtrail_logs", EVENTS)})
    deletes, policies = rule("t.deletes", DELETES), rule("t.policies", POLICIES)
    alone = {r.id: engine.evaluate(con, r, None) for r in (deletes, policies)}
    assert alone["t.deletes"] and alone["t.policies"]
    shared, scopes = SharedCtes([deletes, policies]), Scopes(con)
    together = {r.id: engine.evaluate(con, r, None, scopes=scopes, shared=shared) for r in (deletes, policies)}
    assert together == alone
    copies = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__shared_%'").fetchall()
    assert len(copies) == 2  # calls and per_bucket: both rules define both
    # the rules really read the copies: emptied, they yield nothing while the views stay the same ...
    for (copy,) in copies:
        con.execute(f'DELETE FROM "{copy}"')
    assert engine.evaluate(con, policies, None, scopes=scopes, shared=shared) == []
    # ... and other ranges (other views) compute it again
    ranges = [(dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, 13, tzinfo=dt.UTC))]
    hour = engine.evaluate(con, policies, ranges, scopes=scopes, shared=shared)
    assert hour == engine.evaluate(con, policies, ranges) and hour


def test_scopes_create_a_view_only_when_it_changes() -> None:
    con = memory_connection({"cloudtrail_logs": ruletest.rows_of("cloudtrail_logs", EVENTS)})
    scopes = Scopes(con)
    scopes.point(("cloudtrail_logs",), None)
    first = scopes.generation
    scopes.point(("cloudtrail_logs",), None)
    assert scopes.generation == first
    ranges = [(dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, 11, tzinfo=dt.UTC))]
    scopes.point(("cloudtrail_logs",), ranges, dt.timedelta(hours=1))
    assert scopes.generation > first
    assert con.execute("SELECT count(*) FROM cloudtrail_logs").fetchone()[0] == 10
    assert con.execute("SELECT count(*) FROM lake.cloudtrail_logs").fetchone()[0] == 20  # 9:00 to 12:00
    scopes.reset()
    assert con.execute("SELECT count(*) FROM cloudtrail_logs").fetchone()[0] == 30


def test_rules_bound_on_shapes_match_rules_bound_on_the_data() -> None:
    con = memory_connection({"cloudtrail_logs": ruletest.rows_of("cloudtrail_logs", EVENTS)})
    rules = [r for r in pack() if r.tables == ("cloudtrail_logs",) and r.entities][:4]
    bound = engine.bind_rules(con, [*rules, rule("t.broken", "SELECT * FROM cloudtrail_logs WHERE no_such_column")])
    assert isinstance(bound["t.broken"], engine.RuleRunError)
    for r in rules:
        assert bound[r.id] == engine.bind(con, r), r.id


def test_bindings_are_kept_and_bound_again_only_when_what_decides_them_changes(tmp_path) -> None:
    con = memory_connection({"cloudtrail_logs": ruletest.rows_of("cloudtrail_logs", EVENTS)})
    rules = [r for r in pack() if r.tables == ("cloudtrail_logs",)][:5]
    broken = rule("t.broken", "SELECT * FROM cloudtrail_logs WHERE no_such_column")
    cache = tmp_path / "bindings.json"
    first = engine.bind_rules(con, [*rules, broken], cache=cache)
    assert cache.exists()
    # a kept binding is used as is: a file edited by hand shows it is read instead of binding again
    kept = cache.read_text()
    again = engine.bind_rules(con, [*rules, broken], cache=cache)
    assert {k: v for k, v in again.items() if k != "t.broken"} == {k: v for k, v in first.items() if k != "t.broken"}
    assert str(again["t.broken"]) == str(first["t.broken"]) and cache.read_text() == kept
    tampered = cache.read_text().replace('"event_id"', '"event_id_from_cache"', 1)
    cache.write_text(tampered)
    assert any("event_id_from_cache" in b.expressions for b in engine.bind_rules(con, rules, cache=cache).values())
    # another query for the same rule id is bound again
    changed = rule(rules[0].id, "SELECT * FROM cloudtrail_logs WHERE eventname = 'GetObject'")
    assert engine.bind_rules(con, [changed], cache=cache)[changed.id] == engine.bind(con, changed)
    # so is every rule when a table's columns change
    con.execute("ALTER TABLE shape.cloudtrail_logs ADD COLUMN extra VARCHAR")
    rebound = engine.bind_rules(con, rules, cache=cache)
    assert all("event_id_from_cache" not in b.expressions for b in rebound.values())
    # an unreadable file is bound again, not an error
    cache.write_text("{not json")
    assert engine.bind_rules(con, rules, cache=cache).keys() == {r.id for r in rules}
