"""The Terraform module, checked offline: every file parses, the IAM policy is least-privilege, the queue is wired
(dead-letter queue, partial batch failures, only the log bucket may send), and, where the terraform binary and a
local AWS provider mirror are there, `terraform validate` and `terraform fmt` pass and the module applies to
moto_server, whose resources are then read back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

MODULE = Path(__file__).resolve().parents[2] / "deploy" / "terraform"
PROVIDER_MIRROR = Path(os.environ.get("LOGLAKE_TF_PLUGIN_DIR", "/opt/tf-plugins"))


def unquote(value):
    """python-hcl2 keeps string literals quoted and wraps expressions in ${}: the plain text of either."""
    if isinstance(value, str):
        text = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        return text[2:-1] if text.startswith("${") and text.endswith("}") and text.count("${") == 1 else text
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    return value


@pytest.fixture(scope="module")
def module() -> dict[str, dict]:
    """Blocks by kind: resource/data -> {type.name: body}, variable/output -> {name: body}."""
    blocks: dict[str, dict] = {"resource": {}, "data": {}, "variable": {}, "output": {}, "locals": {}}
    for path in sorted(MODULE.glob("*.tf")):
        with path.open() as handle:
            parsed = unquote(hcl2.load(handle))
        for kind in ("resource", "data"):
            for block in parsed.get(kind, []):
                for type_, named in block.items():
                    for name, body in named.items():
                        blocks[kind][f"{type_}.{name}"] = body
        for kind in ("variable", "output"):
            for block in parsed.get(kind, []):
                blocks[kind].update(block)
        for block in parsed.get("locals", []):
            blocks["locals"].update(block)
    return blocks


def statements(module: dict, document: str) -> dict[str, dict]:
    return {s["sid"]: s for s in module["data"][f"aws_iam_policy_document.{document}"]["statement"]}


def test_every_file_parses_and_variables_are_documented(module):
    assert {p.name for p in MODULE.glob("*.tf")} == {"main.tf", "variables.tf", "outputs.tf", "versions.tf"}
    assert module["variable"] and all(v.get("description") for v in module["variable"].values())
    assert {"function_arn", "queue_url", "dead_letter_queue_url", "lake", "role_arn"} <= set(module["output"])


def test_function_policy_is_least_privilege(module):
    function = statements(module, "function")
    for sid, statement in function.items():
        for action in statement["actions"]:
            assert "*" not in action, f"{sid}: wildcard action {action}"
        for resource in statement["resources"]:
            assert resource != "*", f"{sid}: any resource"
    # the only wildcards are key prefixes, log streams of its own group and the tables of its own database
    wildcards = sorted(r for s in function.values() for r in s["resources"] if "*" in r)
    assert wildcards == [
        "${aws_cloudwatch_log_group.function.arn}:*",
        "${local.glue}:table/${local.glue_database}/*",
        "${local.lake_bucket}/${var.lake_prefix}/*",
        "${local.log_bucket}/${var.log_prefix}*",
    ]
    assert function["ReadLogs"]["actions"] == ["s3:GetObject"]  # read only, only below the log prefix
    assert not any("log_bucket" in r for sid, s in function.items() if sid != "ReadLogs" for r in s["resources"])
    assert not any(a in ("s3:DeleteObject", "s3:PutObjectAcl") for s in function.values() for a in s["actions"])
    assert function["ListLake"]["condition"][0]["values"] == ["${var.lake_prefix}/*"]
    assert all(a.startswith("glue:") for a in function["LakeCatalog"]["actions"])
    assert "glue:DeleteTable" not in function["LakeCatalog"]["actions"]
    assert all(
        "glue_database" in r or r.endswith(":catalog") for r in function["LakeCatalog"]["resources"]
    )  # the catalog ARN is required alongside a database's
    assert module["locals"]["glue_database"] == "loglake"  # the namespace of src/loglake/lake/catalog.py
    assert function["OwnQueue"]["resources"] == ["aws_sqs_queue.notifications.arn"]
    assert set(function["OwnQueue"]["actions"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    }


def test_kms_statements_exist_only_when_a_key_is_given(module):
    dynamic = module["data"]["aws_iam_policy_document.function"]["dynamic"]
    by_sid = {d["statement"]["content"][0]["sid"]: d["statement"] for d in dynamic}
    assert by_sid["DecryptLogs"]["content"][0]["actions"] == ["kms:Decrypt"]
    assert by_sid["EncryptLake"]["content"][0]["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert all(d["content"][0]["resources"] == ["statement.value"] for d in by_sid.values())  # that key only
    assert by_sid["DecryptLogs"]["for_each"] == "var.log_kms_key_arn == null ? [] : [var.log_kms_key_arn]"
    assert by_sid["EncryptLake"]["for_each"] == "var.lake_kms_key_arn == null ? [] : [var.lake_kms_key_arn]"
    assert module["variable"]["log_kms_key_arn"]["default"] is None


def test_queue_has_a_dead_letter_queue_and_only_the_bucket_may_send(module):
    queue = module["resource"]["aws_sqs_queue.notifications"]
    assert re.search(r"deadLetterTargetArn\s*=\s*aws_sqs_queue\.dead_letter\.arn", queue["redrive_policy"])
    assert "maxReceiveCount = var.max_receive_count" in queue["redrive_policy"]
    assert queue["visibility_timeout_seconds"] == "6 * var.timeout_seconds"  # longer than any invocation
    sender = statements(module, "queue")["LogBucketNotifications"]
    assert sender["actions"] == ["sqs:SendMessage"]
    assert sender["principals"][0] == {"type": "Service", "identifiers": ["s3.amazonaws.com"]}
    conditions = {(c["test"], c["variable"]): c["values"] for c in sender["condition"]}
    assert conditions == {
        ("ArnEquals", "aws:SourceArn"): ["local.log_bucket"],
        ("StringEquals", "aws:SourceAccount"): ["local.account"],
    }
    queue_policy = module["resource"]["aws_sqs_queue_policy.notifications"]
    assert queue_policy["policy"] == "data.aws_iam_policy_document.queue.json"
    notification = module["resource"]["aws_s3_bucket_notification.logs"]["queue"][0]
    assert notification["queue_arn"] == "aws_sqs_queue.notifications.arn"
    assert notification["filter_prefix"] == "var.log_prefix"


def test_function_reads_the_queue_with_partial_batch_failures(module):
    mapping = module["resource"]["aws_lambda_event_source_mapping.notifications"]
    assert mapping["event_source_arn"] == "aws_sqs_queue.notifications.arn"
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    function = module["resource"]["aws_lambda_function.ingest"]
    assert "loglake.aws.lambda_handler" in function["handler"]  # the handler string the docs give
    variables = function["environment"][0]["variables"]
    assert 'LOGLAKE_LAKE = "s3://${var.lake_bucket}/${var.lake_prefix}"' in variables
    assert 'LOGLAKE_CATALOG = "glue"' in variables


def _terraform() -> str:
    binary = shutil.which("terraform")
    if binary is None or not PROVIDER_MIRROR.is_dir():
        pytest.skip("terraform or a local AWS provider mirror (LOGLAKE_TF_PLUGIN_DIR) is not installed")
    return binary


def test_terraform_validate_and_fmt(tmp_path):
    terraform = _terraform()
    work = tmp_path / "module"
    shutil.copytree(MODULE, work, ignore=shutil.ignore_patterns(".terraform*", "*.md"))
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([terraform, *args], cwd=work, env=env, capture_output=True, text=True, check=False)

    init = run("init", "-backend=false", "-input=false", f"-plugin-dir={PROVIDER_MIRROR}")
    assert init.returncode == 0, init.stderr
    validate = run("validate", "-json")
    assert validate.returncode == 0 and '"valid": true' in validate.stdout, validate.stdout + validate.stderr
    fmt = run("fmt", "-check", "-diff")
    assert fmt.returncode == 0, fmt.stdout


ROOT_MODULE = """
provider "aws" {{
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
}}

