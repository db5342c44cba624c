"""From failing audit rows to an ordered list of Actions: shared setup first, then the fixes, then the trail."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory
from loglake.policy.checks import CHECKS, FAIL
from loglake.policy.checks.rds import required_logs
from loglake.policy.checks.selectors import DYNAMODB, LAMBDA, S3_OBJECT
from loglake.policy.checks.vpc import FULL_FORMAT
from loglake.policy.config import Policy
from loglake.policy.fixes.actions import Action, Ref

RETENTION_STEPS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# regions where ALB/CLB access logs are written by a regional ELB account (older regions); newer ones use the
# logdelivery.elasticloadbalancing.amazonaws.com service principal
ELB_ACCOUNTS = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-south-1": "718504428378",
    "sa-east-1": "507241528517",
    "ca-central-1": "985666609251",
}
APIGW_ACCESS_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "userAgent": "$context.identity.userAgent",
        "caller": "$context.identity.caller",
        "user": "$context.identity.user",
        "integrationError": "$context.integrationErrorMessage",
    },
    separators=(",", ":"),
)
KMS_ALIAS = "alias/loglake-cloudtrail"


@dataclass
class RemediationOptions:
    log_bucket: str | None = None
    kms_key: str | None = None
    trail_name: str = "loglake"
    retention_days: int = 365


def tf_name(*parts: str) -> str:
    label = re.sub(r"[^A-Za-z0-9_]", "_", "_".join(p for p in parts if p)).strip("_").lower()
    return ("r_" + label) if label[:1].isdigit() else label or "resource"


def retention_step(days: int) -> int:
    return next((step for step in RETENTION_STEPS if step >= days), RETENTION_STEPS[-1])


class Planner:
    def __init__(self, inventory: Inventory, policy: Policy, options: RemediationOptions) -> None:
        self.inventory = inventory
        self.policy = policy
        self.options = options
        self.setup: list[Action] = []
        self.fixes: list[Action] = []
        self.trail_actions: list[Action] = []
        self._done: dict[str, Any] = {}
        self.data_events: dict[str, dict[str, set[str]]] = {}  # data type -> resource ARN prefix -> {read, write}
        self.data_fixes: list[tuple[str, str]] = []
        self.management_needed = False
        self.notes: list[str] = []
        self.buckets = {r["name"]: r for r in inventory.by_type(t.S3_BUCKET)}
        self.home = inventory.regions[0] if inventory.regions else "us-east-1"

    @property
    def partition(self) -> str:
        return self.inventory.partition

    def actions(self) -> list[Action]:
        return self.setup + self.fixes + self.trail_actions

    # -- shared setup ---------------------------------------------------------------------------------------------

    def log_bucket(self, region: str) -> str:
        name = self.options.log_bucket or f"loglake-logs-{self.inventory.account}-{region}"
        key = f"bucket:{name}"
        if key in self._done:
            return name
        self._done[key] = name
        if name in self.buckets:
            principals = set(self.buckets[name]["config"].get("policy_principals") or [])
            if "logging.s3.amazonaws.com" not in principals:
                self.notes.append(
                    f"log bucket {name} exists: its policy must let logging.s3, delivery.logs, cloudtrail and ELB "
                    "log delivery write to it (loglake does not change an existing bucket's policy)"
                )
            return name
        self._created_log_buckets.append((name, region))
        s3 = f"aws_s3_bucket.{tf_name(name)}"
        create: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self.setup += [
            Action(
                "s3",
                region,
                "create_bucket",
                create,
                f"log bucket {name}",
                exists=lambda client, n=name: _bucket_exists(client, n),
                terraform=f'resource "aws_s3_bucket" "{tf_name(name)}" {{\n  bucket = "{name}"\n'
                '  tags = { "loglake:purpose" = "logs" }\n}\n',
            ),
            Action(
                "s3",
                region,
                "put_public_access_block",
                {"Bucket": name, "PublicAccessBlockConfiguration": _block_all()},
                f"no public access to {name}",
                terraform=f'resource "aws_s3_bucket_public_access_block" "{tf_name(name)}" {{\n  bucket = {s3}.id\n'
                "  block_public_acls       = true\n  block_public_policy     = true\n"
                "  ignore_public_acls      = true\n  restrict_public_buckets = true\n}\n",
            ),
            Action(
                "s3",
                region,
                "put_bucket_ownership_controls",
                {"Bucket": name, "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}},
                f"ACL delivery (CloudFront standard logs) can write to {name}",
                terraform=f'resource "aws_s3_bucket_ownership_controls" "{tf_name(name)}" {{\n  bucket = {s3}.id\n'
                '  rule {\n    object_ownership = "BucketOwnerPreferred"\n  }\n}\n',
            ),
            Action(
                "s3",
                region,
                "put_bucket_encryption",
                {
                    "Bucket": name,
                    "ServerSideEncryptionConfiguration": {
                        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                    },
                },
                f"SSE-S3 on {name} (ELB access logs support SSE-S3 only)",
                terraform=f'resource "aws_s3_bucket_server_side_encryption_configuration" "{tf_name(name)}" {{\n'
                f"  bucket = {s3}.id\n  rule {{\n    apply_server_side_encryption_by_default {{\n"
                '      sse_algorithm = "AES256"\n    }\n  }\n}\n',
            ),
            Action(
                "s3",
                region,
                "put_bucket_policy",
                {"Bucket": name, "Policy": self._log_bucket_policy(name, region)},
                f"let AWS log delivery write to {name}",
                terraform=f'resource "aws_s3_bucket_policy" "{tf_name(name)}" {{\n  bucket = {s3}.id\n'
                f"  policy = jsonencode({self._log_bucket_policy(name, region)})\n}}\n",
            ),
            Action(
                "s3",
                region,
                "put_bucket_tagging",
                {"Bucket": name, "Tagging": {"TagSet": [{"Key": "loglake:purpose", "Value": "logs"}]}},
                f"mark {name} as a log bucket",
            ),
        ]
        return name

    @property
    def _created_log_buckets(self) -> list[tuple[str, str]]:
        return self._done.setdefault("created_buckets", [])

    def _log_bucket_policy(self, name: str, region: str) -> str:
        account = self.inventory.account
        arn = f"arn:{self.partition}:s3:::{name}"
        source = {"StringEquals": {"aws:SourceAccount": account}}
        statements = [
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{arn}/*",
                "Condition": source,
            },
            {
                "Sid": "LogDeliveryAclCheck",
                "Effect": "Allow",
                "Principal": {"Service": ["delivery.logs.amazonaws.com", "cloudtrail.amazonaws.com"]},
                "Action": "s3:GetBucketAcl",
                "Resource": arn,
                "Condition": source,
            },
            {
                "Sid": "LogDeliveryWrite",
                "Effect": "Allow",
                "Principal": {"Service": ["delivery.logs.amazonaws.com", "cloudtrail.amazonaws.com"]},
                "Action": "s3:PutObject",
                "Resource": f"{arn}/*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account, "s3:x-amz-acl": "bucket-owner-full-control"}
                },
            },
            {
                "Sid": "ElbLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{arn}/*",
            },
        ]
        if region in ELB_ACCOUNTS:
            statements.append(
                {
                    "Sid": "ElbRegionalAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{self.partition}:iam::{ELB_ACCOUNTS[region]}:root"},
                    "Action": "s3:PutObject",
                    "Resource": f"{arn}/*",
                }
            )
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    def log_group(self, name: str, region: str, purpose: str) -> str:
        arn = f"arn:{self.partition}:logs:{region}:{self.inventory.account}:log-group:{name}"
        key = f"group:{region}:{name}"
        if key in self._done:
            return arn
        self._done[key] = arn
        existing = {r["name"] for r in self.inventory.by_type(t.LOG_GROUP) if r["region"] == region}
        if name in existing:
            return arn
        days = retention_step(self.policy.cwl_retention_days)
        label = tf_name(name)
        self.setup += [
            Action(
                "logs",
                region,
                "create_log_group",
                {"logGroupName": name, "tags": {"loglake:purpose": "logs"}},
                f"log group for {purpose}",
                exists=lambda client, n=name: _log_group_exists(client, n),
                terraform=f'resource "aws_cloudwatch_log_group" "{label}" {{\n  name              = "{name}"\n'
                f"  retention_in_days = {days}\n}}\n",
            ),
            Action(
                "logs",
                region,
                "put_retention_policy",
                {"logGroupName": name, "retentionInDays": days},
                f"keep {name} {days} days",
            ),
        ]
        return arn

    def kms_key(self) -> Any:
        if self.options.kms_key:
            return self.options.kms_key
        if "kms" in self._done:
            return self._done["kms"]
        account = self.inventory.account
        policy = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdmin",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:{self.partition}:iam::{account}:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "CloudTrailEncrypt",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": ["kms:GenerateDataKey*", "kms:DescribeKey"],
                        "Resource": "*",
                        "Condition": {
                            "StringLike": {
                                "kms:EncryptionContext:aws:cloudtrail:arn": (
                                    f"arn:{self.partition}:cloudtrail:*:{account}:trail/*"
                                )
                            }
                        },
                    },
                ],
            }
        )
        ref = Ref("kms_key_arn")
        self._done["kms"] = ref
        self.setup += [
            Action(
                "kms",
                self.home,
                "create_key",
                {"Description": "loglake: CloudTrail log encryption", "KeyUsage": "ENCRYPT_DECRYPT", "Policy": policy},
                "KMS key for CloudTrail logs",
                produces=ref.name,
                extract=lambda answer: answer["KeyMetadata"]["Arn"],
                exists=_kms_alias_key,
                terraform='resource "aws_kms_key" "loglake_cloudtrail" {\n'
                '  description = "loglake: CloudTrail log encryption"\n'
                f"  enable_key_rotation = true\n  policy = jsonencode({policy})\n}}\n",
            ),
            Action(
                "kms",
                self.home,
                "create_alias",
                {"AliasName": KMS_ALIAS, "TargetKeyId": ref},
                f"name the key {KMS_ALIAS}",
                exists=_kms_alias_key,
                terraform='resource "aws_kms_alias" "loglake_cloudtrail" {\n'
                f'  name          = "{KMS_ALIAS}"\n  target_key_id = aws_kms_key.loglake_cloudtrail.key_id\n}}\n',
            ),
        ]
        return ref

    # -- data events on the loglake trail ------------------------------------------------------------------------

    def want_data_events(self, data_type: str, arn: str, mode: str, fix: tuple[str, str]) -> None:
        prefix = arn.rstrip("/") + "/" if data_type == S3_OBJECT else arn
        modes = {"read", "write"} if mode == "all" else {mode}
        self.data_events.setdefault(data_type, {}).setdefault(prefix, set()).update(modes)
        self.data_fixes.append(fix)

    def finish(self) -> None:
        for name, region in list(self._created_log_buckets):
            self._log_bucket_requirements(name, region)
        if not self.data_events and not self.management_needed:
            return
        name = self.options.trail_name
        existing = next((tr for tr in self.inventory.by_type(t.TRAIL) if tr["name"] == name), None)
        fixes = list(self.data_fixes) + (
            [("cloudtrail.multi_region", self.inventory.account_arn)] if self.management_needed else []
        )
        selectors = self._selectors(existing)
        if existing is None:
            bucket = self.log_bucket(self.home)
            key = self.kms_key()
            self.trail_actions.append(
                Action(
                    "cloudtrail",
                    self.home,
                    "create_trail",
                    {
                        "Name": name,
                        "S3BucketName": bucket,
                        "IsMultiRegionTrail": True,
                        "IncludeGlobalServiceEvents": True,
                        "EnableLogFileValidation": True,
                        "KmsKeyId": key,
                        "TagsList": [{"Key": "loglake:purpose", "Value": "logs"}],
                    },
                    f"trail {name}: multi-region, validated, KMS-encrypted",
                    fixes=fixes,
                    terraform=self._trail_terraform(name, bucket, selectors),
                )
            )
        self.trail_actions.append(
            Action(
                "cloudtrail",
                self.home,
                "put_event_selectors",
                {"TrailName": name, "AdvancedEventSelectors": selectors},
                f"trail {name} records the required data events"
                + (" and all management events" if self.management_needed else ""),
                fixes=fixes,
                terraform=""
                if existing is None
                else self._trail_terraform(name, existing["config"].get("s3_bucket"), selectors),
                terraform_patch=existing is not None,
            )
        )
        if existing is None or not existing["config"].get("is_logging"):
            self.trail_actions.append(
                Action("cloudtrail", self.home, "start_logging", {"Name": name}, f"start trail {name}", fixes=fixes)
            )

    def _log_bucket_requirements(self, name: str, region: str) -> None:
        """A log bucket loglake creates is classified like any bucket: its data events join the trail too."""
        from loglake.classify.classifier import classify_resource

        res = t.resource(
            arn=f"arn:{self.partition}:s3:::{name}",
            type=t.S3_BUCKET,
            service="s3",
            name=name,
            region=region,
            account=self.inventory.account,
            tags={"loglake:purpose": "logs"},
        )
        found = classify_resource(res, self.inventory, self.policy)
        for requirement in self.policy.required("s3", self.policy.level(found.sensitivity, found.reachability)):
            if requirement.check_id.startswith("s3.data_events."):
                mode = requirement.check_id.rsplit(".", 1)[1]
                prefix = res["arn"] + "/"
                self.data_events.setdefault(S3_OBJECT, {}).setdefault(prefix, set()).add(mode)

    def _selectors(self, existing: dict[str, Any] | None) -> list[dict[str, Any]]:
        kept: list[dict[str, Any]] = []
        wanted = {k: {p: set(m) for p, m in v.items()} for k, v in self.data_events.items()}
        management = self.management_needed
        if existing:
            for selector in _as_advanced(existing["config"]):
                fields = {f["Field"]: f for f in selector.get("FieldSelectors", [])}
                name = selector.get("Name", "")
                if name.startswith("loglake:") and "resources.type" in fields:
                    data_type = fields["resources.type"]["Equals"][0]
                    modes = {"read", "write"}
                    if "readOnly" in fields:
                        modes = {"read"} if fields["readOnly"]["Equals"] == ["true"] else {"write"}
                    for prefix in (fields.get("resources.ARN") or {}).get("StartsWith", []):
                        wanted.setdefault(data_type, {}).setdefault(prefix, set()).update(modes)
                elif name == "loglake:management":
                    management = True
                else:
                    kept.append(selector)
        selectors = list(kept)
        if management:
            selectors.insert(
                0,
                {
                    "Name": "loglake:management",
                    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}],
                },
            )
        short = {S3_OBJECT: "s3", DYNAMODB: "dynamodb", LAMBDA: "lambda"}
        for data_type in sorted(wanted):
            groups: dict[str, list[str]] = {"all": [], "read": [], "write": []}
            for prefix, modes in sorted(wanted[data_type].items()):
                groups["all" if modes >= {"read", "write"} else next(iter(modes))].append(prefix)
            for mode, prefixes in groups.items():
                if not prefixes:
                    continue
                fields = [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": [data_type]},
                    {"Field": "resources.ARN", "StartsWith": prefixes},
                ]
                if mode != "all":
                    fields.append({"Field": "readOnly", "Equals": ["true" if mode == "read" else "false"]})
                selectors.append(
                    {"Name": f"loglake:{short.get(data_type, data_type)}:{mode}", "FieldSelectors": fields}
                )
        return selectors

    def _trail_terraform(self, name: str, bucket: str | None, selectors: list[dict[str, Any]]) -> str:
        blocks = []
        for selector in selectors:
            fields = "".join(
                f'    field_selector {{\n      field = "{f["Field"]}"\n'
                + "".join(
                    f"      {op.lower().replace('startswith', 'starts_with')} = {json.dumps(v)}\n"
                    for op, v in f.items()
                    if op != "Field"
                )
                + "    }\n"
                for f in selector["FieldSelectors"]
            )
            blocks.append(f'  advanced_event_selector {{\n    name = "{selector["Name"]}"\n{fields}  }}\n')
        kms = f'"{self.options.kms_key}"' if self.options.kms_key else "aws_kms_key.loglake_cloudtrail.arn"
        return (
            f'resource "aws_cloudtrail" "{tf_name(name)}" {{\n  name                          = "{name}"\n'
            f'  s3_bucket_name                = "{bucket}"\n  is_multi_region_trail         = true\n'
            "  include_global_service_events = true\n  enable_log_file_validation    = true\n"
            f"  kms_key_id                    = {kms}\n" + "".join(blocks) + "}\n"
        )


def _as_advanced(config: dict[str, Any]) -> list[dict[str, Any]]:
    """A trail's selectors as advanced selectors (basic ones converted), so a merge keeps what was there."""
    converted = list(config.get("advanced_event_selectors") or [])
    for i, selector in enumerate(config.get("event_selectors") or []):
        read_write = selector.get("ReadWriteType", "All")
        extra = (
            []
            if read_write == "All"
            else [{"Field": "readOnly", "Equals": ["true" if read_write == "ReadOnly" else "false"]}]
        )
        if selector.get("IncludeManagementEvents", True):
            converted.append(
                {
                    "Name": f"management-{i}",
                    "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}, *extra],
                }
            )
        for resource in selector.get("DataResources") or []:
            fields = [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": [resource["Type"]]},
            ]
            values = [
                v
                for v in resource.get("Values") or []
                if v not in ("arn:aws:s3", "arn:aws:s3:::", "arn:aws:dynamodb", "arn:aws:lambda")
            ]
            if values:
                fields.append({"Field": "resources.ARN", "StartsWith": values})
            converted.append({"Name": f"data-{i}-{resource['Type']}", "FieldSelectors": fields + extra})
    return converted


