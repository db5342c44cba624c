"""Detect runs over a real lake: watermarks, late data, thresholds across runs, dedup, re-runs and backtests."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
from pathlib import Path

import orjson
import pytest

from loglake.cli import main
from loglake.detect.rulebook import load_rulebook
from loglake.detect.run import detect
from loglake.detect.store import AlertStore, set_status

ACCOUNT = "111122223333"
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
_files = itertools.count()

RULE = """
id: test.stop_logging
title: StopLogging
description: a trail was stopped
severity: high
tags: [attack.t1562.008]
tables: [cloudtrail_logs]
query: SELECT * FROM cloudtrail_logs WHERE eventname = 'StopLogging'
dedup: {keys: [principal], window: 1h}
"""
THRESHOLD = """
id: test.login_failures
title: Console login failures
description: five failed console logins by one principal within ten minutes
severity: medium
tags: [attack.t1110]
tables: [cloudtrail_logs]
query: SELECT * FROM cloudtrail_logs WHERE eventname = 'ConsoleLogin' AND errorcode IS NOT NULL
threshold: {count: 5, window: 10m, group_by: [principal]}
"""


def event(name: str, when: dt.datetime, user: str = "mallory", error: str | None = None) -> dict:
    record = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "accountId": ACCOUNT},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "cloudtrail.amazonaws.com" if name == "StopLogging" else "signin.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.66",
        "eventID": f"{name}-{user}-{when.isoformat()}",
        "recipientAccountId": ACCOUNT,
    }
    if error:
        record["errorCode"] = error
    return record


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "stop_logging.yml").write_text(RULE)
    (folder / "login_failures.yml").write_text(THRESHOLD)
    return folder


def ingest(root: Path, lake: Path, events: list[dict]) -> None:
    """Deliver one more CloudTrail file (AWS key layout, gzip) and ingest the folder."""
    day = dt.datetime.fromisoformat(events[0]["eventTime"].replace("Z", "+00:00")).date()
    folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / day.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    number = next(_files)
    path = folder / f"{ACCOUNT}_CloudTrail_us-east-1_{day:%Y%m%d}T0000Z_{number:016d}.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps({"Records": events})))
    assert main(["ingest", str(root), "--lake", str(lake)]) == 0


def run(lake: Path, rules_dir: Path, **kwargs):
    rules = load_rulebook(None, builtin=False, extra=rules_dir).rules
    return detect(lake, rules, **kwargs)


def alerts(lake: Path, rule_id: str) -> list:
    return sorted(AlertStore(lake).alerts_of(rule_id), key=lambda a: a.first_seen)


def test_a_repeat_updates_the_alert_and_a_rerun_adds_nothing(tmp_path: Path, lake: Path, rules_dir: Path) -> None:
    raw = tmp_path / "raw"
    ingest(raw, lake, [event("StopLogging", T0), event("StopLogging", T0 + dt.timedelta(minutes=5))])
    first = run(lake, rules_dir)
    assert [a.count for a in first.new] == [2]
    again = run(lake, rules_dir)
    assert not again.new and not again.updated
    assert {r.status for r in again.runs} == {"nothing new"}

    ingest(raw, lake, [event("StopLogging", T0 + dt.timedelta(minutes=50))])  # within the hour after the last
    repeat = run(lake, rules_dir)
    assert not repeat.new
    assert [a.count for a in repeat.updated] == [3]
    assert [a.alert_id for a in alerts(lake, "test.stop_logging")] == [first.new[0].alert_id]


def test_late_data_is_seen_by_commit_not_by_event_time(tmp_path: Path, lake: Path, rules_dir: Path) -> None:
    raw = tmp_path / "raw"
    ingest(raw, lake, [event("StopLogging", T0)])
    run(lake, rules_dir)
    late = T0 - dt.timedelta(days=3)  # delivered now, happened three days ago
    ingest(raw, lake, [event("StopLogging", late, user="eve")])
    result = run(lake, rules_dir)
    assert [(a.principal, a.first_seen) for a in result.new] == [(f"arn:aws:iam::{ACCOUNT}:user/eve", late)]


def test_a_threshold_reached_across_two_ingests_fires_once(tmp_path: Path, lake: Path, rules_dir: Path) -> None:
    raw = tmp_path / "raw"
    failures = [event("ConsoleLogin", T0 + dt.timedelta(minutes=i), error="Failed authentication") for i in range(5)]
    ingest(raw, lake, failures[:3])
    assert not [a for a in run(lake, rules_dir).new if a.rule_id == "test.login_failures"]
    ingest(raw, lake, failures[3:4])
    assert not [a for a in run(lake, rules_dir).new if a.rule_id == "test.login_failures"]
    ingest(raw, lake, failures[4:])  # the fifth, in the same ten minutes, arriving in a later file
    fired = [a for a in run(lake, rules_dir).new if a.rule_id == "test.login_failures"]
    assert [(a.count, a.principal) for a in fired] == [(5, f"arn:aws:iam::{ACCOUNT}:user/mallory")]


def test_threshold_counts_per_group(tmp_path: Path, lake: Path, rules_dir: Path) -> None:
    raw = tmp_path / "raw"
    mixed = [event("ConsoleLogin", T0 + dt.timedelta(minutes=i), user=f"u{i % 2}", error="Failed") for i in range(8)]
    ingest(raw, lake, mixed)  # eight failures, but only four per principal
    assert not alerts(lake, "test.login_failures") and not run(lake, rules_dir).new


def test_hits_further_apart_than_the_dedup_window_are_separate_alerts(
    tmp_path: Path, lake: Path, rules_dir: Path
) -> None:
    raw = tmp_path / "raw"
    times = [T0, T0 + dt.timedelta(minutes=30), T0 + dt.timedelta(hours=3)]
    ingest(raw, lake, [event("StopLogging", t) for t in times])
    run(lake, rules_dir)
    assert [a.count for a in alerts(lake, "test.stop_logging")] == [2, 1]


def test_backtest_over_seen_data_creates_nothing_and_keeps_the_status(
    tmp_path: Path, lake: Path, rules_dir: Path
) -> None:
    raw = tmp_path / "raw"
    ingest(raw, lake, [event("StopLogging", T0)])
    (alert,) = run(lake, rules_dir).new
    set_status(lake, alert.alert_id, "acknowledged", "change ticket 42")
    backtest = run(lake, rules_dir, since=T0 - dt.timedelta(days=1), until=T0 + dt.timedelta(days=1))
    assert not backtest.new and not backtest.updated
    ingest(raw, lake, [event("StopLogging", T0 + dt.timedelta(minutes=10))])
    run(lake, rules_dir)
    (kept,) = alerts(lake, "test.stop_logging")
    assert (kept.alert_id, kept.status, kept.note, kept.count) == (
        alert.alert_id,
        "acknowledged",
        "change ticket 42",
        2,
    )


def test_cli_detect_sends_new_alerts_once(tmp_path: Path, lake: Path, rules_dir: Path, capsys) -> None:
    raw = tmp_path / "raw"
    ingest(raw, lake, [event("StopLogging", T0)])
    assert main(["rules", "add", str(rules_dir), "--lake", str(lake)]) == 0
    sink = tmp_path / "alerts.jsonl"
    args = ["detect", "--lake", str(lake), "--rule", "test.stop_logging", "--output", f"jsonl:{sink}"]
    assert main(args) == 0
    assert main(args) == 0
    lines = [orjson.loads(line) for line in sink.read_text().splitlines()]
    assert [(x["rule_id"], x["count"]) for x in lines] == [("test.stop_logging", 1)]
    capsys.readouterr()
    assert main(["alerts", "list", "--lake", str(lake), "--format", "json"]) == 0
    listed = orjson.loads(capsys.readouterr().out)
    assert [a["alert_id"] for a in listed] == [lines[0]["alert_id"]]


def test_cli_errors_name_the_fix(lake: Path, tmp_path: Path, capsys) -> None:
    ingest(tmp_path / "raw", lake, [event("StopLogging", T0)])
    assert main(["detect", "--lake", str(lake), "--rule", "no.such.rule"]) == 1
    assert "no rule 'no.such.rule'" in capsys.readouterr().err
    assert main(["detect", "--lake", str(lake), "--output", "pager:x"]) == 1
    assert "--output" in capsys.readouterr().err
    assert main(["detect", "--lake", str(lake), "--since", "yesterday"]) == 1
    assert "24h" in capsys.readouterr().err


def test_sigma_rules_added_to_a_lake_run_there(tmp_path: Path, lake: Path, capsys) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures" / "sigma"
    ingest(tmp_path / "raw", lake, [event("StopLogging", T0)])
    assert main(["rules", "add", str(fixtures / "rules"), "--lake", str(lake)]) == 0
    assert main(["rules", "add", str(fixtures / "unsupported"), "--lake", str(lake)]) == 0
    capsys.readouterr()
    assert main(["rules", "list", "--unsupported", "--lake", str(lake), "--format", "json"]) == 0
    unsupported = orjson.loads(capsys.readouterr().out)
    assert [Path(u["file"]).name for u in unsupported] == ["aws_lambda_function_created_or_invoked.yml"]
    assert "near" in unsupported[0]["reason"]
    sigma_rules = [r for r in load_rulebook(lake).rules if r.source == "sigma"]
    assert len(sigma_rules) >= 57
    stop = next(r for r in sigma_rules if r.path.name == "aws_cloudtrail_disable_logging.yml")
    result = detect(lake, [stop])
    assert [a.count for a in result.new] == [1]
