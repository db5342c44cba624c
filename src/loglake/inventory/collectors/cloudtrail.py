"""CloudTrail trails: multi-region, log file validation, KMS, destination bucket, status, and event selectors.

Event selectors come from get_event_selectors (describe_trails' HasCustomEventSelectors cannot be trusted)."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, attempt
from loglake.inventory.snapshot import TRAIL, resource, tag_list_to_dict

SERVICE = "cloudtrail"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("cloudtrail")
    found = []
    for trail in client.describe_trails(includeShadowTrails=False).get("trailList", []):
        arn = trail["TrailARN"]
        res = resource(
            arn=arn,
            type=TRAIL,
            service=SERVICE,
            name=trail["Name"],
            region=trail.get("HomeRegion", ctx.region),
            account=ctx.account,
        )
        status = attempt(res, "get_trail_status", lambda a=arn: client.get_trail_status(Name=a)) or {}
        selectors = attempt(res, "get_event_selectors", lambda a=arn: client.get_event_selectors(TrailName=a)) or {}
        tags = attempt(res, "list_tags", lambda a=arn: client.list_tags(ResourceIdList=[a])) or {}
        res["tags"] = tag_list_to_dict(next(iter(tags.get("ResourceTagList", [])), {}).get("TagsList"))
        res["config"] = {
            "home_region": trail.get("HomeRegion", ctx.region),
            "multi_region": bool(trail.get("IsMultiRegionTrail")),
            "organization": bool(trail.get("IsOrganizationTrail")),
            "log_file_validation": bool(trail.get("LogFileValidationEnabled")),
            "kms_key_id": trail.get("KmsKeyId"),
            "s3_bucket": trail.get("S3BucketName"),
            "s3_prefix": trail.get("S3KeyPrefix"),
            "cloudwatch_log_group": trail.get("CloudWatchLogsLogGroupArn"),
            "is_logging": bool(status.get("IsLogging")),
            "status_read": bool(status),
            "event_selectors": selectors.get("EventSelectors") or [],
            "advanced_event_selectors": selectors.get("AdvancedEventSelectors") or [],
        }
        found.append(res)
    return found
