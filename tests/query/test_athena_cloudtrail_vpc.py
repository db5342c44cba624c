"""AWS's documented Athena queries for CloudTrail and VPC Flow Logs run here with --dialect athena and find
the rows the data holds for them."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import orjson
import pytest

from loglake.query import dialects, engine
from tests.ingest.helpers import ACCOUNT, FLOW_HEADER, run_cli
from tests.query.athena import example_queries

TODAY = dt.datetime.now(dt.UTC).date()


def flow_line(day: dt.date, src: str, dst: str, dport: int, action: str) -> str:
    t = int(dt.datetime.combine(day, dt.time(12), dt.UTC).timestamp())
    return f"2 {ACCOUNT} eni-0abc {src} {dst} 40000 {dport} 6 10 840 {t} {t + 60} {action} OK"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("athena")
    src = root / "src"
    flows = src / "AWSLogs" / ACCOUNT / "vpcflowlogs" / "us-east-1"
    days = {  # the days the AWS example queries ask about, and a recent one for "last 7 days"
        dt.date(2020, 5, 4): [("10.0.0.5", "10.0.1.14", 443, "ACCEPT")],
        dt.date(2021, 1, 15): [("10.0.0.5", "10.0.1.14", 22, "REJECT")],
        dt.date(2021, 2, 10): [
            ("10.117.1.22", "10.0.1.14", 3389, "REJECT"),
            ("10.117.1.22", "10.0.1.9", 443, "ACCEPT"),
        ],
        dt.date(2021, 3, 10): [("198.51.100.7", "10.0.1.14", 443, "ACCEPT")],
        dt.date(2021, 4, 10): [("10.0.0.8", "10.0.1.14", 80, "ACCEPT")],
        TODAY - dt.timedelta(days=1): [("203.0.113.9", "10.0.1.20", 443, "ACCEPT")],
    }
    for day, rows in days.items():
        folder = flows / day.strftime("%Y/%m/%d")
        folder.mkdir(parents=True)
        lines = [FLOW_HEADER, *(flow_line(day, *r) for r in rows)]
        (folder / f"{ACCOUNT}_vpcflowlogs_us-east-1_fl-1_{day:%Y%m%d}T1200Z_aa.log.gz").write_bytes(
            gzip.compress(("\n".join(lines) + "\n").encode())
        )
    trail = src / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2024" / "05" / "01"
    trail.mkdir(parents=True)
    base = {
        "eventVersion": "1.09",
        "eventTime": "2024-05-01T10:00:00Z",
        "awsRegion": "us-east-1",
        "recipientAccountId": ACCOUNT,
        "userAgent": "aws-cli/2",
        "sourceIPAddress": "198.51.100.7",
    }
    role = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s",
        "accountId": ACCOUNT,
        "sessionContext": {
            "attributes": {"creationDate": "2024-05-01T09:00:00Z", "mfaAuthenticated": "false"},
            "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/app"},
        },
    }
    events = [
        {
            **base,
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "userIdentity": role,
            "resources": [{"ARN": "arn:aws:s3:::bucket/example/datafile.txt", "type": "AWS::S3::Object"}],
        },
        {
            **base,
            "eventSource": "s3.amazonaws.com",
            "eventName": "DeleteBucket",
            "userIdentity": {"type": "IAMUser", "userName": "alice", "arn": f"arn:aws:iam::{ACCOUNT}:user/alice"},
            "resources": [{"ARN": "arn:aws:s3:::old-bucket", "accountId": ACCOUNT, "type": "AWS::S3::Bucket"}],
        },
        {
            **base,
            "eventSource": "s3.amazonaws.com",
            "eventName": "GetObject",
            "userIdentity": {"type": "AWSAccount", "accountId": "anonymous"},
            "requestParameters": {"bucketName": "[your bucket name ]", "key": "public.txt"},
        },
    ]
    (trail / f"{ACCOUNT}_CloudTrail_us-east-1_20240501T1000Z_x.json.gz").write_bytes(
        gzip.compress(orjson.dumps({"Records": events}))
    )
    result = run_cli("ingest", str(src), "--lake", str(root / "lake"))
    assert result.returncode == 0, result.stderr
    return root / "lake"


EXPECTED_ROWS = {  # (source, index of the query in the doc) -> rows the data above must give
    ("cloudtrail", 0): 1,
    ("cloudtrail", 1): 1,
    ("cloudtrail", 2): 1,
    ("cloudtrail", 3): 1,
    ("cloudtrail", 4): 3,
    ("vpc-flow-logs", 0): 1,
    ("vpc-flow-logs", 1): 2,
    ("vpc-flow-logs", 2): 1,
    ("vpc-flow-logs", 3): 2,
    ("vpc-flow-logs", 4): 1,
    ("vpc-flow-logs", 5): 1,
    ("vpc-flow-logs", 6): 2,
    ("vpc-flow-logs", 7): 1,
    ("vpc-flow-logs", 8): 2,
    ("vpc-flow-logs", 9): 1,
}


@pytest.mark.parametrize(("source", "index"), sorted(EXPECTED_ROWS))
def test_documented_query_runs_and_finds_its_rows(lake, source, index):
    sql = example_queries(source)[index]
    con = engine.connect(lake, dialect="athena")
    rows = con.execute(dialects.to_duckdb(sql, "athena")).fetchall()
    assert len(rows) == EXPECTED_ROWS[(source, index)], (sql, rows)


def test_every_documented_query_is_covered():
    for source in ("cloudtrail", "vpc-flow-logs"):
        assert len(example_queries(source)) == len([k for k in EXPECTED_ROWS if k[0] == source])


def test_cli_runs_athena_sql_and_shows_the_translation(lake):
    sql = "SELECT count(*) AS n FROM test_table_vpclogs WHERE day >= '2021/02/01' AND day < '2021/02/28'"
    result = run_cli("query", sql, "--dialect", "athena", "--lake", str(lake), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"n": 2}]
    shown = run_cli("query", "SELECT parse_datetime(x, 'yyyy-MM-dd') FROM t", "--dialect", "athena", "--show-sql")
    assert "STRPTIME(x, '%Y-%m-%d')" in shown.stdout


def test_joda_patterns_become_strftime():
    assert dialects.joda_to_strftime("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z") == "%Y-%m-%dT%H:%M:%S.%fZ"
    assert dialects.joda_to_strftime("dd/MMM/yyyy:HH:mm:ss Z") == "%d/%b/%Y:%H:%M:%S %z"
    assert dialects.joda_to_strftime("h 'o''clock' a") == "%-I o'clock %p"


def test_bad_sql_is_a_one_line_error(lake):
    result = run_cli("query", "SELEC 1", "--dialect", "athena", "--lake", str(lake))
    assert result.returncode == 1
    assert result.stderr.startswith("error: not valid athena SQL")
    wrong = run_cli("query", "SELECT 1", "--dialect", "oracle", "--lake", str(lake))
    assert wrong.returncode == 1 and "unknown dialect 'oracle'" in wrong.stderr
