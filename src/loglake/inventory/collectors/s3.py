"""S3 buckets: tags, public access block, policy status, ACL grants, server access logging, encryption."""

from __future__ import annotations

import json
from typing import Any

from loglake.inventory.aws import describe_error
from loglake.inventory.collectors.base import Ctx, attempt
from loglake.inventory.snapshot import S3_BUCKET, resource, tag_list_to_dict

SERVICE = "s3"
GLOBAL = True
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    s3 = ctx.client("s3")
    found = []
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        res = resource(
            arn=f"arn:{ctx.partition}:s3:::{name}",
            type=S3_BUCKET,
            service=SERVICE,
            name=name,
            region=ctx.region,
            account=ctx.account,
        )
        location = attempt(res, "get_bucket_location", lambda n=name: s3.get_bucket_location(Bucket=n))
        res["region"] = (location or {}).get("LocationConstraint") or "us-east-1"
        if res["region"] == "EU":
            res["region"] = "eu-west-1"
        tagging = attempt(res, "get_bucket_tagging", lambda n=name: s3.get_bucket_tagging(Bucket=n))
        res["tags"] = tag_list_to_dict((tagging or {}).get("TagSet"))
        block = attempt(res, "get_public_access_block", lambda n=name: s3.get_public_access_block(Bucket=n))
        status = attempt(res, "get_bucket_policy_status", lambda n=name: s3.get_bucket_policy_status(Bucket=n))
        policy = attempt(res, "get_bucket_policy", lambda n=name: s3.get_bucket_policy(Bucket=n))
        acl = attempt(res, "get_bucket_acl", lambda n=name: s3.get_bucket_acl(Bucket=n))
        logging = attempt(res, "get_bucket_logging", lambda n=name: s3.get_bucket_logging(Bucket=n))
        encryption = attempt(res, "get_bucket_encryption", lambda n=name: s3.get_bucket_encryption(Bucket=n))
        enabled = (logging or {}).get("LoggingEnabled")
        rules = ((encryption or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules", [])
        res["config"] = {
            "public_access_block": (block or {}).get("PublicAccessBlockConfiguration"),
            "policy_is_public": ((status or {}).get("PolicyStatus") or {}).get("IsPublic", False),
            "policy_principals": _policy_services(policy),
            "acl_public_grants": _public_grants(acl),
            "logging": {"target_bucket": enabled["TargetBucket"], "target_prefix": enabled.get("TargetPrefix", "")}
            if enabled
            else None,
            "encryption": (rules[0].get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
            if rules
            else None,
        }
        found.append(res)
    return found


def account_settings(ctx: Ctx) -> dict[str, Any]:
    """The account-wide S3 public access block (s3control); an error is kept, not raised."""
    try:
        control = ctx.client("s3control")
        got = control.get_public_access_block(AccountId=ctx.account)
        return {"s3_public_access_block": got.get("PublicAccessBlockConfiguration")}
    except Exception as error:
        if "NoSuchPublicAccessBlockConfiguration" in str(error):
            return {"s3_public_access_block": None}
        return {"s3_public_access_block": None, "s3_public_access_block_error": describe_error(error)}


def _public_grants(acl: dict[str, Any] | None) -> list[str]:
    grants = []
    for grant in (acl or {}).get("Grants", []):
        group = PUBLIC_GROUPS.get((grant.get("Grantee") or {}).get("URI", ""))
        if group:
            grants.append(f"{group}:{grant.get('Permission')}")
    return grants


def _policy_services(policy: dict[str, Any] | None) -> list[str]:
    """Service principals the bucket policy allows (logging.s3.amazonaws.com means: this bucket receives logs)."""
    if not policy:
        return []
    try:
        document = json.loads(policy.get("Policy", "{}"))
    except json.JSONDecodeError:
        return []
    services: set[str] = set()
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal") if isinstance(statement, dict) else None
        if isinstance(principal, dict):
            value = principal.get("Service", [])
            services.update([value] if isinstance(value, str) else value)
    return sorted(services)
