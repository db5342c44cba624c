"""Classic Load Balancer access logs (space-separated, the request line and user agent quoted).

Columns are those of the AWS Athena `elb_logs` table (19 columns), with its splits: `client:port` into
`request_ip`/`request_port`, `backend:port` into `backend_ip`/`backend_port` (`-` when the request was not
dispatched: both NULL), the request line into `request_verb`, `url` and `protocol` (`"- - - "` of TCP and SSL
listeners: three NULLs). `-` is NULL; `-1` timings stay -1 as in Athena. The user agent is stored without its
quotes (Athena's regex keeps them). Any field after `ssl_protocol` is kept in `unmapped` as a JSON list.
"""

from __future__ import annotations

import re

import pyarrow as pa

from loglake.formats import spaced
from loglake.formats.base import ObjectInfo, Parsed, Part
from loglake.lake.columns import with_lake_schema

NAME = "elb"
TABLE = "elb_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "request_ip",
    "resource": "elb_name",
    "account": "lake_account",
}
KEY_SERVICES = ("elasticloadbalancing",)
SNIFF_ORDER = 45  # after the other load balancer formats: its lines start with the time, like connection logs

_S, _I, _B, _D = pa.string(), pa.int32(), pa.int64(), pa.float64()
COLUMNS: list[tuple[str, pa.DataType]] = [
    ("timestamp", _S),
    ("elb_name", _S),
    ("request_ip", _S),
    ("request_port", _I),
    ("backend_ip", _S),
    ("backend_port", _I),
    ("request_processing_time", _D),
    ("backend_processing_time", _D),
    ("client_response_time", _D),
    ("elb_response_code", _S),
    ("backend_response_code", _S),
    ("received_bytes", _B),
    ("sent_bytes", _B),
    ("request_verb", _S),
    ("url", _S),
    ("protocol", _S),
    ("user_agent", _S),
    ("ssl_cipher", _S),
    ("ssl_protocol", _S),
]
SCHEMA = with_lake_schema([*(pa.field(n, t) for n, t in COLUMNS), pa.field(spaced.UNMAPPED, _S)])

LAYOUT = spaced.Layout(
    fields=(
        "time",
        "elb",
        "client:port",
        "backend:port",
        "request_processing_time",
        "backend_processing_time",
        "response_processing_time",
        "elb_status_code",
        "backend_status_code",
        "received_bytes",
        "sent_bytes",
        "request",
        "user_agent",
        "ssl_cipher",
        "ssl_protocol",
    ),
    min_fields=12,  # up to the request line; user agent and TLS fields are later additions
)
_RAW_NAMES = {
    "timestamp": "time",
    "elb_name": "elb",
    "client_response_time": "response_processing_time",
    "elb_response_code": "elb_status_code",
    "backend_response_code": "backend_status_code",
}
_SNIFF = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \S+ \S+:\d+ \S+ -?[.\d]+ ")


def sniff(head: bytes, key: str) -> bool:
    return bool(_SNIFF.match(head.lstrip()))


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    check = spaced.Checked(spaced.split(data, LAYOUT))
    done: dict[str, pa.Array] = {}
    done["request_ip"], done["request_port"] = check.host_port("client:port")
    done["backend_ip"], done["backend_port"] = check.host_port("backend:port")
    done["request_verb"], done["url"], done["protocol"] = check.request("request")
    columns = check.columns(COLUMNS, _RAW_NAMES, done)
    check.require("time", columns["timestamp"])
    check.require("client:port", columns["request_ip"])
    time = check.iso_time("time")
    return spaced.parsed(TABLE, obj, *check.finish(columns, time), to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    return spaced.to_lake(parts, SCHEMA, ip_columns=("request_ip", "backend_ip"))
