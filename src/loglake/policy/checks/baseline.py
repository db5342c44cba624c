"""Account baseline checks, whatever the matrix says: a logging multi-region trail with management events read and
write; log file validation, KMS encryption and a non-public bucket for every trail; log group retention."""

from __future__ import annotations

from typing import Any

from loglake.inventory.snapshot import ACCOUNT, LOG_GROUP, TRAIL
from loglake.policy.checks.base import MANUAL, AuditContext, Check, Result, failed, passed
from loglake.policy.checks.selectors import manages_all_management_events


class _Baseline(Check):
    service = "baseline"

    def severity(self, level: str) -> str:
        return "high"


class CloudTrailMultiRegion(_Baseline):
    id = "cloudtrail.multi_region"
    resource_types = (ACCOUNT,)
    description = "A multi-region trail is logging and records management events, read and write."
    remediation = "Create a multi-region trail recording all management events and start logging."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        problems = []
        for trail in ctx.trails:
            config = trail["config"]
            if not config.get("multi_region"):
                problems.append(f"{trail['name']} is single-region")
            elif not config.get("is_logging"):
                problems.append(f"{trail['name']} is not logging")
            elif not manages_all_management_events(trail):
                problems.append(f"{trail['name']} does not record all management events")
            else:
                return passed(f"trail {trail['name']} is multi-region, logging, management events read and write")
        return failed("; ".join(problems) if problems else "no CloudTrail trail")


class CloudTrailLogFileValidation(_Baseline):
    id = "cloudtrail.log_file_validation"
    resource_types = (TRAIL,)
    description = "The trail writes digest files so tampering with its logs can be detected."
    remediation = "Enable log file validation on the trail."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        if res["config"].get("log_file_validation"):
            return passed("log file validation is on")
        return failed("log file validation is off")


class CloudTrailKms(_Baseline):
    id = "cloudtrail.kms"
    resource_types = (TRAIL,)
    description = "The trail encrypts its log files with a KMS key (SSE-KMS)."
    remediation = "Set a KMS key on the trail (its key policy must allow cloudtrail.amazonaws.com)."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        key = res["config"].get("kms_key_id")
        return passed(f"encrypted with {key}") if key else failed("no KMS key: SSE-S3 only")


class CloudTrailBucketNotPublic(_Baseline):
    id = "cloudtrail.bucket_not_public"
    resource_types = (TRAIL,)
    description = "The bucket the trail writes to is not public."
    remediation = "Block public access on the trail's bucket (s3:PutPublicAccessBlock)."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        bucket = res["config"].get("s3_bucket")
        arn = f"arn:{ctx.inventory.partition}:s3:::{bucket}"
        if arn not in ctx.exposure:
            return Result(MANUAL, f"bucket {bucket} is not in this inventory (another account?): check it there")
        if ctx.exposure[arn] == "internet":
            return failed(f"bucket {bucket} is public")
        return passed(f"bucket {bucket} is not public")


class LogGroupRetention(_Baseline):
    id = "cwl.retention"
    resource_types = (LOG_GROUP,)
    description = "A log group that holds logs keeps them for at least the configured days (365 by default)."
    remediation = "Set the log group's retention to at least the configured days (logs:PutRetentionPolicy)."

    def applies(self, res: dict[str, Any]) -> bool:
        return super().applies(res) and int(res["config"].get("stored_bytes") or 0) > 0

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        days = res["config"].get("retention_days")
        if days is None:
            return passed("never expires")
        if int(days) >= ctx.cwl_retention_days:
            return passed(f"kept {days} days")
        return failed(f"kept {days} days (needs >= {ctx.cwl_retention_days})")
