"""`loglake audit`: one row per (resource, check) -- what the matrix requires of each resource against what its
settings do, plus the account baseline and the classification conflicts."""

from __future__ import annotations

from typing import Any

from loglake.classify.classifier import Classification, classify_inventory
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory
from loglake.policy.checks import CHECKS, CONFLICT_CHECK, FAIL, SEVERITIES, AuditContext
from loglake.policy.config import Policy

SERVICE_OF = {
    t.S3_BUCKET: "s3",
    t.VPC: "vpc",
    t.ELBV2: "elb",
    t.CLB: "elb",
    t.CLOUDFRONT: "cloudfront",
    t.APIGW_STAGE: "apigateway",
    t.APIGWV2_STAGE: "apigateway",
    t.RDS_INSTANCE: "rds",
    t.RDS_CLUSTER: "rds",
    t.DYNAMODB_TABLE: "dynamodb",
    t.LAMBDA_FUNCTION: "lambda",
    t.OPENSEARCH_DOMAIN: "opensearch",
}
COLUMNS = (
    "resource_arn",
    "resource_type",
    "name",
    "region",
    "sensitivity",
    "reachability",
    "level",
    "check_id",
    "status",
    "severity",
    "evidence",
    "remediation",
)
CONFLICT_REMEDIATION = "Fix the label (tags or name) or the configuration so they agree; the measured value is used."


def build_context(inventory: Inventory, policy: Policy, classes: dict[str, Classification]) -> AuditContext:
    return AuditContext(
        inventory=inventory,
        log_buckets=log_buckets(inventory),
        trails=inventory.by_type(t.TRAIL),
        exposure={arn: c.measured_reachability for arn, c in classes.items() if c.type == t.S3_BUCKET},
        cwl_retention_days=policy.cwl_retention_days,
    )


def log_buckets(inventory: Inventory) -> dict[str, str]:
    """Buckets that receive logs, and from what: they are exempt from their own access logging."""
    found: dict[str, str] = {}

    def note(bucket: str | None, source: str) -> None:
        if bucket:
            found.setdefault(bucket, source)

    for res in inventory.resources:
        config = res["config"]
        if res["type"] == t.S3_BUCKET:
            note((config.get("logging") or {}).get("target_bucket"), f"access logs of bucket {res['name']}")
            delivered = {"logging.s3.amazonaws.com", "delivery.logs.amazonaws.com", "cloudtrail.amazonaws.com"}
            delivered.add("logdelivery.elasticloadbalancing.amazonaws.com")
            if delivered & set(config.get("policy_principals") or []):
                note(res["name"], "its bucket policy lets AWS log delivery write to it")
        elif res["type"] == t.TRAIL:
            note(config.get("s3_bucket"), f"CloudTrail trail {res['name']}")
        elif res["type"] in (t.ELBV2, t.CLB):
            note((config.get("access_logs") or {}).get("bucket"), f"access logs of load balancer {res['name']}")
            note((config.get("connection_logs") or {}).get("bucket"), f"connection logs of {res['name']}")
        elif res["type"] == t.CLOUDFRONT:
            bucket = (config.get("logging") or {}).get("bucket") or ""
            note(bucket.split(".s3.")[0] or None, f"logs of CloudFront distribution {res['name']}")
        elif res["type"] == t.VPC:
            for flow in config.get("flow_logs") or []:
                if flow.get("destination_type") == "s3" and flow.get("destination"):
                    note(flow["destination"].split(":::")[-1].split("/")[0], f"flow logs of {res['name']}")
    return found


def audit(
    inventory: Inventory, policy: Policy, classes: dict[str, Classification] | None = None
) -> list[dict[str, Any]]:
    classes = classes if classes is not None else classify_inventory(inventory, policy)
    ctx = build_context(inventory, policy, classes)
    rows: list[dict[str, Any]] = []
    for res in inventory.resources:
        found = classes.get(res["arn"])
        if found is None:
            continue
        level = policy.level(found.sensitivity, found.reachability)
        service = SERVICE_OF.get(res["type"])
        for requirement in policy.required(service, level) if service else []:
            check = CHECKS[requirement.check_id]
            if not check.applies(res):
                continue
            result = check.evaluate(res, ctx, requirement.options)
            rows.append(
                _row(
                    res,
                    found,
                    level,
                    check.id,
                    result.status,
                    check.severity(level),
                    result.evidence,
                    check.remediation,
                )
            )
        for conflict in found.conflicts:
            rows.append(_row(res, found, level, CONFLICT_CHECK, FAIL, "high", conflict, CONFLICT_REMEDIATION))
    rows.extend(_baseline(inventory, policy, ctx))
    return rows


def _baseline(inventory: Inventory, policy: Policy, ctx: AuditContext) -> list[dict[str, Any]]:
    account = {
        "arn": inventory.account_arn,
        "type": t.ACCOUNT,
        "name": inventory.account,
        "region": inventory.regions[0] if inventory.regions else "",
        "config": {},
    }
    rows = []
    for check_id in policy.baseline_checks:
        check = CHECKS[check_id]
        targets = [account] if t.ACCOUNT in check.resource_types else inventory.by_type(*check.resource_types)
        for res in targets:
            if not check.applies(res):
                continue
            result = check.evaluate(res, ctx, {})
            rows.append(
                _row(
                    res,
                    None,
                    "baseline",
                    check.id,
                    result.status,
                    check.severity("baseline"),
                    result.evidence,
                    check.remediation,
                )
            )
    return rows


def _row(  # noqa: PLR0917 - one argument per column
    res: dict[str, Any],
    found: Classification | None,
    level: str,
    check_id: str,
    status: str,
    severity: str,
    evidence: str,
    remediation: str,
) -> dict[str, Any]:
    return {
        "resource_arn": res["arn"],
        "resource_type": res["type"],
        "name": res["name"],
        "region": res.get("region", ""),
        "sensitivity": found.sensitivity if found else "",
        "reachability": found.reachability if found else "",
        "level": level,
        "check_id": check_id,
        "status": status,
        "severity": severity,
        "evidence": evidence,
        "remediation": remediation,
    }


def gate(rows: list[dict[str, Any]], fail_on: str) -> list[dict[str, Any]]:
    """Failures at or above `fail_on` (critical > high > medium > low > info)."""
    threshold = SEVERITIES.index(fail_on)
    return [r for r in rows if r["status"] == FAIL and SEVERITIES.index(r["severity"]) <= threshold]
