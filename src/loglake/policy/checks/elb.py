"""Load balancer checks: access logs (ALB, NLB, Classic) and connection logs (ALB)."""

from __future__ import annotations

from typing import Any

from loglake.inventory.snapshot import CLB, ELBV2
from loglake.policy.checks.base import AuditContext, Check, Result, failed, passed


class ElbAccessLogs(Check):
    id = "elb.access_logs"
    service = "elb"
    resource_types = (ELBV2, CLB)
    description = "The load balancer writes access logs to S3."
    remediation = "Set access_logs.s3.enabled=true with a log bucket (ALB/NLB), or AccessLog.Enabled (Classic)."

    def applies(self, res: dict[str, Any]) -> bool:
        return super().applies(res) and res["config"].get("lb_type") != "gateway"

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        logs = res["config"].get("access_logs") or {}
        if logs.get("enabled"):
            note = " (an NLB logs TLS listeners only)" if res["config"].get("lb_type") == "network" else ""
            return passed(f"access logs to s3://{logs.get('bucket')}/{logs.get('prefix') or ''}{note}")
        return failed("access logs are off")


class AlbConnectionLogs(Check):
    id = "alb.connection_logs"
    service = "elb"
    resource_types = (ELBV2,)
    description = "The application load balancer writes connection logs (client TLS details) to S3."
    remediation = "Set connection_logs.s3.enabled=true with a log bucket on the ALB."

    def applies(self, res: dict[str, Any]) -> bool:
        return super().applies(res) and res["config"].get("lb_type") == "application"

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        logs = res["config"].get("connection_logs") or {}
        if logs.get("enabled"):
            return passed(f"connection logs to s3://{logs.get('bucket')}/{logs.get('prefix') or ''}")
        return failed("connection logs are off")
