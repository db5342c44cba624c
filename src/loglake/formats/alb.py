"""Application Load Balancer access logs (space-separated, quoted fields, one request per line).

Columns are those of the live AWS Athena `alb_access_logs` table (34 columns, `conn_trace_id` last), with the
Athena splits: `client:port` and `target:port` into ip and port at the last colon, the quoted request line
into `request_verb`, `request_url` (may hold spaces) and `request_proto`. `-` is NULL; `-1` timings (request
not dispatched) stay -1 as in Athena. Lines of older layouts (from 20 fields) are kept with the later columns
NULL; fields AWS appends after `conn_trace_id` (today `transformed_host`, `transformed_uri`,
`request_transform_status` and the node's IP) are kept, not rejected, as a JSON list of their values in
`unmapped`. A line whose fields are shifted (a quote lost) is rejected when `matched_rule_priority` is not a
number or `request_creation_time` not a time. The Athena docs' view name `alb_logs` is registered in `VIEWS`.
"""

from __future__ import annotations

import re

import pyarrow as pa

from loglake.formats import spaced
from loglake.formats.base import ObjectInfo, Parsed, Part
from loglake.lake.columns import with_lake_schema

NAME = "alb"
TABLE = "alb_access_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "client_ip",
    "resource": "elb",
    "account": "lake_account",
    "event_id": "trace_id",
}
KEY_SERVICES = ("elasticloadbalancing",)
SNIFF_ORDER = 40
VIEWS = {"alb_logs": "SELECT * FROM alb_access_logs"}
ATHENA_COLUMNS = {"day": "strftime(lake_date, '%Y/%m/%d')"}  # the docs' partition projection (`day = '2022/02/12'`)

_S, _I, _B, _D = pa.string(), pa.int32(), pa.int64(), pa.float64()
COLUMNS: list[tuple[str, pa.DataType]] = [
    ("type", _S),
    ("time", _S),
    ("elb", _S),
    ("client_ip", _S),
    ("client_port", _I),
    ("target_ip", _S),
    ("target_port", _I),
    ("request_processing_time", _D),
    ("target_processing_time", _D),
    ("response_processing_time", _D),
    ("elb_status_code", _I),
    ("target_status_code", _S),
    ("received_bytes", _B),
    ("sent_bytes", _B),
    ("request_verb", _S),
    ("request_url", _S),
    ("request_proto", _S),
    ("user_agent", _S),
    ("ssl_cipher", _S),
    ("ssl_protocol", _S),
    ("target_group_arn", _S),
    ("trace_id", _S),
    ("domain_name", _S),
    ("chosen_cert_arn", _S),
    ("matched_rule_priority", _S),
    ("request_creation_time", _S),
    ("actions_executed", _S),
    ("redirect_url", _S),
    ("lambda_error_reason", _S),
    ("target_port_list", _S),
    ("target_status_code_list", _S),
    ("classification", _S),
    ("classification_reason", _S),
    ("conn_trace_id", _S),
]
SCHEMA = with_lake_schema([*(pa.field(n, t) for n, t in COLUMNS), pa.field(spaced.UNMAPPED, _S)])

# The raw fields in line order (the AWS field names; `client:port`, `target:port` and `request` are split).
LAYOUT = spaced.Layout(
    fields=(
        "type",
        "time",
        "elb",
        "client:port",
        "target:port",
        "request_processing_time",
        "target_processing_time",
        "response_processing_time",
        "elb_status_code",
        "target_status_code",
        "received_bytes",
        "sent_bytes",
        "request",
        "user_agent",
        "ssl_cipher",
        "ssl_protocol",
        "target_group_arn",
        "trace_id",
        "domain_name",
        "chosen_cert_arn",
        "matched_rule_priority",
        "request_creation_time",
        "actions_executed",
        "redirect_url",
        "error_reason",
        "target:port_list",
        "target_status_code_list",
        "classification",
        "classification_reason",
        "conn_trace_id",
    ),
    min_fields=20,  # the 2018 layout ended at chosen_cert_arn; every later field was appended
)
_RAW_NAMES = {"lambda_error_reason": "error_reason", "target_port_list": "target:port_list"}
_SNIFF = re.compile(rb"[a-z0-9]+ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z \S+ \S+:\d+ \S+ -?[.\d]+ ")


def sniff(head: bytes, key: str) -> bool:
    return bool(_SNIFF.match(head.lstrip()))


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    check = spaced.Checked(spaced.split(data, LAYOUT))
    done: dict[str, pa.Array] = {}
    done["client_ip"], done["client_port"] = check.host_port("client:port")
    done["target_ip"], done["target_port"] = check.host_port("target:port")
    done["request_verb"], done["request_url"], done["request_proto"] = check.request("request")
    columns = check.columns(COLUMNS, _RAW_NAMES, done)
    check.require("type", columns["type"])
    check.require("client:port", columns["client_ip"])
    check.require("time", columns["time"])
    check.matches("matched_rule_priority", spaced.INTEGER, "a rule priority")
    check.matches("request_creation_time", spaced.ISO_TIME, "an ISO 8601 time")
    time = check.iso_time("time")
    return spaced.parsed(TABLE, obj, *check.finish(columns, time), to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    return spaced.to_lake(parts, SCHEMA, ip_columns=("client_ip", "target_ip"), where=_where)


def _where(rows: pa.Table) -> tuple[pa.Array, pa.Array]:
    """Region and account from the target group ARN, else from the certificate ARN."""
    return spaced.arn_parts(rows.column("target_group_arn"), rows.column("chosen_cert_arn"))
