"""What every alert output shares: the `Output` interface, its error, delivery with retries, the alert record.

An output gets the alerts of one detection run (new or updated) and sends them somewhere. `deliver` is what the
engine and CLI call: it retries each output with exponential backoff and reports per output, so one broken
webhook never keeps alerts from the others and never fails the run.
"""

from __future__ import annotations

import datetime as dt
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from loglake.detect.alerts import Alert

SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


class OutputError(Exception):
    """An output could not send its alerts.

    `retryable` is False for errors a retry cannot fix (a 404 webhook, a missing topic, no credentials).
    `delivered` counts the leading alerts that did go out before the failure, so a retry sends only the rest
    and an SNS subscriber does not get the same alert twice.
    """

    def __init__(self, message: str, *, retryable: bool = True, delivered: int = 0) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.delivered = delivered


class Output(ABC):
    """Somewhere alerts go. `name` identifies it in results and logs, so it never holds a secret."""

    name: str

    @abstractmethod
    def send(self, alerts: list[Alert]) -> None:
        """Send the alerts; raise `OutputError` if they (or some of them) did not go out."""


@dataclass(frozen=True)
class DeliveryResult:
    name: str
    ok: bool
    attempts: int
    error: str | None = None


def deliver(
    outputs: Sequence[Output],
    alerts: list[Alert],
    attempts: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[DeliveryResult]:
    """Send the alerts to every output, each tried up to `attempts` times (waits backoff, 2*backoff, ...).

    Never raises: a failure is a result with ok=False and the last error message.
    """
    return [_deliver_one(output, alerts, max(1, attempts), backoff, sleep) for output in outputs]


def _deliver_one(
    output: Output, alerts: list[Alert], attempts: int, backoff: float, sleep: Callable[[float], None]
) -> DeliveryResult:
    remaining = list(alerts)
    error = ""
    for attempt in range(1, attempts + 1):
        try:
            output.send(remaining)
            return DeliveryResult(name=output.name, ok=True, attempts=attempt)
        except OutputError as failure:
            error = str(failure)
            remaining = remaining[failure.delivered :]
            if not failure.retryable:
                return DeliveryResult(name=output.name, ok=False, attempts=attempt, error=error)
        except Exception as failure:  # a bug in one output must not cost the other outputs their alerts
            error = f"{type(failure).__name__}: {failure}"
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return DeliveryResult(name=output.name, ok=False, attempts=attempts, error=error)


def utc(value: dt.datetime) -> dt.datetime:
    """The lake's timestamps are UTC; a naive one is taken as UTC rather than as local time."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else utc(value).isoformat().replace("+00:00", "Z")


def alert_record(alert: Alert) -> dict:
    """The alert as plain JSON values (datetimes as ISO-8601 UTC): what JSONL, webhooks and SNS carry."""
    record = alert.to_dict()
    for key, value in record.items():
        if isinstance(value, dt.datetime):
            record[key] = iso(value)
    return record


def by_severity(alerts: list[Alert]) -> list[Alert]:
    """Most severe first, then oldest first: the order a reader triages in."""
    return sorted(alerts, key=lambda a: (-SEVERITY_RANK.get(a.severity, 0), utc(a.first_seen), a.alert_id))


def entities(alert: Alert) -> str:
    """`principal=... ip=...` for the entities the alert has, for one-line summaries."""
    pairs = [("principal", alert.principal), ("ip", alert.ip), ("resource", alert.resource), ("account", alert.account)]
    return " ".join(f"{key}={value}" for key, value in pairs if value)
