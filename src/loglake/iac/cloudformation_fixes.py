"""The CloudFormation that adds what a finding says is missing: properties to merge into the resource, or a resource
to add to the template. The values (log formats, field lists, log types) are the ones `loglake remediate` uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from loglake.iac.cloudformation import IMPLICIT
from loglake.inventory import snapshot as t
from loglake.policy.checks.rds import required_logs
from loglake.policy.checks.vpc import FULL_FORMAT
from loglake.policy.fixes.plan import APIGW_ACCESS_FORMAT

Snippet = Callable[[dict[str, Any], dict[str, Any], str], str]


def _quoted(value: str) -> str:
    return json.dumps(value)


def _merge_into(res: dict[str, Any], body: str) -> str:
    return f"# merge into the Properties of {res['source']['address']} ({res['source']['kind']}):\n{body}"


def _stage_settings(res: dict[str, Any], body: str) -> str:
    """Stage settings where the template keeps them: the stage, a Deployment's StageDescription, SAM's Globals."""
    kind = res["source"]["kind"]
    if kind == IMPLICIT:
        section = "HttpApi" if res["type"] == t.APIGWV2_STAGE else "Api"
        return f"# merge into Globals (SAM's implicit {res['source']['address']}):\n{section}:\n{_indent(body)}"
    if kind == "AWS::ApiGateway::Deployment":
        return _merge_into(res, f"StageDescription:\n{_indent(body)}")
    return _merge_into(res, body)


def _indent(body: str) -> str:
    return "".join(f"  {line}\n" if line and not line.startswith("#") else f"{line}\n" for line in body.splitlines())


def _arn_value(res: dict[str, Any], suffix: str) -> str:
    """The resource's ARN in the template: literal when its name is set, else !GetAtt."""
    if res["name"] != res["source"]["address"] or res["type"] != t.S3_BUCKET:
        return _quoted(res["arn"] + suffix)
    return f'!Sub "${{{res["source"]["address"]}.Arn}}{suffix}"'


