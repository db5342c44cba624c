"""One fixer per check id: `fixer(planner, resource, row)` adds the Actions (and Terraform) that make it pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from loglake.inventory import snapshot as t
from loglake.policy.checks.rds import required_logs
from loglake.policy.checks.selectors import DYNAMODB, LAMBDA, S3_OBJECT
from loglake.policy.checks.vpc import FULL_FORMAT
from loglake.policy.fixes.actions import Action
from loglake.policy.fixes.plan import APIGW_ACCESS_FORMAT, Planner, retention_step, tf_name

Fixer = Callable[[Planner, dict[str, Any], dict[str, Any]], None]


def _fix(row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(row["check_id"], row["resource_arn"])]


def _options(planner: Planner, row: dict[str, Any], service: str) -> dict[str, Any]:
    for requirement in planner.policy.required(service, row["level"]):
        if requirement.check_id == row["check_id"]:
            return requirement.options
    return {}


def s3_server_access_logging(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    target = planner.log_bucket(res["region"])
    if target == res["name"]:
        return
    prefix = f"s3/{res['name']}/"
    planner.fixes.append(
        Action(
            "s3",
            res["region"],
            "put_bucket_logging",
            {
                "Bucket": res["name"],
                "BucketLoggingStatus": {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": prefix}},
            },
            f"access logs of {res['name']} to s3://{target}/{prefix}",
            fixes=_fix(row),
            terraform=f'resource "aws_s3_bucket_logging" "{tf_name(res["name"])}" {{\n'
            f'  bucket        = "{res["name"]}"\n'
            f'  target_bucket = "{target}"\n  target_prefix = "{prefix}"\n}}\n',
        )
    )


def s3_data_events(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    planner.want_data_events(S3_OBJECT, res["arn"], row["check_id"].rsplit(".", 1)[1], (row["check_id"], res["arn"]))


def dynamodb_data_events(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    mode = _options(planner, row, "dynamodb").get("events", "all")
    planner.want_data_events(DYNAMODB, res["arn"], mode, (row["check_id"], res["arn"]))


def lambda_data_events(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    mode = _options(planner, row, "lambda").get("events", "all")
    planner.want_data_events(LAMBDA, res["arn"], mode, (row["check_id"], res["arn"]))


def vpc_flow_logs(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    traffic = "ALL" if row["check_id"] == "vpc.flow_logs.all" else "REJECT"
    bucket = planner.log_bucket(res["region"])
    vpc_id = res["config"].get("vpc_id") or res.get("vpc_id")
    destination = f"arn:{planner.partition}:s3:::{bucket}"  # a prefix in the ARN is refused by some endpoints
    planner.fixes.append(
        Action(
            "ec2",
            res["region"],
            "create_flow_logs",
            {
                "ResourceIds": [vpc_id],
                "ResourceType": "VPC",
                "TrafficType": traffic,
                "LogDestinationType": "s3",
                "LogDestination": destination,
                "LogFormat": FULL_FORMAT,
                "MaxAggregationInterval": 60,
                "TagSpecifications": [
                    {"ResourceType": "vpc-flow-log", "Tags": [{"Key": "loglake:purpose", "Value": "logs"}]}
                ],
            },
            f"{traffic} flow log of {res['name']} to s3://{bucket} with the v5 fields",
            fixes=_fix(row),
            terraform=f'resource "aws_flow_log" "{tf_name(vpc_id, traffic)}" {{\n'
            f'  vpc_id                   = "{vpc_id}"\n'
            f'  traffic_type             = "{traffic}"\n  log_destination_type     = "s3"\n'
            f'  log_destination          = "{destination}"\n  max_aggregation_interval = 60\n'
            f"  log_format               = {json.dumps(FULL_FORMAT).replace('${', '$${')}\n}}\n",
        )
    )


def elb_access_logs(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    bucket = planner.log_bucket(res["region"])
    prefix = f"elb/{res['name']}"
    if res["type"] == t.CLB:
        planner.fixes.append(
            Action(
                "elb",
                res["region"],
                "modify_load_balancer_attributes",
                {
                    "LoadBalancerName": res["name"],
                    "LoadBalancerAttributes": {
                        "AccessLog": {
                            "Enabled": True,
                            "S3BucketName": bucket,
                            "S3BucketPrefix": prefix,
                            "EmitInterval": 5,
                        }
                    },
                },
                f"access logs of {res['name']} to s3://{bucket}/{prefix}",
                fixes=_fix(row),
                terraform=f'# resource "aws_elb" managing {res["name"]}: add\n'
                f'  access_logs {{\n    bucket        = "{bucket}"\n'
                f'    bucket_prefix = "{prefix}"\n    interval      = 5\n    enabled       = true\n  }}\n',
                terraform_patch=True,
            )
        )
        return
    _elbv2_attributes(planner, res, row, "access_logs", bucket, prefix)


def alb_connection_logs(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    bucket = planner.log_bucket(res["region"])
    _elbv2_attributes(planner, res, row, "connection_logs", bucket, f"elb-connections/{res['name']}")


def _elbv2_attributes(  # noqa: PLR0917 - the fixer's three, and what differs between access and connection logs
    planner: Planner, res: dict[str, Any], row: dict[str, Any], kind: str, bucket: str, prefix: str
) -> None:
    planner.fixes.append(
        Action(
            "elbv2",
            res["region"],
            "modify_load_balancer_attributes",
            {
                "LoadBalancerArn": res["arn"],
                "Attributes": [
                    {"Key": f"{kind}.s3.enabled", "Value": "true"},
                    {"Key": f"{kind}.s3.bucket", "Value": bucket},
                    {"Key": f"{kind}.s3.prefix", "Value": prefix},
                ],
            },
            f"{kind.replace('_', ' ')} of {res['name']} to s3://{bucket}/{prefix}",
            fixes=_fix(row),
            terraform=f'# resource "aws_lb" managing {res["arn"]}: add\n  {kind} {{\n    bucket  = "{bucket}"\n'
            f'    prefix  = "{prefix}"\n    enabled = true\n  }}\n',
            terraform_patch=True,
        )
    )


def cloudfront_logging(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    bucket = planner.log_bucket("us-east-1")
    distribution = res["config"].get("id") or res["arn"].rsplit("/", 1)[-1]
    logging = {
        "Enabled": True,
        "IncludeCookies": False,
        "Bucket": f"{bucket}.s3.amazonaws.com",
        "Prefix": f"cloudfront/{distribution}/",
    }

    def prepare(client: Any, params: dict[str, Any]) -> dict[str, Any]:
        current = client.get_distribution_config(Id=distribution)
        config = current["DistributionConfig"]
        config["Logging"] = logging
        return {"Id": distribution, "IfMatch": current["ETag"], "DistributionConfig": config}

    planner.fixes.append(
        Action(
            "cloudfront",
            "us-east-1",
            "update_distribution",
            {
                "Id": distribution,
                "IfMatch": "<current ETag>",
                "DistributionConfig": {"...current...": "...", "Logging": logging},
            },
            f"standard logs of {distribution} to s3://{bucket}/cloudfront/{distribution}/",
            fixes=_fix(row),
            prepare=prepare,
            terraform=f'# resource "aws_cloudfront_distribution" managing {distribution}: add\n  logging_config {{\n'
            f'    bucket          = "{bucket}.s3.amazonaws.com"\n    prefix          = "cloudfront/{distribution}/"\n'
            "    include_cookies = false\n  }\n",
            terraform_patch=True,
        )
    )


def apigw_access_logging(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    config = res["config"]
    group = planner.log_group(
        f"/aws/apigateway/{config['api_id']}/{config['stage']}/access", res["region"], f"{res['name']} access logs"
    )
    if res["type"] == t.APIGW_STAGE:
        planner.fixes.append(
            Action(
                "apigateway",
                res["region"],
                "update_stage",
                {
                    "restApiId": config["api_id"],
                    "stageName": config["stage"],
                    "patchOperations": [
                        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": group},
                        {"op": "replace", "path": "/accessLogSettings/format", "value": APIGW_ACCESS_FORMAT},
                    ],
                },
                f"access logs of {res['name']} to {group}",
                fixes=_fix(row),
                terraform=f'# resource "aws_api_gateway_stage" for {config["api_id"]}/{config["stage"]}: add\n'
                f'  access_log_settings {{\n    destination_arn = "{group}"\n'
                f"    format          = {json.dumps(APIGW_ACCESS_FORMAT).replace('${', '$${')}\n  }}\n",
                terraform_patch=True,
            )
        )
        return
    planner.fixes.append(
        Action(
            "apigatewayv2",
            res["region"],
            "update_stage",
            {
                "ApiId": config["api_id"],
                "StageName": config["stage"],
                "AccessLogSettings": {"DestinationArn": group, "Format": APIGW_ACCESS_FORMAT},
            },
            f"access logs of {res['name']} to {group}",
            fixes=_fix(row),
            terraform=f'# resource "aws_apigatewayv2_stage" for {config["api_id"]}/{config["stage"]}: add\n'
            f'  access_log_settings {{\n    destination_arn = "{group}"\n'
            f"    format          = {json.dumps(APIGW_ACCESS_FORMAT).replace('${', '$${')}\n  }}\n",
            terraform_patch=True,
        )
    )


def apigw_execution_logging(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    config = res["config"]
    accepted = [level.upper() for level in _options(planner, row, "apigateway").get("levels") or ["ERROR", "INFO"]]
    level = "ERROR" if "ERROR" in accepted else "INFO"
    settings = config.get("method_logging") or {}
    paths = ["*/*"] if settings.get("*/*", "OFF") not in accepted else []
    paths += [p for p, lvl in settings.items() if p != "*/*" and lvl not in accepted]
    planner.fixes.append(
        Action(
            "apigateway",
            res["region"],
            "update_stage",
            {
                "restApiId": config["api_id"],
                "stageName": config["stage"],
                "patchOperations": [{"op": "replace", "path": f"/{p}/logging/loglevel", "value": level} for p in paths],
            },
            f"execution logging {level} on {res['name']}",
            fixes=_fix(row),
            note="needs the account's API Gateway CloudWatch Logs role (apigateway update_account cloudwatchRoleArn)",
            terraform=f'resource "aws_api_gateway_method_settings" "{tf_name(config["api_id"], config["stage"])}" {{\n'
            f'  rest_api_id = "{config["api_id"]}"\n  stage_name  = "{config["stage"]}"\n  method_path = "*/*"\n'
            f'  settings {{\n    logging_level = "{level}"\n  }}\n}}\n',
        )
    )


def rds_log_exports(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    config = res["config"]
    which = _options(planner, row, "rds").get("logs", "errors")
    needed = required_logs(config.get("engine"), which) or []
    missing = [log for log in needed if log not in (config.get("log_exports") or [])]
    if not missing:
        planner.notes.append(
            f"rds.log_exports on {res['name']}: engine {config.get('engine')} unknown; set exports by hand"
        )
        return
    cluster = res["type"] == t.RDS_CLUSTER
    exports = json.dumps(sorted({*(config.get("log_exports") or []), *missing}))
    identifier = {"DBClusterIdentifier": res["name"]} if cluster else {"DBInstanceIdentifier": res["name"]}
    resource_type = "aws_rds_cluster" if cluster else "aws_db_instance"
    planner.fixes.append(
        Action(
            "rds",
            res["region"],
            "modify_db_cluster" if cluster else "modify_db_instance",
            {**identifier, "CloudwatchLogsExportConfiguration": {"EnableLogTypes": missing}, "ApplyImmediately": True},
            f"export {', '.join(missing)} logs of {res['name']}",
            fixes=_fix(row),
            note="MySQL/MariaDB audit logs also need the MARIADB_AUDIT_PLUGIN option" if "audit" in missing else "",
            terraform=f'# resource "{resource_type}" managing {res["name"]}: set\n'
            f"  enabled_cloudwatch_logs_exports = {exports}\n",
            terraform_patch=True,
        )
    )


def opensearch_logs(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    kinds = ["AUDIT_LOGS"] if row["check_id"] == "opensearch.audit_logs" else ["SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS"]
    domain = res["name"]
    groups = {
        k: planner.log_group(f"/aws/opensearch/{domain}/{k.lower()}", res["region"], f"{domain} {k}") for k in kinds
    }
    key = f"es-policy:{res['region']}"
    if key not in planner._done:
        planner._done[key] = True
        policy = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "es.amazonaws.com"},
                        "Action": ["logs:PutLogEvents", "logs:CreateLogStream"],
                        "Resource": f"arn:{planner.partition}:logs:{res['region']}:{planner.inventory.account}"
                        ":log-group:/aws/opensearch/*",
                    }
                ],
            }
        )
        planner.setup.append(
            Action(
                "logs",
                res["region"],
                "put_resource_policy",
                {"policyName": "loglake-opensearch-logs", "policyDocument": policy},
                "let OpenSearch write to /aws/opensearch/* log groups",
                terraform='resource "aws_cloudwatch_log_resource_policy" "loglake_opensearch" {\n'
                f'  policy_name     = "loglake-opensearch-logs"\n  policy_document = jsonencode({policy})\n}}\n',
            )
        )
    wanted = {k: {"CloudWatchLogsLogGroupArn": arn, "Enabled": True} for k, arn in groups.items()}

    def prepare(client: Any, params: dict[str, Any]) -> dict[str, Any]:
        current = client.describe_domain(DomainName=domain)["DomainStatus"].get("LogPublishingOptions") or {}
        return {"DomainName": domain, "LogPublishingOptions": {**current, **wanted}}

    planner.fixes.append(
        Action(
            "opensearch",
            res["region"],
            "update_domain_config",
            {"DomainName": domain, "LogPublishingOptions": wanted},
            f"publish {', '.join(kinds)} of {domain}",
            fixes=_fix(row),
            prepare=prepare,
            note="audit logs also need fine-grained access control and audit logging enabled in OpenSearch"
            if "AUDIT_LOGS" in kinds
            else "slow logs also need index slow log thresholds",
            terraform=f'# resource "aws_opensearch_domain" managing {domain}: add\n'
            + "".join(
                f'  log_publishing_options {{\n    log_type                 = "{k}"\n'
                f'    cloudwatch_log_group_arn = "{arn}"\n  }}\n'
                for k, arn in groups.items()
            ),
            terraform_patch=True,
        )
    )


def cloudtrail_multi_region(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    planner.management_needed = True


def cloudtrail_update(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    config = res["config"]
    if row["check_id"] == "cloudtrail.log_file_validation":
        params: dict[str, Any] = {"EnableLogFileValidation": True}
        hcl = "  enable_log_file_validation = true\n"
        purpose = f"log file validation on trail {res['name']}"
    else:
        params = {"KmsKeyId": planner.kms_key()}
        key = json.dumps(planner.options.kms_key) if planner.options.kms_key else "aws_kms_key.loglake_cloudtrail.arn"
        hcl = f"  kms_key_id = {key}\n"
        purpose = f"KMS encryption of trail {res['name']}"
    planner.fixes.append(
        Action(
            "cloudtrail",
            config.get("home_region") or res["region"],
            "update_trail",
            {"Name": res["arn"], **params},
            purpose,
            fixes=_fix(row),
            terraform=f'# resource "aws_cloudtrail" managing {res["name"]}: set\n{hcl}',
            terraform_patch=True,
        )
    )


def cloudtrail_bucket_not_public(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    bucket = res["config"].get("s3_bucket")
    region = (planner.buckets.get(bucket) or {}).get("region") or res["region"]
    planner.fixes.append(
        Action(
            "s3",
            region,
            "put_public_access_block",
            {
                "Bucket": bucket,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            },
            f"block public access to trail bucket {bucket}",
            fixes=_fix(row),
            terraform=f'resource "aws_s3_bucket_public_access_block" "{tf_name(bucket)}" {{\n  bucket = "{bucket}"\n'
            "  block_public_acls       = true\n  block_public_policy     = true\n"
            "  ignore_public_acls      = true\n  restrict_public_buckets = true\n}\n",
        )
    )


def cwl_retention(planner: Planner, res: dict[str, Any], row: dict[str, Any]) -> None:
    days = retention_step(planner.policy.cwl_retention_days)
    planner.fixes.append(
        Action(
            "logs",
            res["region"],
            "put_retention_policy",
            {"logGroupName": res["name"], "retentionInDays": days},
            f"keep {res['name']} {days} days",
            fixes=_fix(row),
            terraform=f'# resource "aws_cloudwatch_log_group" managing {res["name"]}: set\n'
            f"  retention_in_days = {days}\n",
            terraform_patch=True,
        )
    )


FIXERS: dict[str, Fixer] = {
    "s3.server_access_logging": s3_server_access_logging,
    "s3.data_events.read": s3_data_events,
    "s3.data_events.write": s3_data_events,
    "vpc.flow_logs.all": vpc_flow_logs,
    "vpc.flow_logs.reject": vpc_flow_logs,
    "elb.access_logs": elb_access_logs,
    "alb.connection_logs": alb_connection_logs,
    "cloudfront.logging": cloudfront_logging,
    "apigw.access_logging": apigw_access_logging,
    "apigw.execution_logging": apigw_execution_logging,
    "rds.log_exports": rds_log_exports,
    "dynamodb.data_events": dynamodb_data_events,
    "lambda.data_events": lambda_data_events,
    "opensearch.audit_logs": opensearch_logs,
    "opensearch.slow_logs": opensearch_logs,
    "cloudtrail.multi_region": cloudtrail_multi_region,
    "cloudtrail.log_file_validation": cloudtrail_update,
    "cloudtrail.kms": cloudtrail_update,
    "cloudtrail.bucket_not_public": cloudtrail_bucket_not_public,
    "cwl.retention": cwl_retention,
}
