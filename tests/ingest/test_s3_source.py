"""Ingest from S3 prefixes on a real S3 server (rclone serve s3), credentials from the standard AWS chain."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from tests.ingest.helpers import ACCOUNT, row_count, run_cli, write_cloudtrail, write_flows


def upload_tree(client, bucket: str, root) -> int:
    count = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.put_object(Bucket=bucket, Key=str(path.relative_to(root)), Body=path.read_bytes())
            count += 1
    return count


def test_ingest_an_s3_prefix_then_rerun_by_etag(tmp_path, s3_server):
    client = s3_server.client()
    bucket = f"logs-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    day = dt.date(2024, 7, 1)
    write_cloudtrail(tmp_path / "src", day, 3, 25, region="eu-west-1")
    write_flows(tmp_path / "src", day, 2, 40)
    assert upload_tree(client, bucket, tmp_path / "src") == 5
    lake = str(tmp_path / "lake")
    args = ["ingest", f"s3://{bucket}/AWSLogs/", "--endpoint-url", s3_server.endpoint_url, "--lake", lake]
    first = run_cli(*args, "--format", "json", env=s3_server.env())
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["tables"]["cloudtrail_logs"]["records"] == 75
    assert summary["tables"]["vpc_flow_logs"]["records"] == 80
    files = run_cli(
        "query",
        "SELECT DISTINCT lake_file, lake_account, lake_region FROM cloudtrail_logs",
        "--lake",
        lake,
        "--format",
        "json",
    )
    rows = json.loads(files.stdout)
    assert all(r["lake_file"].startswith(f"s3://{bucket}/AWSLogs/{ACCOUNT}/CloudTrail/eu-west-1/") for r in rows)
    # the records name their region (awsRegion us-east-1); the key's region is only a fallback
    assert {(r["lake_account"], r["lake_region"]) for r in rows} == {(ACCOUNT, "us-east-1")}
    again = run_cli(*args, "--format", "json", env=s3_server.env())
    assert json.loads(again.stdout)["already_ingested"] == 5  # ETag and size match: nothing is read again
    assert row_count(tmp_path / "lake", "vpc_flow_logs") == 80


def test_missing_bucket_is_a_one_line_error(tmp_path, s3_server):
    result = run_cli(
        "ingest",
        "s3://no-such-bucket-here/x",
        "--endpoint-url",
        s3_server.endpoint_url,
        "--lake",
        str(tmp_path / "lake"),
        env=s3_server.env(),
    )
    assert result.returncode == 1
    assert "cannot list s3://no-such-bucket-here/x" in result.stderr
    assert "Traceback" not in result.stderr
