"""The JSON API of `loglake serve` over a real lake (tests/web/conftest.py): every endpoint and its refusals."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loglake.web import auth
from loglake.web.api import create_app

LOOPBACK = ("127.0.0.1", 50000)
OUTSIDER = ("203.0.113.9", 50000)  # TEST-NET-3: any address that is not loopback
SEVERITY = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def client_for(app, address: tuple[str, int] = LOOPBACK, **kwargs):
    """A TestClient whose requests come from `address`, naming 127.0.0.1 as the host (as a browser here does)."""
    with warnings.catch_warnings():  # starlette 1.x would rather have httpx2, which is not packaged here
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

        return TestClient(app, base_url="http://127.0.0.1:8080", client=address, **kwargs)


@pytest.fixture(scope="module")
def api_lake(web_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own copy: the app writes its token, history and spill folder under <lake>/web."""
    copy = tmp_path_factory.mktemp("api") / "lake"
    shutil.copytree(web_lake, copy, ignore=shutil.ignore_patterns("web", "locks", "dashboards"))
    return copy


@pytest.fixture(scope="module")
def api_app(api_lake: Path):
    """One app for the module: its read-only connection (seconds to build) is shared by all the clients."""
    return create_app(api_lake, query_timeout=5)


@pytest.fixture(scope="module")
def client(api_app):
    return client_for(api_app)


def query(client, sql: str, **body):
    return client.post("/api/query", json={"sql": sql, **body})


# -- lake overview, health, dashboards -------------------------------------------------------------------------------


def test_health_lists_tables_with_rows(client, api_lake):
    answer = client.get("/api/health").json()
    rows = {t["name"]: t["rows"] for t in answer["tables"]}
    assert answer["lake"] == str(api_lake.resolve())
    assert rows["cloudtrail_logs"] > 1000 and rows["vpc_flow_logs"] > 1000
    assert rows["alerts"] >= 3
    assert answer["version"]


def test_overview_counts_and_narrows_by_time(client):
    whole = client.get("/api/overview").json()
    days = {row["day"] for row in whole["events_per_day"]}
    assert "2024-03-06" in days
    assert {"cloudtrail_logs", "vpc_flow_logs", "alb_access_logs"} <= {r["table"] for r in whole["events_per_day"]}
    assert whole["top_accounts"][0]["account"] == "111122223333"
    assert whole["top_regions"] and whole["alerts_per_day"]
    assert {r["severity"] for r in whole["alerts_per_day"]} >= {"high", "medium"}
    assert whole["ingestion"]["objects"] > 100 and whole["ingestion"]["last_ingest"].endswith("Z")
    assert whole["ingestion"]["rejects_by_reason"] == []

    hour = client.get("/api/overview", params={"since": "2024-03-06T12:00Z", "until": "2024-03-06T13:00:00Z"}).json()
    total = sum(r["events"] for r in whole["events_per_day"])
    in_hour = sum(r["events"] for r in hour["events_per_day"])
    assert 0 < in_hour < total / 5


@pytest.mark.parametrize(
    ("params", "message"),
    [({"since": "yesterday-ish"}, "since: 'yesterday-ish' is not a time"), ({"since": "1d", "until": "2d"}, "before")],
)
def test_bad_times_are_refused(client, params, message):
    answer = client.get("/api/overview", params=params)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_every_built_in_dashboard_runs(client):
    listed = client.get("/api/dashboards").json()
    assert {d["id"] for d in listed} == {"cloudtrail", "network", "web", "s3", "waf", "dns"}
    for summary in listed:
        board = client.get(f"/api/dashboards/{summary['id']}", params={"since": "2024-03-01"}).json()
        assert board["error"] is None
        for panel in board["panels"]:
            assert panel["error"] is None, (board["id"], panel["id"], panel["error"])
            assert panel["rows"], (board["id"], panel["id"])
            assert set(panel["y"]) <= set(panel["columns"]) and panel["x"] in [None, *panel["columns"]]


