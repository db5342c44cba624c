"""AWS CloudTrail: log files (`{"Records":[...]}`), JSON arrays, JSON lines and single events.

Columns are those of the AWS Athena `cloudtrail_logs` table (the live DDL, 30 columns), plus
`managementevent`, `insightdetails` (Insight events) and `unmapped`: every key of the event that the schema
does not name, as JSON, so no field is lost when AWS adds one. Digest files are recognised and skipped.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loglake.formats.base import (
    FormatError,
    ObjectInfo,
    Parsed,
    Part,
    Reject,
    first_byte,
    gc_paused,
    ip_lists,
    raw_text,
)
from loglake.formats.jsonshape import Field, Json, ListOf, MapOf, Str, Struct, records_table
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns, with_lake_schema

NAME = "cloudtrail"
TABLE = "cloudtrail_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "principal": "coalesce(useridentity.arn, useridentity.username, useridentity.principalid)",
    "ip": "sourceipaddress",
    "resource": "resources[1].arn",
    "account": "coalesce(recipientaccountid, useridentity.accountid, lake_account)",
    "event_id": "eventid",
}
# Names the AWS Athena docs use: the partition-projection table, and partition columns as lake expressions
ATHENA_TABLES = ("cloudtrail_logs_pp",)
ATHENA_COLUMNS = {
    "region": "lake_region",
    "year": "strftime(lake_date, '%Y')",
    "month": "strftime(lake_date, '%m')",
    "day": "strftime(lake_date, '%d')",
    "timestamp": "strftime(lake_date, '%Y/%m/%d')",
}
KEY_SERVICES = ("cloudtrail", "cloudtrail-digest")  # the AWSLogs/<account>/<service>/ folders it is delivered to

S = Str()
J = Json()

SESSION_ISSUER = Struct(
    "SessionIssuer",
    [
        Field("type", "type", S),
        Field("principalid", "principalId", S),
        Field("arn", "arn", S),
        Field("accountid", "accountId", S),
        Field("username", "userName", S),
    ],
)
SESSION_CONTEXT = Struct(
    "SessionContext",
    [
        Field(
            "attributes",
            "attributes",
            Struct(
                "SessionAttributes",
                [Field("mfaauthenticated", "mfaAuthenticated", S), Field("creationdate", "creationDate", S)],
            ),
        ),
        Field("sessionissuer", "sessionIssuer", SESSION_ISSUER),
        Field("ec2roledelivery", "ec2RoleDelivery", S),
        Field(
            "webidfederationdata",
            "webIdFederationData",
            Struct(
                "WebIdFederationData",
                [Field("federatedprovider", "federatedProvider", S), Field("attributes", "attributes", MapOf())],
            ),
        ),
        Field("sourceidentity", "sourceIdentity", S),
    ],
)
USER_IDENTITY = Struct(
    "UserIdentity",
    [
        Field("type", "type", S),
        Field("principalid", "principalId", S),
        Field("arn", "arn", S),
        Field("accountid", "accountId", S),
        Field("invokedby", "invokedBy", S),
        Field("accesskeyid", "accessKeyId", S),
        Field("username", "userName", S),
        Field(
            "onbehalfof",
            "onBehalfOf",
            Struct("OnBehalfOf", [Field("userid", "userId", S), Field("identitystorearn", "identityStoreArn", S)]),
        ),
        Field("sessioncontext", "sessionContext", SESSION_CONTEXT),
        Field("credentialid", "credentialId", S),
        Field("identityprovider", "identityProvider", S),
    ],
)
RESOURCE = Struct("Resource", [Field("arn", "ARN", S), Field("accountid", "accountId", S), Field("type", "type", S)])

EVENT = Struct(
    "CloudTrailEvent",
    [
        Field("eventversion", "eventVersion", S),
        Field("useridentity", "userIdentity", USER_IDENTITY),
        Field("eventtime", "eventTime", S),
        Field("eventsource", "eventSource", S),
        Field("eventname", "eventName", S),
        Field("awsregion", "awsRegion", S),
        Field("sourceipaddress", "sourceIPAddress", S),
        Field("useragent", "userAgent", S),
        Field("errorcode", "errorCode", S),
        Field("errormessage", "errorMessage", S),
        Field("requestparameters", "requestParameters", J),
        Field("responseelements", "responseElements", J),
        Field("additionaleventdata", "additionalEventData", J),
        Field("requestid", "requestID", S),
        Field("eventid", "eventID", S),
        Field("resources", "resources", ListOf(RESOURCE)),
        Field("eventtype", "eventType", S),
        Field("apiversion", "apiVersion", S),
        Field("readonly", "readOnly", S),
        Field("recipientaccountid", "recipientAccountId", S),
        Field("serviceeventdetails", "serviceEventDetails", J),
        Field("sharedeventid", "sharedEventID", S),
        Field("vpcendpointid", "vpcEndpointId", S),
        Field("vpcendpointaccountid", "vpcEndpointAccountId", S),
        Field("eventcategory", "eventCategory", S),
        Field(
            "addendum",
            "addendum",
            Struct(
                "Addendum",
                [
                    Field("reason", "reason", S),
                    Field("updatedfields", "updatedFields", S),
                    Field("originalrequestid", "originalRequestID", S),
                    Field("originaleventid", "originalEventID", S),
                ],
            ),
        ),
        Field("sessioncredentialfromconsole", "sessionCredentialFromConsole", S),
        Field("edgedevicedetails", "edgeDeviceDetails", J),
        Field(
            "tlsdetails",
            "tlsDetails",
            Struct(
                "TlsDetails",
                [
                    Field("tlsversion", "tlsVersion", S),
                    Field("ciphersuite", "cipherSuite", S),
                    Field("clientprovidedhostheader", "clientProvidedHostHeader", S),
                ],
            ),
        ),
        Field("managementevent", "managementEvent", S),
        Field("insightdetails", "insightDetails", J),
    ],
)
UNMAPPED = "unmapped"
SCHEMA = with_lake_schema(
    [*(pa.field(f.column, f.shape.arrow_type) for f in EVENT.fields), pa.field(UNMAPPED, pa.string())]
)

_EVENT_TYPE = EVENT.decoder_type()
_LogFile = msgspec.defstruct("CloudTrailLogFile", [("Records", list[_EVENT_TYPE | None] | None, None)])
_decode_log_file = msgspec.json.Decoder(_LogFile).decode
_decode_event_list = msgspec.json.Decoder(list[_EVENT_TYPE | None]).decode
_decode_event = msgspec.json.Decoder(_EVENT_TYPE).decode
_EVENT_KEYS = (b'"eventVersion"', b'"eventTime"', b'"eventName"', b'"eventSource"', b'"Records"')
_SPACE = " \t\n\f\r"  # what the regex below takes for `\s`
_DIGEST_KEYS = (b'"digestStartTime"', b'"digestPublicKeyFingerprint"', b'"logFiles"')


def sniff(head: bytes, key: str) -> bool:
    if first_byte(head) not in (b"{", b"["):
        return False
    return is_digest(head, key) or any(k in head for k in _EVENT_KEYS)


def is_digest(head: bytes, key: str) -> bool:
    return "CloudTrail-Digest" in key or sum(k in head for k in _DIGEST_KEYS) >= 2


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    if is_digest(data[:4096], obj.uri):
        return Parsed(TABLE, skipped="CloudTrail digest file")
    if not first_byte(data):
        return Parsed(TABLE)
    with gc_paused():
        events, unmapped, rows, rejects = _read_events(data)
    part = Part(obj, len(events), (events, unmapped, rows)) if events else None
    return Parsed(TABLE, part, rejects, to_arrow=to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    """One table for many objects' events: the per-call cost of building columns is paid once per batch."""
    data, rows = records_table(EVENT, parts, UNMAPPED)
    user = data.column("useridentity").combine_chunks()
    account = pc.coalesce(data.column("recipientaccountid").combine_chunks(), pc.struct_field(user, "accountid"))
    return append_lake_columns(
        data,
        schema=SCHEMA,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=_event_time(data.column("eventtime").combine_chunks()),
        account=account,
        region=data.column("awsregion").combine_chunks(),
        ips=_source_ips(data.column("sourceipaddress").combine_chunks()),
        rows=rows,
    )


