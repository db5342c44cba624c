"""Amazon CloudWatch Logs as a carrier: subscription payloads and log-group exports, each message routed by content.

What is read:

- subscription payloads (`{"messageType":"DATA_MESSAGE","owner","logGroup","logStream","subscriptionFilters",
  "logEvents":[{"id","timestamp","message"}]}`), as Firehose delivers them to S3 (gzip members back to back, so
  several payloads follow each other with no separator), as JSON lines, or wrapped the way a consumer receives
  them: Lambda's `{"awslogs":{"data":<base64 gzip>}}`, Kinesis `{"Records":[{"kinesis":{"data":...}}]}` and
  Firehose `{"records":[{"recordId","data"}]}` events. `CONTROL_MESSAGE` payloads (reachability checks) are
  skipped. A Kinesis or Firehose record whose data is not a payload is kept as one message;
- log-group exports to S3: `<prefix>/<export-task-id>/<log-stream>/000000.gz`, each line `<ISO time> <message>`
  (lines without a time continue the previous message, as multi-line messages are exported).

Each message goes to the table of its real format: VPC flow log lines to `vpc_flow_logs` (no header reaches
CloudWatch Logs: the field order is `--vpc-format`'s, else a 14-field line is the v2 default; a flow line that
fits neither is rejected with a reason naming `--vpc-format`), CloudTrail events (one per message) to
`cloudtrail_logs`, API Gateway access logs to `apigateway_logs`, and everything else to `cloudwatch_logs` with
its log group, stream, owner, filters, event id and time. The other tables' rows come back in `Parsed.extra`.

`lake_row` is the message's position in the object (1-based, across all its payloads; the line number of its
first line in an export), the same in every table, so (lake_file, lake_row) leads back to the message. A
message whose own format has no time (a custom flow format without start/end) takes the event's timestamp as
`lake_time`; one with no account takes the payload's owner.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loglake.formats import apigateway, cloudtrail, vpcflow
from loglake.formats.base import FormatError, ObjectInfo, Parsed, Part, Reject, first_byte, gc_paused, raw_text
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns, with_lake_schema

NAME = "cloudwatch"
TABLE = "cloudwatch_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "resource": "log_group",
    "account": "coalesce(owner, lake_account)",
    "event_id": "id",
}
SNIFF_ORDER = 30  # before CloudTrail: a Kinesis event is `{"Records":[{"kinesis":..., "eventVersion":...}]}`

_S = pa.string()
SCHEMA = with_lake_schema(
    [
        pa.field("log_group", _S),
        pa.field("log_stream", _S),
        pa.field("owner", _S),
        pa.field("subscription_filters", pa.list_(_S)),
        pa.field("timestamp", TIMESTAMP),
        pa.field("id", _S),
        pa.field("message", _S),
    ]
)

DATA_MESSAGE, CONTROL_MESSAGE = "DATA_MESSAGE", "CONTROL_MESSAGE"
WRITE_TEST = "aws-logs-write-test"  # the object an export task writes first to check its permissions
_MAX_MILLIS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_GZIP, _ZLIB = b"\x1f\x8b", (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_MAX_DEPTH = 4  # wrappers inside wrappers (a list of payloads, a record of a payload): deeper is not a carrier

# exports: `2024-05-01T10:00:00.000Z message`
_EXPORT_LINE = re.compile(rb"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z)(?: |$)")
_EXPORT_HEAD = re.compile(rb"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z ")  # CloudWatch Logs writes milliseconds
_EXPORT_KEY = re.compile(
    r"/(?P<task>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(?P<stream>.+)/\d{6}(?:\.gz)?$"
)
_EXPORT_FILE = re.compile(r"(?:^|/)(?P<stream>[^/]+)/\d{6}(?:\.gz)?$")
_HOST_PORT = re.compile(rb"^(?:\d{1,3}(?:\.\d{1,3}){3}|\[?[0-9a-fA-F:]+\]?):\d+$")  # ELB lines: `client:port`
_ACCOUNT_IN_ARN = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:(\d{12}):")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_NON_SPACE = re.compile(rb"\S")


# --- recognising the object ----------------------------------------------------------------------------------


def sniff(head: bytes, key: str) -> bool:
    if _is_write_test(key):
        return True
    if head.startswith(_GZIP):  # a Firehose stream that compressed the already-gzipped payloads once more
        try:
            head = zlib.decompressobj(wbits=31).decompress(head, 65536)
        except zlib.error:
            return False
    start = first_byte(head)
    if start in (b"{", b"["):
        return _json_carrier(head)
    line = head.lstrip().split(b"\n", 1)[0]
    if _EXPORT_KEY.search(key) and _EXPORT_LINE.match(line):
        return True
    if not _EXPORT_HEAD.match(line):
        return False
    tokens = line.split(b" ", 3)  # Classic ELB lines also start with a time: `<time> <elb> <client:port> ...`
    return not (len(tokens) > 2 and _HOST_PORT.match(tokens[2]))


def _json_carrier(head: bytes) -> bool:
    """A subscription payload or a Lambda/Kinesis/Firehose event carrying one (its keys before any event's)."""
    if _first(head, b'"messageType"') and (b"DATA_MESSAGE" in head or b"CONTROL_MESSAGE" in head):
        return True
    if _first(head, b'"logEvents"') and b'"logGroup"' in head:
        return True
    if _first(head, b'"awslogs"') and b'"data"' in head:
        return True
    if _first(head, b'"kinesis"') and (b'"kinesisSchemaVersion"' in head or b'"aws:kinesis"' in head):
        return True
    return b'"recordId"' in head and (_first(head, b'"invocationId"') or _first(head, b'"deliveryStreamArn"'))


def _first(head: bytes, key: bytes) -> bool:
    """The key is in the head before any CloudTrail event key (a CloudTrail file may mention these words)."""
    at = head.find(key)
    event = head.find(b'"eventVersion"')
    return at >= 0 and (event < 0 or at < event)


def _is_write_test(key: str) -> bool:
    return key.rstrip("/").rsplit("/", 1)[-1] == WRITE_TEST


# --- reading ---------------------------------------------------------------------------------------------------


def parse(data: bytes, obj: ObjectInfo, *, default_fields: list[str] | None = None) -> Parsed:
    """Read a carrier object; `default_fields` is the --vpc-format field order for the flow lines it carries."""
    if _is_write_test(obj.uri):
        return Parsed(TABLE, skipped="CloudWatch Logs export permission check (aws-logs-write-test)")
    reader = _Reader(obj, default_fields)
    with gc_paused():
        if data.startswith(_GZIP):
            data, damage = _inflate(data)
            if damage:
                reader.rejects.append(Reject(0, f"compressed carrier: {damage}", f"{len(data)} bytes could be read"))
        begin = _NON_SPACE.search(data)
        start = data[begin.start() : begin.start() + 1] if begin else b""
        if start in (b"{", b"["):
            reader.read_json(data)
        elif start and _EXPORT_LINE.match(data, begin.start()):
            reader.read_export(data)
        elif start:
            raise FormatError(
                "neither a CloudWatch Logs subscription payload (JSON) nor a log-group export "
                "(lines starting with an ISO 8601 time)"
            )
        return reader.result()


@dataclass
class _Origin:
    """Where messages came from: their payload's (or Kinesis/Firehose record's) fields."""

    group: str | None = None
    stream: str | None = None
    owner: str | None = None
    filters: list[str | None] | None = None
    region: str | None = None


@dataclass
class _Cwl:
    """Rows of `cloudwatch_logs`, column by column."""

    group: list[str | None] = field(default_factory=list)
    stream: list[str | None] = field(default_factory=list)
    owner: list[str | None] = field(default_factory=list)
    filters: list[list[str | None] | None] = field(default_factory=list)
    millis: list[int | None] = field(default_factory=list)
    id: list[str | None] = field(default_factory=list)
    message: list[str | None] = field(default_factory=list)
    region: list[str | None] = field(default_factory=list)
    row: list[int] = field(default_factory=list)


@dataclass
class _Carried:
    """A part of another format's table: that format's own decoded rows, and per message what the carrier knew."""

    inner: Any
    obj: ObjectInfo  # the carrier object (the inner part has a bare one, so what the rows lack shows as NULL)
    meta: dict[int, tuple[int | None, str | None, str | None]]  # position -> (time ms, owner, region)


class _Reader:
    def __init__(self, obj: ObjectInfo, vpc_fields: list[str] | None):
        self.obj = obj
        self.vpc_fields = tuple(vpc_fields) if vpc_fields else None
        self.position = 0
        self.rejects: list[Reject] = []
        self.cwl = _Cwl()
        self.flows: dict[tuple[str, ...], list[tuple[int, str]]] = {}
        self.trails: list[tuple[int, bytes]] = []
        self.api = apigateway.Rows([], [], [])
        self.meta: dict[int, tuple[int | None, str | None, str | None]] = {}
        self.data_messages = 0
        self.control_messages = 0

    def next_position(self) -> int:
        self.position += 1
        return self.position

    def reject(self, reason: str, raw: bytes | str) -> None:
        self.rejects.append(Reject(self.next_position(), reason, raw_text(raw)))

    # JSON carriers

    def read_json(self, data: bytes, context: _Origin | None = None, depth: int = 0) -> None:
        for offset, value, error in apigateway.json_documents(data):
            if error is not None:
                self.reject(f"invalid JSON: {error}", data[offset : offset + 4096])
                continue
            self.document(value, context or _Origin(), depth)

    def document(self, value: Any, context: _Origin, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.reject("not a CloudWatch Logs carrier: nested too deep", _json_text(value))
            return
        if isinstance(value, list):
            for item in value:
                self.document(item, context, depth + 1)
            return
        if not isinstance(value, dict):
            self.reject("not a CloudWatch Logs carrier: a JSON document that is not an object", _json_text(value))
            return
        if _is_payload(value):
            self.payload(value, context)
        elif isinstance(value.get("awslogs"), dict):
            self.encoded(value["awslogs"].get("data"), context, depth, "awslogs.data", None)
        elif isinstance(value.get("Records"), list) and any(
            isinstance(r, dict) and "kinesis" in r for r in value["Records"]
        ):
            self.kinesis(value["Records"], context, depth)
        elif isinstance(value.get("records"), list) and any(
            isinstance(r, dict) and "recordId" in r for r in value["records"]
        ):
            self.firehose(value, context, depth)
        else:
            keys = ", ".join(list(map(str, value))[:6])
            self.reject(f"not a CloudWatch Logs carrier: a JSON object with keys {keys}", _json_text(value))

    def kinesis(self, records: list[Any], context: _Origin, depth: int) -> None:
        for index, record in enumerate(records, 1):
            kinesis = record.get("kinesis") if isinstance(record, dict) else None
            if not isinstance(kinesis, dict):
                self.reject(f"Kinesis record {index} has no kinesis data", _json_text(record))
                continue
            inner = _Origin(
                owner=_account_of(record.get("eventSourceARN")) or context.owner,
                region=_text(record.get("awsRegion")) or context.region,
            )
            raw = (_text(record.get("eventID")) or _text(kinesis.get("sequenceNumber")), _millis_of(kinesis))
            self.encoded(kinesis.get("data"), inner, depth, f"Kinesis record {index}", raw)

    def firehose(self, event: dict[str, Any], context: _Origin, depth: int) -> None:
        inner = _Origin(
            owner=_account_of(event.get("sourceKinesisStreamArn"))
            or _account_of(event.get("deliveryStreamArn"))
            or context.owner,
            region=_text(event.get("region")) or context.region,
        )
        for index, record in enumerate(event["records"], 1):
            if not isinstance(record, dict):
                self.reject(f"Firehose record {index} is not an object", _json_text(record))
                continue
            raw = (_text(record.get("recordId")), _millis_of(record))
            self.encoded(record.get("data"), inner, depth, f"Firehose record {index}", raw)

    def encoded(
        self,
        data: Any,
        context: _Origin,
        depth: int,
        what: str,
        raw_record: tuple[str | None, int | None] | None,
    ) -> None:
        """Base64 data: gzip (or zlib) payloads, or, in a Kinesis/Firehose record, any other data as a message."""
        if not isinstance(data, str):
            self.reject(f"{what}: no base64 data", _json_text(data))
            return
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as error:
            self.reject(f"{what}: data is not base64 ({error})", data)
            return
        unpacked, damage = _inflate(decoded)
        if damage:
            self.reject(f"{what}: {damage}", data)
            return
        if _holds_payloads(unpacked):
            self.read_json(unpacked, context, depth + 1)
        elif raw_record is not None:  # a record of something else: the record is the message
            record_id, millis = raw_record
            text = unpacked.decode("utf-8", errors="backslashreplace")
            self.message(text, millis, record_id, context)
        else:
            self.reject(f"{what}: not a CloudWatch Logs subscription payload", unpacked)

    def payload(self, payload: dict[str, Any], context: _Origin) -> None:
        kind = payload.get("messageType")
        if kind == CONTROL_MESSAGE:
            self.control_messages += 1
            return
        events = payload.get("logEvents")
        if not isinstance(events, list):
            self.reject("subscription payload without a logEvents list", _json_text(payload))
            return
        self.data_messages += 1
        filters = payload.get("subscriptionFilters")
        origin = _Origin(
            group=_text(payload.get("logGroup")),
            stream=_text(payload.get("logStream")),
            owner=_text(payload.get("owner")) or context.owner,
            filters=[_text(f) for f in filters] if isinstance(filters, list) else None,
            region=context.region,
        )
        for index, event in enumerate(events, 1):
            if not isinstance(event, dict):
                self.reject(f"log event {index} is not an object", _json_text(event))
                continue
            message = event.get("message")
            text = message if isinstance(message, str) or message is None else _json_text(message)
            self.message(text, _millis(event.get("timestamp")), _text(event.get("id")), origin)

    # exports

    def read_export(self, data: bytes) -> None:
        stream = _export_stream(self.obj.uri)
        origin = _Origin(stream=stream)
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        current: tuple[int, int | None, list[bytes]] | None = None  # (line, time, message lines)
        for number, line in enumerate(lines, 1):
            match = _EXPORT_LINE.match(line)
            if match is None:
                if current is not None:
                    current[2].append(line)
                elif line.strip():
                    self.rejects.append(Reject(number, "export line without a leading time", raw_text(line)))
                continue
            if current is not None:
                self.export_message(current, origin)
            current = (number, _iso_millis(match.group(1)), [line[match.end() :]])
        if current is not None:
            self.export_message(current, origin)

    def export_message(self, current: tuple[int, int | None, list[bytes]], origin: _Origin) -> None:
        number, millis, parts = current
        text = b"\n".join(parts).decode("utf-8", errors="backslashreplace")
        self.position = number - 1  # an export's messages are numbered by their first line
        self.message(text.removesuffix("\r"), millis, None, origin)

    # routing

    def message(self, text: str | None, millis: int | None, event_id: str | None, origin: _Origin) -> None:
        position = self.next_position()
        if text is not None and self.route(text, position):
            self.meta[position] = (millis, origin.owner, origin.region)
            return
        cwl = self.cwl
        cwl.group.append(origin.group)
        cwl.stream.append(origin.stream)
        cwl.owner.append(origin.owner)
        cwl.filters.append(origin.filters)
        cwl.millis.append(millis)
        cwl.id.append(event_id)
        cwl.message.append(text)
        cwl.region.append(origin.region)
        cwl.row.append(position)

    def route(self, text: str, position: int) -> bool:
        """Send a message to its format's table; False when it belongs in cloudwatch_logs."""
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                record = orjson.loads(stripped)
            except orjson.JSONDecodeError:
                return False
            if not isinstance(record, dict):
                return False
            if _is_cloudtrail(record):
                self.trails.append((position, stripped.replace("\n", " ").replace("\r", " ").encode()))
                return True
            if apigateway.is_access_log(record):
                values, unmapped = apigateway.record_from_json(record)
                self._api(values, unmapped, position)
                return True
            return False
        tokens = stripped.split()
        fields = self.flow_fields(tokens)
        if fields is not None:
            if isinstance(fields, str):  # a flow line that fits no known field order
                self.rejects.append(Reject(position, fields, raw_text(text)))
            else:
                self.flows.setdefault(fields, []).append((position, " ".join(tokens)))
            return True
        if "[" in stripped:
            values_or_none = apigateway.record_from_clf(stripped)
            if values_or_none is not None:
                self._api(values_or_none, None, position)
                return True
        return False

    def _api(self, values: dict[str, Any], unmapped: str | None, position: int) -> None:
        self.api.values.append(values)
        self.api.unmapped.append(unmapped)
        self.api.rows.append(position)

    def flow_fields(self, tokens: list[str]) -> tuple[str, ...] | str | None:
        """The field order a VPC flow line fits, a reject reason when it is a flow line that fits none, or None."""
        if len(tokens) < 2:
            return None
        if self.vpc_fields and _fits(tokens, self.vpc_fields):
            return self.vpc_fields
        if _fits(tokens, _DEFAULT_FIELDS):
            return _DEFAULT_FIELDS
        if not _flow_like(tokens):
            return None
        width = len(tokens)
        if self.vpc_fields:
            if width in (len(self.vpc_fields), len(_DEFAULT_FIELDS)):
                return (
                    f"VPC flow log line with {width} fields has a value that is not valid for its field in "
                    "--vpc-format (or the default format): check --vpc-format"
                )
            return (
                f"VPC flow log line with {width} fields matches neither --vpc-format "
                f"({len(self.vpc_fields)} fields) nor the default format (14 fields): check --vpc-format"
            )
        if width == len(_DEFAULT_FIELDS):
            return (
                "VPC flow log line has a value that is not valid for its field in the default format: "
                "give the flow log's field order with --vpc-format"
            )
        return (
            f"VPC flow log line with {width} fields and no header does not match the default format "
            "(14 fields): give the flow log's field order with --vpc-format"
        )

    # results

    def result(self) -> Parsed:
        extra = [p for p in (self._flows(), self._trails(), self._apis()) if p is not None]
        cwl = self.cwl
        part = Part(self.obj, len(cwl.row), cwl) if cwl.row else None
        skipped = None
        if self.control_messages and not self.data_messages and part is None and not extra and not self.rejects:
            skipped = "CloudWatch Logs control message"
        self.rejects.sort(key=lambda r: r.row)
        return Parsed(TABLE, part, self.rejects, skipped=skipped, to_arrow=to_arrow, extra=extra)

    def _bare(self) -> ObjectInfo:
        return ObjectInfo(self.obj.uri, None, None, None, self.obj.ingested_at)

    def _carried(self, table: str, inner: Part, build: Callable[[list[Part]], pa.Table]) -> Parsed:
        rows = {p: self.meta.get(p, (None, None, None)) for p in _positions_of(inner)}
        return Parsed(table, Part(inner.obj, inner.records, _Carried(inner.data, self.obj, rows)), to_arrow=build)

    def _flows(self) -> Parsed | None:
        tables: list[pa.Table] = []
        for fields, lines in self.flows.items():
            text = "\n".join(line for _, line in lines).encode()
            parsed = vpcflow.parse(text, self._bare(), default_fields=list(fields))
            positions = [p for p, _ in lines]
            for reject in parsed.rejects:  # not expected: the lines were checked field by field
                self.rejects.append(Reject(_at(positions, reject.row), reject.reason, reject.raw))
            if parsed.part is not None:
                table = parsed.part.data
                index = table.schema.get_field_index("__row")
                line_index = pc.subtract(table.column(index).combine_chunks(), 1)
                rows = pa.array(positions, pa.int64()).take(line_index)
                tables.append(table.set_column(index, "__row", rows))
        if not tables:
            return None
        rows = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
        return self._carried(vpcflow.TABLE, Part(self._bare(), rows.num_rows, rows), _flows_to_arrow)

    def _trails(self) -> Parsed | None:
        if not self.trails:
            return None
        document = b'{"Records":[' + b",".join(m for _, m in self.trails) + b"]}"
        parsed = cloudtrail.parse(document, self._bare())
        positions = [p for p, _ in self.trails]
        for reject in parsed.rejects:
            self.rejects.append(Reject(_at(positions, reject.row), reject.reason, reject.raw))
        if parsed.part is None:
            return None
        events, unmapped, rows = parsed.part.data
        mapped = [_at(positions, r) for r in rows]
        inner = Part(parsed.part.obj, parsed.part.records, (events, unmapped, mapped))
        return self._carried(cloudtrail.TABLE, inner, _trails_to_arrow)

    def _apis(self) -> Parsed | None:
        if not self.api.rows:
            return None
        return self._carried(apigateway.TABLE, Part(self._bare(), len(self.api.rows), self.api), _apis_to_arrow)


def _positions_of(part: Part) -> list[int]:
    data = part.data
    if isinstance(data, pa.Table):
        return data.column("__row").to_pylist()
    if isinstance(data, apigateway.Rows):
        return list(data.rows)
    return list(data[2])  # CloudTrail: (events, unmapped, rows)


def _at(positions: list[int], row: int) -> int:
    """The position of the message on the given 1-based line/record of the inner text (0: the whole text)."""
    return positions[row - 1] if 0 < row <= len(positions) else 0


# --- recognising messages ----------------------------------------------------------------------------------------


def _is_payload(value: dict[str, Any]) -> bool:
    return value.get("messageType") in (DATA_MESSAGE, CONTROL_MESSAGE) or (
        "logEvents" in value and ("logGroup" in value or "messageType" in value)
    )


def _holds_payloads(data: bytes) -> bool:
    if first_byte(data) not in (b"{", b"["):
        return False
    head = data[:65536]
    return b'"logEvents"' in head or b'"messageType"' in head


def _is_cloudtrail(record: dict[str, Any]) -> bool:
    return "eventVersion" in record and ("eventTime" in record or "eventName" in record or "eventSource" in record)


_IP = r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*)"
# integers that fit their column (int32: 9 digits, bigint: 18): a wider value would fail when the rows are built
_INTEGER = {pa.int32(): r"-?[0-9]{1,9}", pa.int64(): r"-?[0-9]{1,18}"}
_VALUE_PATTERNS = {
    "account-id": r"\d{12}|unknown",
    "interface-id": r"eni-[0-9A-Za-z]+|unknown",
    "srcaddr": _IP,
    "dstaddr": _IP,
    "pkt-srcaddr": _IP,
    "pkt-dstaddr": _IP,
    "action": r"ACCEPT|REJECT",
    "log-status": r"OK|NODATA|SKIPDATA",
    "vpc-id": r"vpc-[0-9A-Za-z]+",
    "subnet-id": r"subnet-[0-9A-Za-z]+",
    "instance-id": r"i-[0-9A-Za-z]+",
    "type": r"IPv4|IPv6|EFA",
    "region": r"[a-z]{2}(?:-[a-z]+)+-\d+",
    "az-id": r"[a-z0-9]+-az\d+",
    "flow-direction": r"ingress|egress",
}
_STRONG = {"interface-id", "srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr", "action", "log-status"}
_VALUE = {
    name: "(?:-|" + (_INTEGER[kind] if kind != pa.string() else _VALUE_PATTERNS.get(name, r"\S+")) + ")"
    for name, kind in vpcflow.FIELDS
}
# what any flow field's value looks like (to tell a flow line in another order from free text)
_FLOW_TOKEN = re.compile(
    r"(?:-|-?\d+|" + _IP + r"|ACCEPT|REJECT|OK|NODATA|SKIPDATA|IPv4|IPv6|EFA|ingress|egress|unknown"
    r"|[a-z]{1,12}(?:-[a-z]{1,12})?-[0-9a-f]+|[a-z]{2}(?:-[a-z]+)+-\d+|[a-z0-9]+-az\d+|arn:\S+|[A-Z0-9_]+)\Z"
)
_ADDRESS = re.compile(_IP + r"\Z")
_DEFAULT_FIELDS = tuple(vpcflow.DEFAULT_FORMAT)


def _fits(tokens: list[str], fields: tuple[str, ...]) -> bool:
    """Every value fits its field, and a field only flow logs have (address, ENI, action...) holds one."""
    if len(tokens) != len(fields):
        return False
    match, strong = _line_check(fields)
    if not match(" ".join(tokens)):
        return False
    return not strong or any(tokens[i] != "-" for i in strong)


@cache
def _line_check(fields: tuple[str, ...]) -> tuple[Callable[[str], Any], tuple[int, ...]]:
    """One regex for a whole line in this field order (far faster than one per value), and the strong fields."""
    pattern = re.compile(" ".join(_VALUE[name] for name in fields) + r"\Z")
    return pattern.match, tuple(i for i, name in enumerate(fields) if name in _STRONG)


def _flow_like(tokens: list[str]) -> bool:
    """Flow-log values only (numbers, addresses, AWS ids, ACCEPT/REJECT...), with an ENI, or an action and an IP."""
    if len(tokens) < 4 or not all(_FLOW_TOKEN.match(t) for t in tokens):
        return False
    if any(t.startswith(("eni-", "vpc-", "subnet-")) for t in tokens) or any(
        t in ("NODATA", "SKIPDATA") for t in tokens
    ):
        return True
    has_action = any(t in ("ACCEPT", "REJECT") for t in tokens)
    has_address = any("." in t or ":" in t for t in tokens if _ADDRESS.match(t))
    return has_action and has_address


# --- small conversions ---------------------------------------------------------------------------------------


def _inflate(data: bytes) -> tuple[bytes, str | None]:
    """gzip (one or many members) or zlib data decompressed; other data as it is."""
    if data.startswith(_ZLIB):
        try:
            return zlib.decompress(data), None
        except zlib.error:
            pass  # base64 text can start with these bytes too: then it is not zlib
        return data, None
    if not data.startswith(_GZIP):
        return data, None
    out: list[bytes] = []
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out.append(inflater.decompress(rest))
        except zlib.error as error:
            return b"".join(out), f"corrupt gzip data ({error})"
        if not inflater.eof:
            return b"".join(out), "truncated gzip data"
        rest = inflater.unused_data.lstrip(b"\x00")
        if rest and not rest.startswith(_GZIP):
            return b"".join(out), "data after the end of the gzip stream"
    return b"".join(out), None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return _json_text(value)


def _json_text(value: Any) -> str:
    try:
        return msgspec.json.encode(value).decode()
    except (TypeError, ValueError, OverflowError):  # pragma: no cover - decoded JSON always encodes
        return repr(value)


def _millis(value: Any) -> int | None:
    """A CloudWatch Logs timestamp (milliseconds since the epoch), None when it is not a usable one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) <= 18 and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= _MAX_MILLIS:
        return value
    return None


def _millis_of(record: dict[str, Any]) -> int | None:
    """`approximateArrivalTimestamp`: seconds (Kinesis) or milliseconds (Firehose)."""
    value = record.get("approximateArrivalTimestamp")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 100_000_000_000:
        value = value * 1000
    return _millis(value)


def _iso_millis(text: bytes) -> int | None:
    try:
        value = dt.datetime.fromisoformat(text.decode().replace("Z", "+00:00"))
    except ValueError:
        return None
    return _millis(round(value.timestamp() * 1000))


def _account_of(arn: Any) -> str | None:
    match = _ACCOUNT_IN_ARN.match(arn) if isinstance(arn, str) else None
    return match.group(1) if match else None


def _export_stream(uri: str) -> str | None:
    """The log stream an export file holds: `<prefix>/<export-task-id>/<log-stream>/000000.gz`."""
    match = _EXPORT_KEY.search(uri) or _EXPORT_FILE.search(uri)
    return match.group("stream") if match else None


# --- Arrow -----------------------------------------------------------------------------------------------------


def to_arrow(parts: list[Part]) -> pa.Table:
    """`cloudwatch_logs` rows of many objects."""
    rows = _Cwl()
    for part in parts:
        for name in rows.__dataclass_fields__:
            getattr(rows, name).extend(getattr(part.data, name))
    data = pa.table(
        {
            "log_group": pa.array(rows.group, _S),
            "log_stream": pa.array(rows.stream, _S),
            "owner": pa.array(rows.owner, _S),
            "subscription_filters": pa.array(rows.filters, pa.list_(_S)),
            "timestamp": _timestamps(rows.millis),
            "id": pa.array(rows.id, _S),
            "message": pa.array(rows.message, _S),
        }
    )
    return append_lake_columns(
        data,
        schema=SCHEMA,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=data.column("timestamp").combine_chunks(),
        account=data.column("owner").combine_chunks(),
        region=pa.array(rows.region, _S),
        ips=_message_ips(rows.message),
        rows=pa.array(rows.row, pa.int64()),
    )


def _timestamps(millis: list[int | None]) -> pa.Array:
    return pa.array(millis, pa.int64()).cast(pa.timestamp("ms")).cast(TIMESTAMP)


def _message_ips(messages: list[str | None]) -> pa.Array:
    """The distinct IPv4 addresses in each message, in order (free text: IPv6 is not looked for)."""
    out = []
    for message in messages:
        found: list[str] = []
        if message and "." in message:
            for address in _IPV4.findall(message):
                if address not in found and all(int(octet) <= 255 for octet in address.split(".")):
                    found.append(address)
        out.append(found)
    return pa.array(out, pa.list_(_S))


def _carried_to_arrow(build: Callable[[list[Part]], pa.Table]) -> Callable[[list[Part]], pa.Table]:
    """A builder for another format's rows that came in a carrier: that format's builder, then what the message
    knew for what the row lacks (time: the event's timestamp; account: the payload's owner; region)."""

    def to_arrow_carried(parts: list[Part]) -> pa.Table:
        table = build([Part(p.obj, p.records, p.data.inner) for p in parts])
        positions = table.column("lake_row").to_pylist()
        times: list[int | None] = []
        accounts: list[str | None] = []
        regions: list[str | None] = []
        fallback: list[dt.datetime] = []
        start = 0
        for part in parts:
            carried: _Carried = part.data
            obj = carried.obj
            day = dt.datetime.combine(obj.day, dt.time(), dt.UTC) if obj.day is not None else obj.ingested_at
            for position in positions[start : start + part.records]:
                millis, owner, region = carried.meta.get(position, (None, None, None))
                times.append(millis)
                accounts.append(owner or obj.account)
                regions.append(region or obj.region)
                fallback.append(day)
            start += part.records
        # the inner builder saw no day: a row whose format has no time got the ingest time, exactly
        no_time = pc.fill_null(pc.equal(table.column("lake_time"), table.column("lake_ingested_at")), True)
        carrier_time = pc.coalesce(_timestamps(times), pa.array(fallback, TIMESTAMP))
        time = pc.if_else(no_time, carrier_time, table.column("lake_time").combine_chunks())
        replaced = {
            "lake_time": time,
            "lake_date": pc.cast(time, pa.date32()),
            "lake_account": pc.coalesce(table.column("lake_account").combine_chunks(), pa.array(accounts, _S)),
            "lake_region": pc.coalesce(table.column("lake_region").combine_chunks(), pa.array(regions, _S)),
        }
        for name, column in replaced.items():
            index = table.schema.get_field_index(name)
            table = table.set_column(index, table.schema.field(index), column)
        return table

    return to_arrow_carried


_flows_to_arrow = _carried_to_arrow(vpcflow.to_arrow)
_trails_to_arrow = _carried_to_arrow(cloudtrail.to_arrow)
_apis_to_arrow = _carried_to_arrow(apigateway.to_arrow)
