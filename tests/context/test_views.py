"""Enriched views: log rows carry the asset their identifiers named at the event's time."""

from __future__ import annotations

import datetime as dt

import sqlglot

from loglake.context import views
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.query import engine
from tests.context.estate import bucket, instance, snapshot, write_flow_lines

FIRST = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
SECOND = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
MOVED_IP = "10.0.1.23"
INTERNET = "198.51.100.7"


def test_an_ip_that_moves_is_attributed_to_its_holder_at_the_time(tmp_path, lake):
    payments = {"Name": "prod-int-payments", "Classification": "restricted"}
    sandbox = {"Name": "dev-int-sandbox", "Classification": "public"}
    snapshot(lake, FIRST, [instance("i-0aaa", MOVED_IP, "eni-0aaa", payments), bucket("logs-b", {})])
    # between the runs the payments instance got a new address and the sandbox took the old one
    snapshot(
        lake,
        SECOND,
        [instance("i-0aaa", "10.0.1.50", "eni-0aaa", payments), instance("i-0bbb", MOVED_IP, "eni-0bbb", sandbox)],
    )
    raw = tmp_path / "raw"
    client = "eni-0c11e47"  # a client's interface loglake has no inventory for: only the address names the asset
    write_flow_lines(
        raw,
        "a",
        [
            (FIRST - dt.timedelta(hours=2), client, "10.0.7.7", MOVED_IP, "ACCEPT"),  # before any inventory
            (FIRST + dt.timedelta(hours=1), client, "10.0.7.7", MOVED_IP, "ACCEPT"),
            (SECOND + dt.timedelta(hours=1), client, "10.0.7.7", MOVED_IP, "REJECT"),
            (SECOND + dt.timedelta(hours=2), "eni-0aaa", "10.0.1.50", INTERNET, "ACCEPT"),
            (SECOND + dt.timedelta(hours=3), "eni-0bbb", INTERNET, MOVED_IP, "ACCEPT"),
            (SECOND + dt.timedelta(hours=4), client, INTERNET, "10.0.9.9", "ACCEPT"),  # nothing known
            # payments' interface sending to the sandbox's address: the interface names the asset, not the address
            (SECOND + dt.timedelta(hours=5), "eni-0aaa", "10.0.1.50", MOVED_IP, "ACCEPT"),
        ],
    )
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=1))

    con = engine.connect(lake)
    rows = con.execute(
        "SELECT action, asset_name, sensitivity, asset_match, asset_direction, asset_arn "
        "FROM vpc_flow_logs_ctx ORDER BY lake_time"
    ).fetchall()
    assert [r[:5] for r in rows] == [
        ("ACCEPT", "prod-int-payments", "restricted", "dstaddr", "inbound"),
        ("ACCEPT", "prod-int-payments", "restricted", "dstaddr", "inbound"),
        ("REJECT", "dev-int-sandbox", "public", "dstaddr", "inbound"),  # the address moved to the sandbox
        ("ACCEPT", "prod-int-payments", "restricted", "interface_id", "outbound"),
        ("ACCEPT", "dev-int-sandbox", "public", "interface_id", "inbound"),
        ("ACCEPT", None, None, None, None),
        ("ACCEPT", "prod-int-payments", "restricted", "interface_id", "outbound"),
    ]
    assert rows[2][5].endswith("instance/i-0bbb")
    # the enriched view is the table's rows, one for one
    assert con.execute("SELECT count(*) FROM vpc_flow_logs_ctx").fetchone() == (7,)


def test_an_eni_alone_names_its_instance(tmp_path, lake):
    snapshot(lake, FIRST, [instance("i-0aaa", MOVED_IP, "eni-0aaa", {"Name": "prod-int-payments"})])
    raw = tmp_path / "raw"
    write_flow_lines(raw, "b", [(FIRST, "eni-0aaa", INTERNET, "10.0.1.99", "ACCEPT")])  # a secondary address
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=1))
    row = engine.connect(lake).execute("SELECT asset_name, asset_match FROM vpc_flow_logs_ctx").fetchone()
    assert row == ("prod-int-payments", "interface_id")


def test_a_lake_without_assets_still_has_the_views(tmp_path, lake):
    raw = tmp_path / "raw"
    write_flow_lines(raw, "c", [(FIRST, "eni-0aaa", INTERNET, MOVED_IP, "ACCEPT")])
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=1))
    assert engine.connect(lake).execute("SELECT asset_name FROM vpc_flow_logs_ctx").fetchall() == [(None,)]


def test_the_views_translate_for_trino_and_spark():
    for dialect in ("trino", "athena", "spark"):
        statements = views.translated(dialect)
        assert len(statements) == len(views.MATCHES) + 1
        for sql in statements:
            parsed = sqlglot.parse_one(sql, read="trino" if dialect == "athena" else dialect)
            assert isinstance(parsed, sqlglot.exp.Create)
            read = {table.name for table in parsed.expression.find_all(sqlglot.exp.Table)}
            assert read & {"assets", "asset_index"}, sql  # the index reads the assets, the views the index
        assert "ASOF" not in " ".join(statements).upper()


def test_the_web_connection_follows_a_new_inventory_run(tmp_path, lake):
    from loglake.web.readonly import ReadOnlyLake

    payments = {"Name": "prod-int-payments"}
    snapshot(lake, FIRST, [instance("i-0aaa", MOVED_IP, "eni-0aaa", payments)])
    write_flow_lines(tmp_path / "raw", "d", [(SECOND + dt.timedelta(hours=1), "eni-0c1", INTERNET, MOVED_IP, "ACCEPT")])
    ingest(IngestOptions(sources=[str(tmp_path / "raw")], lake=lake, workers=1))
    web = ReadOnlyLake(lake)
    query = "SELECT asset_name FROM vpc_flow_logs_ctx"
    assert web.reader().cur.execute(query).fetchall() == [("prod-int-payments",)]
    sandbox = {"Name": "dev-int-sandbox"}
    snapshot(lake, SECOND, [instance("i-0bbb", MOVED_IP, "eni-0bbb", sandbox)])  # the address moved meanwhile
    assert web.reader().cur.execute(query).fetchall() == [("dev-int-sandbox",)]


def test_context_views_command_prints_the_sql_for_athena(capsys):
    from tests.posture.conftest import run_cli

    code, out, _ = run_cli(capsys, "context-views", "--dialect", "athena")
    assert code == 0
    statements = [s for s in out.split(";\n") if s.strip()]
    assert all(sqlglot.parse_one(s, read="trino") for s in statements)
    assert "CREATE OR REPLACE VIEW s3_access_logs_ctx" in out
    code, _, err = run_cli(capsys, "context-views", "--dialect", "oracle")
    assert code == 1 and "use one of: athena, trino, spark" in err
