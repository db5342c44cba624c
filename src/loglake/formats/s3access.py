"""Amazon S3 server access logs (space-separated; `[time]` bracketed; request, referrer and user agent quoted).

Columns are those of the current AWS Athena table (27 columns, `sourceregion` last). `requestdatetime` holds
the time without its brackets (`06/Feb/2019:00:00:38 +0000`), as Athena's regex captures it. `-` is NULL
(so anonymous requests have a NULL `requester`, which the Athena docs' query `requester IS NULL` expects);
quoted fields are stored without their quotes (Athena keeps them). Lines of older layouts (from 17 fields) are
kept with the later columns NULL; fields AWS appends later go to `unmapped` as a JSON list.

S3 delivers these logs to a prefix of the owner's choosing, not to an AWSLogs/<account>/<service>/ folder:
they are recognised by their content. The bucket's region comes from the endpoint (host header) or the
access point ARN, the account from the access point ARN; otherwise from the key layout.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from loglake.formats import spaced
from loglake.formats.base import ObjectInfo, Parsed, Part
from loglake.lake.columns import with_lake_schema

NAME = "s3access"
TABLE = "s3_access_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "principal": "requester",
    "ip": "remoteip",
    "resource": "bucket_name",
    "account": "lake_account",
    "event_id": "requestid",
}
KEY_SERVICES: tuple[str, ...] = ()
SNIFF_ORDER = 50
# the docs' table (and, a defect of their PUT/GET/ACL queries, their database name used as a table)
ATHENA_TABLES = ("s3_access_logs_db.mybucket_logs", "s3_access_logs_db")
ATHENA_COLUMNS = {"timestamp": "strftime(lake_date, '%Y/%m/%d')"}  # the date-based partition projection key

_S, _B = pa.string(), pa.int64()
COLUMNS: list[tuple[str, pa.DataType]] = [
    ("bucketowner", _S),
    ("bucket_name", _S),
    ("requestdatetime", _S),
    ("remoteip", _S),
    ("requester", _S),
    ("requestid", _S),
    ("operation", _S),
    ("key", _S),
    ("request_uri", _S),
    ("httpstatus", _S),
    ("errorcode", _S),
    ("bytessent", _B),
    ("objectsize", _B),
    ("totaltime", _S),
    ("turnaroundtime", _S),
    ("referrer", _S),
    ("useragent", _S),
    ("versionid", _S),
    ("hostid", _S),
    ("sigv", _S),
    ("ciphersuite", _S),
    ("authtype", _S),
    ("endpoint", _S),
    ("tlsversion", _S),
    ("accesspointarn", _S),
    ("aclrequired", _S),
    ("sourceregion", _S),
]
SCHEMA = with_lake_schema([*(pa.field(n, t) for n, t in COLUMNS), pa.field(spaced.UNMAPPED, _S)])

LAYOUT = spaced.Layout(
    fields=tuple(name for name, _ in COLUMNS),
    min_fields=17,  # up to the user agent; version id and the fields from host id on were appended later
    bracketed=2,  # [time]
)
_SNIFF = re.compile(rb"\S+ \S+ \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] \S+ \S+ \S+ [A-Z0-9_.]+ ")
_ENDPOINT_REGION = r"[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$"


def sniff(head: bytes, key: str) -> bool:
    return bool(_SNIFF.match(head.lstrip()))


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    check = spaced.Checked(spaced.split(data, LAYOUT))
    columns = check.columns(COLUMNS, {}, {})
    check.require("requestdatetime", columns["requestdatetime"])
    check.matches("httpstatus", spaced.INTEGER, "an HTTP status")
    check.matches("sigv", r"^SigV[0-9A-Za-z]+$", "a signature version")  # a field lost a quote: shifted
    time = check.clf_time("requestdatetime")
    return spaced.parsed(TABLE, obj, *check.finish(columns, time), to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    return spaced.to_lake(parts, SCHEMA, ip_columns=("remoteip",), where=_where)


def _where(rows: pa.Table) -> tuple[pa.Array, pa.Array]:
    """The bucket's region from the endpoint (host header), else the access point ARN; the account from that ARN."""
    arn_region, account = spaced.arn_parts(rows.column("accesspointarn"))
    endpoint = spaced.whole(pc.dictionary_encode(rows.column("endpoint")))  # few distinct endpoints
    region = pc.struct_field(pc.extract_regex(endpoint.dictionary, _ENDPOINT_REGION), "region")
    return pc.coalesce(region.take(endpoint.indices), arn_region), account