def test_panel_values_are_numbers_and_times_iso(client):
    network = {p["id"]: p for p in client.get("/api/dashboards/network").json()["panels"]}
    talkers = network["top_talkers"]
    assert talkers["types"][1] == "HUGEINT"  # sum(bytes): a decimal in Arrow, a number in JSON
    assert all(isinstance(row[1], int | float) for row in talkers["rows"])
    flows = network["flows_by_action"]
    assert flows["series"] == "action" and flows["rows"][0][0].endswith(":00:00Z")


def test_dashboard_time_filter_prunes_to_the_window(client):
    def calls(**params) -> int:
        panels = client.get("/api/dashboards/cloudtrail", params=params).json()["panels"]
        return next(p for p in panels if p["id"] == "api_calls")["rows"][0][0]

    everything = calls()
    assert 0 < calls(since="2024-03-06T10:00Z", until="2024-03-06T11:00Z") < everything
    assert calls(since="2030-01-01") == 0


def test_new_log_rows_reach_a_running_app(lake_copy):
    # log tables are views over their snapshot's file list: a commit (as an ingest makes) must re-point them
    from loglake.lake import catalog as lake_catalog

    app_client = client_for(create_app(lake_copy))

    def calls() -> int:
        panels = app_client.get("/api/dashboards/cloudtrail", params={"since": "2030-01-01"}).json()["panels"]
        return next(p for p in panels if p["id"] == "api_calls")["rows"][0][0]

    assert calls() == 0
    table = lake_catalog.load_table(lake_catalog.open_catalog(lake_catalog.LakeLocation(lake_copy)), "cloudtrail_logs")
    rows = table.scan(limit=10).to_arrow()
    later = pa.array([dt.datetime(2030, 1, 2, tzinfo=dt.UTC)] * len(rows), rows.schema.field("lake_time").type)
    rows = rows.set_column(rows.schema.get_field_index("lake_time"), "lake_time", later)
    rows = rows.set_column(rows.schema.get_field_index("lake_date"), "lake_date", pa.array([dt.date(2030, 1, 2)] * 10))
    table.append(rows)
    assert calls() == 10
    answer = app_client.post(
        "/api/query", json={"sql": "SELECT count(*) FROM cloudtrail_logs WHERE lake_time >= '2030-01-01'"}
    )
    assert answer.json()["rows"] == [[10]]


def test_unknown_dashboard_is_404(client):
    answer = client.get("/api/dashboards/nope")
    assert answer.status_code == 404 and answer.json() == {"error": "no dashboard 'nope'"}


USER_BOARD = """
id: mine
title: Mine
panels:
  - {id: tls, title: NLB TLS, chart: table, sql: "SELECT * FROM nlb_tls_logs WHERE {time_filter}"}
  - {id: assets, title: Assets, chart: table, sql: "SELECT * FROM assets"}
  - id: calls
    title: Calls
    chart: stat
    sql: "WITH c AS (SELECT * FROM cloudtrail_logs WHERE {time_filter}) SELECT count(*) AS n FROM c"
    y: n
  - {id: broken, title: Broken, chart: table, sql: "SELECT no_such_column FROM cloudtrail_logs"}
"""


def without_assets(lake: Path) -> None:
    """Drop the copy's assets table (the shared lake has the demo estate's) to see a lake without one."""
    from loglake.lake import catalog as lake_catalog

    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    catalog.drop_table(f"{lake_catalog.NAMESPACE}.assets")


