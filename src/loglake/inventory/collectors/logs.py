"""CloudWatch Logs groups: retention, stored bytes (does it hold logs?), KMS, tags."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt, paginate
from loglake.inventory.snapshot import LOG_GROUP, resource

SERVICE = "logs"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("logs")
    found = []
    for group in paginate(client, "describe_log_groups", "logGroups"):
        arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
        res = resource(
            arn=arn,
            type=LOG_GROUP,
            service=SERVICE,
            name=group["logGroupName"],
            region=ctx.region,
            account=ctx.account,
        )
        tags = attempt(res, "list_tags_for_resource", lambda a=arn: client.list_tags_for_resource(resourceArn=a))
        res["tags"] = dict((tags or {}).get("tags") or {})
        res["config"] = {
            "retention_days": group.get("retentionInDays"),
            "stored_bytes": int(group.get("storedBytes") or 0),
            "kms_key_id": group.get("kmsKeyId"),
            "log_group_class": group.get("logGroupClass", "STANDARD"),
        }
        found.append(res)
    return found
