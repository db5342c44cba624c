"""Asset stamps: rows carry their asset from ingest, the views read it where it is current, and an inventory run
that moves an identifier rewrites exactly the rows the move changed."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from loglake.context import stamps, views
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.lake import catalog as lake_catalog
from loglake.lake import maintenance
from loglake.lake.locks import lake_locks
from loglake.query import engine
from loglake.web.readonly import ReadOnlyLake
from tests.context.estate import instance, snapshot, write_flow_lines
from tests.posture.conftest import run_cli

FIRST = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
SECOND = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)
MOVED_IP = "10.0.1.23"
CLIENT = "eni-0c11e47"  # an interface the inventory does not know: only the destination names the asset
PAYMENTS = {"Name": "prod-int-payments", "Classification": "restricted"}
SANDBOX = {"Name": "dev-int-sandbox", "Classification": "public"}
COLUMNS = "lake_time, action, asset_name, sensitivity, asset_match, asset_direction"


def _view_sql(con, table: str) -> str:
    return con.execute("SELECT sql FROM duckdb_views() WHERE view_name = ?", [views.view_name(table)]).fetchone()[0]


def _joined(con, table: str) -> list[tuple]:
    """What the view gives without stamps: every row joined to the index."""
    return con.execute(f"SELECT {COLUMNS} FROM ({views.enriched_sql(table)}) ORDER BY lake_time").fetchall()


def _ingest_flows(tmp_path, lake) -> None:
    raw = tmp_path / "raw"
    # two objects on two days: a file per day, so a change to one day's rows leaves the other's file alone
    write_flow_lines(raw, "day1", [(FIRST + dt.timedelta(hours=1), CLIENT, "10.0.7.7", MOVED_IP, "ACCEPT")])
    write_flow_lines(
        raw,
        "day2",
        [
            (SECOND + dt.timedelta(hours=1), CLIENT, "10.0.7.7", MOVED_IP, "REJECT"),
            (SECOND - dt.timedelta(hours=1), CLIENT, "10.0.7.7", MOVED_IP, "ACCEPT"),
            (SECOND + dt.timedelta(hours=2), CLIENT, "10.0.7.7", "10.0.9.9", "ACCEPT"),  # an address nobody holds
        ],
    )
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=1))


def test_rows_are_written_with_their_asset_and_the_view_reads_it(tmp_path, lake):
    snapshot(lake, FIRST, [instance("i-0aaa", MOVED_IP, "eni-0aaa", PAYMENTS)])
    _ingest_flows(tmp_path, lake)

    con = engine.connect(lake)
    stored = con.execute("SELECT lake_asset_name, lake_asset_sensitivity, lake_asset_match FROM vpc_flow_logs")
    assert set(stored.fetchall()) == {("prod-int-payments", "restricted", "dstaddr"), (None, None, None)}
    assert " JOIN " not in _view_sql(con, "vpc_flow_logs").upper()  # every file current: no join at all
    assert con.execute(f"SELECT {COLUMNS} FROM vpc_flow_logs_ctx ORDER BY lake_time").fetchall() == _joined(
        con, "vpc_flow_logs"
    )


def test_an_inventory_run_that_moves_an_ip_restamps_only_the_rows_after_the_move(tmp_path, lake):
    snapshot(lake, FIRST, [instance("i-0aaa", MOVED_IP, "eni-0aaa", PAYMENTS)])
    _ingest_flows(tmp_path, lake)  # stamped while payments held the address, the flow after SECOND too
    before = set(engine.snapshot_files(_flows(lake)))
    first_epoch = _epoch(lake)
    root = lake_catalog.LakeLocation(lake).root
    first_index = stamps.index_path(root, first_epoch).read_bytes()  # kept by the ingest

    # the second run: the payments instance got a new address and the sandbox took the old one at SECOND
    moved = [instance("i-0aaa", "10.0.1.50", "eni-0aaa", PAYMENTS), instance("i-0bbb", MOVED_IP, "eni-0bbb", SANDBOX)]
    inventory_time = SECOND  # recorded by the run; the flow an hour later was ingested before it
    snapshot(lake, inventory_time, moved)

    con = engine.connect(lake)
    rows = con.execute(f"SELECT {COLUMNS} FROM vpc_flow_logs_ctx ORDER BY lake_time").fetchall()
    assert [r[1:5] for r in rows] == [
        ("ACCEPT", "prod-int-payments", "restricted", "dstaddr"),
        ("ACCEPT", "prod-int-payments", "restricted", "dstaddr"),  # an hour before the move
        ("REJECT", "dev-int-sandbox", "public", "dstaddr"),  # an hour after it: restamped
        ("ACCEPT", None, None, None),
    ]
    assert rows == _joined(con, "vpc_flow_logs")
    assert " JOIN " not in _view_sql(con, "vpc_flow_logs").upper()
    after = set(engine.snapshot_files(_flows(lake)))
    assert len(before - after) == 1 and len(after - before) == 1  # the second day's file only was rewritten
    assert con.execute("SELECT lake_asset_name FROM vpc_flow_logs WHERE action = 'REJECT'").fetchone() == (
        "dev-int-sandbox",
    )
    # nothing left to do: a second restamp checks no file
    report = next(r for r in stamps.restamp(lake) if r.table == "vpc_flow_logs")
    assert (report.files_checked, report.files_rewritten) == (0, 0)
    # Files still recorded at the first epoch (as if the restamp had not run) are checked only in the rows that
    # carry an identifier whose index rows changed: the three flows to the moved address, not the fourth.
    assert not stamps.index_path(root, first_epoch).exists()  # no file is recorded at it any more
    stamps.index_path(root, first_epoch).write_bytes(first_index)
    stamps.record(root, "vpc_flow_logs", dict.fromkeys(after, first_epoch), lake_locks(lake_catalog.LakeLocation(lake)))
    report = next(r for r in stamps.restamp(lake) if r.table == "vpc_flow_logs")
    assert (report.files_checked, report.rows_checked, report.files_current, report.files_rewritten) == (2, 3, 2, 0)


def test_files_not_known_current_are_joined_and_the_answer_is_the_same(tmp_path, lake):
    snapshot(lake, FIRST, [instance("i-0aaa", MOVED_IP, "eni-0aaa", PAYMENTS)])
    _ingest_flows(tmp_path, lake)
    root = lake_catalog.LakeLocation(lake).root
    files = stamps.recorded(root, "vpc_flow_logs")
    forgotten = sorted(files)[0]
    stamps.record_path(root, "vpc_flow_logs").write_text(json.dumps({"files": {**files, forgotten: "another-epoch"}}))

    con = engine.connect(lake)
    sql = _view_sql(con, "vpc_flow_logs").upper()
    assert "UNION ALL BY NAME" in sql and " JOIN " in sql  # one file reads its stamps, the other joins
    expected = _joined(con, "vpc_flow_logs")
    assert con.execute(f"SELECT {COLUMNS} FROM vpc_flow_logs_ctx ORDER BY lake_time").fetchall() == expected
    web = ReadOnlyLake(lake).reader().cur  # a cursor of the web's locked-down connection reads the same
    assert web.execute(f"SELECT {COLUMNS} FROM vpc_flow_logs_ctx ORDER BY lake_time").fetchall() == expected

    stamps.record_path(root, "vpc_flow_logs").write_text("{not json")  # unreadable: every file joins
    con = engine.connect(lake)
    assert "lake_asset_name AS asset_name" not in _view_sql(con, "vpc_flow_logs")
    assert len(con.execute("SELECT * FROM vpc_flow_logs_ctx").fetchall()) == 4

    report = next(r for r in stamps.restamp(lake) if r.table == "vpc_flow_logs")
    assert (report.files_checked, report.files_current, report.files_rewritten) == (2, 2, 0)  # checked, all right
    assert stamps.split(root, "vpc_flow_logs", engine.snapshot_files(_flows(lake)), _epoch(lake))[1] == []


def test_compacted_files_are_checked_and_read_their_stamps_again(tmp_path, lake):
    snapshot(lake, FIRST, [instance("i-0aaa", MOVED_IP, "eni-0aaa", PAYMENTS)])
    raw = tmp_path / "raw"
    for n in range(3):  # three objects of one day, three ingest runs: three small files to merge
        flow = (FIRST + dt.timedelta(hours=n), CLIENT, "10.0.7.7", MOVED_IP, "ACCEPT")
        write_flow_lines(raw / str(n), f"p{n}", [flow])
        ingest(IngestOptions(sources=[str(raw / str(n))], lake=lake, workers=2))
    location = lake_catalog.LakeLocation(lake)
    report = maintenance.compact(_flows(lake), "vpc_flow_logs", lake_locks(location))
    assert (report.files_before, report.files_after) == (3, 1)

    checked = next(r for r in stamps.restamp(lake) if r.table == "vpc_flow_logs")
    assert (checked.files_checked, checked.files_current, checked.files_rewritten) == (1, 1, 0)
    con = engine.connect(lake)
    assert " JOIN " not in _view_sql(con, "vpc_flow_logs").upper()
    assert len(stamps.recorded(location.root, "vpc_flow_logs")) == 1  # the merged files' entries are gone


def _flows(lake):
    return lake_catalog.load_table(lake_catalog.open_catalog(lake_catalog.LakeLocation(lake)), "vpc_flow_logs")


def _epoch(lake) -> str:
    return stamps.index_epoch(engine.connect(lake))


def test_a_restamp_killed_between_days_leaves_right_answers_and_the_next_one_finishes(capsys, tmp_path, lake):
    _ingest_flows(tmp_path, lake)  # before any inventory: every stamp says "no asset"
    inventory = (
        "import datetime as dt, sys; from pathlib import Path; from tests.context.estate import instance, snapshot; "
        "snapshot(Path(sys.argv[1]), dt.datetime(2026, 3, 2, 8, tzinfo=dt.UTC), "
        "[instance('i-0aaa', '10.0.1.23', 'eni-0aaa', {'Name': 'prod-int-payments'})])"
    )
    env = {**os.environ, "LOGLAKE_FAULT": "context-before-commit:2"}  # dies before the second day's commit
    command = [sys.executable, "-c", inventory, str(lake)]
    killed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert killed.returncode == 137, killed.stderr

    con = engine.connect(lake)
    sql = _view_sql(con, "vpc_flow_logs").upper()
    assert " JOIN " in sql and "UNION" not in sql  # the first day's rewritten file is not recorded yet: all join
    rows = con.execute(f"SELECT {COLUMNS} FROM vpc_flow_logs_ctx ORDER BY lake_time").fetchall()
    assert rows == _joined(con, "vpc_flow_logs")
    assert [r[2] for r in rows] == ["prod-int-payments"] * 3 + [None]

    code, out, err = run_cli(capsys, "restamp", "--lake", str(lake), "--format", "json")  # finished by hand
    assert code == 0, err
    report = next(r for r in json.loads(out) if r["table"] == "vpc_flow_logs")
    assert (report["files_current"], report["files_rewritten"]) == (1, 1)  # the day done before the kill, the other
    con = engine.connect(lake)
    assert " JOIN " not in _view_sql(con, "vpc_flow_logs").upper()
    assert con.execute(f"SELECT {COLUMNS} FROM vpc_flow_logs_ctx ORDER BY lake_time").fetchall() == rows
