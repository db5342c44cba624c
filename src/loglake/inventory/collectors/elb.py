"""Load balancers: ALB/NLB/GWLB (elbv2) with access and connection log attributes, and Classic ELBs."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt, chunks, paginate
from loglake.inventory.snapshot import CLB, ELBV2, resource, tag_list_to_dict

SERVICE = "elb"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    return _elbv2(ctx) + _classic(ctx)


def _elbv2(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("elbv2")
    balancers = paginate(client, "describe_load_balancers", "LoadBalancers")
    tags: dict[str, dict[str, str]] = {}
    for batch in chunks([b["LoadBalancerArn"] for b in balancers], 20):
        for description in client.describe_tags(ResourceArns=batch).get("TagDescriptions", []):
            tags[description["ResourceArn"]] = tag_list_to_dict(description.get("Tags"))
    found = []
    for lb in balancers:
        arn = lb["LoadBalancerArn"]
        res = resource(
            arn=arn,
            type=ELBV2,
            service=SERVICE,
            name=lb["LoadBalancerName"],
            region=ctx.region,
            account=ctx.account,
            tags=tags.get(arn, {}),
            vpc_id=lb.get("VpcId"),
        )
        got = attempt(
            res,
            "describe_load_balancer_attributes",
            lambda a=arn: client.describe_load_balancer_attributes(LoadBalancerArn=a),
        )
        attributes = {a["Key"]: a.get("Value", "") for a in (got or {}).get("Attributes", [])}
        res["config"] = {
            "lb_type": lb.get("Type", "application"),
            "scheme": lb.get("Scheme"),
            "dns_name": lb.get("DNSName"),
            "security_groups": lb.get("SecurityGroups", []),
            "access_logs": _log_attrs(attributes, "access_logs"),
            "connection_logs": _log_attrs(attributes, "connection_logs"),
            "attributes_read": got is not None,
        }
        found.append(res)
    return found


def _log_attrs(attributes: dict[str, str], kind: str) -> dict[str, Any]:
    # an attribute that is not listed has never been set: it is off (moto lists some only once set)
    return {
        "enabled": attributes.get(f"{kind}.s3.enabled", "false").lower() == "true",
        "bucket": attributes.get(f"{kind}.s3.bucket") or None,
        "prefix": attributes.get(f"{kind}.s3.prefix") or "",
    }


def _classic(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("elb")
    balancers = paginate(client, "describe_load_balancers", "LoadBalancerDescriptions")
    tags: dict[str, dict[str, str]] = {}
    for batch in chunks([b["LoadBalancerName"] for b in balancers], 20):
        for description in client.describe_tags(LoadBalancerNames=batch).get("TagDescriptions", []):
            tags[description["LoadBalancerName"]] = tag_list_to_dict(description.get("Tags"))
    found = []
    for lb in balancers:
        name = lb["LoadBalancerName"]
        res = resource(
            arn=f"arn:{ctx.partition}:elasticloadbalancing:{ctx.region}:{ctx.account}:loadbalancer/{name}",
            type=CLB,
            service=SERVICE,
            name=name,
            region=ctx.region,
            account=ctx.account,
            tags=tags.get(name, {}),
            vpc_id=lb.get("VPCId"),
        )
        got = attempt(
            res,
            "describe_load_balancer_attributes",
            lambda n=name: client.describe_load_balancer_attributes(LoadBalancerName=n),
        )
        access = ((got or {}).get("LoadBalancerAttributes") or {}).get("AccessLog") or {}
        res["config"] = {
            "lb_type": "classic",
            "scheme": lb.get("Scheme"),
            "dns_name": lb.get("DNSName"),
            "security_groups": lb.get("SecurityGroups", []),
            "access_logs": {
                "enabled": bool(access.get("Enabled")),
                "bucket": access.get("S3BucketName"),
                "prefix": access.get("S3BucketPrefix", ""),
            },
            "attributes_read": got is not None,
        }
        found.append(res)
    return found