def _block_all() -> dict[str, bool]:
    return {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _bucket_exists(client: Any, name: str) -> Any:
    try:
        client.head_bucket(Bucket=name)
        return name
    except Exception:
        return None


def _log_group_exists(client: Any, name: str) -> Any:
    groups = client.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    return name if any(g["logGroupName"] == name for g in groups) else None


def _kms_alias_key(client: Any) -> Any:
    try:
        return client.describe_key(KeyId=KMS_ALIAS)["KeyMetadata"]["Arn"]
    except Exception:
        return None


def build_plan(
    inventory: Inventory, rows: list[dict[str, Any]], policy: Policy, options: RemediationOptions
) -> tuple[list[Action], list[str]]:
    """Actions for every failing row a fixer knows; notes for what cannot be fixed here."""
    from loglake.policy.fixes.fixers import FIXERS

    planner = Planner(inventory, policy, options)
    by_arn = inventory.by_arn()
    for row in rows:
        if row["status"] != FAIL:
            continue
        fixer = FIXERS.get(row["check_id"])
        if fixer is None:
            if row["check_id"] in CHECKS:
                planner.notes.append(f"{row['check_id']} on {row['name']}: no automatic fix; {row['remediation']}")
            continue
        res = by_arn.get(row["resource_arn"]) or {
            "arn": row["resource_arn"],
            "name": row["name"],
            "type": row["resource_type"],
            "region": row["region"],
            "config": {},
        }
        fixer(planner, res, row)
    planner.finish()
    return planner.actions(), planner.notes


__all__ = [
    "APIGW_ACCESS_FORMAT",
    "FULL_FORMAT",
    "Action",
    "Planner",
    "RemediationOptions",
    "build_plan",
    "required_logs",
    "tf_name",
]
