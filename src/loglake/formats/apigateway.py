"""Amazon API Gateway access logs (REST, HTTP and WebSocket APIs) in the JSON and CLF templates AWS documents.

An access log's format is the stage's own template of `$context` variables, so there is no fixed schema and no
AWS Athena table. The columns are the keys of the documented JSON templates and the `$context` variables they
stand for, in snake_case (`requestId` -> `request_id`, `$context.identity.sourceIp` logged as `ip`). Keys are
matched without regard to case or punctuation and with the names users commonly give them (`sourceIp`,
`integrationErrorMessage`, `identity.userAgent`, ...); any other key is kept in `unmapped` as JSON, and so is a
value that does not fit its column (a non-number in `status`). API Gateway writes `-` for a variable with no
value: it is NULL. The CLF templates (REST, HTTP API and the CloudFormation example with the extended request
id first) are read into the same columns.

Access logs reach S3 through CloudWatch Logs (read by the `cloudwatch` format, which routes these messages
here) or through Amazon Data Firehose: records back to back, one JSON object or CLF line each, usually one per
line. `lake_row` is the line number, or the record's index when records share a line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from loglake.formats.base import ObjectInfo, Parsed, Part, Reject, first_byte, gc_paused, ip_lists, raw_text
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns, with_lake_schema

NAME = "apigateway"
TABLE = "apigateway_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "principal": "coalesce(user_arn, caller)",
    "ip": "ip",
    "resource": "api_id",
    "account": "coalesce(account_id, lake_account)",
    "event_id": "request_id",
}

_S, _INT, _BIG = pa.string(), pa.int32(), pa.int64()
# (column, type, the JSON keys that mean it: normalised as by `_normal_key`), in the order of the documented
# REST JSON template, then the HTTP API and WebSocket variables
COLUMNS: list[tuple[str, pa.DataType, tuple[str, ...]]] = [
    ("request_id", _S, ("requestid",)),
    ("extended_request_id", _S, ("extendedrequestid",)),
    ("ip", _S, ("ip", "sourceip", "identitysourceip", "clientip")),
    ("caller", _S, ("caller", "identitycaller")),
    ("user", _S, ("user", "identityuser")),
    ("request_time", _S, ("requesttime",)),
    ("http_method", _S, ("httpmethod", "method")),
    ("resource_path", _S, ("resourcepath",)),
    ("status", _INT, ("status", "statuscode")),
    ("protocol", _S, ("protocol",)),
    ("response_length", _BIG, ("responselength",)),
    ("request_time_epoch", _BIG, ("requesttimeepoch",)),
    ("route_key", _S, ("routekey",)),
    ("path", _S, ("path",)),
    ("stage", _S, ("stage",)),
    ("api_id", _S, ("apiid",)),
    ("domain_name", _S, ("domainname",)),
    ("account_id", _S, ("accountid",)),
    ("user_agent", _S, ("useragent", "identityuseragent")),
    ("user_arn", _S, ("userarn", "identityuserarn")),
    ("response_latency", _BIG, ("responselatency",)),
    ("integration_status", _INT, ("integrationstatus", "integrationintegrationstatus")),
    ("integration_latency", _BIG, ("integrationlatency",)),
    ("integration_error", _S, ("integrationerror", "integrationerrormessage")),
    ("integration_request_id", _S, ("integrationrequestid", "awsendpointrequestid")),
    ("authorizer_error", _S, ("authorizererror", "authorizeerror")),
    ("error_message", _S, ("errormessage", "error", "errormessagestring")),
    ("error_response_type", _S, ("errorresponsetype", "responsetype")),
    ("waf_response_code", _S, ("wafresponsecode", "wafstatus")),
    ("connection_id", _S, ("connectionid",)),
    ("event_type", _S, ("eventtype",)),
    ("message_id", _S, ("messageid",)),
]
UNMAPPED = "unmapped"
SCHEMA = with_lake_schema([*(pa.field(name, kind) for name, kind, _ in COLUMNS), pa.field(UNMAPPED, _S)])
NAMES = [name for name, _, _ in COLUMNS]
_TYPES = {name: kind for name, kind, _ in COLUMNS}
_BY_KEY = {key: name for name, _, keys in COLUMNS for key in keys}
# keys that only an access log has: a record needs its request id and two of these
_EVIDENCE = {
    "ip",
    "http_method",
    "status",
    "request_time",
    "request_time_epoch",
    "resource_path",
    "route_key",
    "protocol",
    "response_length",
    "response_latency",
    "integration_error",
    "integration_status",
    "integration_latency",
    "connection_id",
    "event_type",
}
_NUMBER = re.compile(r"-?[0-9]{1,19}\Z")  # ASCII digits, no wider than a bigint
_NON_ALNUM = re.compile(r"[^a-z0-9]")
# `$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime]
#  "$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength
#  $context.requestId [$context.extendedRequestId]`, the HTTP API one (`- -` for caller and user, the route key
#  in the request line) and the CloudFormation one (the extended request id first).
_CLF = re.compile(
    r"^(?:(?P<first>\S+) )?(?P<ip>\S+) (?P<caller>\S+) (?P<user>\S+) \[(?P<time>[^\]]*)\] "
    r'"(?P<request>[^"]*)" (?P<status>\d{3}|-) (?P<length>\d+|-)(?: (?P<id>\S+))?(?: (?P<ext>\S+))?\s*$'
)
_REQUEST_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"
_NOT_ACCESS_LOG = "not an API Gateway access log line (JSON or CLF template)"


@dataclass
class Rows:
    """Decoded records: per record a dict column -> value (absent columns are NULL), its unmapped JSON, its row."""

    values: list[dict[str, Any]]
    unmapped: list[str | None]
    rows: list[int]


def sniff(head: bytes, key: str) -> bool:
    start = first_byte(head)
    line = head.lstrip().split(b"\n", 1)[0].strip()
    if start == b"{":
        document = _first_document(line)
        return isinstance(document, dict) and is_access_log(document)
    return bool(line) and _CLF.match(line.decode("utf-8", errors="replace")) is not None


def _first_document(line: bytes) -> Any:
    for _, value, error in json_documents(line):
        return None if error else value
    return None


def is_access_log(record: dict[str, Any]) -> bool:
    """A JSON object with a request id and at least two other keys only access logs have."""
    columns = {_BY_KEY.get(_normal_key(k)) for k in record if isinstance(k, str)}
    if not columns & {"request_id", "extended_request_id"}:
        return False
    return len(columns & _EVIDENCE) >= 2


def _normal_key(key: str) -> str:
    key = _NON_ALNUM.sub("", key.lower())
    return key.removeprefix("context") if key.startswith("context") and len(key) > 7 else key


def record_from_json(record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """(column values, unmapped JSON) of one JSON access log record."""
    values: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    for key, value in record.items():
        column = _BY_KEY.get(_normal_key(key)) if isinstance(key, str) else None
        if column is None or column in values:
            unknown[str(key)] = value
            continue
        converted, ok = _convert(value, _TYPES[column])
        if ok:
            if converted is not None:
                values[column] = converted
        else:
            unknown[str(key)] = value
    return values, (msgspec.json.encode(unknown).decode() if unknown else None)


def record_from_clf(line: str) -> dict[str, Any] | None:
    """Column values of one CLF access log line, or None when the line is not in a documented CLF template."""
    match = _CLF.match(line)
    if match is None:
        return None
    values: dict[str, Any] = {}
    first, request_id, extended = match["first"], match["id"], match["ext"]
    if first is not None:  # the CloudFormation template: the extended request id comes first
        values["extended_request_id"] = first
    elif extended is not None:
        values["extended_request_id"] = extended
    for column, text in (("ip", match["ip"]), ("caller", match["caller"]), ("user", match["user"])):
        values[column] = text
    values["request_time"] = match["time"]
    values["request_id"] = request_id
    method, _, rest = match["request"].partition(" ")
    target, _, protocol = rest.rpartition(" ") if " " in rest else (rest, "", "")
    values["http_method"] = method
    values["protocol"] = protocol
    # a REST resource path is one token starting with '/'; an HTTP API route key is `GET /pets` or `$default`
    values["resource_path" if target.startswith("/") and " " not in target else "route_key"] = target
    values["status"] = match["status"]
    values["response_length"] = match["length"]
    out: dict[str, Any] = {}
    for column, text in values.items():
        converted, ok = _convert(text, _TYPES[column])
        if ok and converted is not None:
            out[column] = converted
    return out


def _convert(value: Any, kind: pa.DataType) -> tuple[Any, bool]:
    """(value for a column of that type, whether it fits); `-`, empty and null are NULL."""
    if value is None or value in ("-", ""):
        return None, True
    if kind == _S:
        if isinstance(value, str):
            return value, True
        if isinstance(value, bool):
            return ("true" if value else "false"), True
        if isinstance(value, int | float):
            return str(value), True
        return None, False  # an object or a list: kept in unmapped
    if isinstance(value, bool):
        return None, False
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if not (integral or (isinstance(value, str) and _NUMBER.match(value))):
        return None, False
    number = int(value)
    limit = 1 << (31 if kind == _INT else 63)
    return (number, True) if -limit <= number < limit else (None, False)


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    if not first_byte(data):
        return Parsed(TABLE)
    rows = Rows([], [], [])
    rejects: list[Reject] = []
    lines: list[int] = []
    with gc_paused():
        for number, line in enumerate(data.split(b"\n"), 1):
            if not line.strip():
                continue
            if first_byte(line) == b"{":
                for _, value, error in json_documents(line):
                    if error is not None:
                        rejects.append(Reject(number, f"invalid JSON: {error}", raw_text(line)))
                    elif not isinstance(value, dict):
                        rejects.append(Reject(number, "record is not a JSON object", raw_text(line)))
                    else:
                        values, unmapped = record_from_json(value)
                        _add(rows, values, unmapped, number)
                        lines.append(number)
                continue
            text = line.decode("utf-8", errors="backslashreplace").rstrip("\r")
            values_or_none = record_from_clf(text)
            if values_or_none is None:
                rejects.append(Reject(number, _NOT_ACCESS_LOG, raw_text(text)))
                continue
            _add(rows, values_or_none, None, number)
            lines.append(number)
    if len(set(lines)) < len(lines):  # records back to back on one line: number them instead
        rows.rows = list(range(1, len(rows.rows) + 1))
    part = Part(obj, len(rows.values), rows) if rows.values else None
    return Parsed(TABLE, part, rejects, to_arrow=to_arrow)


def _add(rows: Rows, values: dict[str, Any], unmapped: str | None, row: int) -> None:
    rows.values.append(values)
    rows.unmapped.append(unmapped)
    rows.rows.append(row)


def to_arrow(parts: list[Part]) -> pa.Table:
    values: list[dict[str, Any]] = []
    unmapped: list[str | None] = []
    rows: list[int] = []
    for part in parts:
        values += part.data.values
        unmapped += part.data.unmapped
        rows += part.data.rows
    columns = {name: pa.array([v.get(name) for v in values], kind) for name, kind, _ in COLUMNS}
    columns[UNMAPPED] = pa.array(unmapped, _S)
    data = pa.table(columns)
    return append_lake_columns(
        data,
        schema=SCHEMA,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=request_times(data.column("request_time").combine_chunks(), data.column("request_time_epoch")),
        account=None,
        region=None,
        ips=ip_lists([data.column("ip").combine_chunks()]),
        rows=pa.array(rows, pa.int64()),
    )


def request_times(text: pa.Array, epoch: pa.ChunkedArray | pa.Array) -> pa.Array:
    """`$context.requestTime` (CLF time), else `$context.requestTimeEpoch` (milliseconds, or seconds if small)."""
    parsed = pc.strptime(text, format=_REQUEST_TIME_FORMAT, unit="us", error_is_null=True).cast(TIMESTAMP)
    epoch = epoch.combine_chunks() if isinstance(epoch, pa.ChunkedArray) else epoch
    values = epoch.to_pylist()
    fallback = pa.array([_epoch_time(v) for v in values], TIMESTAMP)
    return pc.coalesce(parsed, fallback)


def _epoch_time(value: int | None) -> dt.datetime | None:
    if value is None:
        return None
    seconds = value / 1000 if abs(value) >= 100_000_000_000 else value
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


_TRAILING = re.compile(r"trailing characters \(byte (\d+)\)")
_NEXT_DOCUMENT = re.compile(rb"\n\s*[{\[]|\}\s*\{")


def json_documents(data: bytes) -> Iterator[tuple[int, Any, str | None]]:
    """(offset, value, error) of every JSON document in data: JSON lines, or documents back to back with no
    separator (as Firehose delivers records). A damaged document yields its error, and reading goes on at the
    next line or the next `}{` boundary."""
    view = memoryview(data)
    position = 0
    size = len(data)
    while position < size:
        match = _NON_SPACE.search(data, position)
        if match is None:
            return
        position = match.start()
        try:
            yield position, msgspec.json.decode(view[position:]), None
            return
        except (msgspec.DecodeError, UnicodeDecodeError) as error:  # msgspec reads invalid UTF-8 in keys this way
            message = str(error)
        trailing = _TRAILING.search(message)
        if trailing is not None:
            end = position + int(trailing.group(1)) - 1
            try:
                value = msgspec.json.decode(view[position:end])
            except (msgspec.DecodeError, UnicodeDecodeError) as inner:  # pragma: no cover - it was just read
                yield position, None, str(inner)
            else:
                yield position, value, None
            position = max(end, position + 1)
            continue
        yield position, None, message
        resync = _NEXT_DOCUMENT.search(data, position + 1)
        if resync is None:
            return
        position = resync.end() - 1


_NON_SPACE = re.compile(rb"\S")