def test_panel_on_missing_table_says_so_and_others_still_run(lake_copy):
    without_assets(lake_copy)
    (lake_copy / "dashboards").mkdir()
    (lake_copy / "dashboards" / "mine.yaml").write_text(USER_BOARD)
    panels = {p["id"]: p for p in client_for(create_app(lake_copy)).get("/api/dashboards/mine").json()["panels"]}
    assert panels["tls"]["error"] == "no nlb_tls_logs data"  # a table ingest made but never wrote to
    assert panels["assets"]["error"] == "no assets data"  # no such table at all
    assert panels["calls"]["error"] is None and panels["calls"]["rows"][0][0] > 1000
    assert panels["broken"]["error"].startswith("Binder Error: Referenced column")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("id: x\ntitle: [unclosed\n", "lake/dashboards/bad.yaml: not valid YAML (line 3)"),
        ("id: x\ntitle: X\npanels:\n  - {id: p, title: P, chart: pie, sql: SELECT 1}\n", "panels[0].chart: 'pie'"),
        ("id: x\npanels:\n  - {id: p, title: P, chart: table, sql: SELECT 1}\n", "lake/dashboards/bad.yaml: title:"),
        ("id: x\ntitle: X\npanels:\n  - {id: p, title: P, chart: table, sql: DROP TABLE t}\n", "panels[0].sql:"),
        ("id: x\ntitle: X\npanels:\n  - {id: p, title: P, chart: line, sql: SELECT 1, x: a}\n", "panels[0].y:"),
    ],
)
def test_bad_user_dashboard_is_listed_with_file_and_key(lake_copy, text, error):
    (lake_copy / "dashboards").mkdir()
    (lake_copy / "dashboards" / "bad.yaml").write_text(text)
    client = client_for(create_app(lake_copy))
    listed = {d["id"]: d for d in client.get("/api/dashboards").json()}
    assert error in listed["bad"]["error"]
    assert "cloudtrail" in listed  # the built-ins are still there
    board = client.get("/api/dashboards/bad")
    assert board.status_code == 200 and board.json()["panels"] == [] and error in board.json()["error"]


# -- SQL -------------------------------------------------------------------------------------------------------------


def test_query_returns_rows_types_and_truncation(client):
    answer = query(client, "SELECT eventname, count(*) AS n FROM cloudtrail_logs GROUP BY 1 ORDER BY 2 DESC", limit=3)
    body = answer.json()
    assert answer.status_code == 200
    assert body["columns"] == ["eventname", "n"] and body["types"] == ["VARCHAR", "BIGINT"]
    assert len(body["rows"]) == 3 and body["truncated"] is True and body["elapsed_ms"] >= 0
    whole = query(client, "SELECT 1 AS a, 1 AS a, TIMESTAMPTZ '2024-03-06 10:00:00+00' AS t, {'k': [1, 2]} AS s")
    assert whole.json()["rows"] == [[1, 1, "2024-03-06T10:00:00Z", {"k": [1, 2]}]] and not whole.json()["truncated"]


def test_query_history_keeps_what_ran_newest_first(client):
    query(client, "SELECT 'first' AS which")
    query(client, "SELECT 'second' AS which")
    query(client, "DROP TABLE cloudtrail_logs")  # refused: not history
    history = client.get("/api/query/history").json()
    assert [h["sql"] for h in history[:2]] == ["SELECT 'second' AS which", "SELECT 'first' AS which"]
    assert history[0]["rows"] == 1 and history[0]["at"].endswith("Z")


def test_query_history_keeps_the_last_100(tmp_path):
    from loglake.web.history import QueryHistory

    history = QueryHistory(tmp_path / "history.jsonl")
    for n in range(105):
        history.add(f"SELECT {n}", 1, 0.1)
    entries = history.entries()
    assert len(entries) == 100 and entries[0]["sql"] == "SELECT 104" and entries[-1]["sql"] == "SELECT 5"


