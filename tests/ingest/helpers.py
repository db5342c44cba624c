"""Small real-shaped inputs for ingest tests, written as AWS delivers them (gzip, AWS key layout)."""

from __future__ import annotations

import datetime as dt
import gzip
import subprocess
import sys
from pathlib import Path

import orjson

from loglake.lake import catalog as lake_catalog
from loglake.query import engine

ACCOUNT = "111122223333"
FLOW_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)


def cloudtrail_event(i: int, day: dt.date) -> dict:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/u{i % 7}", "accountId": ACCOUNT},
        "eventTime": f"{day.isoformat()}T{i % 24:02d}:{i % 60:02d}:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": ["DescribeInstances", "RunInstances", "StopLogging"][i % 3],
        "awsRegion": "us-east-1",
        "sourceIPAddress": f"198.51.100.{i % 250}",
        "requestParameters": {"n": i},
        "eventID": f"id-{day.isoformat()}-{i}",
        "recipientAccountId": ACCOUNT,
    }


def write_cloudtrail(root: Path, day: dt.date, n_files: int, per_file: int, region: str = "us-east-1") -> list[Path]:
    folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / region / day.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in range(n_files):
        events = [cloudtrail_event(f * per_file + i, day) for i in range(per_file)]
        path = folder / f"{ACCOUNT}_CloudTrail_{region}_{day:%Y%m%d}T{f:04d}Z_{f:016d}.json.gz"
        path.write_bytes(gzip.compress(orjson.dumps({"Records": events}), mtime=0))
        paths.append(path)
    return paths


def write_flows(root: Path, day: dt.date, n_files: int, per_file: int) -> list[Path]:
    folder = root / "AWSLogs" / ACCOUNT / "vpcflowlogs" / "eu-west-1" / day.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    start = int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())
    paths = []
    for f in range(n_files):
        lines = [FLOW_HEADER]
        for i in range(per_file):
            t = start + (f * per_file + i) % 86000
            src, dst = f"10.0.{i % 200}.{i % 250}", f"203.0.113.{i % 99}"
            lines.append(f"2 {ACCOUNT} eni-0{f:x} {src} {dst} {1024 + i} 443 6 {i} {i * 60} {t} {t + 60} ACCEPT OK")
        path = folder / f"{ACCOUNT}_vpcflowlogs_eu-west-1_fl-0a_{day:%Y%m%d}T{f:04d}Z_{f:08x}.log.gz"
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
        paths.append(path)
    return paths


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loglake", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def table_rows(lake: Path, table: str, order: str) -> list[tuple]:
    con = engine.connect(lake)
    # a reject's lake_time is its ingest time by design, so it differs between runs; events' times do not
    cols = (
        "* EXCLUDE (lake_ingested_at, lake_time, lake_date)" if table == "rejects" else "* EXCLUDE (lake_ingested_at)"
    )
    return con.execute(f"SELECT {cols} FROM {table} ORDER BY {order}").fetchall()


def row_count(lake: Path, table: str) -> int:
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    return engine.connect(lake).execute(f"SELECT count(*) FROM {table}").fetchone()[0] if catalog else 0
