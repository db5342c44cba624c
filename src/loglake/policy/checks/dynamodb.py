"""DynamoDB and Lambda checks: CloudTrail data events for the table (all or write-only) or the function."""

from __future__ import annotations

from typing import Any, ClassVar

from loglake.inventory.snapshot import DYNAMODB_TABLE, LAMBDA_FUNCTION
from loglake.policy.checks.base import AuditContext, Check, Result
from loglake.policy.checks.s3 import data_event_result
from loglake.policy.checks.selectors import DYNAMODB, LAMBDA


class DynamoDbDataEvents(Check):
    id = "dynamodb.data_events"
    service = "dynamodb"
    resource_types = (DYNAMODB_TABLE,)
    description = "A logging CloudTrail trail records the table's data events (all, or write-only for standard)."
    remediation = "Add an advanced event selector for AWS::DynamoDB::Table on the table to a logging trail."
    options: ClassVar[dict[str, tuple[Any, ...]]] = {"events": ("all", "write", "read")}

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        return data_event_result(ctx, DYNAMODB, res, options.get("events", "all"))


class LambdaDataEvents(Check):
    id = "lambda.data_events"
    service = "lambda"
    resource_types = (LAMBDA_FUNCTION,)
    description = "A logging CloudTrail trail records the function's data events (Invoke)."
    remediation = "Add an advanced event selector for AWS::Lambda::Function on the function to a logging trail."
    options: ClassVar[dict[str, tuple[Any, ...]]] = {"events": ("all", "write", "read")}

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        return data_event_result(ctx, LAMBDA, res, options.get("events", "all"))
