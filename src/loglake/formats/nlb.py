"""Network Load Balancer access logs (TLS listeners; space-separated, nothing quoted).

Columns are those of the live AWS Athena `nlb_tls_logs` table (24 columns, `tls_connection_creation_time`
last), with its splits of `client:port` and `destination:port` (Athena calls the latter `target_ip`/
`target_port`). `-` is NULL. `time` has no zone: it is UTC. `alpn_client_preference_list` keeps its own
quotes (`"h2","http/1.1"`), as in Athena. Fields AWS appends later are kept in `unmapped` as a JSON list.
"""

from __future__ import annotations

import re

import pyarrow as pa

from loglake.formats import spaced
from loglake.formats.base import ObjectInfo, Parsed, Part
from loglake.lake.columns import with_lake_schema

NAME = "nlb"
TABLE = "nlb_tls_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "client_ip",
    "resource": "elb",
    "account": "lake_account",
}
KEY_SERVICES = ("elasticloadbalancing",)
SNIFF_ORDER = 40

_S, _I, _B, _D = pa.string(), pa.int32(), pa.int64(), pa.float64()
COLUMNS: list[tuple[str, pa.DataType]] = [
    ("type", _S),
    ("version", _S),
    ("time", _S),
    ("elb", _S),
    ("listener_id", _S),
    ("client_ip", _S),
    ("client_port", _I),
    ("target_ip", _S),
    ("target_port", _I),
    ("tcp_connection_time_ms", _D),
    ("tls_handshake_time_ms", _D),
    ("received_bytes", _B),
    ("sent_bytes", _B),
    ("incoming_tls_alert", _I),
    ("cert_arn", _S),
    ("certificate_serial", _S),
    ("tls_cipher_suite", _S),
    ("tls_protocol_version", _S),
    ("tls_named_group", _S),
    ("domain_name", _S),
    ("alpn_fe_protocol", _S),
    ("alpn_be_protocol", _S),
    ("alpn_client_preference_list", _S),
    ("tls_connection_creation_time", _S),
]
SCHEMA = with_lake_schema([*(pa.field(n, t) for n, t in COLUMNS), pa.field(spaced.UNMAPPED, _S)])

LAYOUT = spaced.Layout(
    fields=(
        "type",
        "version",
        "time",
        "elb",
        "listener",
        "client:port",
        "destination:port",
        "connection_time",
        "tls_handshake_time",
        "received_bytes",
        "sent_bytes",
        "incoming_tls_alert",
        "chosen_cert_arn",
        "chosen_cert_serial",
        "tls_cipher",
        "tls_protocol_version",
        "tls_named_group",
        "domain_name",
        "alpn_fe_protocol",
        "alpn_be_protocol",
        "alpn_client_preference_list",
        "tls_connection_creation_time",
    ),
    min_fields=18,  # the 2019 layout ended at domain_name; the ALPN fields and the creation time came later
    quoted=False,
)
_RAW_NAMES = {
    "listener_id": "listener",
    "tcp_connection_time_ms": "connection_time",
    "tls_handshake_time_ms": "tls_handshake_time",
    "cert_arn": "chosen_cert_arn",
    "certificate_serial": "chosen_cert_serial",
    "tls_cipher_suite": "tls_cipher",
}
_SNIFF = re.compile(rb"tls \d+\.\d+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* \S+ \S+ \S+:\d+ ")


def sniff(head: bytes, key: str) -> bool:
    return bool(_SNIFF.match(head.lstrip()))


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    check = spaced.Checked(spaced.split(data, LAYOUT))
    done: dict[str, pa.Array] = {}
    done["client_ip"], done["client_port"] = check.host_port("client:port")
    done["target_ip"], done["target_port"] = check.host_port("destination:port")
    columns = check.columns(COLUMNS, _RAW_NAMES, done)
    check.require("type", columns["type"])
    check.require("time", columns["time"])
    check.require("client:port", columns["client_ip"])
    time = check.iso_time("time")
    return spaced.parsed(TABLE, obj, *check.finish(columns, time), to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    return spaced.to_lake(parts, SCHEMA, ip_columns=("client_ip", "target_ip"), where=_where)


def _where(rows: pa.Table) -> tuple[pa.Array, pa.Array]:
    """Region and account from the certificate ARN."""
    return spaced.arn_parts(rows.column("cert_arn"))
