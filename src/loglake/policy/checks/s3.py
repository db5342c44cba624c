"""S3 bucket checks: server access logging, CloudTrail data events (read, write)."""

from __future__ import annotations

from typing import Any

from loglake.inventory.snapshot import S3_BUCKET
from loglake.policy.checks.base import AuditContext, Check, Result, failed, passed
from loglake.policy.checks.selectors import S3_OBJECT, covers, trail_scope


class S3ServerAccessLogging(Check):
    id = "s3.server_access_logging"
    service = "s3"
    resource_types = (S3_BUCKET,)
    description = "The bucket writes server access logs to another bucket (buckets that receive logs are exempt)."
    remediation = "Enable server access logging to a central log bucket (s3:PutBucketLogging)."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        receives = ctx.log_buckets.get(res["name"])
        if receives:
            return passed(f"receives logs ({receives}): exempt from its own access logging")
        logging = res["config"].get("logging")
        if logging:
            return passed(f"access logs go to s3://{logging['target_bucket']}/{logging.get('target_prefix') or ''}")
        return failed("server access logging is off")


class _S3DataEvents(Check):
    mode: str
    service = "s3"
    resource_types = (S3_BUCKET,)

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        return data_event_result(ctx, S3_OBJECT, res, self.mode)


class S3DataEventsRead(_S3DataEvents):
    id = "s3.data_events.read"
    mode = "read"
    description = "A logging CloudTrail trail records the bucket's read data events (GetObject...)."
    remediation = "Add an advanced event selector for AWS::S3::Object read events on the bucket to a logging trail."


class S3DataEventsWrite(_S3DataEvents):
    id = "s3.data_events.write"
    mode = "write"
    description = "A logging CloudTrail trail records the bucket's write data events (PutObject, DeleteObject...)."
    remediation = "Add an advanced event selector for AWS::S3::Object write events on the bucket to a logging trail."


def data_event_result(ctx: AuditContext, data_type: str, res: dict[str, Any], mode: str) -> Result:
    """pass when a logging trail in scope covers every `mode` ('read', 'write' or 'all') data event of `res`."""
    modes = ("read", "write") if mode == "all" else (mode,)
    missing = []
    found = []
    for wanted in modes:
        trail = next(
            (tr for tr in ctx.trails if trail_scope(tr, res["region"]) and covers(tr, data_type, res["arn"], wanted)),
            None,
        )
        if trail:
            found.append(f"{wanted} events by trail {trail['name']}")
        else:
            missing.append(wanted)
    if missing:
        logging = [tr["name"] for tr in ctx.trails if trail_scope(tr, res["region"])]
        where = f"logging trails in scope: {', '.join(logging)}" if logging else "no logging trail covers its region"
        return failed(f"no {' or '.join(missing)} data events recorded ({where})")
    return passed("; ".join(found))