def test_query_can_read_the_lake_files(client, api_lake, web_lake):
    # the views read the warehouse, and so may a query: the lake is what the page is for
    files = f"{web_lake.resolve()}/warehouse/loglake/cloudtrail_logs/data/**/*.parquet"
    answer = query(client, f"SELECT count(*) FROM read_parquet('{files}')")
    assert answer.status_code == 200 and answer.json()["rows"][0][0] > 1000


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        ("CREATE TABLE t AS SELECT 1", "only SELECT"),
        ("INSERT INTO cloudtrail_logs SELECT * FROM cloudtrail_logs", "only SELECT"),
        ("COPY (SELECT 1) TO '/tmp/loglake-web-test.csv'", "only SELECT"),
        ("ATTACH '/tmp/loglake-web-test.db' AS x", "only SELECT"),
        ("PRAGMA version", "only SELECT"),
        ("INSTALL httpfs", "only SELECT"),
        ("SET enable_external_access = true", "only SELECT"),
        ("CHECKPOINT", "not CHECKPOINT"),
        ("SELECT 1; SELECT 2", "one statement at a time"),
        ("SELECT 1; DROP TABLE alerts", "one statement at a time"),
        ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
        ("SELECT * FROM read_text('/etc/hostname')", "Permission Error"),
        ("SELECT * FROM glob('/etc/*')", "Permission Error"),
        ("SELECT * FROM sniff_csv('/etc/passwd')", "Permission Error"),
        ("SELECT * FROM iceberg_scan('/etc')", "Permission Error"),
        ("SELECT * FROM 'https://example.com/x.parquet'", "Error"),
        ("SELEC 1", "Parser Error"),
        ("", "no SQL given"),
    ],
)
def test_query_refusals(client, sql, error):
    answer = query(client, sql)
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert error in message
    assert "\n" not in message and "Traceback" not in message


def test_query_outside_the_lake_is_refused(client, api_lake, tmp_path):
    outside = tmp_path / "elsewhere.parquet"
    pq.write_table(pa.table({"secret": [1]}), outside)
    answer = query(client, f"SELECT * FROM read_parquet('{outside}')")
    assert answer.status_code == 400 and "Permission Error" in answer.json()["error"]
    # the lake folder itself is not open either: only its tables' folders are
    catalog = query(client, f"SELECT * FROM read_text('{api_lake.resolve()}/catalog.db')")
    assert catalog.status_code == 400 and "Permission Error" in catalog.json()["error"]
    escape = query(client, f"SELECT * FROM read_text('{api_lake.resolve()}/warehouse/../catalog.db')")
    assert escape.status_code == 400


def test_query_limit_is_bounded(client):
    assert query(client, "SELECT 1", limit=0).status_code == 400
    too_many = query(client, "SELECT 1", limit=10_001).json()
    assert too_many == {"error": "limit: Input should be less than or equal to 10000"}


def test_slow_query_is_stopped(api_lake):
    slow = client_for(create_app(api_lake, query_timeout=1))
    started = time.monotonic()
    answer = query(slow, "SELECT count(*) FROM range(1000000000) a, range(1000000000) b")
    assert answer.status_code == 400 and "ran longer than 1 s" in answer.json()["error"]
    assert time.monotonic() - started < 10
    assert query(slow, "SELECT 42").json()["rows"] == [[42]]  # the connection still works after the interrupt


