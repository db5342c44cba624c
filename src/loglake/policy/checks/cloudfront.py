"""CloudFront check: standard access logging."""

from __future__ import annotations

from typing import Any

from loglake.inventory.snapshot import CLOUDFRONT
from loglake.policy.checks.base import AuditContext, Check, Result, failed, passed


class CloudFrontLogging(Check):
    id = "cloudfront.logging"
    service = "cloudfront"
    resource_types = (CLOUDFRONT,)
    description = "The distribution writes standard access logs to S3."
    remediation = "Enable standard logging on the distribution (DistributionConfig.Logging) to a log bucket."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        logging = res["config"].get("logging") or {}
        if logging.get("enabled"):
            return passed(f"access logs to {logging.get('bucket')}/{logging.get('prefix') or ''}")
        return failed("standard logging is off")
