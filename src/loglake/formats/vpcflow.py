"""Amazon VPC Flow Logs in the text format: the default v2 layout and any custom field order (versions 2-10).

The field order comes from each file's header line; header lines repeated inside a file (concatenated
deliveries) start a new segment with its own order. `-` is NULL. NODATA/SKIPDATA records are kept. Columns
are those of the AWS Athena `vpc_flow_logs` table (field names with `-` replaced by `_`), then the later
ECS/reject-reason fields; a header field loglake does not know is kept in `unmapped` as JSON.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from loglake.formats.base import ObjectInfo, Parsed, Part, Reject, first_byte, ip_lists, raw_text
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns, with_lake_schema

NAME = "vpcflow"
TABLE = "vpc_flow_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "srcaddr",
    "resource": "coalesce(instance_id, interface_id)",
    "account": "coalesce(account_id, lake_account)",
}
# Names the AWS Athena docs use: their table names, and partition columns as lake expressions
ATHENA_TABLES = ("test_table_vpclogs", "test_table_vpclogs_parquet", "vpc_flow_logs_parquet")
ATHENA_COLUMNS = {
    "date": "lake_date",
    "day": "strftime(lake_date, '%Y/%m/%d')",
    "hour": "strftime(lake_time, '%H')",
}
KEY_SERVICES = ("vpcflowlogs",)  # the AWSLogs/<account>/<service>/ folders it is delivered to

_INT, _BIG, _STR = pa.int32(), pa.int64(), pa.string()
# (field name in the log format, Athena type), in the order of the AWS table and then of the field table
FIELDS: list[tuple[str, pa.DataType]] = [
    ("version", _INT),
    ("account-id", _STR),
    ("interface-id", _STR),
    ("srcaddr", _STR),
    ("dstaddr", _STR),
    ("srcport", _INT),
    ("dstport", _INT),
    ("protocol", _BIG),
    ("packets", _BIG),
    ("bytes", _BIG),
    ("start", _BIG),
    ("end", _BIG),
    ("action", _STR),
    ("log-status", _STR),
    ("vpc-id", _STR),
    ("subnet-id", _STR),
    ("instance-id", _STR),
    ("tcp-flags", _INT),
    ("type", _STR),
    ("pkt-srcaddr", _STR),
    ("pkt-dstaddr", _STR),
    ("region", _STR),
    ("az-id", _STR),
    ("sublocation-type", _STR),
    ("sublocation-id", _STR),
    ("pkt-src-aws-service", _STR),
    ("pkt-dst-aws-service", _STR),
    ("flow-direction", _STR),
    ("traffic-path", _INT),
    ("ecs-cluster-arn", _STR),
    ("ecs-cluster-name", _STR),
    ("ecs-container-instance-arn", _STR),
    ("ecs-container-instance-id", _STR),
    ("ecs-container-id", _STR),
    ("ecs-second-container-id", _STR),
    ("ecs-service-name", _STR),
    ("ecs-task-definition-arn", _STR),
    ("ecs-task-arn", _STR),
    ("ecs-task-id", _STR),
    ("reject-reason", _STR),
    ("resource-id", _STR),
    ("encryption-status", _INT),
]
FIELD_TYPES = dict(FIELDS)
DEFAULT_FORMAT = [name for name, _ in FIELDS[:14]]
UNMAPPED = "unmapped"


def column_name(field: str) -> str:
    """The Athena column of a flow log field: `-` becomes `_`."""
    return field.replace("-", "_")


SCHEMA = with_lake_schema(
    [*(pa.field(column_name(name), kind) for name, kind in FIELDS), pa.field(UNMAPPED, pa.string())]
)
_NUMERIC = re.compile(r"^-?\d{1,19}$")
_LIMITS = {_INT: float(2**31 - 1), _BIG: 9.2e18}  # compared as float64: just under each type's maximum
# A header line holds only field-name tokens (lower-case words joined by '-'). The search starts with a
# literal newline so the regex engine jumps from line to line instead of trying every byte.
_TOKEN = rb"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_HEADER_LINE = re.compile(_TOKEN + rb"(?: " + _TOKEN + rb")*\r?$")
_LATER_HEADER_LINE = re.compile(rb"\n(" + _TOKEN + rb"(?: " + _TOKEN + rb")*)\r?(?=\n|\Z)")


@dataclass(frozen=True)
class Segment:
    fields: list[str]
    start: int  # byte offset of the first data line
    end: int
    first_line: int  # physical line number of the first data line


def sniff(head: bytes, key: str) -> bool:
    first = head.split(b"\n", 1)[0].strip()
    if _is_header(first):
        return True
    tokens = first.split(b" ")
    return len(tokens) == 14 and tokens[0].isdigit() and tokens[2].startswith(b"eni-")


def _is_header(line: bytes) -> bool:
    line = line.strip()
    return bool(_HEADER_LINE.match(line)) and line.split(b" ", 1)[0].decode() in FIELD_TYPES


def parse(data: bytes, obj: ObjectInfo, *, default_fields: list[str] | None = None) -> Parsed:
    rejects: list[Reject] = []
    tables = []
    for segment in _segments(data, default_fields):
        table, segment_rejects = _parse_segment(data, segment)
        rejects.extend(segment_rejects)
        if table.num_rows:
            tables.append(table)
    if not tables:
        return Parsed(TABLE, None, rejects)
    rows = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return Parsed(TABLE, Part(obj, rows.num_rows, rows), rejects, to_arrow=to_arrow)


def _segments(data: bytes, default_fields: list[str] | None) -> list[Segment]:
    """Cut the object at its header lines; each piece is read with the field order its header names."""
    headers = _header_lines(data)
    segments: list[Segment] = []
    first_header = headers[0][0] if headers else len(data)
    if first_byte(data[:first_header]):  # lines before any header: only the default layout can be assumed
        segments.append(Segment(default_fields or DEFAULT_FORMAT, 0, first_header, 1))
    for i, (start, end, fields) in enumerate(headers):
        segment_end = headers[i + 1][0] if i + 1 < len(headers) else len(data)
        line_no = data.count(b"\n", 0, start) + 1
        segments.append(Segment(fields, min(end + 1, segment_end), segment_end, line_no + 1))
    return segments


def _header_lines(data: bytes) -> list[tuple[int, int, list[str]]]:
    """(start, end, fields) of every header line: the first line, and any later line of field names only."""
    found = []
    first_end = data.find(b"\n")
    first_end = len(data) if first_end < 0 else first_end
    if _is_header(data[:first_end]):
        found.append((0, first_end, data[:first_end].decode().split()))
    for match in _LATER_HEADER_LINE.finditer(data, first_end):
        if _is_header(match.group(1)):
            found.append((match.start(1), match.end(), match.group(1).decode().split()))
    return found


def _parse_segment(data: bytes, segment: Segment) -> tuple[pa.Table, list[Reject]]:
    body = pa.py_buffer(data)[segment.start : segment.end]  # a view: no copy of the object
    width = len(segment.fields)
    invalid: list[tuple[int, str, str]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        reason = f"expected {width} space-separated fields, found {row.actual_columns}"
        invalid.append((row.number or 0, reason, row.text))
        return "skip"

    names = [f"c{i}" for i in range(width)]  # positional: a header may name an unknown field
    types = {n: FIELD_TYPES.get(f, _STR) for n, f in zip(names, segment.fields, strict=True)}
    try:
        table = _read(body, names, types, on_invalid_row)
        bad = np.zeros(table.num_rows, dtype=bool)
    except pa.ArrowInvalid:  # a non-number where a number must be: read as text, reject those rows only
        invalid.clear()
        try:
            table = _read(body, names, dict.fromkeys(names, _STR), on_invalid_row)
        except pa.ArrowInvalid:  # bytes that are not UTF-8: reject those lines, read the others
            return _without_invalid_utf8(data, segment)
        bad = _non_numeric_rows(table, types)
    lines = _physical_lines(data, segment, table.num_rows + len(invalid))
    rejects = [Reject(_line_of(lines, n), reason, raw_text(text)) for n, reason, text in invalid]
    kept = _kept_line_numbers(lines, [n for n, _, _ in invalid])
    if bad.any():
        for line, values in zip(kept[bad], table.filter(pa.array(bad)).to_pylist(), strict=True):
            text = " ".join("-" if v is None else v for v in values.values())
            rejects.append(Reject(int(line), _bad_value_reason(values, segment.fields, types), raw_text(text)))
        table = table.filter(pa.array(~bad))
        table = pa.table({n: table.column(n).cast(types[n]) for n in names})
        kept = kept[~bad]
    columns = _to_columns(table, segment.fields)
    return columns.append_column("__row", pa.array(kept, pa.int64())), rejects


def _without_invalid_utf8(data: bytes, segment: Segment) -> tuple[pa.Table, list[Reject]]:
    """Blank out the lines that are not UTF-8 (rejecting them) and parse the rest; line numbers stay true."""
    lines = data[segment.start : segment.end].split(b"\n")
    rejects = []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            rejects.append(Reject(segment.first_line + i, "line is not valid UTF-8", raw_text(line)))
            lines[i] = b""
    clean = b"\n".join(lines)
    table, more = _parse_segment(clean, Segment(segment.fields, 0, len(clean), segment.first_line))
    return table, sorted([*rejects, *more], key=lambda r: r.row)


def _read(body: pa.Buffer, names: list[str], types: dict[str, pa.DataType], on_invalid_row) -> pa.Table:
    return pacsv.read_csv(
        pa.BufferReader(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=" ", quote_char=False, invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(column_types=types, null_values=["-"], strings_can_be_null=True),
    )


def _non_numeric_rows(table: pa.Table, types: dict[str, pa.DataType]) -> np.ndarray:
    """Rows with a value that is not a number, or too large for its column's type."""
    bad = np.zeros(table.num_rows, dtype=bool)
    for name, kind in types.items():
        if kind != _STR:
            column = table.column(name)
            ok = pc.fill_null(pc.match_substring_regex(column, _NUMERIC.pattern), True).to_numpy(zero_copy_only=False)
            numbers = pc.cast(pc.if_else(pa.array(ok), column, pa.scalar(None, _STR)), pa.float64())
            ok &= pc.fill_null(pc.less_equal(pc.abs(numbers), _LIMITS[kind]), True).to_numpy(zero_copy_only=False)
            bad |= ~ok
    return bad


