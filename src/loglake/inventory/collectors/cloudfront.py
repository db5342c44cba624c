"""CloudFront distributions and their standard (legacy) access logging to S3."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt
from loglake.inventory.snapshot import CLOUDFRONT, resource, tag_list_to_dict

SERVICE = "cloudfront"
GLOBAL = True


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("cloudfront", "us-east-1")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("list_distributions").paginate():
        items.extend((page.get("DistributionList") or {}).get("Items", []) or [])
    found = []
    for item in items:
        res = resource(
            arn=item["ARN"],
            type=CLOUDFRONT,
            service=SERVICE,
            name=item.get("Comment") or item["Id"],
            region="global",
            account=ctx.account,
        )
        tags = attempt(res, "list_tags_for_resource", lambda a=item["ARN"]: client.list_tags_for_resource(Resource=a))
        res["tags"] = tag_list_to_dict(((tags or {}).get("Tags") or {}).get("Items"))
        if res["tags"].get("Name"):
            res["name"] = res["tags"]["Name"]
        got = attempt(res, "get_distribution_config", lambda i=item["Id"]: client.get_distribution_config(Id=i))
        logging = ((got or {}).get("DistributionConfig") or {}).get("Logging") or {}
        res["config"] = {
            "id": item["Id"],
            "domain_name": item.get("DomainName"),
            "enabled": item.get("Enabled", True),
            "aliases": (item.get("Aliases") or {}).get("Items", []) or [],
            "logging": {
                "enabled": bool(logging.get("Enabled")),
                "bucket": logging.get("Bucket") or None,
                "prefix": logging.get("Prefix", ""),
                "include_cookies": bool(logging.get("IncludeCookies")),
            },
            "config_read": got is not None,
        }
        found.append(res)
    return found
