"""The Lambda handler on every event shape of the samples, with the S3 objects on a real S3 server (rclone).

S3 notifications (direct, through SQS, through EventBridge) point at the Loki sample logs uploaded to the server;
CloudWatch Logs records come as the samples hold them (Kinesis, Firehose, direct subscriptions). Each test checks
the rows that land, and that a retried invocation adds nothing.
"""

from __future__ import annotations

import base64
import copy
import gzip
import importlib
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from loglake.aws import lambda_handler
from loglake.aws.events import UnknownEventError
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.lake import catalog as lake_catalog
from loglake.query import engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOKI_LOGS = [*sorted((FIXTURES / "loki").glob("*.log.gz")), FIXTURES / "loki" / "cloudtrail-log-file.json.gz"]
LOKI_TABLES = {  # what the Loki sample logs hold
    "alb_access_logs": 2,
    "cloudfront_logs": 2,
    "cloudtrail_logs": 2,
    "nlb_tls_logs": 2,
    "vpc_flow_logs": 3,
    "waf_logs": 1,
}


def sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def env(monkeypatch, s3_server, lake):
    """The function's environment: the standard AWS chain pointed at the test server, and the lake."""
    for name, value in s3_server.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.endpoint_url)
    monkeypatch.setenv("LOGLAKE_LAKE", str(lake))
    return lake


@pytest.fixture
def bucket(s3_server) -> str:
    name = f"logs-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    return name


def upload(s3_server, bucket: str, prefix: str = "incoming/") -> list[dict]:
    """The Loki sample logs in the bucket (one key with spaces); per object its key, size and ETag."""
    client = s3_server.client()
    objects = []
    for path in LOKI_LOGS:
        key = prefix + ("Happy Face " + path.name if path.name.startswith("alb") else path.name)
        etag = client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())["ETag"].strip('"')
        objects.append({"key": key, "size": path.stat().st_size, "etag": etag})
    return objects


def s3_notification(bucket: str, objects: list[dict], encode=quote) -> dict:
    """The S3 sample event, one record per object (keys URL-encoded as S3 sends them)."""
    event = sample("lambda/s3-event.json")
    template = event["Records"][0]
    event["Records"] = []
    for obj in objects:
        record = copy.deepcopy(template)
        record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
        record["s3"]["object"].update(key=encode(obj["key"]), size=obj["size"], eTag=obj["etag"])
        event["Records"].append(record)
    return event


def eventbridge(bucket: str, obj: dict) -> dict:
    event = sample("loki/eventbridge-s3-event.json")
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["bucket"]["name"] = bucket
    event["detail"]["object"].update(key=obj["key"], size=obj["size"], etag=obj["etag"])
    return event


def sqs(*bodies: str) -> dict:
    """The SQS sample event, one message per body (the sample's own message first)."""
    event = sample("lambda/sqs-event.json")
    template = event["Records"][0]
    for n, body in enumerate(bodies, 2):
        event["Records"].append({**copy.deepcopy(template), "messageId": f"MessageID_{n}", "body": body})
    return event


def counts(lake: Path) -> dict[str, int]:
    """Rows per lake table (tables the ingest created but left empty are left out)."""
    con = engine.connect(lake)
    tables = lake_catalog.table_names(lake_catalog.open_catalog(lake_catalog.LakeLocation(lake)))
    found = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    return {t: n for t, n in found.items() if n}


def rows(lake: Path, table: str) -> list[tuple]:
    """A table's rows without where they came from (the same object is a file here and an S3 key there)."""
    con = engine.connect(lake)
    return con.execute(f"SELECT * EXCLUDE (lake_file, lake_ingested_at) FROM {table} ORDER BY ALL").fetchall()


def test_s3_notification_lands_the_objects_as_a_local_ingest_does(env, s3_server, bucket, tmp_path):
    objects = upload(s3_server, bucket)
    event = s3_notification(bucket, objects)
    assert lambda_handler.handler(event, None) == {"records": sum(LOKI_TABLES.values()), "already_ingested": 0}
    assert counts(env) == LOKI_TABLES
    files = engine.connect(env).execute("SELECT DISTINCT lake_file FROM alb_access_logs").fetchall()
    assert files == [(f"s3://{bucket}/incoming/Happy Face albaccesslog.log.gz",)]  # the key decoded
    local = tmp_path / "local-lake"
    ingest(IngestOptions(sources=[str(p) for p in LOKI_LOGS], lake=local, workers=1))
    for table in LOKI_TABLES:
        assert rows(env, table) == rows(local, table), table
    # a retry (S3 delivers at least once) adds nothing
    assert lambda_handler.handler(event, None) == {"records": 0, "already_ingested": len(objects)}
    assert counts(env) == LOKI_TABLES


