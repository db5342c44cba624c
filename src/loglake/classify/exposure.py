"""Real exposure, measured from configuration: what can be reached from the internet whatever its label says.

`measure(resource, inventory)` returns a reachability (or None when the configuration does not decide it) and
the evidence. Only `internet` is ever measured for a single resource, and `isolated` for a VPC without an
internet gateway; a label can always make a resource more exposed than measured, never less.
"""

from __future__ import annotations

from typing import Any

from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory

Measured = tuple[str | None, list[str]]


def measure(res: dict[str, Any], inventory: Inventory) -> Measured:
    handler = _HANDLERS.get(res["type"])
    return handler(res, inventory) if handler else (None, [])


def _s3(res: dict[str, Any], inventory: Inventory) -> Measured:
    config = res["config"]
    bucket_block = config.get("public_access_block") or {}
    account_block = inventory.account_settings.get("s3_public_access_block") or {}

    def blocked(flag: str) -> str | None:
        if bucket_block.get(flag):
            return f"bucket public access block {flag}"
        if account_block.get(flag):
            return f"account public access block {flag}"
        return None

    evidence = []
    if config.get("policy_is_public"):
        stopper = blocked("RestrictPublicBuckets")
        if not stopper:
            return "internet", ["bucket policy is public and no public access block restricts it"]
        evidence.append(f"bucket policy is public but {stopper} restricts it")
    grants = config.get("acl_public_grants") or []
    if grants:
        stopper = blocked("IgnorePublicAcls")
        if not stopper:
            return "internet", [f"bucket ACL grants {', '.join(grants)} and no public access block ignores it"]
        evidence.append(f"bucket ACL grants {', '.join(grants)} but {stopper} ignores it")
    return None, evidence


def _instance(res: dict[str, Any], _: Inventory) -> Measured:
    config = res["config"]
    ip = config.get("public_ip")
    opened = config.get("open_to_world") or []
    if ip and opened:
        first = opened[0]
        ports = "all ports" if first.get("protocol") == "-1" else f"{first.get('protocol')} {first.get('from_port')}"
        return "internet", [f"public IP {ip} and security group {first['group']} open to {first['cidr']} ({ports})"]
    if ip:
        return None, [f"public IP {ip} but no security group open to the world"]
    return None, []


def _load_balancer(res: dict[str, Any], _: Inventory) -> Measured:
    scheme = res["config"].get("scheme")
    kind = res["config"].get("lb_type", "load balancer")
    if scheme == "internet-facing":
        return "internet", [f"internet-facing {kind} load balancer"]
    return None, [f"{scheme} {kind} load balancer"] if scheme else []


def _cloudfront(res: dict[str, Any], _: Inventory) -> Measured:
    return "internet", [f"CloudFront distribution {res['config'].get('domain_name') or ''}".strip()]


def _apigw(res: dict[str, Any], _: Inventory) -> Measured:
    config = res["config"]
    types = config.get("endpoint_types") or []
    if "PRIVATE" in types:
        return None, ["API Gateway PRIVATE endpoint (VPC endpoints only)"]
    if config.get("execute_api_disabled"):
        return None, ["default execute-api endpoint disabled"]
    return "internet", [f"API Gateway {'/'.join(types) or 'public'} endpoint, not PRIVATE"]


def _rds(res: dict[str, Any], _: Inventory) -> Measured:
    if res["config"].get("publicly_accessible"):
        return "internet", ["RDS PubliclyAccessible is true"]
    return None, ["RDS PubliclyAccessible is false"]


def _lambda(res: dict[str, Any], _: Inventory) -> Measured:
    url = res["config"].get("url")
    if url and url.get("auth_type") == "NONE":
        return "internet", ["Lambda function URL with auth type NONE"]
    if url:
        return None, [f"Lambda function URL with auth type {url.get('auth_type')}"]
    return None, []


def _opensearch(res: dict[str, Any], _: Inventory) -> Measured:
    config = res["config"]
    if config.get("in_vpc"):
        return None, ["OpenSearch domain inside a VPC"]
    if config.get("access_policy_open"):
        return "internet", ["OpenSearch public endpoint with an access policy open to everyone"]
    return None, ["OpenSearch public endpoint; access policy restricts callers"]


def _vpc(res: dict[str, Any], _: Inventory) -> Measured:
    if not res["config"].get("internet_gateway"):
        return "isolated", ["no internet gateway attached"]
    return None, ["internet gateway attached"]


_HANDLERS = {
    t.S3_BUCKET: _s3,
    t.INSTANCE: _instance,
    t.ELBV2: _load_balancer,
    t.CLB: _load_balancer,
    t.CLOUDFRONT: _cloudfront,
    t.APIGW_STAGE: _apigw,
    t.APIGWV2_STAGE: _apigw,
    t.RDS_INSTANCE: _rds,
    t.RDS_CLUSTER: _rds,
    t.LAMBDA_FUNCTION: _lambda,
    t.OPENSEARCH_DOMAIN: _opensearch,
    t.VPC: _vpc,
}