def s3_logging(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    return _merge_into(
        res, f"LoggingConfiguration:\n  DestinationBucketName: {bucket}\n  LogFilePrefix: s3/{res['name']}/\n"
    )


def data_events(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    check = row["check_id"]
    data_type = {t.S3_BUCKET: "AWS::S3::Object", t.DYNAMODB_TABLE: "AWS::DynamoDB::Table"}.get(
        res["type"], "AWS::Lambda::Function"
    )
    arn = _arn_value(res, "/" if res["type"] == t.S3_BUCKET else "")
    read_only = {"s3.data_events.read": "true", "s3.data_events.write": "false"}.get(check)
    mode = {"true": "read", "false": "write"}.get(read_only or "", "all")
    lines = [
        "# add to the AdvancedEventSelectors of a logging trail (AWS::CloudTrail::Trail):",
        f"- Name: loglake:{data_type.split('::')[1].lower()}:{mode}",
        "  FieldSelectors:",
        "    - Field: eventCategory",
        "      Equals: [Data]",
        "    - Field: resources.type",
        f"      Equals: [{data_type}]",
        "    - Field: resources.ARN",
        f"      StartsWith: [{arn}]",
    ]
    if read_only:
        lines += ["    - Field: readOnly", f'      Equals: ["{read_only}"]']
    return "\n".join(lines) + "\n"


def flow_log(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    traffic = "ALL" if row["check_id"] == "vpc.flow_logs.all" else "REJECT"
    vpc = res["source"]["address"]
    return (
        f"# add to Resources:\n{vpc}FlowLog{traffic.title()}:\n  Type: AWS::EC2::FlowLog\n  Properties:\n"
        f"    ResourceId: !Ref {vpc}\n    ResourceType: VPC\n    TrafficType: {traffic}\n"
        f"    LogDestinationType: s3\n    LogDestination: arn:aws:s3:::{bucket}\n    MaxAggregationInterval: 60\n"
        f"    LogFormat: {_quoted(FULL_FORMAT)}\n"
    )


def load_balancer_logs(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    if res["type"] == t.CLB:
        return _merge_into(
            res,
            f"AccessLoggingPolicy:\n  Enabled: true\n  S3BucketName: {bucket}\n"
            f"  S3BucketPrefix: elb/{res['name']}\n  EmitInterval: 5\n",
        )
    kind, prefix = (
        ("connection_logs", "elb-connections") if row["check_id"] == "alb.connection_logs" else ("access_logs", "elb")
    )
    return _merge_into(
        res,
        "LoadBalancerAttributes:\n"
        f'  - Key: {kind}.s3.enabled\n    Value: "true"\n'
        f"  - Key: {kind}.s3.bucket\n    Value: {bucket}\n"
        f"  - Key: {kind}.s3.prefix\n    Value: {prefix}/{res['name']}\n",
    )


def cloudfront_logging(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    return _merge_into(
        res,
        f"DistributionConfig:\n  Logging:\n    Bucket: {bucket}.s3.amazonaws.com\n"
        f"    Prefix: cloudfront/{res['source']['address']}/\n    IncludeCookies: false\n",
    )


def api_access_logs(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    stage = res["source"]["address"]
    key = "AccessLogSettings" if res["type"] == t.APIGWV2_STAGE else "AccessLogSetting"
    return (
        f"# add to Resources:\n{stage}AccessLogs:\n  Type: AWS::Logs::LogGroup\n  Properties:\n"
        f"    RetentionInDays: 365\n"
        + _stage_settings(
            res,
            f"{key}:\n  DestinationArn: !GetAtt {stage}AccessLogs.Arn\n  Format: {_quoted(APIGW_ACCESS_FORMAT)}\n",
        )
    )


def api_execution_logs(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    level = "INFO" if row["level"] == "full" else "ERROR"
    return _stage_settings(
        res,
        f'MethodSettings:\n  - ResourcePath: "/*"\n    HttpMethod: "*"\n    LoggingLevel: {level}\n'
        "# the account needs an API Gateway CloudWatch Logs role (AWS::ApiGateway::Account)\n",
    )


def rds_exports(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    which = "all" if row["level"] == "full" else "errors"
    needed = required_logs(res["config"].get("engine"), which) or []
    exports = sorted({*(res["config"].get("log_exports") or []), *needed})
    return _merge_into(res, f"EnableCloudwatchLogsExports: [{', '.join(exports)}]\n")


def trail_validation(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    return _merge_into(res, "EnableLogFileValidation: true\n")


def trail_kms(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    return _merge_into(
        res, "KMSKeyId: !Ref TrailKey  # an AWS::KMS::Key whose policy lets cloudtrail.amazonaws.com use it\n"
    )


def trail_bucket_block(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    return (
        f"# merge into the Properties of the trail's bucket {res['config'].get('s3_bucket')} (AWS::S3::Bucket):\n"
        "PublicAccessBlockConfiguration:\n  BlockPublicAcls: true\n  BlockPublicPolicy: true\n"
        "  IgnorePublicAcls: true\n  RestrictPublicBuckets: true\n"
    )


def opensearch_logs(res: dict[str, Any], row: dict[str, Any], bucket: str) -> str:
    kinds = ["AUDIT_LOGS"] if row["check_id"] == "opensearch.audit_logs" else ["SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"]
    domain = res["source"]["address"]
    group = {kind: f"{domain}{kind.title().replace('_', '')}" for kind in kinds}
    groups = "".join(
        f"{group[kind]}:\n  Type: AWS::Logs::LogGroup\n  Properties:\n    RetentionInDays: 365\n" for kind in kinds
    )
    options = "".join(
        f"  {kind}:\n    Enabled: true\n    CloudWatchLogsLogGroupArn: !GetAtt {group[kind]}.Arn\n" for kind in kinds
    )
    note = (
        "# audit logs also need fine-grained access control (AdvancedSecurityOptions) and audit logging enabled\n"
        if "AUDIT_LOGS" in kinds
        else "# slow logs also need index slow log thresholds\n"
    )
    return (
        "# add to Resources (with an AWS::Logs::ResourcePolicy letting es.amazonaws.com write to the groups):\n"
        + groups
        + _merge_into(res, "LogPublishingOptions:\n" + options + note)
    )


SNIPPETS: dict[str, Snippet] = {
    "s3.server_access_logging": s3_logging,
    "s3.data_events.read": data_events,
    "s3.data_events.write": data_events,
    "dynamodb.data_events": data_events,
    "lambda.data_events": data_events,
    "vpc.flow_logs.all": flow_log,
    "vpc.flow_logs.reject": flow_log,
    "elb.access_logs": load_balancer_logs,
    "alb.connection_logs": load_balancer_logs,
    "cloudfront.logging": cloudfront_logging,
    "apigw.access_logging": api_access_logs,
    "apigw.execution_logging": api_execution_logs,
    "rds.log_exports": rds_exports,
    "cloudtrail.log_file_validation": trail_validation,
    "cloudtrail.kms": trail_kms,
    "cloudtrail.bucket_not_public": trail_bucket_block,
    "opensearch.audit_logs": opensearch_logs,
    "opensearch.slow_logs": opensearch_logs,
}


def snippet(res: dict[str, Any], row: dict[str, Any], log_bucket: str) -> str:
    make = SNIPPETS.get(row["check_id"])
    return make(res, row, log_bucket) if make else ""
