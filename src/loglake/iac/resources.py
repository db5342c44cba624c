"""Inventory resources from code, with the config keys the live collectors write (inventory/collectors/), so the
classifier, exposure and checks read code and live accounts alike. Both Terraform and CloudFormation readers build
their resources here; a value the code leaves to deploy time arrives as None and stays unknown."""

from __future__ import annotations

import json
from typing import Any

from loglake.inventory import snapshot as t
from loglake.inventory.collectors.opensearch import policy_is_open

ACL_GRANTS = {  # canned ACL -> the public grants the live collector would read
    "public-read": ["AllUsers:READ"],
    "public-read-write": ["AllUsers:READ", "AllUsers:WRITE"],
    "authenticated-read": ["AuthenticatedUsers:READ"],
    "publicread": ["AllUsers:READ"],
    "publicreadwrite": ["AllUsers:READ", "AllUsers:WRITE"],
    "authenticatedread": ["AuthenticatedUsers:READ"],
}
BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def s3_arn(name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:s3:::{name}"


def bucket(name: str, region: str, account: str, tags: dict[str, str]) -> dict[str, Any]:
    return t.resource(
        arn=s3_arn(name),
        type=t.S3_BUCKET,
        service="s3",
        name=name,
        region=region,
        account=account,
        tags=tags,
        config={
            "public_access_block": None,
            "policy_is_public": False,
            "policy_principals": [],
            "acl_public_grants": [],
            "logging": None,
        },
    )


def set_bucket_logging(res: dict[str, Any], target: str | None, prefix: str | None) -> None:
    if target:
        res["config"]["logging"] = {"target_bucket": target, "target_prefix": prefix or ""}


def set_bucket_acl(res: dict[str, Any], acl: str | None) -> None:
    grants = ACL_GRANTS.get(str(acl or "").lower(), [])
    res["config"]["acl_public_grants"] = sorted({*res["config"]["acl_public_grants"], *grants})


def set_public_access_block(res: dict[str, Any], flags: dict[str, Any]) -> None:
    res["config"]["public_access_block"] = {flag: bool(flags.get(flag)) for flag in BLOCK_FLAGS}


def set_bucket_policy(res: dict[str, Any], document: Any) -> None:
    """A policy document (JSON text or a mapping): is it public, and which services may write (log delivery)."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            return
    if not isinstance(document, dict):
        return
    res["config"]["policy_is_public"] = policy_is_open(json.dumps(document))
    services: set[str] = set(res["config"]["policy_principals"])
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal") if isinstance(statement, dict) else None
        if isinstance(principal, dict):
            value = principal.get("Service", [])
            services.update(v for v in ([value] if isinstance(value, str) else value) if isinstance(v, str))
    res["config"]["policy_principals"] = sorted(services)


def vpc(vpc_id: str, address: str, name: str, region: str, account: str, tags: dict[str, str]) -> dict[str, Any]:  # noqa: PLR0917
    return t.resource(
        arn=address,
        type=t.VPC,
        service="vpc",
        name=name,
        region=region,
        account=account,
        tags=tags,
        vpc_id=vpc_id,
        config={"vpc_id": vpc_id, "internet_gateway": False, "flow_logs": [], "security_groups": [], "subnets": []},
    )


def flow_log(
    flow_id: str, traffic_type: str | None, destination_type: str | None, destination: str | None, log_format: Any
) -> dict[str, Any]:
    return {
        "id": flow_id,
        "traffic_type": traffic_type,
        "destination_type": destination_type or "cloud-watch-logs",
        "destination": destination,
        "log_format": log_format if isinstance(log_format, str) else None,
        "status": "ACTIVE",
        "max_aggregation_interval": None,
    }


def load_balancer(  # noqa: PLR0917 - one argument per field the collector reads
    address: str,
    name: str,
    region: str,
    account: str,
    tags: dict[str, str],
    lb_type: str,
    internal: bool,
    vpc_id: str | None,
) -> dict[str, Any]:
    return t.resource(
        arn=address,
        type=t.CLB if lb_type == "classic" else t.ELBV2,
        service="elb",
        name=name,
        region=region,
        account=account,
        tags=tags,
        vpc_id=vpc_id,
        config={
            "lb_type": lb_type,
            "scheme": "internal" if internal else "internet-facing",
            "access_logs": {"enabled": False, "bucket": None, "prefix": ""},
            "connection_logs": {"enabled": False, "bucket": None, "prefix": ""},
        },
    )


def log_settings(enabled: bool, bucket_name: str | None, prefix: str | None) -> dict[str, Any]:
    return {"enabled": bool(enabled), "bucket": bucket_name, "prefix": prefix or ""}


def distribution(address: str, name: str, account: str, tags: dict[str, str]) -> dict[str, Any]:
    return t.resource(
        arn=address,
        type=t.CLOUDFRONT,
        service="cloudfront",
        name=name,
        region="global",
        account=account,
        tags=tags,
        config={
            "id": address,
            "domain_name": None,
            "logging": {"enabled": False, "bucket": None, "prefix": "", "include_cookies": False},
        },
    )


def api_stage(  # noqa: PLR0917 - one argument per field the collector reads
    address: str,
    api: dict[str, Any],
    stage: str,
    region: str,
    account: str,
    tags: dict[str, str],
    v2: bool = False,
) -> dict[str, Any]:
    """`api`: {id, name, endpoint_types, execute_api_disabled, tags} of the API the stage belongs to."""
    return t.resource(
        arn=address,
        type=t.APIGWV2_STAGE if v2 else t.APIGW_STAGE,
        service="apigateway",
        name=f"{api['name']}/{stage}",
        region=region,
        account=account,
        tags={**api.get("tags", {}), **tags},
        config={
            "api_id": api["id"],
            "api_name": api["name"],
            "stage": stage,
            "protocol": "HTTP" if v2 else "REST",
            "endpoint_types": ["REGIONAL"] if v2 else (api.get("endpoint_types") or ["EDGE"]),
            "execute_api_disabled": bool(api.get("execute_api_disabled")),
            "access_log": None,
            "method_logging": {},
        },
    )


def set_access_log(res: dict[str, Any], destination: str | None, log_format: Any) -> None:
    if destination:
        res["config"]["access_log"] = {
            "destination_arn": destination,
            "format": log_format if isinstance(log_format, str) else None,
        }


def database(  # noqa: PLR0917 - one argument per field the collector reads
    address: str,
    name: str,
    region: str,
    account: str,
    tags: dict[str, str],
    cluster: bool,
    engine: str | None,
    public: bool,
    exports: list[str],
    cluster_id: str | None = None,
) -> dict[str, Any]:
    return t.resource(
        arn=address,
        type=t.RDS_CLUSTER if cluster else t.RDS_INSTANCE,
        service="rds",
        name=name,
        region=region,
        account=account,
        tags=tags,
        config={
            "engine": engine,
            "publicly_accessible": bool(public),
            "log_exports": sorted(e for e in exports if isinstance(e, str)),
            "cluster_id": cluster_id,
        },
    )


def trail(
    address: str,
    name: str,
    region: str,
    account: str,
    tags: dict[str, str],
    *,
    multi_region: bool,
    logging: bool,
    validation: bool,
    kms_key: str | None,
    bucket_name: str | None,
    selectors: list[dict[str, Any]],
    advanced: list[dict[str, Any]],
) -> dict[str, Any]:
    return t.resource(
        arn=address,
        type=t.TRAIL,
        service="cloudtrail",
        name=name,
        region=region,
        account=account,
        tags=tags,
        config={
            "home_region": region,
            "multi_region": bool(multi_region),
            "log_file_validation": bool(validation),
            "kms_key_id": kms_key,
            "s3_bucket": bucket_name,
            "is_logging": bool(logging),
            "status_read": True,
            "event_selectors": selectors,
            "advanced_event_selectors": advanced,
        },
    )


def table(name: str, region: str, account: str, tags: dict[str, str]) -> dict[str, Any]:
    return t.resource(
        arn=f"arn:aws:dynamodb:{region}:{account}:table/{name}",
        type=t.DYNAMODB_TABLE,
        service="dynamodb",
        name=name,
        region=region,
        account=account,
        tags=tags,
    )


def function(name: str, region: str, account: str, tags: dict[str, str]) -> dict[str, Any]:
    return t.resource(
        arn=f"arn:aws:lambda:{region}:{account}:function:{name}",
        type=t.LAMBDA_FUNCTION,
        service="lambda",
        name=name,
        region=region,
        account=account,
        tags=tags,
        config={"url": None},
    )


def set_function_url(res: dict[str, Any], auth_type: str | None) -> None:
    res["config"]["url"] = {"auth_type": auth_type or "AWS_IAM", "url": None}


def instance(address: str, name: str, region: str, account: str, tags: dict[str, str]) -> dict[str, Any]:
    """An EC2 instance only matters for its VPC's exposure: a public IP and a group open to the world."""
    return t.resource(
        arn=address,
        type=t.INSTANCE,
        service="ec2",
        name=name,
        region=region,
        account=account,
        tags=tags,
        config={"public_ip": None, "security_groups": [], "open_to_world": []},
    )


def world_rule(group: str, protocol: Any, from_port: Any, cidr: str) -> dict[str, Any]:
    return {"group": group, "protocol": str(protocol), "from_port": from_port, "to_port": from_port, "cidr": cidr}


def domain(  # noqa: PLR0917 - one argument per field the collector reads
    address: str,
    name: str,
    region: str,
    account: str,
    tags: dict[str, str],
    in_vpc: bool,
    policy: Any,
    fine_grained: bool,
) -> dict[str, Any]:
    """An OpenSearch domain; `policy` is its access policy (JSON text or mapping), None when not in the code."""
    document = json.dumps(policy) if isinstance(policy, dict) else policy if isinstance(policy, str) else None
    return t.resource(
        arn=address,
        type=t.OPENSEARCH_DOMAIN,
        service="opensearch",
        name=name,
        region=region,
        account=account,
        tags=tags,
        config={
            "in_vpc": bool(in_vpc),
            "access_policy_open": policy_is_open(document),
            "fine_grained_access": bool(fine_grained),
            "log_publishing": {},
        },
    )


def set_log_publishing(res: dict[str, Any], kind: str | None, enabled: bool, log_group: str | None) -> None:
    if kind:
        res["config"]["log_publishing"][kind] = {"enabled": bool(enabled), "log_group": log_group}
