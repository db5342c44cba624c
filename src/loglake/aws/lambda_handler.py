"""The AWS Lambda handler: ingest exactly the S3 objects or CloudWatch Logs records an invocation is given.

Handler string `loglake.aws.lambda_handler` (this module is callable; `loglake.aws.lambda_handler.handler` works
too). Settings come from the environment:

- `LOGLAKE_LAKE`: the lake, as `loglake ingest --lake` takes it (required);
- `AWS_ENDPOINT_URL_S3`: an S3-compatible endpoint instead of AWS's (boto3's own variable);
- `LOGLAKE_VPC_FORMAT`: the field order of VPC flow lines without a header (as `--vpc-format`);
- `LOGLAKE_FIREHOSE_RESULT`: what a Firehose transformation hands back for an ingested record: `Ok` (the record
  unchanged, so the stream still delivers it; default) or `Dropped` (the lake is its only destination);
- `LOGLAKE_WORKERS`: parser processes (default 1: Lambda has no /dev/shm for process pools).

What each trigger is told: SQS and Kinesis get `batchItemFailures` (only those messages or records are
retried), Firehose gets every record back with its result, and an S3, EventBridge or direct CloudWatch Logs
invocation raises when something failed, so Lambda retries it and then hands it to its dead-letter target.
A retried invocation adds nothing twice: the ledger knows every object and record already in the lake.
"""

from __future__ import annotations

import logging
import os
import sys
import types
from typing import Any

import orjson

from loglake.aws.events import FIREHOSE, KINESIS, SQS, Unit, UnknownEventError, Work, read_event
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.ingest.sources import SourceError, stat_object
from loglake.ingest.summary import Summary

log = logging.getLogger(__name__)
log.setLevel(logging.INFO)
FIREHOSE_RESULTS = ("Ok", "Dropped")


class LambdaConfigError(Exception):
    """The function's environment lacks a setting or has a wrong one."""


class LambdaIngestError(Exception):
    """Some objects of a whole-event invocation could not be ingested: raised so Lambda retries it."""


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    try:
        work = read_event(event)
    except UnknownEventError as error:
        log.error("loglake: cannot read the event: %s", error)
        raise
    firehose_result = _firehose_setting() if work.trigger == FIREHOSE else None  # a wrong one fails before work
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL_S3") or None
    _look_up_s3_objects(work, endpoint_url)
    summary = _ingest(work, endpoint_url) if work.objects else Summary()
    failed = [unit for unit in work.units if _failed(unit, summary)]
    _report(work, summary, failed)
    return _response(work, failed, summary, firehose_result)


def _look_up_s3_objects(work: Work, endpoint_url: str | None) -> None:
    """Each S3 object's current size and ETag: a notification may describe an older version of an overwritten
    key, and the ledger must judge by what will be read. A missing object fails its unit only."""
    for unit in work.units:
        try:
            unit.objects = [stat_object(ref.uri, endpoint_url) if ref.is_s3 else ref for ref in unit.objects]
        except SourceError as error:
            unit.objects, unit.problem = [], str(error)


def _ingest(work: Work, endpoint_url: str | None) -> Summary:
    options = IngestOptions(
        sources=[],
        lake=_lake(),
        forced_format=work.forced_format,
        workers=_workers(),
        endpoint_url=endpoint_url,
        vpc_format=os.environ.get("LOGLAKE_VPC_FORMAT") or None,
    )
    return ingest(options, objects=work.objects)


def _lake():
    from loglake.cli.app import default_lake  # the CLI's reading of LOGLAKE_LAKE, so both open the same lake

    if not os.environ.get("LOGLAKE_LAKE"):
        raise LambdaConfigError("LOGLAKE_LAKE is not set: give the function the lake it writes to")
    return default_lake()


def _workers() -> int:
    value = os.environ.get("LOGLAKE_WORKERS", "1")
    if not value.isdigit() or int(value) < 1:
        raise LambdaConfigError(f"LOGLAKE_WORKERS must be a whole number of at least 1, not {value!r}")
    return int(value)


def _failed(unit: Unit, summary: Summary) -> bool:
    return unit.problem is not None or any(ref.uri in summary.failed for ref in unit.objects)


def _report(work: Work, summary: Summary, failed: list[Unit]) -> None:
    """One log line per invocation: counts, and per failed unit its id and why (never its content)."""
    line = {
        "trigger": work.trigger,
        "units": len(work.units),
        "objects": len(work.objects),
        "records": summary.records,
        "already_ingested": summary.already_ingested,
        "tables": {name: stats.records for name, stats in summary.tables.items()},
    }
    log.info("loglake: %s", orjson.dumps(line).decode())
    for unit in failed:
        reason = unit.problem or "; ".join(e for e in summary.errors if any(r.uri in e for r in unit.objects))
        log.error("loglake: %s %s failed: %s", work.trigger, unit.id or "event", reason or "not ingested")


def _response(work: Work, failed: list[Unit], summary: Summary, firehose_result: str | None) -> dict[str, Any]:
    if work.trigger in (SQS, KINESIS):
        return {"batchItemFailures": [{"itemIdentifier": unit.id} for unit in failed if unit.id is not None]}
    if work.trigger == FIREHOSE:
        return {
            "records": [
                _firehose_answer(unit, "ProcessingFailed" if unit in failed else firehose_result)
                for unit in work.units
                if unit.id is not None
            ]
        }
    if failed:
        problems = "; ".join(unit.problem or "an object could not be read" for unit in failed)
        raise LambdaIngestError(f"{work.trigger} event not fully ingested: {problems}")
    return {"records": summary.records, "already_ingested": summary.already_ingested}


def _firehose_setting() -> str:
    result = os.environ.get("LOGLAKE_FIREHOSE_RESULT", "Ok")
    if result not in FIREHOSE_RESULTS:
        raise LambdaConfigError(f"LOGLAKE_FIREHOSE_RESULT must be one of {', '.join(FIREHOSE_RESULTS)}, not {result!r}")
    return result


def _firehose_answer(unit: Unit, result: str | None) -> dict[str, Any]:
    answer = {"recordId": unit.id, "result": result}
    if result != "Dropped" and unit.data is not None:
        answer["data"] = unit.data  # handed back unchanged
    return answer


class _CallableModule(types.ModuleType):
    """Lets the handler string name the module itself: the runtime calls `loglake.aws.lambda_handler`."""

    def __call__(self, event: Any, context: Any = None) -> dict[str, Any]:
        return handler(event, context)


sys.modules[__name__].__class__ = _CallableModule
