"""Alert outputs against real endpoints: a local HTTP server for webhooks, moto_server for SNS (+ SQS to read back)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import orjson
import pytest
from rich.console import Console

from loglake.detect.alerts import Alert
from loglake.detect.outputs import (
    OUTPUT_SPECS,
    ConsoleOutput,
    JsonlOutput,
    OcsfOutput,
    Output,
    OutputError,
    SlackOutput,
    SnsOutput,
    WebhookOutput,
    alert_record,
    deliver,
    parse_output,
    to_ocsf,
)
from loglake.detect.outputs.ocsf import REQUIRED
from loglake.detect.outputs.sns import subject

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def make_alert(**changes) -> Alert:
    alert = Alert(
        alert_id="a1b2c3d4e5f60718",
        rule_id="aws.console_login_without_mfa",
        title="Console login without MFA",
        severity="high",
        first_seen=T0,
        last_seen=T0 + dt.timedelta(minutes=5),
        count=3,
        hits=1,
        principal="arn:aws:iam::123456789012:user/alice",
        ip="203.0.113.7",
        resource="arn:aws:iam::123456789012:user/alice",
        account="123456789012",
        dedup_key='["arn:aws:iam::123456789012:user/alice"]',
        refs=[{"lake_table": "cloudtrail_logs", "lake_file": "s3://logs/ct.json.gz", "lake_row": 4, "event_id": "e1"}],
        tags=["attack.initial_access", "attack.t1078.004"],
        attack=["T1078.004"],
        description="A console sign-in succeeded without MFA.",
        created_at=T0 + dt.timedelta(minutes=10),
        updated_at=T0 + dt.timedelta(minutes=10),
    )
    return replace(alert, **changes)


def two_alerts() -> list[Alert]:
    low = make_alert(alert_id="0000000000000002", title="Access key created", severity="low", rule_id="aws.key")
    return [low, make_alert()]


# --- a real HTTP server -------------------------------------------------------------------------------------


@dataclass
class Receiver:
    """What the local webhook server got, and the statuses it answers with (the last one repeats)."""

    url: str
    statuses: list[int]
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", statuses=[200])
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.bodies.append(body)
                state.headers.append(dict(self.headers))
                status = state.statuses[min(len(state.bodies), len(state.statuses)) - 1]
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status < 300 else b"boom")

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T000/B000/secret"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_posts_alerts_as_json(receiver: Receiver) -> None:
    alerts = two_alerts()
    [result] = deliver([parse_output(f"webhook:{receiver.url}")], alerts, backoff=0)
    assert result.ok and result.attempts == 1 and result.error is None
    assert "secret" not in result.name  # the URL path may hold a token
    [body] = receiver.bodies
    assert receiver.headers[0]["Content-Type"] == "application/json"
    payload = orjson.loads(body)
    assert [a["alert_id"] for a in payload["alerts"]] == [a.alert_id for a in alerts]
    assert payload["alerts"][1]["first_seen"] == "2024-05-01T12:00:00Z"
    assert payload["alerts"][1]["refs"][0]["lake_row"] == 4


def test_slack_gets_a_text_summary(receiver: Receiver) -> None:
    alerts = [*two_alerts(), make_alert(alert_id="x3", title="<!channel> & <b>", severity="critical")]
    [result] = deliver([parse_output(f"slack:{receiver.url}")], alerts, backoff=0)
    assert result.ok
    text = orjson.loads(receiver.bodies[0])["text"]
    lines = text.splitlines()
    assert lines[0] == "*loglake: 3 alerts*"
    assert "[CRITICAL]" in lines[1] and "&lt;!channel&gt; &amp; &lt;b&gt;" in lines[1]  # no @channel ping
    assert "[HIGH]* Console login without MFA" in lines[2]
    assert "principal=arn:aws:iam::123456789012:user/alice ip=203.0.113.7" in lines[2]
    assert "first seen 2024-05-01 12:00:00Z, last seen 2024-05-01 12:05:00Z, 3 events" in lines[2]
    assert "[LOW]" in lines[3]


def test_webhook_retries_server_errors_then_succeeds(receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 200]
    [result] = deliver([WebhookOutput(receiver.url)], [make_alert()], attempts=3, backoff=0.01)
    assert result.ok and result.attempts == 3
    assert len(receiver.bodies) == 3 and receiver.bodies[0] == receiver.bodies[2]


def test_failing_webhook_does_not_stop_other_outputs(receiver: Receiver, tmp_path: Path) -> None:
    receiver.statuses = [503]
    path = tmp_path / "alerts.jsonl"
    results = deliver([WebhookOutput(receiver.url), JsonlOutput(path)], [make_alert()], attempts=3, backoff=0.01)
    failed, written = results
    assert not failed.ok and failed.attempts == 3 and "HTTP 503" in (failed.error or "")
    assert "boom" in (failed.error or "")  # the server's answer helps finding out why
    assert written.ok and len(path.read_text().splitlines()) == 1


def test_client_errors_are_not_retried(receiver: Receiver) -> None:
    receiver.statuses = [404]
    [result] = deliver([WebhookOutput(receiver.url)], [make_alert()], attempts=3, backoff=0.01)
    assert not result.ok and result.attempts == 1 and "HTTP 404" in (result.error or "")


def test_unreachable_webhook_fails_with_a_message() -> None:
    from tests.servers import free_port

    [result] = deliver([WebhookOutput(f"http://127.0.0.1:{free_port()}/x", timeout=2)], [make_alert()], backoff=0)
    assert not result.ok and result.attempts == 3 and "cannot connect" in (result.error or "")


def test_no_alerts_posts_nothing(receiver: Receiver) -> None:
    [result] = deliver([SlackOutput(receiver.url)], [], backoff=0)
    assert result.ok and receiver.bodies == []


# --- deliver ------------------------------------------------------------------------------------------------


class Flaky(Output):
    """Sends one alert per call then fails, to check a retry resends only what did not go out."""

    name = "flaky"

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, alerts: list[Alert]) -> None:
        if alerts:
            self.sent.append(alerts[0].alert_id)
            if len(alerts) > 1:
                raise OutputError("one at a time", delivered=1)


class Broken(Output):
    name = "broken"

    def send(self, alerts: list[Alert]) -> None:
        raise RuntimeError("bug")


def test_deliver_resends_only_undelivered_alerts_and_survives_bugs() -> None:
    alerts = [make_alert(alert_id=str(n)) for n in range(3)]
    waits: list[float] = []
    flaky = Flaky()
    broken, ok = deliver([Broken(), flaky], alerts, attempts=3, backoff=0.5, sleep=waits.append)
    assert not broken.ok and broken.attempts == 3 and broken.error == "RuntimeError: bug"
    assert ok.ok and ok.attempts == 3 and flaky.sent == ["0", "1", "2"]
    assert waits == [0.5, 1.0, 0.5, 1.0]  # exponential backoff, per output


# --- SNS against moto_server --------------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SNS"):
        monkeypatch.delenv(name, raising=False)


def test_sns_publishes_one_message_per_alert(moto_server: str, aws_env: None) -> None:
    import boto3

    sns = boto3.client("sns", endpoint_url=moto_server)
    sqs = boto3.client("sqs", endpoint_url=moto_server)
    name = f"alerts-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

    alerts = two_alerts()
    output = parse_output(f"sns:{topic_arn}", endpoint_url=moto_server)
    [result] = deliver([output], alerts, backoff=0)
    assert result.ok, result.error

    bodies = {orjson.loads(m["Body"])["alert_id"]: m for m in _receive(sqs, queue_url, len(alerts))}
    assert set(bodies) == {a.alert_id for a in alerts}
    message = bodies[make_alert().alert_id]
    assert orjson.loads(message["Body"]) == alert_record(make_alert())
    attributes = {key: value["StringValue"] for key, value in message.get("MessageAttributes", {}).items()}
    assert attributes == {"severity": "high", "rule_id": "aws.console_login_without_mfa"}


def _receive(sqs, queue_url: str, wanted: int) -> list[dict]:
    """SQS may hand out fewer messages than asked for: poll until all arrived (or a few tries passed)."""
    messages: list[dict] = []
    for _ in range(5):
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        messages += answer.get("Messages", [])
        if len(messages) >= wanted:
            break
    return messages


def test_sns_missing_topic_is_a_failed_result(moto_server: str, aws_env: None) -> None:
    output = SnsOutput("arn:aws:sns:us-east-1:123456789012:no-such-topic", endpoint_url=moto_server)
    [result] = deliver([output], [make_alert()], backoff=0)
    assert not result.ok and "no-such-topic" in result.name and result.error
    assert result.attempts == 1, result.error  # a missing topic is not retried


def test_sns_subject_is_short_printable_ascii() -> None:
    text = subject(make_alert(title="Ünïcode\nline " + "x" * 200, severity="critical"))
    assert len(text) <= 100 and text.startswith("[CRITICAL] ")
    assert text.isascii() and text.isprintable()
    assert subject(make_alert()) == "[HIGH] Console login without MFA"


# --- files and console --------------------------------------------------------------------------------------


def test_jsonl_appends_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"
    alerts = two_alerts()
    output = parse_output(f"jsonl:{path}")
    output.send(alerts)
    output.send(alerts[:1])
    records = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert records == [alert_record(a) for a in [*alerts, alerts[0]]]
    assert dt.datetime.fromisoformat(records[1]["last_seen"]) == alerts[1].last_seen
    naive = make_alert(first_seen=dt.datetime(2024, 5, 1, 12, 0))  # naive lake times are UTC
    assert alert_record(naive)["first_seen"] == "2024-05-01T12:00:00Z"


def test_jsonl_unwritable_path_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot write") as error:
        JsonlOutput(tmp_path).send([make_alert()])  # a directory
    assert not error.value.retryable


def test_console_lists_alerts_most_severe_first() -> None:
    buffer = StringIO()
    ConsoleOutput(Console(file=buffer, width=250)).send(two_alerts())
    text = buffer.getvalue()
    assert "2 alerts" in text
    assert text.index("Console login without MFA") < text.index("Access key created")
    assert "203.0.113.7" in text and "2024-05-01 12:05:00" in text


# --- OCSF ---------------------------------------------------------------------------------------------------


def test_ocsf_detection_finding_has_required_fields() -> None:
    finding = to_ocsf(make_alert())
    assert all(finding.get(key) is not None for key in REQUIRED)
    assert (finding["class_uid"], finding["category_uid"], finding["activity_id"]) == (2004, 2, 1)
    assert finding["type_uid"] == 200401 and finding["severity_id"] == 4 and finding["severity"] == "High"
    assert finding["metadata"]["version"] == "1.1.0"
    assert finding["metadata"]["product"]["name"] == "loglake" and finding["metadata"]["product"]["vendor_name"]
    assert finding["time"] == 1714565400000  # created_at, ms since the epoch
    info = finding["finding_info"]
    assert info["uid"] == "a1b2c3d4e5f60718" and info["title"] == "Console login without MFA"
    assert info["analytic"] == {
        "uid": "aws.console_login_without_mfa",
        "name": info["title"],
        "type_id": 1,
        "type": "Rule",
    }
    assert info["attacks"] == [{"technique": {"uid": "T1078.004"}}]
    assert (info["first_seen_time"], info["last_seen_time"]) == (1714564800000, 1714565100000)
    assert (finding["status_id"], finding["status"], finding["count"]) == (1, "New", 3)
    assert finding["cloud"]["account"]["uid"] == "123456789012"
    observables = {o["name"]: o for o in finding["observables"]}
    assert observables["evidences.src_endpoint.ip"]["type_id"] == 2
    assert observables["evidences.actor.user.name"]["value"] == make_alert().principal
    assert finding["evidences"][0]["src_endpoint"] == {"ip": "203.0.113.7"}
    assert finding["unmapped"]["loglake"]["refs"][0]["lake_file"] == "s3://logs/ct.json.gz"
    orjson.dumps(finding)  # plain JSON values only


@pytest.mark.parametrize(
    ("severity", "severity_id"), [("info", 1), ("low", 2), ("medium", 3), ("high", 4), ("critical", 5)]
)
def test_ocsf_severity_ids(severity: str, severity_id: int) -> None:
    assert to_ocsf(make_alert(severity=severity))["severity_id"] == severity_id


@pytest.mark.parametrize(
    ("status", "status_id", "label"), [("open", 1, "New"), ("acknowledged", 2, "In Progress"), ("closed", 99, "Closed")]
)
def test_ocsf_status(status: str, status_id: int, label: str) -> None:
    finding = to_ocsf(make_alert(status=status))
    assert (finding["status_id"], finding["status"]) == (status_id, label)


def test_ocsf_updated_alert_is_an_update_activity() -> None:
    alert = make_alert(updated_at=T0 + dt.timedelta(hours=2))
    finding = to_ocsf(alert)
    assert (finding["activity_id"], finding["type_uid"], finding["activity_name"]) == (2, 200402, "Update")
    assert finding["time"] == 1714572000000


def test_ocsf_without_entities_omits_them() -> None:
    finding = to_ocsf(make_alert(principal=None, ip=None, resource=None, account=None, attack=[], description=""))
    assert not {"evidences", "observables", "cloud", "resources"} & set(finding)
    assert "attacks" not in finding["finding_info"] and "desc" not in finding["finding_info"]


def test_ocsf_output_writes_findings(tmp_path: Path) -> None:
    path = tmp_path / "findings.ocsf.jsonl"
    output = parse_output(f"ocsf:{path}")
    assert isinstance(output, OcsfOutput)
    [result] = deliver([output], two_alerts(), backoff=0)
    assert result.ok
    findings = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [f["class_uid"] for f in findings] == [2004, 2004]
    assert [f["severity_id"] for f in findings] == [2, 4]


# --- specs --------------------------------------------------------------------------------------------------


def test_parse_output_specs(tmp_path: Path) -> None:
    assert isinstance(parse_output("console"), ConsoleOutput)
    assert isinstance(parse_output(f"jsonl:{tmp_path}/a.jsonl"), JsonlOutput)
    assert isinstance(parse_output("webhook:https://example.com/hook"), WebhookOutput)
    assert isinstance(parse_output("slack:https://hooks.slack.com/services/T/B/x"), SlackOutput)
    sns = parse_output("sns:arn:aws:sns:eu-west-1:123456789012:alerts")
    assert isinstance(sns, SnsOutput) and sns.region == "eu-west-1"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("email:me@example.com", "is not an output"),
        ("jsonl", "needs a target"),
        ("webhook:ftp://example.com", "not an http"),
        ("slack:hooks.slack.com/x", "not an http"),
        ("sns:alerts", "not an SNS topic ARN"),
        ("console:loud", "takes nothing"),
    ],
)
def test_bad_spec_names_the_valid_forms(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as error:
        parse_output(spec)
    assert all(form in str(error.value) for form in OUTPUT_SPECS)