def _bad_value_reason(values: dict[str, str | None], fields: list[str], types: dict[str, pa.DataType]) -> str:
    for (name, value), field in zip(values.items(), fields, strict=True):
        if types[name] == _STR or value is None:
            continue
        if not _NUMERIC.match(value):
            return f"field {field!r} must be a number or '-', found {value[:40]!r}"
        if abs(float(value)) > _LIMITS[types[name]]:
            return f"field {field!r} is out of range for {types[name]}: {value[:40]}"
    return "invalid value"


def _physical_lines(data: bytes, segment: Segment, rows_seen: int) -> np.ndarray:
    """Physical line numbers of the rows pyarrow saw (it numbers rows without counting blank lines)."""
    start, end = segment.start, segment.end
    count = data.count(b"\n", start, end) + (1 if end > start and data[end - 1 : end] != b"\n" else 0)
    if count == rows_seen:  # no blank line: row i is line first_line + i
        return np.arange(segment.first_line, segment.first_line + count, dtype=np.int64)
    lines = data[start:end].split(b"\n")
    return np.array([segment.first_line + i for i, line in enumerate(lines) if line.strip()], dtype=np.int64)


def _line_of(lines: np.ndarray, number: int) -> int:
    return int(lines[number - 1]) if 0 < number <= len(lines) else 0


