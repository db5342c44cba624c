"""API Gateway: REST API stages (access log settings, execution logging level per method) and HTTP/WebSocket API
stages (access log settings). Each stage is a resource; it carries its API's endpoint type and tags."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt, paginate
from loglake.inventory.snapshot import APIGW_STAGE, APIGWV2_STAGE, resource

SERVICE = "apigateway"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    return _rest(ctx) + _http(ctx)


def _rest(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("apigateway")
    found = []
    for api in paginate(client, "get_rest_apis", "items"):
        api_id = api["id"]
        holder = {"errors": []}
        stages = attempt(holder, "get_stages", lambda a=api_id: client.get_stages(restApiId=a)) or {}
        for stage in stages.get("item", []):
            name = stage["stageName"]
            res = resource(
                arn=f"arn:{ctx.partition}:apigateway:{ctx.region}::/restapis/{api_id}/stages/{name}",
                type=APIGW_STAGE,
                service=SERVICE,
                name=f"{api.get('name', api_id)}/{name}",
                region=ctx.region,
                account=ctx.account,
                tags={**(api.get("tags") or {}), **(stage.get("tags") or {})},
            )
            access = stage.get("accessLogSettings") or {}
            res["errors"] = list(holder["errors"])
            res["config"] = {
                "api_id": api_id,
                "api_name": api.get("name"),
                "stage": name,
                "protocol": "REST",
                "endpoint_types": (api.get("endpointConfiguration") or {}).get("types", ["EDGE"]),
                "vpc_endpoint_ids": (api.get("endpointConfiguration") or {}).get("vpcEndpointIds", []),
                "access_log": {"destination_arn": access.get("destinationArn"), "format": access.get("format")}
                if access.get("destinationArn")
                else None,
                "method_logging": {
                    path: (settings.get("loggingLevel") or "OFF").upper()
                    for path, settings in (stage.get("methodSettings") or {}).items()
                },
                "data_trace": any(s.get("dataTraceEnabled") for s in (stage.get("methodSettings") or {}).values()),
            }
            found.append(res)
    return found


def _http(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("apigatewayv2")
    found = []
    for api in paginate(client, "get_apis", "Items"):
        api_id = api["ApiId"]
        holder = {"errors": []}
        stages = attempt(holder, "get_stages", lambda a=api_id: client.get_stages(ApiId=a)) or {}
        for stage in stages.get("Items", []):
            name = stage["StageName"]
            res = resource(
                arn=f"arn:{ctx.partition}:apigateway:{ctx.region}::/apis/{api_id}/stages/{name}",
                type=APIGWV2_STAGE,
                service=SERVICE,
                name=f"{api.get('Name', api_id)}/{name}",
                region=ctx.region,
                account=ctx.account,
                tags={**(api.get("Tags") or {}), **(stage.get("Tags") or {})},
            )
            access = stage.get("AccessLogSettings") or {}
            res["errors"] = list(holder["errors"])
            res["config"] = {
                "api_id": api_id,
                "api_name": api.get("Name"),
                "stage": name,
                "protocol": api.get("ProtocolType", "HTTP"),
                "endpoint_types": ["REGIONAL"],
                "execute_api_disabled": bool(api.get("DisableExecuteApiEndpoint")),
                "access_log": {"destination_arn": access.get("DestinationArn"), "format": access.get("Format")}
                if access.get("DestinationArn")
                else None,
                "default_route_logging": (
                    (stage.get("DefaultRouteSettings") or {}).get("LoggingLevel") or "OFF"
                ).upper(),
            }
            found.append(res)
    return found
