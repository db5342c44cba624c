"""Small real-shaped inputs for context tests: inventory snapshots in the real model, flow logs as AWS writes them."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory, resource
from loglake.policy.assets import write_assets
from loglake.policy.config import load_policy
from tests.ingest.helpers import ACCOUNT, FLOW_HEADER

REGION = "eu-west-1"


def instance(instance_id: str, private_ip: str, eni: str, tags: dict[str, str]) -> dict:
    return resource(
        arn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance_id}",
        type=t.INSTANCE,
        service="ec2",
        name=tags.get("Name", instance_id),
        region=REGION,
        account=ACCOUNT,
        tags=tags,
        vpc_id="vpc-0a",
        config={
            "state": "running",
            "public_ip": None,
            "private_ip": private_ip,
            "subnet_id": "subnet-0a",
            "network_interfaces": [eni],
            "security_groups": [],
            "open_to_world": [],
        },
    )


def bucket(name: str, tags: dict[str, str]) -> dict:
    return resource(
        arn=f"arn:aws:s3:::{name}", type=t.S3_BUCKET, service="s3", name=name, region=REGION, account=ACCOUNT, tags=tags
    )


def snapshot(lake: Path, at: dt.datetime, resources: list[dict]) -> None:
    """One inventory run's result recorded with the real assets writer (classifier and audit included)."""
    inventory = Inventory(account=ACCOUNT, regions=[REGION], collected_at=at.isoformat(), resources=resources)
    write_assets(lake, inventory, load_policy())


def write_flow_lines(root: Path, name: str, flows: list[tuple[dt.datetime, str, str, str, str]]) -> Path:
    """A delivered flow log object: (start, interface, src, dst, action) per record, default v2 format."""
    day = flows[0][0]
    folder = root / "AWSLogs" / ACCOUNT / "vpcflowlogs" / REGION / day.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    lines = [FLOW_HEADER]
    for i, (at, eni, src, dst, action) in enumerate(flows):
        start = int(at.timestamp())
        lines.append(f"2 {ACCOUNT} {eni} {src} {dst} {40000 + i} 443 6 10 840 {start} {start + 60} {action} OK")
    path = folder / f"{ACCOUNT}_vpcflowlogs_{REGION}_fl-0c_{day:%Y%m%dT%H%M}Z_{name}.log.gz"
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    return path
