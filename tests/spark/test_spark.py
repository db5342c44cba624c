"""Spark in local mode on the demo day: the same rows, query results and rule results as the DuckDB engine."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pyarrow as pa
import pytest

from loglake.cli import main
from loglake.detect.rulebook import BUILTIN, load_rulebook
from loglake.detect.run import detect
from loglake.ingest.pipeline import IngestOptions
from loglake.lake import catalog as lake_catalog
from loglake.query import engine

QUERIES = [
    "SELECT lake_account, lake_region, count(*) AS n FROM cloudtrail_logs GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT action, count(*) AS n, sum(packets) AS packets FROM vpc_flow_logs GROUP BY action ORDER BY action",
    # one day's filter on the partition column, and an hour within it
    "SELECT eventsource, count(*) AS n FROM cloudtrail_logs WHERE lake_time >= TIMESTAMP '2024-03-06 00:00:00' "
    "AND lake_time < TIMESTAMP '2024-03-07 00:00:00' GROUP BY 1 ORDER BY n DESC, 1 LIMIT 10",
    "SELECT elb_status_code, count(*) AS n FROM alb_access_logs WHERE lake_date = DATE '2024-03-06' "
    "AND hour(lake_time) = 14 GROUP BY 1 ORDER BY 1",
]
# Rules the demo fires, of every kind: plain matches, thresholds, a query over the history (`lake.<table>`),
# web rules decoding URLs, DuckDB list lambdas (list_bool_or) rewritten for Spark.
RULES = [
    "aws.cloudtrail.logging_stopped",
    "aws.dns.firewall_alert",
    "aws.iam.access_denied_burst",
    "aws.iam.principal_new_source_ip",
    "aws.s3access.mass_get_object",
    "aws.vpc.port_scan",
    "aws.vpc.ssh_rdp_from_internet",
    "aws.web.sqli_attempt",
    "aws.waf.attack_counted_not_blocked",
]
# Every built-in rule Spark cannot run (DuckDB functions without a Spark form sqlglot knows); docs/spark.md
# A lake's own rule in DuckDB SQL Spark has no form for (time_bucket), to show how such a rule is reported
OWN_RULE = "mine.flows_per_hour"
OWN_QUERY = "SELECT * FROM vpc_flow_logs WHERE time_bucket(INTERVAL '1 hour', lake_time) IS NOT NULL"


def _rows_per_table(lake: Path) -> dict[str, int]:
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    counts = {}
    for name in lake_catalog.table_names(catalog):
        snapshot = lake_catalog.load_table(catalog, name).current_snapshot()
        counts[name] = int(snapshot.summary.additional_properties["total-records"]) if snapshot else 0
    return counts


def test_spark_ingest_lands_the_same_rows_per_table(pipeline_lake: Path, spark_ingested) -> None:
    lake, summary = spark_ingested
    expected = _rows_per_table(pipeline_lake)
    assert sum(expected.values()) > 100_000
    assert _rows_per_table(lake) == expected
    assert {name: t["records"] for name, t in summary.to_dict()["tables"].items()} == {
        name: n for name, n in expected.items() if n
    }


def test_spark_ingest_again_skips_every_object(spark, demo, spark_ingested) -> None:
    from loglake.spark.ingest import spark_ingest

    lake, _ = spark_ingested
    before = _rows_per_table(lake)
    again = spark_ingest(IngestOptions(sources=[str(demo[0])], lake=lake), spark=spark)
    assert again.already_ingested == sum(1 for path in demo[0].rglob("*") if path.is_file())
    assert not again.to_dict()["tables"]
    assert _rows_per_table(lake) == before


def test_spark_writes_the_lakes_file_layout(spark_ingested) -> None:
    import pyarrow.parquet as pq

    lake, _ = spark_ingested
    table = lake_catalog.load_table(lake_catalog.open_catalog(lake_catalog.LakeLocation(lake)), "cloudtrail_logs")
    files = [task.file for task in table.scan().plan_files()]
    assert files and all("lake_day=2024-03-06" in f.file_path for f in files)
    metadata = pq.ParquetFile(files[0].file_path.removeprefix("file://")).metadata
    assert metadata.row_group(0).column(0).compression == "ZSTD"


@pytest.mark.parametrize("sql", QUERIES)
def test_spark_query_gives_what_loglake_query_gives(spark, spark_ingested, pipeline_lake: Path, sql: str) -> None:
    from loglake.spark.query import spark_query

    lake, _ = spark_ingested
    on_spark = spark_query(lake, sql, spark=spark)
    on_duckdb = engine.run(engine.connect(pipeline_lake), sql).rows
    assert on_duckdb.num_rows > 0
    assert [c.lower() for c in on_spark.column_names] == [c.lower() for c in on_duckdb.column_names]
    assert _values(on_spark) == _values(on_duckdb)


def _values(table: pa.Table) -> list[tuple]:
    return [tuple(row.values()) for row in table.to_pylist()]  # sums are decimals in DuckDB, integers in Spark


def test_spark_detect_finds_what_detect_finds(spark, lake_copy: Path) -> None:
    from loglake.spark.detect import spark_detect

    book = load_rulebook(None)
    rules = [book.get(rule_id) for rule_id in RULES]
    on_duckdb = {run.rule_id: run for run in detect(lake_copy, rules).runs}
    on_spark = {run.rule_id: run for run in spark_detect(lake_copy, rules, spark=spark).runs}
    for rule_id in RULES:
        assert on_spark[rule_id].error is None
        assert (on_spark[rule_id].status, on_spark[rule_id].hits, on_spark[rule_id].alerts) == (
            on_duckdb[rule_id].status,
            on_duckdb[rule_id].hits,
            on_duckdb[rule_id].alerts,
        ), rule_id
    assert sum(run.hits for run in on_spark.values()) >= 8  # the demo's attack fires most of them


def test_spark_detect_save_writes_the_alerts_detect_writes(spark, lake_copy: Path) -> None:
    from loglake.detect.store import AlertStore
    from loglake.spark.detect import spark_detect

    rules = [load_rulebook(None).get("aws.vpc.port_scan")]
    since = dt.datetime(2024, 3, 6, tzinfo=dt.UTC)
    spark_detect(lake_copy, rules, since=since, save=True, spark=spark)
    saved = AlertStore(lake_copy).alerts_of("aws.vpc.port_scan")
    rerun = detect(lake_copy, rules, since=since)  # the same hits again: no alert is new, none changes
    assert saved and not rerun.new
    assert [_essentials(a) for a in AlertStore(lake_copy).alerts_of("aws.vpc.port_scan")] == [
        _essentials(a) for a in saved
    ]


def _essentials(alert) -> tuple:
    return (alert.alert_id, alert.first_seen, alert.last_seen, alert.count, alert.hits, alert.ip, alert.hit_keys)


def test_cli_spark_query_prints_like_loglake_query(spark, pipeline_lake: Path, capsys) -> None:
    sql = QUERIES[1]
    assert main(["query", "--lake", str(pipeline_lake), "-f", "csv", sql]) == 0
    expected = capsys.readouterr().out
    assert main(["spark", "query", "--lake", str(pipeline_lake), "-f", "csv", sql]) == 0
    assert capsys.readouterr().out == expected


def test_cli_spark_query_error_is_one_line(spark, pipeline_lake: Path, capsys) -> None:
    assert main(["spark", "query", "--lake", str(pipeline_lake), "SELECT no_such_column FROM vpc_flow_logs"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no_such_column" in err and "Traceback" not in err


def test_athena_sql_translates_to_spark() -> None:
    from loglake.query.dialects import to_spark

    sql = "SELECT format_datetime(lake_time, 'yyyy') FROM cloudtrail_logs WHERE contains(lake_ips, '10.0.0.1')"
    translated = to_spark(sql, "athena")
    assert "DATE_FORMAT(lake_time, 'yyyy')" in translated
    assert "ARRAY_CONTAINS(lake_ips, '10.0.0.1')" in translated


def _add_own_rule(lake: Path) -> None:
    source = next(Path(BUILTIN).rglob("vpc_port_scan.yml")).read_text()
    text = re.sub(r"(?m)^id: .*$", f"id: {OWN_RULE}", source, count=1)
    text = re.sub(r"(?ms)^query: \|\n.*?(?=^\S)", f"query: |\n  {OWN_QUERY}\n", text, count=1)
    text = re.sub(r"(?ms)^tests:.*", "", text)
    (lake / "rules").mkdir(exist_ok=True)
    (lake / "rules" / "mine.yml").write_text(text)


def test_cli_spark_detect_reports_rules_and_lists_what_spark_cannot_run(spark, lake_copy: Path, capsys) -> None:
    _add_own_rule(lake_copy)
    args = ["spark", "detect", "--lake", str(lake_copy), "--rule=aws.vpc.port_scan", f"--rule={OWN_RULE}"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 rules: 1 evaluated" in out
    assert OWN_RULE in out and "time_bucket" in out


def test_cli_spark_query_runs_athena_sql_like_loglake_query(spark, pipeline_lake: Path, capsys) -> None:
    sql = (
        "SELECT to_iso8601(min(lake_time)) AS first_event, format_datetime(max(lake_time), 'yyyy-MM-dd HH:mm') "
        "AS last_event FROM cloudtrail_logs"
    )
    assert main(["query", "--lake", str(pipeline_lake), "--dialect", "athena", "-f", "csv", sql]) == 0
    expected = capsys.readouterr().out
    assert expected.splitlines() == ["first_event,last_event", "2024-03-06T00:00:04.000Z,2024-03-06 23:59"]
    assert main(["spark", "query", "--lake", str(pipeline_lake), "--dialect", "athena", "-f", "csv", sql]) == 0
    assert capsys.readouterr().out == expected


def test_every_builtin_rule_runs_on_spark(spark, pipeline_lake: Path) -> None:
    from loglake.spark.detect import unsupported_rules

    rules = load_rulebook(None).rules
    assert unsupported_rules(pipeline_lake, rules, spark=spark) == {}
    assert len(rules) >= 87


def test_cli_spark_detect_check_lists_only_what_spark_cannot_run(spark, lake_copy: Path, capsys) -> None:
    _add_own_rule(lake_copy)
    args = ["spark", "detect", "--check", "--lake", str(lake_copy), "-f", "csv"]
    assert main([*args, "--rule", "aws.vpc.port_scan", "--rule", OWN_RULE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "rule,reason" and len(lines) == 2
    assert lines[1].startswith(f"{OWN_RULE},") and "time_bucket" in lines[1]
