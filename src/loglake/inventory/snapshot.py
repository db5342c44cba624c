"""The inventory snapshot: resources with tags and settings, as JSON that later steps read offline.

A resource is a plain dict so the file stays readable and diffable:
`{"arn", "type", "service", "name", "region", "account", "tags", "vpc_id", "config", "errors"}` where `type` is the
CloudFormation type name (`AWS::S3::Bucket`) and `config` holds what the collector read (logging and exposure).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loglake.lake.atomic import write_bytes_atomically

FORMAT = "loglake-inventory/1"

S3_BUCKET = "AWS::S3::Bucket"
VPC = "AWS::EC2::VPC"
INSTANCE = "AWS::EC2::Instance"
ELBV2 = "AWS::ElasticLoadBalancingV2::LoadBalancer"
CLB = "AWS::ElasticLoadBalancing::LoadBalancer"
CLOUDFRONT = "AWS::CloudFront::Distribution"
APIGW_STAGE = "AWS::ApiGateway::Stage"
APIGWV2_STAGE = "AWS::ApiGatewayV2::Stage"
RDS_INSTANCE = "AWS::RDS::DBInstance"
RDS_CLUSTER = "AWS::RDS::DBCluster"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
OPENSEARCH_DOMAIN = "AWS::OpenSearchService::Domain"
TRAIL = "AWS::CloudTrail::Trail"
LOG_GROUP = "AWS::Logs::LogGroup"
ACCOUNT = "AWS::::Account"

DEFAULT_PATH = Path("inventory.json")


class InventoryError(Exception):
    """A snapshot that cannot be read or written, or AWS that cannot be reached at all: the user's to fix."""


def default_inventory_path() -> Path:
    return Path(os.environ.get("LOGLAKE_INVENTORY", str(DEFAULT_PATH)))


@dataclass
class Inventory:
    account: str = "unknown"
    partition: str = "aws"
    regions: list[str] = field(default_factory=list)
    collected_at: str = ""
    endpoint_url: str | None = None
    profile: str | None = None
    account_settings: dict[str, Any] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    discovery: dict[str, dict[str, Any]] = field(default_factory=dict)

    def by_type(self, *types: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] in types]

    def by_arn(self) -> dict[str, dict[str, Any]]:
        return {r["arn"]: r for r in self.resources}

    @property
    def account_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:root"

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "collected_at": self.collected_at or now_iso(),
            "account": self.account,
            "partition": self.partition,
            "regions": self.regions,
            "endpoint_url": self.endpoint_url,
            "profile": self.profile,
            "account_settings": self.account_settings,
            "resources": self.resources,
            "errors": self.errors,
            "discovery": self.discovery,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Inventory:
        return cls(
            account=data.get("account", "unknown"),
            partition=data.get("partition", "aws"),
            regions=list(data.get("regions", [])),
            collected_at=data.get("collected_at", ""),
            endpoint_url=data.get("endpoint_url"),
            profile=data.get("profile"),
            account_settings=dict(data.get("account_settings", {})),
            resources=list(data.get("resources", [])),
            errors=list(data.get("errors", [])),
            discovery=dict(data.get("discovery", {})),
        )


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def resource(
    *,
    arn: str,
    type: str,
    service: str,
    name: str,
    region: str,
    account: str,
    tags: dict[str, str] | None = None,
    vpc_id: str | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "arn": arn,
        "type": type,
        "service": service,
        "name": name,
        "region": region,
        "account": account,
        "tags": dict(tags or {}),
        "vpc_id": vpc_id,
        "config": dict(config or {}),
        "errors": [],
    }


def tag_list_to_dict(tags: list[dict[str, str]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {t[key]: t.get(value, "") for t in (tags or []) if key in t}


def load_inventory(path: Path) -> Inventory:
    if not path.exists():
        raise InventoryError(f"no inventory at {path}; run `loglake inventory --out {path}` first or pass --inventory")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InventoryError(f"{path} is not a loglake inventory: {error}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InventoryError(f"{path} is not a loglake inventory (expected format {FORMAT})")
    return Inventory.from_json(data)


def save_inventory(inventory: Inventory, path: Path) -> None:
    text = json.dumps(inventory.to_json(), indent=2, sort_keys=False, default=str) + "\n"
    write_bytes_atomically(path, text.encode())