module "loglake" {{
  source          = "{module}"
  log_bucket      = "org-logs"
  log_prefix      = "AWSLogs/"
  lake_bucket     = "org-lake"
  lake_prefix     = "loglake"
  image_uri       = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/loglake-ingest:1"
  log_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/logs"
}}
"""


@pytest.mark.slow
def test_terraform_apply_on_moto_wires_what_the_module_promises(tmp_path, moto_server):
    """The module applied to moto_server: the deployed queue, notification, role policy and mapping, as AWS
    reports them back, are what the module promises."""
    import json

    import boto3

    terraform = _terraform()
    services = ("sts", "iam", "s3", "sqs", "lambda", "glue", "logs")
    endpoints = "\n".join(f'    {name} = "{moto_server}"' for name in services)
    (tmp_path / "main.tf").write_text(ROOT_MODULE.format(endpoints=endpoints, module=MODULE))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "CHECKPOINT_DISABLE": "1"}
    clients = {
        name: boto3.client(
            name,
            endpoint_url=moto_server,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for name in ("s3", "sqs", "iam", "lambda", "sts")
    }
    for bucket in ("org-logs", "org-lake"):
        clients["s3"].create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [terraform, *args], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=400
        )

    assert run("init", "-input=false", f"-plugin-dir={PROVIDER_MIRROR}").returncode == 0
    applied = run("apply", "-input=false", "-auto-approve", "-no-color")
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    account = clients["sts"].get_caller_identity()["Account"]

    sqs = clients["sqs"]
    queue_url = sqs.get_queue_url(QueueName="loglake-ingest")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    dlq_url = sqs.get_queue_url(QueueName="loglake-ingest-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}
    assert attributes["VisibilityTimeout"] == "1800"
    (sender,) = json.loads(attributes["Policy"])["Statement"]
    assert sender["Principal"] == {"Service": "s3.amazonaws.com"} and sender["Action"] == "sqs:SendMessage"
    assert sender["Resource"] == attributes["QueueArn"]
    assert sender["Condition"] == {
        "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::org-logs"},
        "StringEquals": {"aws:SourceAccount": account},
    }

    notification = clients["s3"].get_bucket_notification_configuration(Bucket="org-logs")["QueueConfigurations"]
    assert [(n["QueueArn"], n["Events"]) for n in notification] == [(attributes["QueueArn"], ["s3:ObjectCreated:*"])]
    rules = notification[0]["Filter"]["Key"]["FilterRules"]
    assert [(r["Name"].lower(), r["Value"]) for r in rules] == [("prefix", "AWSLogs/")]

    document = clients["iam"].get_role_policy(RoleName="loglake-ingest", PolicyName="loglake-ingest")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    statements = {s["Sid"]: s for s in document["Statement"]}

    def listed(value):
        return value if isinstance(value, list) else [value]

    resources = {sid: sorted(listed(s["Resource"])) for sid, s in statements.items()}
    glue = f"arn:aws:glue:eu-west-1:{account}"
    assert resources == {
        "OwnLogs": [f"arn:aws:logs:eu-west-1:{account}:log-group:/aws/lambda/loglake-ingest:*"],
        "OwnQueue": [attributes["QueueArn"]],
        "ReadLogs": ["arn:aws:s3:::org-logs/AWSLogs/*"],
        "WriteLake": ["arn:aws:s3:::org-lake/loglake/*"],
        "ListLake": ["arn:aws:s3:::org-lake"],
        "LakeCatalog": [f"{glue}:catalog", f"{glue}:database/loglake", f"{glue}:table/loglake/*"],
        "DecryptLogs": ["arn:aws:kms:eu-west-1:123456789012:key/logs"],
    }
    assert not [a for s in statements.values() for a in listed(s["Action"]) if "*" in a]
    assert statements["ListLake"]["Condition"] == {"StringLike": {"s3:prefix": "loglake/*"}}

    function = clients["lambda"].get_function(FunctionName="loglake-ingest")["Configuration"]
    assert function["Environment"]["Variables"]["LOGLAKE_LAKE"] == "s3://org-lake/loglake"
    assert function["Environment"]["Variables"]["LOGLAKE_CATALOG"] == "glue"
    mappings = clients["lambda"].list_event_source_mappings()["EventSourceMappings"]
    (mapping,) = [m for m in mappings if m["FunctionArn"] == function["FunctionArn"]]
    assert mapping["EventSourceArn"] == attributes["QueueArn"]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
