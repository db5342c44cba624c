"""`loglake rules export`: every built-in rule (and a lake's own) is exported or listed with the reason, and
every exported query parses in its dialect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from loglake.detect.export import _whole_table, export_rule, lake_schema, scheduled_sql
from loglake.detect.rulebook import BUILTIN, load_rulebook
from loglake.query import dialects
from tests.ingest.helpers import run_cli

BOOK = load_rulebook()
BUILTIN_IDS = {rule.id for rule in BOOK.rules}


@pytest.mark.parametrize("dialect", ["athena", "trino", "spark"])
def test_every_builtin_rule_is_exported_or_listed_with_a_reason(tmp_path, dialect):
    out = tmp_path / dialect
    result = run_cli("rules", "export", "--dialect", dialect, "--out", str(out), "--lake", str(tmp_path / "lake"))
    assert result.returncode == 0, result.stderr
    exported = {p.stem: p.read_text() for p in out.glob("*.sql")}
    listed = dict(line.split(": ", 1) for line in (out / "not-exported.txt").read_text().splitlines())
    assert set(exported) | set(listed) == BUILTIN_IDS and not set(exported) & set(listed)
    assert len(exported) >= 70, sorted(listed.items())
    assert all(reason.strip() for reason in listed.values())
    for rule_id in listed:
        assert f"not exported: {rule_id}: " in result.stderr
    for rule_id, text in exported.items():
        rule = BOOK.get(rule_id)
        assert text.startswith(f"-- rule: {rule_id}\n-- title: {rule.title}\n-- severity: {rule.severity}\n")
        assert re.search(r"^-- schedule: every \d+ \w+", text, re.M)
        tree = sqlglot.parse_one(text, read=dialect)
        assert isinstance(tree, exp.Query), rule_id
        assert "lake." not in {f"{t.db}." for t in tree.find_all(exp.Table)}  # the history schema is gone
    assert f"{len(exported)} rules exported" in result.stderr


def test_threshold_rules_count_per_group_over_their_window():
    rule = BOOK.get("aws.dns.nxdomain_burst")
    sql = export_rule(rule, "athena").sql
    assert "-- threshold: 25 distinct domain per ip in 10 minutes" in sql
    tree = sqlglot.parse_one(sql, read="athena")
    assert tree.args["having"].sql("athena") == "HAVING COUNT(DISTINCT domain) >= 25"
    assert [g.sql("athena") for g in tree.args["group"].expressions] == ["srcaddr"]  # the ip entity of r53_rlogs
    assert "INTERVAL '600' SECOND" in sql


def test_duckdb_only_constructs_are_rewritten_or_refused():
    sql = dialects.from_duckdb("SELECT a, b + 1 AS c, count(*) FROM t GROUP BY ALL", "trino")
    assert sqlglot.parse_one(sql, read="trino").args["group"].sql("trino") == "GROUP BY a, b + 1"
    days = dialects.from_duckdb("SELECT * FROM t AS c WHERE day BETWEEN c.lake_date - 30 AND 1 + lake_date", "athena")
    assert "BETWEEN DATE_ADD('DAY', -30, c.lake_date) AND DATE_ADD('DAY', 1, lake_date)" in days.replace("\n", " ")
    with pytest.raises(dialects.DialectError, match="time_bucket"):
        dialects.from_duckdb("SELECT time_bucket(INTERVAL '1 hour', lake_time) FROM t", "trino")
    with pytest.raises(dialects.DialectError, match="QUALIFY"):
        dialects.from_duckdb("SELECT a FROM t QUALIFY row_number() OVER (PARTITION BY a) = 1", "athena")


def test_a_lake_rule_is_exported_too(tmp_path):
    lake = tmp_path / "lake"
    (lake / "rules").mkdir(parents=True)
    source = next(Path(BUILTIN).rglob("cloudtrail_logging_stopped.yml"))
    text = source.read_text()
    own_id = "mine.logging_stopped"
    (lake / "rules" / "mine.yml").write_text(re.sub(r"(?m)^id: .*$", f"id: {own_id}", text, count=1))
    result = run_cli("rules", "export", "--dialect", "trino", "--lake", str(lake))
    assert result.returncode == 0, result.stderr
    assert f"-- rule: {own_id}\n" in result.stdout
    assert "-- rule: aws.cloudtrail.logging_stopped\n" in result.stdout


def test_unknown_dialect_is_a_one_line_error(tmp_path):
    result = run_cli("rules", "export", "--dialect", "oracle", "--lake", str(tmp_path / "lake"))
    assert result.returncode == 1 and "use one of athena, trino, spark" in result.stderr
    assert "Traceback" not in result.stderr


def test_non_threshold_rules_return_their_events_of_the_last_dedup_window():
    rule = BOOK.get("aws.cloudtrail.logging_stopped")
    assert rule.threshold is None
    tree = sqlglot.parse_one(export_rule(rule, "athena").sql, read="athena")
    assert tree.args["where"].sql("athena") == (
        f"WHERE lake_time >= CURRENT_TIMESTAMP - INTERVAL '{int(rule.bucket.total_seconds())}' SECOND"
    )
    assert isinstance(tree.find(exp.From).this, exp.Subquery)  # the rule's own query, unchanged in meaning


def test_athena_form_finds_what_the_rule_finds_on_the_stratus_records():
    """Each exported CloudTrail rule, read back from its Athena form, returns the rows the rule's DuckDB SQL
    returns on the CloudTrail records of every Stratus Red Team technique (all rows: no time window)."""
    from tests.detect.test_stratus_coverage import TECHNIQUES, cloudtrail_rules, connection_over, records

    con = connection_over([r for t in TECHNIQUES for r in records(t)])
    compared = 0
    for rule in cloudtrail_rules().values():
        original = scheduled_sql(rule, last_window=False)
        try:
            athena = dialects.from_duckdb(original, "athena", rewrite=_whole_table, schema=lake_schema())
        except dialects.DialectError:
            continue  # listed as not exported (the test above)
        expected = sorted(map(str, con.execute(original).fetchall()))
        assert sorted(map(str, con.execute(dialects.to_duckdb(athena, "athena")).fetchall())) == expected, rule.id
        compared += 1
    assert compared >= 40
