"""`webhook:URL` and `slack:URL`: POST the alerts as JSON, with the standard library (no HTTP client dependency).

A generic webhook gets `{"alerts": [record, ...]}`; a Slack-compatible one (Slack, Mattermost, Rocket.Chat
incoming webhooks) gets `{"text": summary}`. A response other than 2xx is a failure naming the status.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit

import orjson

from loglake.detect.alerts import Alert
from loglake.detect.outputs.base import Output, OutputError, alert_record, by_severity, entities, utc

DEFAULT_TIMEOUT = 10.0
SLACK_MAX_LINES = 50  # Slack truncates long messages; the rest is a count, the JSON outputs have it all
_RETRY_STATUSES = {408, 425, 429}


class WebhookOutput(Output):
    kind = "webhook"

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        self.url = url
        self.timeout = timeout
        # Webhook URLs often carry their secret in the path (Slack's do): the name shows the host only.
        self.name = f"{self.kind}:{parts.scheme}://{parts.netloc.rpartition('@')[2]}"

    def payload(self, alerts: list[Alert]) -> dict:
        return {"alerts": [alert_record(alert) for alert in alerts]}

    def send(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        post_json(self.url, self.payload(alerts), self.timeout, self.name)


class SlackOutput(WebhookOutput):
    kind = "slack"

    def payload(self, alerts: list[Alert]) -> dict:
        return {"text": slack_text(alerts)}


def post_json(url: str, payload: dict, timeout: float, name: str) -> None:
    request = urllib.request.Request(
        url,
        data=orjson.dumps(payload),
        headers={"Content-Type": "application/json", "User-Agent": "loglake"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        raise _status_error(name, error.code, error.reason, error.read(200)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise OutputError(f"{name}: cannot connect ({reason})") from None
    if not 200 <= status < 300:  # urllib raises for 4xx/5xx; this catches a 1xx/3xx it handed back
        raise _status_error(name, status, "", b"")


def _status_error(name: str, status: int, reason: str, body: bytes) -> OutputError:
    detail = body.decode("utf-8", "replace").strip()
    message = f"{name}: HTTP {status} {reason}".rstrip() + (f": {detail}" if detail else "")
    # A 4xx (bad URL, revoked token) stays so on a retry, except the ones that say "later".
    return OutputError(message, retryable=status >= 500 or status in _RETRY_STATUSES)


def slack_text(alerts: list[Alert]) -> str:
    """A Slack mrkdwn summary: one line per alert, most severe first."""
    ordered = by_severity(alerts)
    lines = [f"*loglake: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}*"]
    lines += [_slack_line(alert) for alert in ordered[:SLACK_MAX_LINES]]
    if len(ordered) > SLACK_MAX_LINES:
        lines.append(f"... and {len(ordered) - SLACK_MAX_LINES} more")
    return "\n".join(lines)


def _slack_line(alert: Alert) -> str:
    first = utc(alert.first_seen).strftime("%Y-%m-%d %H:%M:%SZ")
    last = utc(alert.last_seen).strftime("%Y-%m-%d %H:%M:%SZ")
    who = _escape(entities(alert)) or "no entities"
    return (
        f"• *[{alert.severity.upper()}]* {_escape(alert.title)} ({alert.rule_id}) | {who} | "
        f"first seen {first}, last seen {last}, {alert.count} event{'s' if alert.count != 1 else ''}"
    )


def _escape(text: str) -> str:
    """Slack reads <...> as links and mentions: a title or user name from a log must not ping @channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
