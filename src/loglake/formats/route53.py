"""Amazon Route 53 Resolver query logs: one JSON object per line (S3, CloudWatch Logs or Firehose delivery).

Columns are those of the live AWS Athena `r53_rlogs` DDL (17 columns, the three DNS Firewall fields included):
`answers` is `array<struct<Rdata,Type,Class>>` with the JSON key case kept, as the DDL writes it, `srcport` an
int (the logs write it as a JSON string; OpenX's SerDe casts it, so does loglake), `query_timestamp` the ISO 8601
text. Any key the DDL does not name (`srcids.resolver_network_interface`, later fields) is kept in `unmapped`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from loglake.formats.base import ObjectInfo, Parsed, Part, first_byte, gc_paused, ip_lists_by_row
from loglake.formats.jsonshape import (
    Field,
    Int,
    ListOf,
    Str,
    Struct,
    read_json_lines,
    records_table,
    treat_null_as_absent,
)
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns, with_lake_schema

NAME = "route53"
TABLE = "r53_rlogs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "srcaddr",
    "resource": "query_name",
    "account": "coalesce(account_id, lake_account)",
}
# Partition columns of the AWS Athena docs' projection table, as lake expressions
ATHENA_COLUMNS = {"date": "strftime(lake_date, '%Y/%m/%d')", "vpc": "vpc_id"}
KEY_SERVICES = ("vpcdnsquerylogs",)  # AWSLogs/<account>/vpcdnsquerylogs/<vpc-id>/YYYY/MM/DD/
SNIFF_ORDER = 50  # before the general JSON formats: a query log record is recognised by its own keys

S = Str()
RECORD = Struct(
    "ResolverQuery",
    [
        Field("version", "version", S),
        Field("account_id", "account_id", S),
        Field("region", "region", S),
        Field("vpc_id", "vpc_id", S),
        Field("query_timestamp", "query_timestamp", S),
        Field("query_name", "query_name", S),
        Field("query_type", "query_type", S),
        Field("query_class", "query_class", S),
        Field("rcode", "rcode", S),
        Field(
            "answers",
            "answers",
            ListOf(
                Struct(
                    "ResolverAnswer", [Field("Rdata", "Rdata", S), Field("Type", "Type", S), Field("Class", "Class", S)]
                )
            ),
        ),
        Field("srcaddr", "srcaddr", S),
        Field("srcport", "srcport", Int(pa.int32())),
        Field("transport", "transport", S),
        Field(
            "srcids",
            "srcids",
            Struct(
                "ResolverSourceIds",
                [Field("instance", "instance", S), Field("resolver_endpoint", "resolver_endpoint", S)],
            ),
        ),
        Field("firewall_rule_action", "firewall_rule_action", S),
        Field("firewall_rule_group_id", "firewall_rule_group_id", S),
        Field("firewall_domain_list_id", "firewall_domain_list_id", S),
    ],
)
treat_null_as_absent(RECORD)  # a key outside the DDL whose value is null holds nothing to keep in `unmapped`
UNMAPPED = "unmapped"
SCHEMA = with_lake_schema(
    [*(pa.field(f.column, f.shape.arrow_type) for f in RECORD.fields), pa.field(UNMAPPED, pa.string())]
)
_SNIFF_KEYS = (b'"query_name"', b'"query_timestamp"')
_ADDRESS_TYPES = ("A", "AAAA")


def sniff(head: bytes, key: str) -> bool:
    if first_byte(head) != b"{":
        return False
    line = head.lstrip().split(b"\n", 1)[0]
    return all(k in line for k in _SNIFF_KEYS) and (b'"srcaddr"' in line or b'"vpc_id"' in line)


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    with gc_paused():
        read = read_json_lines(RECORD, data)
    part = Part(obj, len(read.records), (read.records, read.unmapped, read.rows)) if read.records else None
    return Parsed(TABLE, part, read.rejects, to_arrow=to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    data, rows = records_table(RECORD, parts, UNMAPPED)
    return append_lake_columns(
        data,
        schema=SCHEMA,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=query_time(data.column("query_timestamp").combine_chunks()),
        account=data.column("account_id").combine_chunks(),
        region=data.column("region").combine_chunks(),
        ips=_query_ips(data.column("srcaddr").combine_chunks(), data.column("answers").combine_chunks()),
        rows=rows,
    )


def query_time(text: pa.Array) -> pa.Array:
    """`query_timestamp` (ISO 8601 UTC, with or without a fraction) as a UTC time; NULL when it is not one."""
    try:
        return pc.cast(text, TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_iso_time(v) for v in text.to_pylist()], TIMESTAMP)


def _iso_time(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def _query_ips(source: pa.Array, answers: pa.ListArray) -> pa.ListArray:
    """The querying address, then the addresses the answers returned (A and AAAA records)."""
    n = len(source)
    flat = pc.list_flatten(answers)
    owners = pc.list_parent_indices(answers).cast(pa.int64())
    address = pc.fill_null(pc.is_in(pc.utf8_upper(pc.struct_field(flat, "Type")), pa.array(_ADDRESS_TYPES)), False)
    rows = pa.concat_arrays([pa.array(np.arange(n, dtype=np.int64)), owners.filter(address)])
    values = pa.concat_arrays([source, pc.struct_field(flat, "Rdata").filter(address)])
    return ip_lists_by_row(n, rows, values)
