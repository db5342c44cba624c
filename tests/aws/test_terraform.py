"""The Terraform module, checked offline: every file parses, the IAM policy is least-privilege, the queue is wired
(dead-letter queue, partial batch failures, only the log bucket may send), and, where the terraform binary and a
local AWS provider mirror are there, `terraform validate` and `terraform fmt` pass."""

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
