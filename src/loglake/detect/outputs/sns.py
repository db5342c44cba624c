"""`sns:TOPIC_ARN`: publish one SNS message per alert (email, SQS, Lambda or a pager subscribe to the topic).

The message is the alert's JSON record; `severity` and `rule_id` are message attributes, so a subscription
filter policy can route, say, only high and critical alerts to the pager. Credentials come only from the standard
AWS chain (environment, profile, instance or task role); the region is the topic's own, from its ARN.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from loglake.detect.alerts import Alert
from loglake.detect.outputs.base import Output, OutputError, alert_record

SUBJECT_MAX = 100
_ARN = re.compile(r"^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
_NOT_SUBJECT = re.compile(r"[^\x20-\x7e]+")  # SNS subjects are printable ASCII on one line


class SnsOutput(Output):
    def __init__(self, topic_arn: str, region: str | None = None, endpoint_url: str | None = None) -> None:
        match = _ARN.match(topic_arn)
        if not match:
            raise ValueError(f"{topic_arn!r} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)")
        self.topic_arn = topic_arn
        self.region = region or match.group(1)
        self.endpoint_url = endpoint_url  # None: boto3's own (AWS_ENDPOINT_URL_SNS is honoured there)
        self.fifo = topic_arn.endswith(".fifo")
        self.name = f"sns:{topic_arn}"
        self._client: Any = None

    def client(self) -> Any:
        # Made on first send, so parsing an output spec needs neither boto3's import time nor credentials.
        if self._client is None:
            import boto3
            from botocore.config import Config

            config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2, "mode": "standard"})
            self._client = boto3.session.Session().client(
                "sns", region_name=self.region, endpoint_url=self.endpoint_url, config=config
            )
        return self._client

    def send(self, alerts: list[Alert]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        for done, alert in enumerate(alerts):
            try:
                self.client().publish(**self.message(alert))
            except ClientError as error:
                raise _client_error(self.name, error, done) from None
            except BotoCoreError as error:  # no credentials, endpoint unreachable, ...
                raise OutputError(f"{self.name}: {error}", delivered=done) from None

    def message(self, alert: Alert) -> dict[str, Any]:
        """The `publish` arguments for one alert."""
        message: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Subject": subject(alert),
            "Message": orjson.dumps(alert_record(alert)).decode(),
            "MessageAttributes": {
                "severity": {"DataType": "String", "StringValue": alert.severity},
                "rule_id": {"DataType": "String", "StringValue": alert.rule_id},
            },
        }
        if self.fifo:  # a FIFO topic needs both; the same alert state published twice is then sent once
            state = f"{alert.alert_id}:{alert.count}:{alert.last_seen.isoformat()}:{alert.status}"
            message["MessageGroupId"] = alert.rule_id
            message["MessageDeduplicationId"] = hashlib.sha256(state.encode()).hexdigest()
        return message


def subject(alert: Alert) -> str:
    """`[HIGH] title`, printable ASCII, at most 100 characters (SNS rejects anything else)."""
    text = _NOT_SUBJECT.sub(" ", f"[{alert.severity.upper()}] {alert.title}").strip()
    return text if len(text) <= SUBJECT_MAX else text[: SUBJECT_MAX - 3].rstrip() + "..."


def _client_error(name: str, error: Any, delivered: int) -> OutputError:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    message = error.response.get("Error", {}).get("Message", "")
    # A missing topic or a denied publish stays so on a retry; throttling and server errors may not.
    retryable = status >= 500 or "Throttl" in code
    return OutputError(f"{name}: {code} {message}".rstrip(), retryable=retryable, delivered=delivered)