def _read_events(data: bytes) -> tuple[list[Any], list[str | None], list[int], list[Reject]]:
    """Decode a whole object: events, their unmapped JSON, their positions, and rejects."""
    start = first_byte(data)
    try:
        if start == b"[":
            return _whole(_decode_event_list(data))
        if start == b"{":
            records = _decode_log_file(data).Records
            return _whole(records if records is not None else [_decode_event(data)])
    except msgspec.ValidationError:
        return _lenient_document(data)  # a key or a type the fast decoder does not know
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        if "trailing characters" not in str(error):
            return [], [], [], [Reject(0, f"invalid JSON: {error}", raw_text(data))]
        return _json_lines(data)
    raise FormatError("not CloudTrail JSON: the object starts with neither '{' nor '['")


def _whole(events: list[Any]) -> tuple[list[Any], list[str | None], list[int], list[Reject]]:
    if None not in events:  # the usual object: no per-record step
        return events, [None] * len(events), list(range(1, len(events) + 1)), []
    rows = [i for i, e in enumerate(events, 1) if e is not None]
    kept = [e for e in events if e is not None]
    rejects = [Reject(i, "record is null", "null") for i, e in enumerate(events, 1) if e is None]
    return kept, [None] * len(kept), rows, rejects


def _lenient_document(data: bytes) -> tuple[list[Any], list[str | None], list[int], list[Reject]]:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        return [], [], [], [Reject(0, f"invalid JSON: {error}", raw_text(data))]
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        records = document["Records"]
    elif isinstance(document, list):
        records = document
    else:
        records = [document]
    out: tuple[list[Any], list[str | None], list[int], list[Reject]] = ([], [], [], [])
    for index, record in enumerate(records, 1):
        _add_lenient(record, index, out)
    return out