def test_download_csv_and_parquet(client):
    sql = "SELECT eventname, useridentity, lake_time FROM cloudtrail_logs ORDER BY lake_time LIMIT 5"
    csv = client.post("/api/query/download", json={"sql": sql, "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="query.csv"'
    lines = csv.text.splitlines()
    assert lines[0] == '"eventname","useridentity","lake_time"' and len(lines) == 6
    assert '""arn"":' in lines[1]  # a struct cell is JSON text

    parquet = client.post("/api/query/download", json={"sql": sql, "format": "parquet"})
    table = pq.read_table(pa.BufferReader(parquet.content))
    assert table.num_rows == 5 and table.schema.field("useridentity").type.num_fields > 3
    assert parquet.headers["x-loglake-truncated"] == "false"


def test_download_refusals(client):
    assert client.post("/api/query/download", json={"sql": "SELECT 1", "format": "xlsx"}).status_code == 400
    copy = client.post("/api/query/download", json={"sql": "COPY (SELECT 1) TO '/tmp/x.csv'", "format": "csv"})
    assert copy.status_code == 400 and "only SELECT" in copy.json()["error"]


# -- alerts, hunting, assets -----------------------------------------------------------------------------------------


def test_alerts_most_severe_then_newest(client):
    alerts = client.get("/api/alerts").json()
    assert len(alerts) >= 3 and "hit_keys" not in alerts[0]
    ranks = [SEVERITY[a["severity"]] for a in alerts]
    assert ranks == sorted(ranks, reverse=True)
    for severity in set(ranks):
        same = [a["last_seen"] for a in alerts if SEVERITY[a["severity"]] == severity]
        assert same == sorted(same, reverse=True)
    assert {"aws.cloudtrail.logging_stopped", "aws.web.sqli_attempt"} <= {a["rule_id"] for a in alerts}
    ssh = next(a for a in alerts if a["rule_id"] == "aws.vpc.ssh_rdp_from_internet")
    assert (ssh["asset_name"], ssh["asset_sensitivity"], ssh["asset_reachability"]) == (
        "legacy-web-1",
        "internal",
        "internet",
    )


def test_alert_filters(client):
    high = client.get("/api/alerts", params={"severity": "high"}).json()
    assert high and {a["severity"] for a in high} == {"high"}
    two = client.get("/api/alerts", params={"severity": "high,medium"}).json()
    assert {a["severity"] for a in two} == {"high", "medium"}
    rule = client.get("/api/alerts", params={"rule": "aws.web.sqli_attempt", "status": "open"}).json()
    assert [a["rule_id"] for a in rule] == ["aws.web.sqli_attempt"]
    assert client.get("/api/alerts", params={"status": "closed"}).json() == []
    assert client.get("/api/alerts", params={"since": "2024-03-08"}).json() == []
    assert client.get("/api/alerts", params={"until": "2024-03-06T00:00Z"}).json() == []


def test_alert_detail_brings_the_raw_rows(client):
    alert = client.get("/api/alerts", params={"rule": "aws.cloudtrail.logging_stopped"}).json()[0]
    detail = client.get(f"/api/alerts/{alert['alert_id']}").json()
    assert detail["alert"]["alert_id"] == alert["alert_id"]
    event = detail["events"][0]
    assert event["lake_table"] == "cloudtrail_logs"
    row = event["row"]
    assert row["lake_file"] == event["lake_file"] and row["lake_row"] == event["lake_row"]
    assert row["eventid"] == event["event_id"]
    assert row["eventname"] in {"StopLogging", "DeleteTrail", "PutEventSelectors"}
    assert client.get("/api/alerts/nope").status_code == 404


def test_alert_status_change_persists(lake_copy):
    app_client = client_for(create_app(lake_copy))
    alert_id = app_client.get("/api/alerts", params={"severity": "high"}).json()[0]["alert_id"]
    changed = app_client.post(f"/api/alerts/{alert_id}/status", json={"status": "acknowledged", "note": "on it"})
    assert changed.status_code == 200
    assert changed.json()["status"] == "acknowledged" and changed.json()["note"] == "on it"
    # the same app sees it at once (its views follow the new snapshot), and so does a new one
    assert app_client.get(f"/api/alerts/{alert_id}").json()["alert"]["status"] == "acknowledged"
    fresh = client_for(create_app(lake_copy)).get(f"/api/alerts/{alert_id}").json()["alert"]
    assert (fresh["status"], fresh["note"]) == ("acknowledged", "on it")
    acknowledged = app_client.get("/api/alerts", params={"status": "acknowledged"}).json()
    assert [a["alert_id"] for a in acknowledged] == [alert_id]

    bad = app_client.post(f"/api/alerts/{alert_id}/status", json={"status": "done"})
    assert bad.status_code == 400 and "status: 'done' is not one of open, acknowledged, closed" in bad.json()["error"]
    unknown = app_client.post("/api/alerts/nope/status", json={"status": "closed"})
    assert unknown.status_code == 404


def test_hunt_timelines(client):
    ip = client.get("/api/hunt", params={"kind": "ip", "value": "203.0.113.66", "limit": 5}).json()
    assert len(ip["rows"]) == 5 and ip["truncated"] is True
    assert {"lake_time", "lake_table", "action", "lake_file", "lake_row"} <= set(ip["rows"][0])
    times = [dt.datetime.fromisoformat(r["lake_time"]) for r in ip["rows"]]
    assert times == sorted(times)
    who = client.get("/api/hunt", params={"kind": "principal", "value": "ci-deploy", "since": "2024-03-06"}).json()
    assert who["rows"] and all(r["principal"].endswith("/ci-deploy") for r in who["rows"])
    later = client.get("/api/hunt", params={"kind": "ip", "value": "203.0.113.66", "since": "2024-03-08"}).json()
    assert later == {"rows": [], "truncated": False}
    # the attacker's SSH flows name the instance they reached, with its classification
    flows = client.get("/api/hunt", params={"kind": "ip", "value": "203.0.113.66"}).json()["rows"]
    named = {(r["asset_name"], r["asset_reachability"]) for r in flows if r["lake_table"] == "vpc_flow_logs"}
    assert ("legacy-web-1", "internet") in named


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"kind": "ip", "value": "not-an-ip"}, "is not an IP address"),
        ({"kind": "key", "value": "AKIA-short"}, "is not an access key id"),
        ({"kind": "dns", "value": "x"}, "kind: 'dns' is not one of ip, principal, key"),
        ({"kind": "ip"}, "value: Field required"),
    ],
)
def test_hunt_refusals(client, params, error):
    answer = client.get("/api/hunt", params=params)
    assert answer.status_code == 400 and error in answer.json()["error"]


