"""Partition pruning through the file index: a time-bounded query reads only its days' files and returns exactly
what the whole-table scan returns, across ingests, compaction, retention and a concurrent writer; the index
is rebuilt when it is missing or damaged."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest

from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.lake import catalog as lake_catalog
from loglake.lake import maintenance
from loglake.lake.locks import lake_locks
from loglake.query import engine, file_index, pruning
from tests.ingest.helpers import write_flows
from tests.lake.s3lake import new_s3_lake

FIRST = dt.date(2024, 5, 1)
TABLE = "vpc_flow_logs"
BOUNDED = [
    "SELECT count(*), sum(bytes) FROM vpc_flow_logs WHERE lake_time >= TIMESTAMPTZ '{d1}' AND lake_time < '{d2}'",
    "SELECT srcaddr, count(*) FROM vpc_flow_logs WHERE lake_date = DATE '{d1}' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
    "SELECT count(*) FROM main.vpc_flow_logs f WHERE f.lake_date BETWEEN '{d0}' AND '{d1}' AND f.bytes > 100",
    "SELECT count(*) FROM vpc_flow_logs WHERE TIMESTAMP '{d1} 12:00' <= lake_time",
    "SELECT count(*) FROM vpc_flow_logs WHERE lake_time < DATE '{d1}' + INTERVAL 1 DAY",
    "SELECT count(*) FROM vpc_flow_logs a JOIN vpc_flow_logs b USING (lake_file, lake_row) "
    "WHERE a.lake_time >= '{d1}' AND b.lake_time < '{d2}'",
    "SELECT count(*) FROM vpc_flow_logs WHERE lake_time > now() - INTERVAL 3650 DAY",
    "SELECT count(*) FROM vpc_flow_logs WHERE lake_date = '{d1}' AND lake_date = '{d2}'",  # no day: no file
]
UNBOUNDED = [
    "SELECT count(*) FROM vpc_flow_logs",
    "SELECT count(*) FROM vpc_flow_logs WHERE lake_date = '{d1}' OR lake_date = '{d2}'",
    "WITH vpc_flow_logs AS (SELECT 1 AS lake_time) SELECT count(*) FROM vpc_flow_logs WHERE lake_time > 0",
]


def _ingest(lake, source) -> None:
    summary = ingest(IngestOptions(sources=[str(source)], lake=lake, workers=1))
    assert not summary.errors


def _write_days(source, first: int, last: int) -> None:
    for n in range(first, last + 1):
        write_flows(source / f"d{n}", FIRST + dt.timedelta(days=n), 2, 30)


@pytest.fixture
def flows(tmp_path, monkeypatch):
    """A lake of four days of flow logs, in several commits (so several manifests)."""
    monkeypatch.setattr("loglake.ingest.pipeline.BATCH_OBJECTS", 2)
    monkeypatch.setattr("loglake.ingest.pipeline.COMMIT_BATCHES", 1)
    _write_days(tmp_path / "src1", 0, 3)
    lake = tmp_path / "lake"
    _ingest(lake, tmp_path / "src1")
    return lake


def _table(lake):
    return lake_catalog.load_table(lake_catalog.open_catalog(lake_catalog.LakeLocation(lake)), TABLE)


def _days(n: int) -> dict[str, str]:
    return {f"d{i}": str(FIRST + dt.timedelta(days=n + i - 1)) for i in range(3)}


def _same_results(lake, day: int = 1) -> None:
    """Every query gives the same rows pruned (engine.run) as over the whole table (the iceberg_scan view)."""
    con = engine.connect(lake)
    for sql in BOUNDED + UNBOUNDED:
        text = sql.format(**_days(day))
        pruned = pruning.prune(con, text)
        assert (pruned != text) == (sql in BOUNDED), text
        assert engine.run(con, text).rows.to_pylist() == _as_dicts(con, text), text


def _as_dicts(con, sql: str) -> list[dict]:
    return con.execute(sql).to_arrow_table().to_pylist()


def _index_paths(lake) -> set[str]:
    table = _table(lake)
    path = file_index.ensure_index(lake, TABLE, table)
    return set(pq.read_table(path).column("path").to_pylist())


def _planned_paths(lake) -> set[str]:
    return {task.file.file_path for task in _table(lake).scan().plan_files()}


def test_a_one_day_query_reads_only_that_days_files(flows):
    con = engine.connect(flows)
    day = FIRST + dt.timedelta(days=2)
    sql = f"SELECT count(*) FROM vpc_flow_logs WHERE lake_time >= '{day}' AND lake_time < '{day}'::DATE + 1"
    listed = pruning.prune(con, sql)
    days = [task.file.partition[0] for task in _table(flows).scan().plan_files()]
    assert listed.count(".parquet") == days.count(file_index.day_number(day)) < len(days)
    assert f"lake_day={day}/" in listed and listed.count("lake_day=") == listed.count(f"lake_day={day}/")
    assert engine.run(con, sql).rows.column(0).to_pylist() == [60]
    _same_results(flows)


def test_the_index_follows_ingests_compaction_and_retention(flows, tmp_path):
    folder = file_index.index_folder(flows, TABLE)
    assert _index_paths(flows) == _planned_paths(flows)
    first = set(folder.glob("*.parquet"))
    _write_days(tmp_path / "src2", 3, 5)  # a late day 3 file set and two new days
    _ingest(flows, tmp_path / "src2")
    assert _index_paths(flows) == _planned_paths(flows)
    assert first <= set(folder.glob("*.parquet"))  # built on the earlier one, which stays for open readers
    _same_results(flows, day=3)
    locks = lake_locks(lake_catalog.LakeLocation(flows))
    report = maintenance.compact(_table(flows), TABLE, locks)
    assert report.days_compacted >= 1  # day 3, ingested twice
    assert _index_paths(flows) == _planned_paths(flows)
    _same_results(flows, day=3)
    maintenance.drop_days_before(_table(flows), TABLE, FIRST + dt.timedelta(days=2), locks)
    assert _index_paths(flows) == _planned_paths(flows)
    assert len(_planned_paths(flows)) == 4
    _same_results(flows, day=1)  # days 0 and 1 are gone: empty views, no error
    _same_results(flows, day=4)


def test_a_missing_or_damaged_index_is_rebuilt(flows):
    table = _table(flows)
    path = file_index.ensure_index(flows, TABLE, table)
    expected = _index_paths(flows)
    path.write_bytes(b"not parquet")
    assert _index_paths(flows) == expected
    rows = pq.read_table(path)
    pq.write_table(rows.slice(0, 3), path)  # readable, but fewer files than the snapshot holds
    assert _index_paths(flows) == expected
    for built in file_index.index_folder(flows, TABLE).iterdir():
        built.unlink()
    _same_results(flows)
    assert _index_paths(flows) == expected


def test_listing_for_detection_and_dashboards_comes_from_the_index(flows):
    table = _table(flows)
    listed = engine.snapshot_files(table, lake=flows)
    assert sorted(listed) == sorted(engine.snapshot_files(table))
    assert sorted(listed) == sorted(p.removeprefix("file://") for p in _planned_paths(flows))
    con = engine.connect(flows)
    assert engine.register_files(con, TABLE, table)
    assert con.execute(f"SELECT count(*) FROM {TABLE}").fetchone() == (240,)


def test_results_agree_while_another_process_commits(flows, tmp_path):
    _write_days(tmp_path / "src2", 4, 4)
    env = {**os.environ, "LOGLAKE_BATCH_OBJECTS": "1", "LOGLAKE_COMMIT_BATCHES": "1"}
    command = [sys.executable, "-m", "loglake", "ingest", str(tmp_path / "src2"), "--lake", str(flows)]
    writer = subprocess.Popen([*command, "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = set()
    sql = "SELECT count(*) FROM vpc_flow_logs WHERE lake_time >= '{d1}'".format(**_days(4))
    while writer.poll() is None or not seen:
        con = engine.connect(flows)  # one snapshot per connection: the index and the scan view see the same
        pruned = engine.run(con, sql).rows.column(0).to_pylist()
        assert pruned == [con.execute(sql).fetchone()[0]]
        seen.add(pruned[0])
    assert writer.wait() == 0, writer.stderr.read()
    assert engine.run(engine.connect(flows), sql).rows.column(0).to_pylist() == [60]


def test_sql_it_cannot_read_runs_unchanged(tmp_path):
    con = duckdb.connect()
    pruning.remember(con, pruning.LakeConnection(tmp_path, {TABLE: tmp_path / "gone.parquet"}))
    for sql in ("SELECT 1; SELECT 2", "SELEC nonsense", "SELECT count(*) FROM vpc_flow_logs WHERE lake_time >= x"):
        assert pruning.prune(con, sql) == sql
    # an index file that vanished (a reader opened long ago): the reference stays on the whole table
    assert pruning.prune(con, "SELECT * FROM vpc_flow_logs WHERE lake_date = '2024-01-01'").endswith("'2024-01-01'")


def test_a_lake_on_s3_keeps_its_index_in_the_state_folder(s3_server, tmp_path, monkeypatch):
    s3_lake = new_s3_lake(s3_server, tmp_path / "state")
    for name, value in s3_lake.env.items():
        monkeypatch.setenv(name, value)
    root = lake_catalog.lake_location(s3_lake.address, endpoint_url=s3_server.endpoint_url).root
    source = tmp_path / "src"
    write_flows(source, FIRST, 2, 15)
    write_flows(source, FIRST + dt.timedelta(days=1), 1, 10)
    _ingest(root, source)
    con = engine.connect(root)
    sql = f"SELECT count(*) AS n FROM vpc_flow_logs WHERE lake_date = '{FIRST}'"
    assert f"s3://{s3_lake.bucket}/security/warehouse/" in pruning.prune(con, sql)
    assert engine.run(con, sql).rows.to_pylist() == [{"n": 30}]
    index = tmp_path / "state" / "s3" / s3_lake.bucket / "security" / "file-index" / TABLE
    paths = [p for built in index.glob("*.parquet") for p in pq.read_table(built).column("path").to_pylist()]
    assert paths and all(p.startswith(f"s3://{s3_lake.bucket}/security/warehouse/") for p in paths)


@pytest.mark.parametrize(
    ("where", "days"),
    [
        ("lake_time >= '2024-05-02' AND lake_time < '2024-05-03'", (19845, 19845)),
        ("lake_time > TIMESTAMPTZ '2024-05-02 23:30-05:00'", (19846, None)),  # 04:30 UTC the next day
        ("lake_time >= CAST('2024-05-02 23:30-05:00' AS DATE)", (19845, None)),  # DuckDB: the date part
        ("lake_time <= TIMESTAMP '2024-05-02 23:30'", (None, 19845)),
        ("lake_date < DATE '2024-05-03' AND lake_date >= '2024-05-01'", (19844, 19846)),
        ("lake_date = TIMESTAMP '2024-05-02 12:00'", (19845, 19845)),
        ("lake_time BETWEEN DATE '2024-05-01' + INTERVAL 1 DAY AND '2024-05-02 06:00'", (19845, 19845)),
        ("lake_time >= current_date - INTERVAL 1 DAY", "clock"),
    ],
)
def test_the_days_a_where_clause_allows(where, days):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    found = pruning.find_references(con, f"SELECT * FROM vpc_flow_logs WHERE {where}", {TABLE})
    assert len(found) == 1
    if days == "clock":
        today = file_index.day_number(dt.datetime.now(dt.UTC).date())
        assert (found[0].days.low, found[0].days.high) == (today - 2, None)
    else:
        assert (found[0].days.low, found[0].days.high) == days
