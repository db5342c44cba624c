"""Every check, one small unit each (Prowler style), by id."""

from __future__ import annotations

from loglake.policy.checks.apigateway import ApiGatewayAccessLogging, ApiGatewayExecutionLogging
from loglake.policy.checks.base import FAIL, MANUAL, PASS, SEVERITIES, AuditContext, Check, Result
from loglake.policy.checks.baseline import (
    CloudTrailBucketNotPublic,
    CloudTrailKms,
    CloudTrailLogFileValidation,
    CloudTrailMultiRegion,
    LogGroupRetention,
)
from loglake.policy.checks.cloudfront import CloudFrontLogging
from loglake.policy.checks.dynamodb import DynamoDbDataEvents, LambdaDataEvents
from loglake.policy.checks.elb import AlbConnectionLogs, ElbAccessLogs
from loglake.policy.checks.opensearch import OpenSearchAuditLogs, OpenSearchSlowLogs
from loglake.policy.checks.rds import RdsLogExports
from loglake.policy.checks.s3 import S3DataEventsRead, S3DataEventsWrite, S3ServerAccessLogging
from loglake.policy.checks.vpc import VpcFlowLogsAll, VpcFlowLogsReject

_ALL: list[type[Check]] = [
    S3ServerAccessLogging,
    S3DataEventsRead,
    S3DataEventsWrite,
    VpcFlowLogsAll,
    VpcFlowLogsReject,
    ElbAccessLogs,
    AlbConnectionLogs,
    CloudFrontLogging,
    ApiGatewayAccessLogging,
    ApiGatewayExecutionLogging,
    RdsLogExports,
    DynamoDbDataEvents,
    LambdaDataEvents,
    OpenSearchAuditLogs,
    OpenSearchSlowLogs,
    CloudTrailMultiRegion,
    CloudTrailLogFileValidation,
    CloudTrailKms,
    CloudTrailBucketNotPublic,
    LogGroupRetention,
]
CHECKS: dict[str, Check] = {cls.id: cls() for cls in _ALL}
BASELINE_CHECKS = tuple(c.id for c in CHECKS.values() if c.service == "baseline")
CONFLICT_CHECK = "classification.conflict"

__all__ = [
    "BASELINE_CHECKS",
    "CHECKS",
    "CONFLICT_CHECK",
    "FAIL",
    "MANUAL",
    "PASS",
    "SEVERITIES",
    "AuditContext",
    "Check",
    "Result",
]