def test_assets_when_absent_and_present(lake_copy):
    from loglake.lake import catalog as lake_catalog

    without_assets(lake_copy)
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake_copy))
    assert client_for(create_app(lake_copy)).get("/api/assets").json() == {"available": False, "rows": []}
    closed = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    rows = pa.table(  # the history keeps the closed version; the page shows the current one only
        {
            "arn": ["arn:aws:s3:::prod-data", "arn:aws:s3:::prod-data"],
            "sensitivity": ["internal", "high"],
            "valid_to": pa.array([closed, None], pa.timestamp("us", tz="UTC")),
        }
    )
    lake_catalog.ensure_table(catalog, "assets", rows.schema, partitioned=False).append(rows)
    answer = client_for(create_app(lake_copy)).get("/api/assets").json()
    assert answer == {
        "available": True,
        "rows": [{"arn": "arn:aws:s3:::prod-data", "sensitivity": "high", "valid_to": None}],
    }


# -- the page, docs, errors ------------------------------------------------------------------------------------------


def test_page_and_openapi_without_cdn_docs(client):
    assert client.get("/").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/api/query", "/api/alerts/{alert_id}/status", "/api/dashboards/{dashboard_id}"} <= set(schema["paths"])
    # FastAPI's docs pages load scripts from a CDN (blank offline, against the page's policy): not served
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "error" in missing.json()


def test_every_answer_carries_the_content_security_policy(client, api_app):
    answers = {
        "page": client.get("/"),
        "script": client.get("/static/app.js"),
        "api": client.get("/api/dashboards"),
        "error": client.get("/api/dashboards/no-such-board"),
        "refusal": client_for(api_app, OUTSIDER).get("/api/health"),
    }
    for name, answer in answers.items():
        policy = answer.headers["content-security-policy"]
        directives = dict(part.partition(" ")[::2] for part in policy.split("; "))
        assert directives["default-src"] == "'none'", name
        assert directives["script-src"] == "'self'", name  # no inline script, no eval
        assert directives["style-src"] == "'self'", name
        assert directives["connect-src"] == "'self'", name
        assert directives["frame-ancestors"] == "'none'", name
        assert directives["base-uri"] == directives["form-action"] == "'self'", name
    assert answers["refusal"].status_code == 401


def test_unexpected_errors_are_json_without_traceback(api_app, monkeypatch):
    from loglake.web import overview

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /some/path")

    monkeypatch.setattr(overview, "overview", explode)
    answer = client_for(api_app, raise_server_exceptions=False).get("/api/overview")
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (RuntimeError); the server log has the details"}


