"""Ingest end to end through the CLI: layouts, formats, bad input, exactly once."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil

import orjson
import zstandard

from loglake.lake.ledger import Ledger
from tests.ingest.helpers import ACCOUNT, row_count, run_cli, write_cloudtrail, write_flows

DAY = dt.date(2024, 5, 1)


def ingest_json(*args: str) -> dict:
    result = run_cli("ingest", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_folder_of_both_formats_lands_in_two_tables(tmp_path):
    write_cloudtrail(tmp_path / "src", DAY, 3, 50)
    write_flows(tmp_path / "src", DAY, 2, 100)
    summary = ingest_json(str(tmp_path / "src"), "--lake", str(tmp_path / "lake"))
    assert summary["tables"]["cloudtrail_logs"]["records"] == 150
    assert summary["tables"]["vpc_flow_logs"]["records"] == 200
    assert summary["tables"]["cloudtrail_logs"]["objects"] == 3
    assert summary["rejects"] == 0
    lake = tmp_path / "lake"
    assert row_count(lake, "cloudtrail_logs") == 150
    account, region, day = run_query(lake, "SELECT DISTINCT lake_account, lake_region, lake_date FROM vpc_flow_logs")[0]
    assert (account, region, day) == (ACCOUNT, "eu-west-1", "2024-05-01")


def run_query(lake, sql):
    result = run_cli("query", sql, "--lake", str(lake), "--format", "json")
    assert result.returncode == 0, result.stderr
    return [tuple(r.values()) for r in json.loads(result.stdout)]


def test_rerun_adds_nothing_and_changed_object_is_read_again(tmp_path):
    paths = write_cloudtrail(tmp_path / "src", DAY, 2, 10)
    lake = str(tmp_path / "lake")
    ingest_json(str(tmp_path / "src"), "--lake", lake)
    again = ingest_json(str(tmp_path / "src"), "--lake", lake)
    assert again["records"] == 0
    assert again["already_ingested"] == 2
    # same key, same size, other content: a new delivery, read again
    data = orjson.loads(gzip.decompress(paths[0].read_bytes()))
    data["Records"][0]["eventName"] = "ChangedEvent"
    paths[0].write_bytes(gzip.compress(orjson.dumps(data), mtime=0))
    third = ingest_json(str(tmp_path / "src"), "--lake", lake)
    assert third["records"] == 10
    assert third["already_ingested"] == 1
    assert row_count(tmp_path / "lake", "cloudtrail_logs") == 30


def test_bad_input_is_reported_and_the_rest_goes_on(tmp_path):
    src = tmp_path / "src"
    write_cloudtrail(src, DAY, 1, 20)
    good = gzip.compress(
        orjson.dumps({"Records": [{"eventName": f"E{i}", "eventTime": "2024-05-01T00:00:00Z"} for i in range(500)]})
    )
    (src / "truncated.json.gz").write_bytes(good[: len(good) // 2])
    (src / "garbage.bin").write_bytes(os.urandom(4096))
    (src / "empty.log").write_bytes(b"")
    flows = "\n".join(["2 111122223333 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1714521600 1714521660 ACCEPT OK"] * 5)
    (src / "flows.log.zst").write_bytes(zstandard.ZstdCompressor().compress(flows.encode()))
    summary = ingest_json(str(src), "--lake", str(tmp_path / "lake"))
    assert summary["tables"]["cloudtrail_logs"]["records"] == 20
    assert summary["tables"]["vpc_flow_logs"]["records"] == 5
    assert summary["empty_objects"] == 1
    assert any("truncated.json.gz: truncated gzip" in e for e in summary["errors"])
    reasons = dict(run_query(tmp_path / "lake", "SELECT regexp_extract(lake_file, '[^/]+$'), reason FROM rejects"))
    assert reasons["garbage.bin"].startswith("unrecognised format")
    assert "truncated gzip" in reasons["truncated.json.gz"] or "invalid JSON" in reasons["truncated.json.gz"]


def test_forcing_the_wrong_format_rejects_every_line_with_a_reason(tmp_path):
    write_cloudtrail(tmp_path / "src", DAY, 1, 3)
    summary = ingest_json(str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--format", "vpcflow")
    assert summary["records"] == 0
    assert summary["rejects"] >= 1
    reasons = run_query(tmp_path / "lake", "SELECT format, reason FROM rejects")
    assert all(fmt == "vpcflow" and "fields" in reason for fmt, reason in reasons)


def test_user_errors_are_one_line_without_traceback(tmp_path):
    for args, expected in [
        (["ingest", str(tmp_path / "missing"), "--lake", str(tmp_path / "l")], "no such file or folder"),
        (["ingest", str(tmp_path), "--format", "nope"], "unknown format 'nope'"),
        (["ingest", str(tmp_path), "--workrs", "2"], "No such option: --workrs"),
        (["query", "SELECT 1", "--lake", str(tmp_path / "nolake")], "no lake at"),
        (["schema", "nothere", "--lake", str(tmp_path / "lk")], "no lake at"),
    ]:
        result = run_cli(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_query_errors_and_schema(tmp_path):
    write_flows(tmp_path / "src", DAY, 1, 5)
    ingest_json(str(tmp_path / "src"), "--lake", str(tmp_path / "lake"))
    bad = run_cli("query", "SELECT nope FROM vpc_flow_logs", "--lake", str(tmp_path / "lake"))
    assert bad.returncode == 1 and "nope" in bad.stderr and "Traceback" not in bad.stderr
    schema = run_cli("schema", "vpc_flow_logs", "--lake", str(tmp_path / "lake"), "--format", "json")
    columns = {c["column"]: c["type"] for c in json.loads(schema.stdout)}
    assert columns["srcport"] == "int" and columns["bytes"] == "long" and columns["lake_time"] == "timestamptz"
    tables = json.loads(run_cli("tables", "--lake", str(tmp_path / "lake"), "--format", "json").stdout)
    flows = next(t for t in tables if t["table"] == "vpc_flow_logs")
    assert flows["rows"] == 5 and flows["first_event"].startswith("2024-05-01")


def test_ledger_records_every_object(tmp_path):
    write_cloudtrail(tmp_path / "src", DAY, 2, 5)
    ingest_json(str(tmp_path / "src"), "--lake", str(tmp_path / "lake"))
    ledger = Ledger(tmp_path / "lake" / "ingest-state.db")
    try:
        objects = ledger.objects()
    finally:
        ledger.close()
    assert [(o["status"], o["format"], o["records"]) for o in objects] == [("ingested", "cloudtrail", 5)] * 2
    assert all(len(o["fingerprint"]) == 32 for o in objects)
    shutil.rmtree(tmp_path / "src")
