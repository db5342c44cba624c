"""DynamoDB tables and their tags (their data events are read from CloudTrail's event selectors)."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt, paginate
from loglake.inventory.snapshot import DYNAMODB_TABLE, resource, tag_list_to_dict

SERVICE = "dynamodb"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("dynamodb")
    found = []
    for name in paginate(client, "list_tables", "TableNames"):
        res = resource(
            arn=f"arn:{ctx.partition}:dynamodb:{ctx.region}:{ctx.account}:table/{name}",
            type=DYNAMODB_TABLE,
            service=SERVICE,
            name=name,
            region=ctx.region,
            account=ctx.account,
        )
        table = (attempt(res, "describe_table", lambda n=name: client.describe_table(TableName=n)) or {}).get("Table")
        if table:
            res["arn"] = table.get("TableArn", res["arn"])
            res["config"] = {
                "status": table.get("TableStatus"),
                "item_count": table.get("ItemCount"),
                "size_bytes": table.get("TableSizeBytes"),
                "stream": (table.get("StreamSpecification") or {}).get("StreamEnabled", False),
            }
        tags = attempt(res, "list_tags_of_resource", lambda a=res["arn"]: client.list_tags_of_resource(ResourceArn=a))
        res["tags"] = tag_list_to_dict((tags or {}).get("Tags"))
        found.append(res)
    return found
