"""Alert outputs: where the alerts of a detection run go, named on the command line by a spec string.

    console              a table on the terminal
    jsonl:PATH           one JSON object per alert, appended
    ocsf:PATH            one OCSF Detection Finding per alert, appended
    webhook:URL          POST {"alerts": [...]} to an http(s) URL
    slack:URL            POST a {"text": ...} summary to a Slack-compatible incoming webhook
    sns:TOPIC_ARN        one SNS message per alert

Send with `deliver(outputs, alerts)`, which retries and reports per output instead of raising.
"""

from __future__ import annotations

from loglake.detect.outputs.base import DeliveryResult, Output, OutputError, alert_record, deliver
from loglake.detect.outputs.console import ConsoleOutput
from loglake.detect.outputs.jsonl import JsonlOutput
from loglake.detect.outputs.ocsf import OcsfOutput, to_ocsf
from loglake.detect.outputs.sns import SnsOutput
from loglake.detect.outputs.webhook import SlackOutput, WebhookOutput

__all__ = [
    "OUTPUT_SPECS",
    "ConsoleOutput",
    "DeliveryResult",
    "JsonlOutput",
    "OcsfOutput",
    "Output",
    "OutputError",
    "SlackOutput",
    "SnsOutput",
    "WebhookOutput",
    "alert_record",
    "deliver",
    "parse_output",
    "to_ocsf",
]

OUTPUT_SPECS = ("console", "jsonl:PATH", "ocsf:PATH", "webhook:URL", "slack:URL", "sns:TOPIC_ARN")


def parse_output(spec: str, *, endpoint_url: str | None = None, region: str | None = None) -> Output:
    """The output a spec names; ValueError (listing the valid forms) for anything else.

    `endpoint_url` and `region` apply to `sns:` only (a local SNS, or a region other than the ARN's).
    """
    kind, _, target = spec.strip().partition(":")
    kind, target = kind.lower(), target.strip()
    if kind == "console":
        if target:
            raise _bad_spec(spec, "console takes nothing after it")
        return ConsoleOutput()
    if kind not in _TARGETED:
        raise _bad_spec(spec, f"{kind or spec!r} is not an output")
    if not target:
        raise _bad_spec(spec, f"{kind} needs a target after '{kind}:'")
    try:
        if kind == "sns":
            return SnsOutput(target, region=region, endpoint_url=endpoint_url)
        return _TARGETED[kind](target)
    except ValueError as error:
        raise _bad_spec(spec, str(error)) from None


_TARGETED: dict[str, type[Output]] = {
    "jsonl": JsonlOutput,
    "ocsf": OcsfOutput,
    "webhook": WebhookOutput,
    "slack": SlackOutput,
    "sns": SnsOutput,
}


def _bad_spec(spec: str, problem: str) -> ValueError:
    return ValueError(f"output {spec!r}: {problem}; use one of: {', '.join(OUTPUT_SPECS)}")
