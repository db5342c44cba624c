"""Lambda functions: VPC attachment, function URL with its auth type, tags."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt, paginate
from loglake.inventory.snapshot import LAMBDA_FUNCTION, resource

SERVICE = "lambda"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("lambda")
    found = []
    for function in paginate(client, "list_functions", "Functions"):
        name = function["FunctionName"]
        vpc = function.get("VpcConfig") or {}
        res = resource(
            arn=function["FunctionArn"],
            type=LAMBDA_FUNCTION,
            service=SERVICE,
            name=name,
            region=ctx.region,
            account=ctx.account,
            vpc_id=vpc.get("VpcId") or None,
        )
        tags = attempt(res, "list_tags", lambda a=function["FunctionArn"]: client.list_tags(Resource=a))
        res["tags"] = dict((tags or {}).get("Tags") or {})
        url = attempt(res, "get_function_url_config", lambda n=name: client.get_function_url_config(FunctionName=n))
        logging = function.get("LoggingConfig") or {}
        res["config"] = {
            "runtime": function.get("Runtime"),
            "vpc_id": vpc.get("VpcId") or None,
            "url": {"auth_type": url.get("AuthType"), "url": url.get("FunctionUrl")} if url else None,
            "log_group": logging.get("LogGroup") or f"/aws/lambda/{name}",
            "log_format": logging.get("LogFormat", "Text"),
        }
        found.append(res)
    return found