def test_s3_keys_encoded_with_plus_and_removals_ignored(env, s3_server, bucket):
    objects = upload(s3_server, bucket, prefix="plus/")
    event = s3_notification(bucket, objects[:1], encode=quote_plus)  # the ALB log, `Happy+Face+...`
    removal = copy.deepcopy(event["Records"][0])
    removal["eventName"] = "ObjectRemoved:Delete"
    removal["s3"]["object"]["key"] = "plus/gone.log"
    event["Records"].append(removal)
    assert lambda_handler(event, None)["records"] == 2  # the module itself is the handler
    assert counts(env) == {"alb_access_logs": 2}


def test_eventbridge_object_created(env, s3_server, bucket):
    objects = upload(s3_server, bucket)
    for obj in objects:
        lambda_handler.handler(eventbridge(bucket, obj), None)
    assert counts(env) == LOKI_TABLES
    lambda_handler.handler(eventbridge(bucket, objects[0]), None)
    assert counts(env) == LOKI_TABLES


def test_sqs_batch_reports_only_failed_messages(env, s3_server, bucket, caplog):
    objects = upload(s3_server, bucket)
    missing = {"key": "incoming/not-yet-there.log.gz", "size": 3, "etag": "0" * 32}
    bodies = [json.dumps(s3_notification(bucket, [obj])) for obj in objects[:-1]]
    wrapped = eventbridge(bucket, objects[-1])  # EventBridge rule -> SQS
    sns = {"Type": "Notification", "Message": json.dumps(s3_notification(bucket, [missing]))}  # S3 -> SNS -> SQS
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": bucket}
    event = sqs(*bodies, json.dumps(wrapped), json.dumps(sns), json.dumps(test_event))
    ids = [m["messageId"] for m in event["Records"]]
    caplog.set_level(logging.INFO, logger="loglake")
    answer = lambda_handler.handler(event, None)
    # the sample's own message ("Message Body") is not an S3 event; the SNS one names an object not yet there
    assert answer == {"batchItemFailures": [{"itemIdentifier": ids[0]}, {"itemIdentifier": ids[-2]}]}
    assert counts(env) == LOKI_TABLES  # nothing lost by the failures
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("MessageID_1" in e and "body is not JSON" in e for e in errors)
    assert any(ids[-2] in e and "not-yet-there" in e and "Not Found" in e for e in errors)
    assert not any("Message Body" in e for e in errors)  # a body is never logged
    # SQS retries the failed messages; the object has arrived meanwhile
    body = gzip.compress(b"2 123456789012 eni-0a 10.0.0.1 10.0.0.2 443 5000 6 1 40 1669842701 1669842702 ACCEPT OK\n")
    put = s3_server.client().put_object(Bucket=bucket, Key=missing["key"], Body=body)
    missing.update(size=len(body), etag=put["ETag"].strip('"'))
    sns["Message"] = json.dumps(s3_notification(bucket, [missing]))
    retry = sqs(json.dumps(sns))
    retry["Records"] = retry["Records"][1:]
    assert lambda_handler.handler(retry, None) == {"batchItemFailures": []}
    assert counts(env) == {**LOKI_TABLES, "vpc_flow_logs": LOKI_TABLES["vpc_flow_logs"] + 1}
    # the whole batch delivered again (a duplicate delivery) adds nothing; the SNS message still describes the
    # object's size and ETag before it was written, which must not make it look changed
    assert lambda_handler.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": ids[0]}]}
    assert counts(env) == {**LOKI_TABLES, "vpc_flow_logs": LOKI_TABLES["vpc_flow_logs"] + 1}


def kinesis_of_payload(payload: bytes) -> dict:
    """A CloudWatch Logs subscription through Kinesis: the payload gzipped in a record of the Kinesis sample."""
    event = sample("lambda/kinesis-event.json")
    record = event["Records"][0]
    record["kinesis"]["data"] = base64.b64encode(gzip.compress(payload)).decode()
    event["Records"] = [record]
    return event


RECORD_EVENTS = {  # event -> (response, cloudwatch_logs rows)
    "lambda/kinesis-event.json": ({"batchItemFailures": []}, 2),
    "lambda/kinesisStreamCloudWatchLogsEvent.json": ({"batchItemFailures": []}, 6),
    "loki/kinesis-event.json": ({"batchItemFailures": []}, 3),
    "lambda/cloudwatch-logs-event.json": ({"records": 2, "already_ingested": 0}, 2),
    "lambda/cloudWatchLogEvent.json": ({"records": 2, "already_ingested": 0}, 2),
    "lambda/cloudWatchLogEventWithPolicyLevel.json": ({"records": 2, "already_ingested": 0}, 2),
}


@pytest.mark.parametrize("name", sorted(RECORD_EVENTS))
def test_cloudwatch_logs_records_land_once(env, name):
    # Loki's sample is the payload a subscription puts in a Kinesis record
    event = kinesis_of_payload((FIXTURES / name).read_bytes()) if name.startswith("loki/") else sample(name)
    response, expected = RECORD_EVENTS[name]
    assert lambda_handler.handler(event, None) == response
    assert counts(env) == {"cloudwatch_logs": expected}
    again = lambda_handler.handler(event, None)
    assert counts(env) == {"cloudwatch_logs": expected}
    if "records" in again:
        assert again == {"records": 0, "already_ingested": 1}


