"""The whole cycle with the lake on a real S3 server (rclone serve s3): ingest, query, detect, re-run."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.ingest.helpers import run_cli, write_cloudtrail, write_flows
from tests.lake.s3lake import new_s3_lake, write_stop_logging

DAY = dt.date(2024, 7, 1)


@pytest.fixture
def s3_lake(s3_server, tmp_path):
    return new_s3_lake(s3_server, tmp_path / "state")


def test_ingest_query_detect_with_the_lake_on_s3(s3_lake, tmp_path):
    source = tmp_path / "src"
    write_cloudtrail(source, DAY, 3, 25)
    write_flows(source, DAY, 2, 40)
    write_stop_logging(source, dt.datetime(2024, 7, 1, 9, 0, tzinfo=dt.UTC))
    first = s3_lake.cli("ingest", str(source), "--lake", s3_lake.address, "--format", "json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["tables"]["cloudtrail_logs"]["records"] == 76
    # the data and the table metadata are on the server; this machine keeps only its state folder
    keys = s3_lake.keys("security/warehouse/")
    assert any(k.endswith(".parquet") and "/cloudtrail_logs/data/" in k for k in keys)
    assert any(k.endswith(".metadata.json") and "/vpc_flow_logs/metadata/" in k for k in keys)
    state = tmp_path / "state" / "s3" / s3_lake.bucket / "security"
    assert not list(state.rglob("*.parquet"))

    counts = s3_lake.cli(
        "query",
        "SELECT (SELECT count(*) FROM cloudtrail_logs) AS ct, (SELECT count(*) FROM vpc_flow_logs) AS flows",
        "--lake",
        s3_lake.address,
        "--format",
        "json",
    )
    assert counts.returncode == 0, counts.stderr
    assert json.loads(counts.stdout) == [{"ct": 76, "flows": 80}]

    detect = s3_lake.cli("detect", "--lake", s3_lake.address, "--rule", "aws.cloudtrail.logging_stopped")
    assert detect.returncode == 0, detect.stdout + detect.stderr
    alerts = s3_lake.cli("alerts", "list", "--lake", s3_lake.address, "--format", "json")
    assert [a["rule_id"] for a in json.loads(alerts.stdout)] == ["aws.cloudtrail.logging_stopped"]

    again = s3_lake.cli("ingest", str(source), "--lake", s3_lake.address, "--format", "json")
    assert json.loads(again.stdout)["already_ingested"] == 6
    rerun = s3_lake.cli("detect", "--lake", s3_lake.address, "--rule", "aws.cloudtrail.logging_stopped")
    assert "0 new alerts" in rerun.stdout, rerun.stdout


def test_settings_are_remembered_per_lake(s3_lake, tmp_path):
    source = tmp_path / "src"
    write_flows(source, DAY, 1, 10)
    assert s3_lake.cli("ingest", str(source), "--lake", s3_lake.address).returncode == 0
    # no --endpoint-url this time: the lake's folder remembers its server
    env = {k: v for k, v in s3_lake.env.items() if not k.startswith("AWS_ENDPOINT_URL")}
    query = "SELECT count(*) AS n FROM vpc_flow_logs"
    result = run_cli("query", query, "--lake", s3_lake.address, "-f", "json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 10}]


def test_a_lake_in_a_missing_bucket_is_a_one_line_error(s3_server, tmp_path):
    lake = new_s3_lake(s3_server, tmp_path / "state")
    result = lake.cli("query", "SELECT 1", "--lake", "s3://no-such-lake-bucket/x")
    assert result.returncode == 1
    assert "no lake at s3://no-such-lake-bucket/x" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_into_a_missing_bucket_is_a_one_line_error(s3_lake, tmp_path):
    write_flows(tmp_path / "src", DAY, 1, 5)
    result = s3_lake.cli("ingest", str(tmp_path / "src"), "--lake", "s3://no-such-lake-bucket/x")
    assert result.returncode == 1
    assert "cannot use s3://no-such-lake-bucket for the lake" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_catalog_is_a_one_line_error(s3_lake):
    result = s3_lake.cli("query", "SELECT 1", "--lake", s3_lake.address, catalog="hive")
    assert result.returncode == 1
    assert "unknown catalog 'hive'" in result.stderr


def test_the_glue_catalog_on_moto_server(s3_server, moto_server, tmp_path):
    """Tables registered in Glue (moto_server), data on the S3 server: ingest, query, re-run."""
    lake = new_s3_lake(s3_server, tmp_path / "state", AWS_ENDPOINT_URL_GLUE=moto_server)
    source = tmp_path / "src"
    write_cloudtrail(source, DAY, 2, 30)
    first = lake.cli("ingest", str(source), "--lake", lake.address, "--format", "json", catalog="glue")
    assert first.returncode == 0, first.stderr
    import boto3

    glue = boto3.client(
        "glue", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    table = glue.get_table(DatabaseName="loglake", Name="cloudtrail_logs")["Table"]
    assert table["Parameters"]["table_type"] == "ICEBERG"
    assert table["Parameters"]["metadata_location"].startswith(f"s3://{lake.bucket}/security/warehouse/")
    result = lake.cli("query", "SELECT count(*) AS n FROM cloudtrail_logs", "--lake", lake.address, "-f", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 60}]
    again = lake.cli("ingest", str(source), "--lake", lake.address, "--format", "json")
    assert json.loads(again.stdout)["already_ingested"] == 2


def test_the_web_connection_reads_the_s3_warehouse_and_nothing_else(s3_lake, tmp_path, monkeypatch):
    from loglake.cli.app import resolve_lake
    from loglake.web.readonly import ReadOnlyLake, WebQueryError, run_select

    source = tmp_path / "src"
    write_flows(source, DAY, 2, 15)
    assert s3_lake.cli("ingest", str(source), "--lake", s3_lake.address).returncode == 0
    other = f"other-{s3_lake.bucket}"
    s3_lake.server.client().create_bucket(Bucket=other)
    s3_lake.server.client().put_object(Bucket=other, Key="secret.csv", Body=b"a\n1\n")
    s3_lake.server.client().put_object(Bucket=s3_lake.bucket, Key="security/outside.csv", Body=b"a\n1\n")
    for name, value in s3_lake.env.items():
        monkeypatch.setenv(name, value)
    reader = ReadOnlyLake(resolve_lake(s3_lake.address)).reader()

    def count(sql: str) -> int:
        return run_select(reader.cur, sql, 10, 30).table.column(0)[0].as_py()

    assert count("SELECT count(*) FROM vpc_flow_logs") == 30
    files = f"s3://{s3_lake.bucket}/security/warehouse/loglake/vpc_flow_logs/data/**/*.parquet"
    assert count(f"SELECT count(*) FROM read_parquet('{files}')") == 30  # the warehouse is open to queries
    for outside in (f"s3://{other}/secret.csv", f"s3://{s3_lake.bucket}/security/outside.csv", "/etc/passwd"):
        with pytest.raises(WebQueryError, match="Permission Error"):
            run_select(reader.cur, f"SELECT * FROM read_csv('{outside}')", 10, 30)
