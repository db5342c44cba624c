"""API Gateway stage checks: access logging (REST and HTTP APIs) and execution logging level (REST)."""

from __future__ import annotations

from typing import Any, ClassVar

from loglake.inventory.snapshot import APIGW_STAGE, APIGWV2_STAGE
from loglake.policy.checks.base import AuditContext, Check, Result, failed, passed

LEVELS = ("ERROR", "INFO")


class ApiGatewayAccessLogging(Check):
    id = "apigw.access_logging"
    service = "apigateway"
    resource_types = (APIGW_STAGE, APIGWV2_STAGE)
    description = "The stage writes access logs to a CloudWatch Logs group (or Firehose)."
    remediation = "Set the stage's access log settings: a destination ARN and a JSON format with $context fields."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        access = res["config"].get("access_log")
        if access and access.get("destination_arn"):
            return passed(f"access logs to {access['destination_arn']}")
        return failed("access logging is off")


class ApiGatewayExecutionLogging(Check):
    id = "apigw.execution_logging"
    service = "apigateway"
    resource_types = (APIGW_STAGE,)
    description = "Every method of the REST stage logs execution at an accepted level (INFO for full, ERROR or INFO)."
    remediation = "Set the stage's method settings */*/logging/loglevel (INFO or ERROR)."
    options: ClassVar[dict[str, tuple[Any, ...]]] = {"levels": LEVELS}

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        accepted = [level.upper() for level in options.get("levels") or LEVELS]
        settings = res["config"].get("method_logging") or {}
        default = settings.get("*/*", "OFF")
        if default not in accepted:
            return failed(f"execution logging level {default} for */* (needs {' or '.join(accepted)})")
        weaker = [f"{path}={level}" for path, level in settings.items() if path != "*/*" and level not in accepted]
        if weaker:
            return failed(f"*/* logs {default} but {', '.join(weaker)} (needs {' or '.join(accepted)})")
        return passed(f"execution logging {default} on every method")
