"""Audit rows as machine formats for other tools: SARIF 2.1.0, AWS Security Hub ASFF, OCSF Compliance Finding."""

from __future__ import annotations

import hashlib
from typing import Any

from loglake.inventory.snapshot import Inventory, now_iso
from loglake.policy.checks import CHECKS, CONFLICT_CHECK, FAIL, MANUAL, PASS

SARIF_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
ASFF_LABEL = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "info": "INFORMATIONAL"}
OCSF_SEVERITY = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
ASFF_TYPES = {
    "AWS::S3::Bucket": "AwsS3Bucket",
    "AWS::EC2::VPC": "AwsEc2Vpc",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "AwsElbv2LoadBalancer",
    "AWS::ElasticLoadBalancing::LoadBalancer": "AwsElbLoadBalancer",
    "AWS::CloudFront::Distribution": "AwsCloudFrontDistribution",
    "AWS::ApiGateway::Stage": "AwsApiGatewayStage",
    "AWS::ApiGatewayV2::Stage": "AwsApiGatewayV2Stage",
    "AWS::RDS::DBInstance": "AwsRdsDbInstance",
    "AWS::RDS::DBCluster": "AwsRdsDbCluster",
    "AWS::DynamoDB::Table": "AwsDynamoDbTable",
    "AWS::Lambda::Function": "AwsLambdaFunction",
    "AWS::OpenSearchService::Domain": "AwsOpenSearchServiceDomain",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    "AWS::Logs::LogGroup": "Other",
    "AWS::::Account": "AwsAccount",
}


def _title(check_id: str) -> str:
    check = CHECKS.get(check_id)
    return check.description if check else "The resource's label (tags or name) disagrees with its configuration."


def sarif(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rule_ids = sorted({r["check_id"] for r in rows})
    rules = [
        {
            "id": rule_id,
            "name": rule_id.replace(".", "_"),
            "shortDescription": {"text": _title(rule_id)},
            "help": {"text": CHECKS[rule_id].remediation if rule_id in CHECKS else rows[0]["remediation"]},
        }
        for rule_id in rule_ids
    ]
    results = [
        {
            "ruleId": r["check_id"],
            "ruleIndex": rule_ids.index(r["check_id"]),
            "level": SARIF_LEVEL.get(r["severity"], "warning"),
            "kind": "fail" if r["status"] == FAIL else "review",
            "message": {"text": f"{r['name']}: {r['evidence']}"},
            "locations": [_location(r)],
            "partialFingerprints": {"resourceCheck": _fingerprint(r)},
            "properties": {
                k: r[k] for k in ("resource_type", "region", "sensitivity", "reachability", "level", "fix") if k in r
            },
        }
        for r in rows
        if r["status"] in (FAIL, MANUAL)
    ]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "loglake", "informationUri": "https://github.com/", "rules": rules}},
                "results": results,
            }
        ],
    }


def _location(row: dict[str, Any]) -> dict[str, Any]:
    """The resource, and where it is written when the row comes from code (`loglake iac check`)."""
    location: dict[str, Any] = {
        "logicalLocations": [
            {"fullyQualifiedName": row.get("address") or row["resource_arn"], "name": row["name"], "kind": "resource"}
        ]
    }
    if row.get("file"):
        location["physicalLocation"] = {
            "artifactLocation": {"uri": row["file"]},
            "region": {"startLine": int(row.get("line") or 1)},
        }
    return location


def asff(rows: list[dict[str, Any]], inventory: Inventory) -> list[dict[str, Any]]:
    now = now_iso().replace("+00:00", "Z")
    findings = []
    for r in rows:
        region = r["region"] if r["region"] not in ("", "global") else (inventory.regions or ["us-east-1"])[0]
        status = {"pass": "PASSED", "fail": "FAILED"}.get(r["status"], "NOT_AVAILABLE")
        findings.append(
            {
                "SchemaVersion": "2018-10-08",
                "Id": f"loglake/{r['check_id']}/{r['resource_arn']}",
                "ProductArn": f"arn:{inventory.partition}:securityhub:{region}:{inventory.account}"
                f":product/{inventory.account}/default",
                "GeneratorId": f"loglake/{r['check_id']}",
                "AwsAccountId": inventory.account,
                "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
                "CreatedAt": now,
                "UpdatedAt": now,
                "Severity": {
                    "Label": ASFF_LABEL.get(r["severity"], "MEDIUM") if r["status"] != PASS else "INFORMATIONAL"
                },
                "Title": f"{r['check_id']}: {r['name']}",
                "Description": f"{_title(r['check_id'])} {r['evidence']}"[:1024],
                "Remediation": {"Recommendation": {"Text": r["remediation"][:512]}},
                "Resources": [
                    {
                        "Type": ASFF_TYPES.get(r["resource_type"], "Other"),
                        "Id": r["resource_arn"],
                        "Partition": inventory.partition,
                        "Region": region,
                        "Tags": {},
                    }
                ],
                "Compliance": {"Status": status},
                "RecordState": "ACTIVE",
                "Workflow": {"Status": "RESOLVED" if r["status"] == PASS else "NEW"},
                "ProductFields": {
                    "loglake/level": r["level"],
                    "loglake/sensitivity": r["sensitivity"] or "n/a",
                    "loglake/reachability": r["reachability"] or "n/a",
                },
            }
        )
    return findings


def ocsf(rows: list[dict[str, Any]], inventory: Inventory) -> list[dict[str, Any]]:
    """OCSF 1.1 Compliance Finding (class 2003)."""
    import time

    now = int(time.time() * 1000)
    findings = []
    for r in rows:
        compliance = {"pass": ("Pass", 1), "fail": ("Fail", 3)}.get(r["status"], ("Unknown", 0))
        findings.append(
            {
                "category_uid": 2,
                "class_uid": 2003,
                "activity_id": 1,
                "type_uid": 200301,
                "time": now,
                "severity_id": OCSF_SEVERITY.get(r["severity"], 3),
                "severity": r["severity"].capitalize(),
                "status_id": 1,
                "metadata": {"version": "1.1.0", "product": {"name": "loglake", "vendor_name": "loglake"}},
                "cloud": {"provider": "AWS", "account": {"uid": inventory.account}, "region": r["region"]},
                "finding_info": {
                    "uid": _fingerprint(r),
                    "title": f"{r['check_id']}: {r['name']}",
                    "desc": _title(r["check_id"]),
                    "types": ["conflict" if r["check_id"] == CONFLICT_CHECK else "logging"],
                },
                "compliance": {
                    "control": r["check_id"],
                    "status": compliance[0],
                    "status_id": compliance[1],
                    "status_detail": r["evidence"],
                },
                "remediation": {"desc": r["remediation"]},
                "resources": [
                    {
                        "uid": r["resource_arn"],
                        "type": r["resource_type"],
                        "name": r["name"],
                        "region": r["region"],
                        "data": {k: r[k] for k in ("sensitivity", "reachability", "level")},
                    }
                ],
            }
        )
    return findings


def _fingerprint(row: dict[str, Any]) -> str:
    where = f"|{row['file']}" if row.get("file") else ""  # code: the same address may be in two stacks
    return hashlib.sha256(f"{row['resource_arn']}|{row['check_id']}{where}".encode()).hexdigest()[:32]