def _json_lines(data: bytes) -> tuple[list[Any], list[str | None], list[int], list[Reject]]:
    out: tuple[list[Any], list[str | None], list[int], list[Reject]] = ([], [], [], [])
    events, unmapped, rows, rejects = out
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            events.append(_decode_event(line))
            unmapped.append(None)
            rows.append(number)
        except msgspec.ValidationError:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                rejects.append(Reject(number, f"invalid JSON: {error}", raw_text(line)))
                continue
            if isinstance(record, dict) and isinstance(record.get("Records"), list):
                for inner in record["Records"]:
                    _add_lenient(inner, number, out)
            else:
                _add_lenient(record, number, out)
        except (msgspec.DecodeError, UnicodeDecodeError) as error:  # msgspec raises the latter for bad UTF-8 keys
            rejects.append(Reject(number, f"invalid JSON: {error}", raw_text(line)))
    return out


def _add_lenient(record: Any, row: int, out: tuple[list[Any], list[str | None], list[int], list[Reject]]) -> None:
    events, unmapped, rows, rejects = out
    if not isinstance(record, dict):
        rejects.append(Reject(row, "record is not a JSON object", raw_text(orjson.dumps(record))))
        return
    event, rest = EVENT.convert(record)
    events.append(event)
    unmapped.append(orjson.dumps(rest).decode() if rest else None)
    rows.append(row)


def _event_time(text: pa.Array) -> pa.Array:
    """eventTime as a UTC timestamp; other ISO 8601 spellings are read too; NULL when there is none."""
    parsed = pc.strptime(text, format="%Y-%m-%dT%H:%M:%SZ", unit="us", error_is_null=True).cast(TIMESTAMP)
    if parsed.null_count > text.null_count:
        values = [value or _iso_time(raw) for raw, value in zip(text.to_pylist(), parsed.to_pylist(), strict=True)]
        parsed = pa.array(values, TIMESTAMP)
    return parsed


def _iso_time(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _source_ips(values: pa.Array) -> pa.ListArray:
    """sourceIPAddress holds an IP, a service name (`s3.amazonaws.com`) or sometimes two comma-separated IPs."""
    if not pc.any(pc.match_substring(values, ",")).as_py():  # the usual batch: no value needs splitting
        return ip_lists([pc.utf8_trim(values, _SPACE)])
    parts = pc.extract_regex(values, r"^\s*(?P<first>[^,]*?)\s*(?:,\s*(?P<second>.*?)\s*)?$")
    return ip_lists([pc.struct_field(parts, "first"), pc.struct_field(parts, "second")])
