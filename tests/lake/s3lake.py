"""A lake on a real S3 server (rclone serve s3): a fresh bucket per test, the AWS chain's environment."""

from __future__ import annotations

import datetime as dt
import gzip
import uuid
from dataclasses import dataclass
from pathlib import Path

import orjson

from tests.ingest.helpers import ACCOUNT, cloudtrail_event, run_cli
from tests.servers import S3Server


@dataclass(frozen=True)
class S3Lake:
    server: S3Server
    bucket: str
    address: str  # s3://bucket/prefix
    env: dict[str, str]

    def cli(self, *args: str, catalog: str | None = None):
        settings = ["--endpoint-url", self.server.endpoint_url, *(["--catalog", catalog] if catalog else [])]
        return run_cli(*settings, *args, env=self.env)

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.server.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def new_s3_lake(server: S3Server, state: Path, **env: str) -> S3Lake:
    bucket = f"lake-{uuid.uuid4().hex[:12]}"
    server.client().create_bucket(Bucket=bucket)
    environment = {**server.env(), "LOGLAKE_STATE_DIR": str(state), **env}
    return S3Lake(server, bucket, f"s3://{bucket}/security", environment)


def write_stop_logging(root: Path, when: dt.datetime, n: int = 1) -> Path:
    """A CloudTrail file with `n` StopLogging calls (the built-in rule aws.cloudtrail.logging_stopped fires)."""
    events = []
    for i in range(n):
        event = cloudtrail_event(i, when.date())
        event |= {
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "eventTime": (when + dt.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory", "accountId": ACCOUNT},
            "requestParameters": {"name": f"trail-{i}"},
        }
        events.append(event)
    folder = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / when.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{ACCOUNT}_CloudTrail_us-east-1_{when:%Y%m%dT%H%M}Z_stop.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps({"Records": events}), mtime=0))
    return path
