"""OpenSearch domains: VPC or public endpoint, access policy openness, log publishing (audit, slow, error)."""

from __future__ import annotations

import json
from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt, chunks
from loglake.inventory.snapshot import OPENSEARCH_DOMAIN, resource, tag_list_to_dict

SERVICE = "opensearch"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("opensearch")
    names = [d["DomainName"] for d in client.list_domain_names().get("DomainNames", [])]
    found = []
    for batch in chunks(names, 5):
        for domain in client.describe_domains(DomainNames=batch).get("DomainStatusList", []):
            vpc = domain.get("VPCOptions") or {}
            res = resource(
                arn=domain["ARN"],
                type=OPENSEARCH_DOMAIN,
                service=SERVICE,
                name=domain["DomainName"],
                region=ctx.region,
                account=ctx.account,
                vpc_id=vpc.get("VPCId") or None,
            )
            tags = attempt(res, "list_tags", lambda a=domain["ARN"]: client.list_tags(ARN=a))
            res["tags"] = tag_list_to_dict((tags or {}).get("TagList"))
            res["config"] = {
                "engine_version": domain.get("EngineVersion"),
                "in_vpc": bool(vpc.get("VPCId") or vpc.get("SubnetIds")),
                "access_policy_open": policy_is_open(domain.get("AccessPolicies")),
                "fine_grained_access": bool((domain.get("AdvancedSecurityOptions") or {}).get("Enabled")),
                "log_publishing": {
                    kind: {"enabled": bool(option.get("Enabled")), "log_group": option.get("CloudWatchLogsLogGroupArn")}
                    for kind, option in (domain.get("LogPublishingOptions") or {}).items()
                },
            }
            found.append(res)
    return found


def policy_is_open(policy: str | None) -> bool:
    """True when a statement allows everyone (`*`) without a condition narrowing it (IP, VPC, account)."""
    if not policy:
        return False
    try:
        document = json.loads(policy)
    except json.JSONDecodeError:
        return False
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        if aws == "*" or (isinstance(aws, list) and "*" in aws):
            return True
    return False