def test_no_lake_no_app(tmp_path):
    from loglake.lake.catalog import LakeError

    with pytest.raises(LakeError, match="no lake at"):
        create_app(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()  # no token folder made in a mistyped path


def test_non_json_body_is_refused(client):
    # a cross-site form can only send text/plain or form data: both are refused
    answer = client.post("/api/query", content='{"sql": "SELECT 1"}', headers={"content-type": "text/plain"})
    assert answer.status_code == 400 and "application/json" in answer.json()["error"]


# -- who may ask -----------------------------------------------------------------------------------------------------


def test_token_file_is_private_and_made_once(tmp_path):
    token, created = auth.ensure_token(tmp_path)
    path = tmp_path / "web" / "token"
    assert created and path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().strip() == token and len(token) >= 40
    path.chmod(0o644)
    assert auth.ensure_token(tmp_path) == (token, False)
    assert path.stat().st_mode & 0o777 == 0o600  # loosened permissions are tightened again


def test_lake_token_file_after_app_start(client, api_lake):
    path = api_lake / "web" / "token"
    assert path.stat().st_mode & 0o777 == 0o600


def test_other_addresses_need_the_token(api_app, api_lake):
    token = auth.ensure_token(api_lake)[0]
    outsider = client_for(api_app, OUTSIDER)
    for path in ("/api/health", "/", "/openapi.json", "/static/app.js"):
        refused = outsider.get(path)
        assert refused.status_code == 401 and "token" in refused.json()["error"], path
    wrong = outsider.get("/api/health", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert outsider.post("/api/query", json={"sql": "SELECT 1"}).status_code == 401
    allowed = outsider.get("/api/health", headers={"Authorization": f"Bearer {token}"})
    assert allowed.status_code == 200


def test_page_load_with_token_sets_a_strict_cookie(api_app, api_lake):
    token = auth.ensure_token(api_lake)[0]
    stranger = client_for(api_app, OUTSIDER, follow_redirects=False)
    assert stranger.get("/", params={"token": "wrong"}).status_code == 401
    assert stranger.get("/api/health", params={"token": token}).status_code == 401  # API calls: header or cookie
    outsider = client_for(api_app, OUTSIDER, follow_redirects=False)
    landing = outsider.get("/", params={"token": token, "tab": "alerts"})
    assert landing.status_code == 303 and landing.headers["location"] == "/?tab=alerts"  # the token leaves the URL
    cookie = landing.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert outsider.get("/api/health").status_code == 200  # the client keeps the cookie, as a browser does


def test_loopback_with_a_foreign_host_name_needs_the_token(api_app):
    # DNS rebinding: a page from evil.example resolved to 127.0.0.1 calls us from loopback with its own Host
    rebound = client_for(api_app)
    assert rebound.get("/api/health", headers={"host": "evil.example:8080"}).status_code == 401
    assert rebound.get("/api/health", headers={"host": "localhost:8080"}).status_code == 200
    assert client_for(api_app, ("::1", 50000)).get("/api/health").status_code == 200


def test_cross_site_post_is_refused(client):
    answer = client.post("/api/query", json={"sql": "SELECT 1"}, headers={"origin": "https://evil.example"})
    assert answer.status_code == 403
    same = client.post("/api/query", json={"sql": "SELECT 1"}, headers={"origin": "http://127.0.0.1:8080"})
    assert same.status_code == 200


# -- the real server -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_loglake_serve_answers_over_http(lake_copy):
    port = free_port()
    command = [sys.executable, "-m", "loglake", "serve", "--lake", str(lake_copy), "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        health = _wait_for_health(f"http://127.0.0.1:{port}/api/health", server)
        assert health["lake"] == str(lake_copy.resolve())
    finally:
        server.terminate()
        out, err = server.communicate(timeout=20)
    token = (lake_copy / "web" / "token").read_text().strip()
    assert f"http://127.0.0.1:{port}/?token={token}" in out  # shown once, on creation
    assert token not in err


def _wait_for_health(url: str, server: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"loglake serve exited: {server.communicate()[1]}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.2)
    raise AssertionError("loglake serve did not answer within 60 s")