def _kept_line_numbers(lines: np.ndarray, invalid_numbers: list[int]) -> np.ndarray:
    if not invalid_numbers:
        return lines
    keep = np.ones(len(lines), dtype=bool)
    keep[[n - 1 for n in invalid_numbers if 0 < n <= len(lines)]] = False
    return lines[keep]


def _to_columns(table: pa.Table, fields: list[str]) -> pa.Table:
    """Positional columns -> the table's named columns; unknown header fields go to `unmapped` as JSON."""
    n = table.num_rows
    present: dict[str, pa.Array] = {}
    unknown: dict[str, pa.ChunkedArray] = {}
    for column, field in zip(table.columns, fields, strict=True):
        if field in FIELD_TYPES and column_name(field) not in present:
            present[column_name(field)] = column
        else:
            unknown[field] = column
    out = {}
    for name, kind in FIELDS:
        col = column_name(name)
        out[col] = present[col] if col in present else pa.nulls(n, kind)
    out[UNMAPPED] = _unmapped_json(unknown, n)
    return pa.table(out)


def _unmapped_json(unknown: dict[str, pa.ChunkedArray], n: int) -> pa.Array:
    if not unknown:
        return pa.nulls(n, _STR)
    values = {k: v.to_pylist() for k, v in unknown.items()}
    rows = [{k: v[i] for k, v in values.items() if v[i] is not None} for i in range(n)]
    return pa.array([orjson.dumps(r).decode() if r else None for r in rows], _STR)


def to_arrow(parts: list[Part]) -> pa.Table:
    """Many objects' flow records as one table with the lake columns."""
    rows = pa.concat_tables([p.data for p in parts]) if len(parts) > 1 else parts[0].data
    account = rows.column("account_id").combine_chunks()
    account = pc.if_else(pc.equal(account, "unknown"), pa.scalar(None, _STR), account)
    ips = ip_lists([rows.column(c).combine_chunks() for c in ("srcaddr", "dstaddr", "pkt_srcaddr", "pkt_dstaddr")])
    return append_lake_columns(
        rows.drop_columns(["__row"]),
        schema=SCHEMA,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=_flow_time(rows),
        account=account,
        region=rows.column("region").combine_chunks(),
        ips=ips,
        rows=rows.column("__row").combine_chunks(),
    )


def _flow_time(rows: pa.Table) -> pa.Array:
    """The start of the capture window, or its `end` when `start` was not logged (NULL when neither was)."""
    seconds = pc.coalesce(rows.column("start"), rows.column("end")).combine_chunks().cast(pa.int64())
    return pc.multiply(seconds, 1_000_000).cast(pa.timestamp("us")).cast(TIMESTAMP)
