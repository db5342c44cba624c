"""Application Load Balancer connection logs (one TLS connection per line; the client certificate subject quoted).

Columns are those of the AWS Athena `alb_connection_logs` table (12 columns). Unlike access logs the client
ip and port are separate fields. `-` is NULL. Fields after `conn_trace_id` (`tls_keyexchange`, `elb`,
`ip_address` in today's format) are kept in `unmapped` as a JSON list.
"""

from __future__ import annotations

import re

import pyarrow as pa

from loglake.formats import spaced
from loglake.formats.base import ObjectInfo, Parsed, Part
from loglake.lake.columns import with_lake_schema

NAME = "alb_connection"
TABLE = "alb_connection_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "client_ip",
    "account": "lake_account",
    "event_id": "conn_trace_id",
}
KEY_SERVICES = ("elasticloadbalancing",)
SNIFF_ORDER = 40
ATHENA_COLUMNS = {"day": "strftime(lake_date, '%Y/%m/%d')"}  # the partition projection variant's key

_S, _I, _D = pa.string(), pa.int32(), pa.float64()
COLUMNS: list[tuple[str, pa.DataType]] = [
    ("time", _S),
    ("client_ip", _S),
    ("client_port", _I),
    ("listener_port", _I),
    ("tls_protocol", _S),
    ("tls_cipher", _S),
    ("tls_handshake_latency", _D),
    ("leaf_client_cert_subject", _S),
    ("leaf_client_cert_validity", _S),
    ("leaf_client_cert_serial_number", _S),
    ("tls_verify_status", _S),
    ("conn_trace_id", _S),
]
SCHEMA = with_lake_schema([*(pa.field(n, t) for n, t in COLUMNS), pa.field(spaced.UNMAPPED, _S)])

LAYOUT = spaced.Layout(fields=tuple(name for name, _ in COLUMNS), min_fields=11)  # conn_trace_id came later
_SNIFF = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \S+ \d+ \d+ \S+ \S+ (?:-|[.\d]+) \"")


def sniff(head: bytes, key: str) -> bool:
    return bool(_SNIFF.match(head.lstrip()))


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    check = spaced.Checked(spaced.split(data, LAYOUT))
    columns = check.columns(COLUMNS, {}, {})
    check.require("time", columns["time"])
    check.require("client_ip", columns["client_ip"])
    time = check.iso_time("time")
    return spaced.parsed(TABLE, obj, *check.finish(columns, time), to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    return spaced.to_lake(parts, SCHEMA, ip_columns=("client_ip",))
