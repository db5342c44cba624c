"""What a Lambda event hands over: S3 objects (notifications direct, through SQS or SNS, or EventBridge) or
CloudWatch Logs records (a subscription direct, through Kinesis or Firehose), as objects for the ingest pipeline.

Each event is split into the units its trigger retries on their own (an SQS message, a Kinesis or Firehose
record); a unit that cannot be read says why and holds no objects. A record becomes one in-memory object whose
key names the record (stream ARN and sequence number, delivery stream and record id): the ledger then keeps a
retried record out of the lake as it keeps a re-delivered S3 object out, and `lake_file` leads back to it.
The record keeps its event's envelope (`{"Records": [record]}`), so the CloudWatch Logs reader still sees the
stream's account and region.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import orjson

from loglake.ingest.sources import ObjectRef

S3, SQS, EVENTBRIDGE, KINESIS, FIREHOSE, AWSLOGS = "s3", "sqs", "eventbridge", "kinesis", "firehose", "awslogs"
RECORD_FORMAT = "cloudwatch"  # the reader of subscription payloads (and of any other record, kept as a message)


class UnknownEventError(Exception):
    """The event is none of the shapes the handler reads (its top-level keys say what it is)."""


@dataclass
class Unit:
    """What a trigger retries on its own: an SQS message, a Kinesis or Firehose record (or the whole event)."""

    id: str | None
    objects: list[ObjectRef] = field(default_factory=list)
    problem: str | None = None  # why nothing could be read from it (never its content: it may hold secrets)
    data: str | None = None  # a Firehose record's data, handed back unchanged


@dataclass
class Work:
    trigger: str
    units: list[Unit]

    @property
    def forced_format(self) -> str | None:
        return RECORD_FORMAT if self.trigger in (KINESIS, FIREHOSE, AWSLOGS) else None

    @property
    def objects(self) -> list[ObjectRef]:
        return [ref for unit in self.units for ref in unit.objects]


def read_event(event: Any) -> Work:
    """The trigger of an event and its units; an event of no known shape raises UnknownEventError."""
    if not isinstance(event, dict):
        raise UnknownEventError(f"the event is a JSON {type(event).__name__}, not an object")
    records = event.get("Records")
    if isinstance(records, list) and records and all(isinstance(r, dict) for r in records):
        source = records[0].get("eventSource") or records[0].get("EventSource")
        if source == "aws:sqs":
            return Work(SQS, [_sqs_message(r) for r in records])
        if source == "aws:kinesis" or "kinesis" in records[0]:
            return Work(KINESIS, [_kinesis_record(event, r) for r in records])
        if source == "aws:s3" or "s3" in records[0]:
            # one unit per record: a malformed record does not keep the others out of the lake
            return Work(S3, [_whole(lambda n=n, r=r: list(_s3_record(n, r))) for n, r in enumerate(records, 1)])
    if isinstance(event.get("records"), list) and ("deliveryStreamArn" in event or "invocationId" in event):
        return Work(FIREHOSE, [_firehose_record(event, r) for r in event["records"]])
    if _is_eventbridge_s3(event):
        return Work(EVENTBRIDGE, [_whole(lambda: list(_eventbridge_object(event)))])
    if isinstance(event.get("awslogs"), dict):
        return Work(AWSLOGS, [_whole(lambda: [_awslogs_object(event)])])
    keys = ", ".join(sorted(map(str, event))[:8]) or "none"
    raise UnknownEventError(
        f"not an S3, SQS, EventBridge, Kinesis, Firehose or CloudWatch Logs event (top-level keys: {keys})"
    )


class _MalformedError(Exception):
    """A unit whose envelope is not what its trigger sends (the message says what is missing)."""


def _whole(read) -> Unit:
    try:
        return Unit(None, read())
    except _MalformedError as problem:
        return Unit(None, problem=str(problem))


# --- S3 objects ----------------------------------------------------------------------------------------------


def _sqs_message(message: dict[str, Any]) -> Unit:
    message_id = _text(message.get("messageId"))
    try:
        return Unit(message_id, list(_s3_objects_in_body(message.get("body"))))
    except _MalformedError as problem:
        return Unit(message_id, problem=f"SQS message {message_id}: {problem}")


def _s3_objects_in_body(body: Any, depth: int = 0) -> Iterator[ObjectRef]:
    """An SQS body: an S3 notification, an S3 test event, an EventBridge event or an SNS envelope of one."""
    if not isinstance(body, str):
        raise _MalformedError("no body")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise _MalformedError(f"body is not JSON ({error})") from None
    if not isinstance(document, dict):
        raise _MalformedError("body is not a JSON object")
    if document.get("Event") == "s3:TestEvent":
        return  # S3 sends it once when the notification is set up: nothing to read
    if isinstance(document.get("Records"), list):
        yield from _s3_records(document["Records"])
    elif _is_eventbridge_s3(document):
        yield from _eventbridge_object(document)
    elif document.get("Type") == "Notification" and "Message" in document and depth == 0:
        yield from _s3_objects_in_body(document["Message"], depth + 1)
    else:
        keys = ", ".join(sorted(map(str, document))[:8])
        raise _MalformedError(f"body is not an S3 event notification (keys: {keys})")


def _s3_records(records: list[Any]) -> Iterator[ObjectRef]:
    for index, record in enumerate(records, 1):
        yield from _s3_record(index, record)


def _s3_record(index: int, record: Any) -> Iterator[ObjectRef]:
    s3 = record.get("s3") if isinstance(record, dict) else None
    if not isinstance(s3, dict):
        raise _MalformedError(f"S3 record {index} has no s3 section")
    if not str(record.get("eventName", "ObjectCreated:")).startswith("ObjectCreated:"):
        return  # a removal or restore: nothing new to read
    bucket = _dig(s3, "bucket", "name")
    key = _dig(s3, "object", "key")
    if not bucket or not key:
        raise _MalformedError(f"S3 record {index} names no bucket or key")
    # notifications URL-encode the key (`+` for a space)
    yield _object(bucket, unquote_plus(key), _dig(s3, "object", "size"), _dig(s3, "object", "eTag"))


def _is_eventbridge_s3(event: dict[str, Any]) -> bool:
    return event.get("source") == "aws.s3" and event.get("detail-type") == "Object Created"


def _eventbridge_object(event: dict[str, Any]) -> Iterator[ObjectRef]:
    bucket = _dig(event, "detail", "bucket", "name")
    key = _dig(event, "detail", "object", "key")
    if not bucket or not key:
        raise _MalformedError("EventBridge event names no bucket or key")
    # EventBridge keys are not URL-encoded
    yield _object(bucket, key, _dig(event, "detail", "object", "size"), _dig(event, "detail", "object", "etag"))


def _object(bucket: str, key: str, size: Any, etag: Any) -> ObjectRef:
    """An S3 object as the event describes it: its ETag and size let the ledger skip a re-delivered object."""
    size = size if isinstance(size, int) and size >= 0 else 0
    return ObjectRef(f"s3://{bucket}/{key}", size, str(etag).strip('"') if etag else None)


# --- CloudWatch Logs records -----------------------------------------------------------------------------------


def _kinesis_record(event: dict[str, Any], record: dict[str, Any]) -> Unit:
    kinesis = record.get("kinesis")
    sequence = _text(kinesis.get("sequenceNumber")) if isinstance(kinesis, dict) else None
    if sequence is None:
        return Unit(None, problem="Kinesis record without a sequence number")
    if not isinstance(kinesis.get("data"), str):
        return Unit(sequence, problem=f"Kinesis record {sequence} has no data")
    shard = (_text(record.get("eventID")) or "").partition(":")[0] or "shard"
    stream = _text(record.get("eventSourceARN")) or "kinesis"
    envelope = orjson.dumps({"Records": [record]})
    return Unit(sequence, [_record_object(f"{stream}/{shard}/{sequence}", envelope)])


def _firehose_record(event: dict[str, Any], record: Any) -> Unit:
    record_id = _text(record.get("recordId")) if isinstance(record, dict) else None
    if record_id is None:
        return Unit(None, problem="Firehose record without a recordId")
    data = record.get("data")
    if not isinstance(data, str):
        return Unit(record_id, problem=f"Firehose record {record_id} has no data")
    stream = _text(event.get("deliveryStreamArn")) or "firehose"
    # the stream's names, not the invocation id: a retried invocation must give the record the same content
    stream_keys = {k: event[k] for k in ("deliveryStreamArn", "sourceKinesisStreamArn", "region") if k in event}
    envelope = orjson.dumps({**stream_keys, "records": [record]})
    return Unit(record_id, [_record_object(f"{stream}/{record_id}", envelope)], data=data)


def _awslogs_object(event: dict[str, Any]) -> ObjectRef:
    """A subscription delivered straight to the Lambda: no record id, so the payload's digest names it (its
    log events have ids, so two different deliveries never share one)."""
    data = event["awslogs"].get("data")
    if not isinstance(data, str):
        raise _MalformedError("awslogs event without data")
    try:
        payload = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _MalformedError(f"awslogs data is not base64 ({error})") from None
    digest = hashlib.sha256(payload).hexdigest()
    return _record_object(f"awslogs://sha256/{digest}", orjson.dumps({"awslogs": {"data": data}}))


def _record_object(key: str, envelope: bytes) -> ObjectRef:
    return ObjectRef(key, len(envelope), hashlib.md5(envelope, usedforsecurity=False).hexdigest(), data=envelope)


def _dig(value: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(value, dict):
            return None
        value = value.get(name)
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