def test_kinesis_rows_name_their_record(env):
    event = sample("lambda/kinesisStreamCloudWatchLogsEvent.json")
    lambda_handler.handler(event, None)
    found = engine.connect(env).execute("SELECT DISTINCT lake_file FROM cloudwatch_logs ORDER BY 1").fetchall()
    expected = sorted(
        f"{r['eventSourceARN']}/{r['eventID'].split(':')[0]}/{r['kinesis']['sequenceNumber']}" for r in event["Records"]
    )
    assert [f for (f,) in found] == expected


def test_kinesis_record_without_data_is_reported_and_the_others_land(env):
    event = sample("lambda/kinesis-event.json")
    broken = event["Records"][1]
    del broken["kinesis"]["data"]
    answer = lambda_handler.handler(event, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": broken["kinesis"]["sequenceNumber"]}]}
    assert counts(env) == {"cloudwatch_logs": 1}


def test_firehose_records_come_back_with_results(env, monkeypatch):
    event = sample("lambda/kinesis-firehose-event.json")
    answer = lambda_handler.handler(event, None)
    records = event["records"]
    assert answer == {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]} for r in records]}
    assert counts(env) == {"cloudwatch_logs": 2}
    messages = engine.connect(env).execute("SELECT id, message FROM cloudwatch_logs ORDER BY id").fetchall()
    assert messages == [("record1", "Hello World"), ("record2", "Hello World")]
    # Firehose retries the invocation under another invocation id: the records are the same
    retry = {**event, "invocationId": "invoked456"}
    monkeypatch.setenv("LOGLAKE_FIREHOSE_RESULT", "Dropped")
    dropped = lambda_handler.handler(retry, None)
    assert dropped == {"records": [{"recordId": r["recordId"], "result": "Dropped"} for r in event["records"]]}
    assert counts(env) == {"cloudwatch_logs": 2}
    broken = copy.deepcopy(event)
    broken["records"][0].pop("data")
    failed = lambda_handler.handler(broken, None)["records"]
    assert [r["result"] for r in failed] == ["ProcessingFailed", "Dropped"]


def test_wrong_settings_fail_before_any_work(env, monkeypatch):
    monkeypatch.setenv("LOGLAKE_FIREHOSE_RESULT", "Maybe")
    with pytest.raises(lambda_handler.LambdaConfigError, match="LOGLAKE_FIREHOSE_RESULT must be one of Ok, Dropped"):
        lambda_handler.handler(sample("lambda/kinesis-firehose-event.json"), None)
    monkeypatch.delenv("LOGLAKE_LAKE")
    with pytest.raises(lambda_handler.LambdaConfigError, match="LOGLAKE_LAKE is not set"):
        lambda_handler.handler(sample("lambda/kinesis-event.json"), None)
    assert not env.exists()


def test_unknown_and_broken_whole_events_raise_with_a_reason(env, caplog):
    with pytest.raises(UnknownEventError, match=r"top-level keys: detail-type, secret, source"):
        lambda_handler.handler({"source": "aws.ec2", "detail-type": "x", "secret": "hunter2"}, None)
    assert "hunter2" not in caplog.text


def test_a_broken_record_of_an_s3_event_keeps_no_other_out(env, s3_server, bucket):
    objects = upload(s3_server, bucket)
    event = s3_notification(bucket, objects[:2])
    broken = copy.deepcopy(event["Records"][0])
    del broken["s3"]["object"]["key"]
    event["Records"].insert(0, broken)
    with pytest.raises(lambda_handler.LambdaIngestError, match="S3 record 1 names no bucket or key"):
        lambda_handler.handler(event, None)  # raised, so Lambda retries it and then keeps it for a look
    assert counts(env) == {"alb_access_logs": 2, "cloudfront_logs": 2}  # the good records landed


def test_an_invocation_killed_before_its_commit_is_finished_by_the_next(env, tmp_path):
    event = sample("lambda/kinesisStreamCloudWatchLogsEvent.json")
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    script = "import json, sys; from loglake.aws import lambda_handler; lambda_handler(json.load(open(sys.argv[1])))"
    killed = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        env={**os.environ, "LOGLAKE_FAULT": "before-commit"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == 137, killed.stderr
    # the records were claimed, not committed; the retry takes the batch over from what the claim kept
    assert lambda_handler.handler(event, None) == {"batchItemFailures": []}
    assert counts(env) == {"cloudwatch_logs": 6}
    lambda_handler.handler(event, None)
    assert counts(env) == {"cloudwatch_logs": 6}


@pytest.mark.parametrize("handler_string", ["loglake.aws.lambda_handler", "loglake.aws.lambda_handler.handler"])
def test_handler_strings_resolve_as_the_runtime_resolves_them(handler_string):
    # the Python runtime splits the handler string at its last dot: module, then attribute
    module, attribute = handler_string.rsplit(".", 1)
    function = getattr(importlib.import_module(module), attribute)
    assert callable(function)
    assert function({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "{}"}]}, None) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}]
    }
