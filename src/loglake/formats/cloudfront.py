"""Amazon CloudFront standard (legacy) access logs: W3C extended format, tab-separated, `#Version`/`#Fields` headers.

The field order comes from the `#Fields:` line; a header repeated inside a file (concatenated deliveries) starts
a new segment with its own order, and lines before any header are read with the 33 documented fields (or the
38 of recent logs, by their count). Columns are those of the AWS Athena `cloudfront_logs` table (its friendly
names: `location`, `bytes`, `request_ip`, `uri`, `status`, ... with its types), then the five fields CloudFront
added later (`origin_fbl`, `origin_lbl`, `asn`, `c_country`, `cache_behavior_path_pattern`), then `unmapped`:
any other header field, as JSON. `VIEWS` gives the live AWS names (`c_ip`, `cs_method`, `cs_uri_stem`, ...).

`-` is NULL. CloudFront URL-encodes spaces, control bytes, bytes >= 127 and `<>"#%{}|\\^~[]`'` in values; the
free-text HTTP fields (uri stem, referrer, user agent, query string, cookie, content type) are decoded once, so
they hold what the viewer sent (`%2520` in the log is the `%20` the viewer sent). Other fields are kept as
logged. A line with the wrong number of fields, or a value that is not of its column's type, is rejected
with its physical line number; a line whose only extra fields are empty (a trailing tab) is read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from loglake.formats.base import ObjectInfo, Parsed, Part, Reject, ip_lists_by_row, raw_text
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns, with_lake_schema

NAME = "cloudfront"
TABLE = "cloudfront_logs"
# Who and what a row is about, as SQL over the table's columns: detections group and deduplicate by these
ENTITIES = {
    "ip": "request_ip",
    "resource": "host",
    "account": "lake_account",
    "event_id": "request_id",
}
# Names the AWS Athena docs use: the live legacy table is `VIEWS` below; the partition columns of the standard
# logging v2 tables (`distributionid`, `year`, ...) as lake expressions (the distribution is in the file name)
ATHENA_COLUMNS = {
    "distributionid": r"regexp_extract(lake_file, '([A-Z0-9]+)\.\d{4}-\d{2}-\d{2}-\d{2}\.[^/]*$', 1)",
    "year": "year(lake_date)",
    "month": "month(lake_date)",
    "day": "day(lake_date)",
    "hour": "hour(lake_time)",
}
KEY_SERVICES = ("cloudfront",)  # standard logging v2 can deliver under AWSLogs/<account>/CloudFront/

_STR, _INT, _BIG, _FLOAT, _DATE = pa.string(), pa.int32(), pa.int64(), pa.float32(), pa.date32()
_TIME = pa.time32("s")  # parsed as a time of day, stored as its `HH:MM:SS` text (Athena: `time STRING`)

# (field in the #Fields line, column of the AWS `cloudfront_logs` table, live AWS column name, type)
FIELDS: list[tuple[str, str, str, pa.DataType]] = [
    ("date", "date", "date", _DATE),
    ("time", "time", "time", _TIME),
    ("x-edge-location", "location", "x_edge_location", _STR),
    ("sc-bytes", "bytes", "sc_bytes", _BIG),
    ("c-ip", "request_ip", "c_ip", _STR),
    ("cs-method", "method", "cs_method", _STR),
    ("cs(Host)", "host", "cs_host", _STR),
    ("cs-uri-stem", "uri", "cs_uri_stem", _STR),
    ("sc-status", "status", "sc_status", _INT),
    ("cs(Referer)", "referrer", "cs_referrer", _STR),
    ("cs(User-Agent)", "user_agent", "cs_user_agent", _STR),
    ("cs-uri-query", "query_string", "cs_uri_query", _STR),
    ("cs(Cookie)", "cookie", "cs_cookie", _STR),
    ("x-edge-result-type", "result_type", "x_edge_result_type", _STR),
    ("x-edge-request-id", "request_id", "x_edge_request_id", _STR),
    ("x-host-header", "host_header", "x_host_header", _STR),
    ("cs-protocol", "request_protocol", "cs_protocol", _STR),
    ("cs-bytes", "request_bytes", "cs_bytes", _BIG),
    ("time-taken", "time_taken", "time_taken", _FLOAT),
    ("x-forwarded-for", "xforwarded_for", "x_forwarded_for", _STR),
    ("ssl-protocol", "ssl_protocol", "ssl_protocol", _STR),
    ("ssl-cipher", "ssl_cipher", "ssl_cipher", _STR),
    ("x-edge-response-result-type", "response_result_type", "x_edge_response_result_type", _STR),
    ("cs-protocol-version", "http_version", "cs_protocol_version", _STR),
    ("fle-status", "fle_status", "fle_status", _STR),
    ("fle-encrypted-fields", "fle_encrypted_fields", "fle_encrypted_fields", _INT),
    ("c-port", "c_port", "c_port", _INT),
    ("time-to-first-byte", "time_to_first_byte", "time_to_first_byte", _FLOAT),
    ("x-edge-detailed-result-type", "x_edge_detailed_result_type", "x_edge_detailed_result_type", _STR),
    ("sc-content-type", "sc_content_type", "sc_content_type", _STR),
    ("sc-content-len", "sc_content_len", "sc_content_len", _BIG),
    ("sc-range-start", "sc_range_start", "sc_range_start", _BIG),
    ("sc-range-end", "sc_range_end", "sc_range_end", _BIG),
    # added to the legacy logs after the AWS Athena DDL was written; names as the real-time log fields
    ("origin-fbl", "origin_fbl", "origin_fbl", _FLOAT),
    ("origin-lbl", "origin_lbl", "origin_lbl", _FLOAT),
    ("asn", "asn", "asn", _BIG),
    ("c-country", "c_country", "c_country", _STR),
    ("cache-behavior-path-pattern", "cache_behavior_path_pattern", "cache_behavior_path_pattern", _STR),
]
DEFAULT_FORMAT = [f for f, _, _, _ in FIELDS[:33]]
EXTENDED_FORMAT = [f for f, _, _, _ in FIELDS]
# values CloudFront URL-encodes that carry free text sent by the viewer: decoded once
DECODED = {"cs-uri-stem", "cs(referer)", "cs(user-agent)", "cs-uri-query", "cs(cookie)", "sc-content-type"}
UNMAPPED = "unmapped"

_BY_FIELD = {f.lower(): (column, kind) for f, column, _, kind in FIELDS}
SCHEMA = with_lake_schema(
    [
        *(pa.field(column, _STR if kind == _TIME else kind) for _, column, _, kind in FIELDS),
        pa.field(UNMAPPED, _STR),
    ]
)
_W3C_COLUMNS = ", ".join(
    f'"{column}"' if column in ("date", "time") else (column if column == live else f"{column} AS {live}")
    for _, column, live, _ in FIELDS
)
# the live AWS table (`cloudfront_standard_logs`) names columns after the W3C fields: a view gives those names
VIEWS = {
    "cloudfront_standard_logs": f"SELECT {_W3C_COLUMNS}, {UNMAPPED}, "
    + ", ".join(f.name for f in SCHEMA if f.name.startswith("lake_"))
    + f" FROM {TABLE}"
}

_DIRECTIVES = (b"#Version:", b"#Fields:", b"#Software:", b"#Date:", b"#Start-Date:", b"#End-Date:", b"#Remark:")
_NON_SPACE = re.compile(rb"\S")
_EDGE_LOCATION = re.compile(rb"^[A-Z]{3}[0-9]{1,3}(?:-[A-Z0-9]+)?$")
_DATE_TEXT = re.compile(rb"^\d{4}-\d{2}-\d{2}$")
_TIME_TEXT = re.compile(rb"^\d{2}:\d{2}:\d{2}$")
_INT_PATTERN = r"^\s*-?[0-9]{1,18}\s*$"
_FLOAT_PATTERN = r"^\s*[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*$|^\s*[-+]?(?i:inf|infinity|nan)\s*$"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIME_PATTERN = r"^[0-9]{2}:[0-9]{2}(?::[0-9]{2})?$"
_FIRST_DAY = (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days
_HEX = np.full(256, -1, dtype=np.int16)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
    _HEX[bytes([_c]).upper()[0]] = _i


@dataclass(frozen=True)
class Segment:
    fields: list[str]
    start: int  # byte offset of the first data line
    end: int
    first_line: int  # physical line number of the first data line


def sniff(head: bytes, key: str) -> bool:
    head = head.removeprefix(b"\xef\xbb\xbf")
    first = head.split(b"\n", 1)[0].strip()
    if first.startswith((b"#Version:", b"#Fields:")):
        fields = next((line for line in head.split(b"\n", 3) if line.startswith(b"#Fields:")), b"")
        return b"x-edge-location" in fields or b"x-edge-request-id" in fields
    tokens = first.split(b"\t")
    return (
        len(tokens) >= 24
        and bool(_DATE_TEXT.match(tokens[0]))
        and bool(_TIME_TEXT.match(tokens[1]))
        and bool(_EDGE_LOCATION.match(tokens[2]))
    )


def parse(data: bytes, obj: ObjectInfo) -> Parsed:
    segments, rejects = _segments(data)
    ascii_only = data.isascii()  # CloudFront encodes every byte >= 127: real logs are ASCII (a fast check)
    tables = []
    for segment in segments:
        table, segment_rejects = _parse_segment(data, segment, ascii_only=ascii_only)
        rejects.extend(segment_rejects)
        if table is not None and table.num_rows:
            tables.append(table)
    rejects.sort(key=lambda r: r.row)
    if not tables:
        return Parsed(TABLE, None, rejects)
    rows = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return Parsed(TABLE, Part(obj, rows.num_rows, rows), rejects, to_arrow=to_arrow)


def to_arrow(parts: list[Part]) -> pa.Table:
    """Many objects' log lines as one table with the lake columns."""
    rows = pa.concat_tables([p.data for p in parts]) if len(parts) > 1 else parts[0].data
    day = rows.column("date").combine_chunks()
    clock = rows.column("time").combine_chunks()
    seconds = pc.add(
        pc.multiply(day.cast(pa.int32()).cast(pa.int64()), 86_400),
        pc.fill_null(clock.cast(pa.int32()), 0).cast(pa.int64()),
    )
    time = seconds.cast(pa.timestamp("s")).cast(TIMESTAMP)
    data = rows.drop_columns(["__row"]).set_column(rows.schema.get_field_index("time"), "time", clock.cast(_STR))
    return append_lake_columns(
        data,
        schema=SCHEMA,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=time,
        account=None,
        region=None,
        ips=_viewer_ips(rows.column("request_ip").combine_chunks(), rows.column("xforwarded_for").combine_chunks()),
        rows=rows.column("__row").combine_chunks(),
    )


def _viewer_ips(client: pa.Array, forwarded: pa.Array) -> pa.ListArray:
    """c-ip, then the addresses of x-forwarded-for (a comma-separated list; CloudFront writes `,\\x20` too)."""
    n = len(client)
    parts = pc.split_pattern(pc.replace_substring(forwarded, "\\x20", " "), ",")
    rows = pa.concat_arrays([pa.array(np.arange(n, dtype=np.int64)), pc.list_parent_indices(parts).cast(pa.int64())])
    return ip_lists_by_row(n, rows, pa.concat_arrays([client, pc.list_flatten(parts)]))


# --- cutting the object at its directive lines ---------------------------------------------------------------


def _segments(data: bytes) -> tuple[list[Segment], list[Reject]]:
    """Data regions between `#` lines, each with the field order of the last `#Fields:` line before it."""
    segments: list[Segment] = []
    rejects: list[Reject] = []
    fields: list[str] | None = None
    pos, line = 0, 1
    if data.startswith(b"\xef\xbb\xbf"):
        pos = 3
    for start, end in _directive_lines(data, pos):
        if start > pos and _NON_SPACE.search(data, pos, start):
            fields = fields if fields is not None else _default_fields(data, pos, start)
            segments.append(Segment(fields, pos, start, line))
        line += data.count(b"\n", pos, start)
        text = data[start:end].rstrip(b"\r")
        if text.startswith(b"#Fields:"):
            fields = text[len(b"#Fields:") :].decode("utf-8", "backslashreplace").split()
        elif not text.startswith(_DIRECTIVES):
            rejects.append(
                Reject(line, "a '#' line that is not a W3C directive (#Version:, #Fields:, ...)", raw_text(text))
            )
        pos = min(end + 1, len(data))
        line += 1 if end < len(data) else 0
    if pos < len(data) and _NON_SPACE.search(data, pos):
        segments.append(
            Segment(fields if fields is not None else _default_fields(data, pos, len(data)), pos, len(data), line)
        )
    return segments, rejects


def _directive_lines(data: bytes, pos: int):
    """(start, end) of every line starting with '#' (end: the offset of its newline, or the data's end).

    CloudFront encodes '#' in values (%23), so a raw '#' is rare: finding it is a fast byte scan.
    """
    start = data.find(b"#", pos)
    while start >= 0:
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        if start == pos or data[start - 1] == 0x0A:
            yield start, end
        start = data.find(b"#", end)


def _default_fields(data: bytes, start: int, end: int) -> list[str]:
    """Lines before any `#Fields:` line: the documented order, with the newer fields when the count says so."""
    begin = _NON_SPACE.search(data, start, end)
    begin = begin.start() if begin else start
    stop = data.find(b"\n", begin, end)
    first = data[begin : end if stop < 0 else stop].rstrip(b"\r")
    return EXTENDED_FORMAT if first.count(b"\t") + 1 == len(EXTENDED_FORMAT) else DEFAULT_FORMAT


# --- reading one segment ---------------------------------------------------------------------------------------


def _parse_segment(data: bytes, segment: Segment, *, ascii_only: bool) -> tuple[pa.Table | None, list[Reject]]:
    width = len(segment.fields)
    if width == 0:
        lines = data[segment.start : segment.end].split(b"\n")
        return None, [
            Reject(segment.first_line + i, "no fields: the #Fields: line names none", raw_text(text))
            for i, text in enumerate(lines)
            if text.strip()
        ]
    start, end = segment.start, segment.end
    if data.find(b"\r", start, end) >= 0 and data.count(b"\r", start, end) != data.count(b"\r\n", start, end):
        return _parse_lines(data, segment)  # a bare CR ends a row for the CSV reader but not a line
    body = pa.py_buffer(data)[start:end]  # a view: no copy of the object
    if not ascii_only and not _is_utf8_buffer(body):
        return _parse_lines(data, segment)  # the CSV reader cannot hand over a malformed row that is not UTF-8
    try:
        return _read_block(body, segment.fields, _PhysicalLines(data, segment))
    except _UnreadableError:
        return _parse_lines(data, segment)


class _UnreadableError(Exception):
    """The CSV reader refused a block as a whole (a malformed row that is not UTF-8): read it line by line."""


def _parse_lines(data: bytes, segment: Segment) -> tuple[pa.Table | None, list[Reject]]:
    """The slow path: lines checked one by one in Python, the well-formed ones then read together."""
    width = len(segment.fields)
    rejects = []
    kept, numbers = [], []
    for i, raw in enumerate(data[segment.start : segment.end].split(b"\n")):
        line, number = raw.removesuffix(b"\r"), segment.first_line + i
        if not line.strip():
            continue
        if b"\r" in line:
            rejects.append(Reject(number, "a carriage return inside the line", raw_text(line)))
            continue
        values = line.split(b"\t")
        if len(values) > width and not b"".join(values[width:]).strip():
            values = values[:width]  # only empty fields after the last one
        if len(values) != width:
            rejects.append(
                Reject(number, f"expected {width} tab-separated fields, found {len(values)}", raw_text(line))
            )
            continue
        kept.append(b"\t".join(values))
        numbers.append(number)
    if not kept:
        return None, rejects
    lines = np.array(numbers, dtype=np.int64)
    try:
        table, more = _read_block(pa.py_buffer(b"\n".join(kept)), segment.fields, lines, salvage=False)
    except _UnreadableError as error:  # not expected once every line has its fields: still, no line is lost
        return None, rejects + [
            Reject(n, f"unreadable: {error}", raw_text(t)) for n, t in zip(numbers, kept, strict=True)
        ]
    return table, rejects + more


class _PhysicalLines:
    """Physical line numbers of the rows the CSV reader saw (it skips empty lines without counting them)."""

    def __init__(self, data: bytes, segment: Segment):
        self.data, self.segment = data, segment

    def numbers(self, rows_seen: int) -> np.ndarray:
        data, seg = self.data, self.segment
        count = data.count(b"\n", seg.start, seg.end) + (0 if data[seg.end - 1 : seg.end] == b"\n" else 1)
        if count == rows_seen:
            return np.arange(seg.first_line, seg.first_line + count, dtype=np.int64)
        lines = data[seg.start : seg.end].split(b"\n")
        return np.array([seg.first_line + i for i, t in enumerate(lines) if t not in (b"", b"\r")], dtype=np.int64)


def _read_block(
    body: pa.Buffer, fields: list[str], lines: _PhysicalLines | np.ndarray, *, salvage: bool = True
) -> tuple[pa.Table | None, list[Reject]]:
    """Rows of one block of lines; `lines` maps the reader's rows to physical line numbers."""
    width = len(fields)
    invalid: list[tuple[int, int, str]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number or 0, row.actual_columns, row.text))
        return "skip"

    names = [f"c{i}" for i in range(width)]  # positional: a header may name a field twice, or an unknown one
    kinds = [_BY_FIELD.get(f.lower(), (None, _STR))[1] for f in fields]
    bad: np.ndarray | None = None
    try:
        table = _read(body, names, dict(zip(names, kinds, strict=True)), on_invalid_row, typed=True)
        if not _plausible(table, kinds):
            raise pa.ArrowInvalid("a date before year 1")
    except pa.ArrowInvalid:  # a value not of its column's type, or bytes that are not UTF-8: find those rows
        invalid.clear()
        try:
            raw = _read(body, names, dict.fromkeys(names, pa.binary()), on_invalid_row, typed=False)
        except pa.ArrowInvalid as error:
            raise _UnreadableError(str(error)) from None
        table, bad, reasons = _convert(raw, fields, kinds)
    seen = table.num_rows + len(invalid)
    numbers = lines if isinstance(lines, np.ndarray) else lines.numbers(seen)
    if len(numbers) != seen:  # cannot happen for well-formed line ends; keep rows, number them by position
        numbers = np.arange(1, seen + 1, dtype=np.int64)
    rejects: list[Reject] = []
    salvaged: list[tuple[int, str]] = []
    invalid_positions = set()
    for number, actual, text in invalid:
        position = number - 1 if 0 < number <= seen else None
        line = int(numbers[position]) if position is not None else 0
        if position is not None:
            invalid_positions.add(position)
        if not text.strip(" \t\r\n\x0b\x0c"):  # a line of blanks only: no record, as an empty line
            continue
        fields_in_line = text.split("\t")
        if salvage and actual > width and not "".join(fields_in_line[width:]).strip():
            salvaged.append((line, "\t".join(fields_in_line[:width])))  # only empty fields after the last one
        else:
            reason = f"expected {width} tab-separated fields, found {actual}"
            rejects.append(Reject(line, reason, raw_text(text)))
    kept = numbers
    if invalid_positions:
        keep = np.ones(seen, dtype=bool)
        keep[list(invalid_positions)] = False
        kept = numbers[keep]
    if bad is not None and bad.any():
        bad_rows = raw.filter(pa.array(bad))
        for line, values, reason in zip(kept[bad], _raw_lines(bad_rows), reasons, strict=True):
            rejects.append(Reject(int(line), reason, raw_text(values)))
        table = table.filter(pa.array(~bad))
        kept = kept[~bad]
    columns = _to_columns(table, fields).append_column("__row", pa.array(kept, pa.int64()))
    if salvaged:
        more, more_rejects = _read_block(
            pa.py_buffer("\n".join(t for _, t in salvaged).encode()),
            fields,
            np.array([n for n, _ in salvaged], dtype=np.int64),
            salvage=False,
        )
        rejects += more_rejects
        if more is not None and more.num_rows:
            columns = pa.concat_tables([columns, more]).sort_by("__row")
    return columns, rejects


def _plausible(table: pa.Table, kinds: list[pa.DataType]) -> bool:
    """The CSV reader takes `0000-01-01` as a date; such a value goes the slow way, to be rejected."""
    for column, kind in zip(table.columns, kinds, strict=True):
        if kind == _DATE and column.null_count < len(column) and pc.min(column.cast(pa.int32())).as_py() < _FIRST_DAY:
            return False
    return True


def _read(body: pa.Buffer, names: list[str], types: dict[str, pa.DataType], on_invalid_row, *, typed: bool) -> pa.Table:
    return pacsv.read_csv(
        pa.BufferReader(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False, invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=["-"] if typed else [],
            strings_can_be_null=typed,
            quoted_strings_can_be_null=False,
        ),
    )


def _raw_lines(table: pa.Table) -> list[str]:
    """The raw text of rows read as binary (the values exactly as in the file, tab-joined)."""
    columns = [c.to_pylist() for c in table.columns]
    return [b"\t".join(values).decode("utf-8", "backslashreplace") for values in zip(*columns, strict=True)]


def _convert(table: pa.Table, fields: list[str], kinds: list[pa.DataType]) -> tuple[pa.Table, np.ndarray, list[str]]:
    """Rows read as bytes -> typed columns; rows with a value that is not of its column's type are marked bad."""
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    why: list[str | None] = [None] * n
    out = {}
    for name, field, kind in zip(table.column_names, fields, kinds, strict=True):
        raw = table.column(name).combine_chunks()
        column, ok, reason = _convert_column(raw, kind)
        out[name] = column
        if ok is not None:
            newly = ~ok & ~bad
            for i in np.flatnonzero(newly):
                value = raw[int(i)].as_py().decode("utf-8", "backslashreplace")
                why[i] = f"field {field!r} {reason}, found {value[:40]!r}"
            bad |= ~ok
    converted = pa.table(out)
    return converted, bad, [w for w in why if w is not None]


def _convert_column(raw: pa.Array, kind: pa.DataType) -> tuple[pa.Array, np.ndarray | None, str]:
    """(typed column with bad values NULL, which rows are fine or None when all are, what a value must be)."""
    dash = pc.equal(raw, b"-")
    utf8 = None
    try:
        text = raw.cast(_STR)
    except pa.ArrowInvalid:  # bytes that are not UTF-8: find those rows in Python (rare)
        values = raw.to_pylist()
        utf8 = np.array([_is_utf8(v) for v in values], dtype=bool)
        text = pa.array([v.decode() if good else None for v, good in zip(values, utf8, strict=True)], _STR)
        if kind == _STR:
            return pc.if_else(dash, pa.scalar(None, _STR), text), utf8, "must be UTF-8 text"
    text = pc.if_else(dash, pa.scalar(None, _STR), text)
    if kind == _STR:
        return text, None, ""
    pattern, reason = {
        _INT: (_INT_PATTERN, "must be a number or '-'"),
        _BIG: (_INT_PATTERN, "must be a number or '-'"),
        _FLOAT: (_FLOAT_PATTERN, "must be a decimal number or '-'"),
        _DATE: (_DATE_PATTERN, "must be a date YYYY-MM-DD or '-'"),
        _TIME: (_TIME_PATTERN, "must be a time HH:MM:SS or '-'"),
    }[kind]
    ok = pc.fill_null(pc.match_substring_regex(text, pattern), True)
    valid = pc.if_else(ok, text, pa.scalar(None, _STR))
    if kind in (_INT, _BIG, _FLOAT):
        trimmed = pc.utf8_trim_whitespace(valid)
        if kind == _FLOAT:
            column = trimmed.cast(pa.float64())
        else:
            wide = trimmed.cast(_BIG)
            if kind == _INT:
                fits = pc.fill_null(pc.and_(pc.greater_equal(wide, -(2**31)), pc.less_equal(wide, 2**31 - 1)), True)
                ok = pc.and_(ok, fits)
                wide = pc.if_else(fits, wide, pa.scalar(None, _BIG))
            column = wide
    elif kind == _DATE:
        stamp = pc.strptime(valid, format="%Y-%m-%d", unit="s", error_is_null=True)
        column = stamp.cast(_DATE)
        real = pc.and_(  # strptime takes year 0 and rolls 2019-02-29 over to March: neither is a date
            pc.greater_equal(column.cast(pa.int32()), _FIRST_DAY), pc.equal(pc.strftime(stamp, "%Y-%m-%d"), valid)
        )
        ok = pc.and_(ok, pc.or_(pc.is_null(valid), pc.fill_null(real, False)))
    else:
        padded = pc.if_else(pc.less(pc.utf8_length(valid), 8), pc.binary_join_element_wise(valid, ":00", ""), valid)
        full = pc.binary_join_element_wise("1970-01-01 ", padded, "")
        stamp = pc.strptime(
            full,
            format="%Y-%m-%d %H:%M:%S",
            unit="s",
            error_is_null=True,
        )
        seconds = stamp.cast(pa.int64())
        real = pc.fill_null(pc.equal(pc.strftime(stamp, "%Y-%m-%d %H:%M:%S"), full), False)  # not 23:59:60
        ok = pc.and_(ok, pc.or_(pc.is_null(valid), real))
        column = pc.if_else(real, seconds, 0).cast(pa.int32()).cast(_TIME)
    column = pc.if_else(ok, column, pa.scalar(None, column.type)).cast(kind)
    fine = ok.to_numpy(zero_copy_only=False)
    return column, fine if utf8 is None else fine & utf8, reason


def _is_utf8_buffer(body: pa.Buffer) -> bool:
    whole = pa.Array.from_buffers(pa.large_binary(), 1, [None, pa.py_buffer(np.array([0, body.size], np.int64)), body])
    try:
        whole.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _is_utf8(value: bytes | None) -> bool:
    if value is None:
        return True
    try:
        value.decode()
    except UnicodeDecodeError:
        return False
    return True


# --- named columns ---------------------------------------------------------------------------------------------


def _to_columns(table: pa.Table, fields: list[str]) -> pa.Table:
    """Positional columns -> the table's named columns, decoded where CloudFront encodes free text."""
    n = table.num_rows
    present: dict[str, pa.ChunkedArray] = {}
    unknown: dict[str, pa.ChunkedArray] = {}
    for column, field in zip(table.columns, fields, strict=True):
        known = _BY_FIELD.get(field.lower())
        if field.lower() in DECODED:
            column = _per_chunk(url_decode, column)  # noqa: PLW2901
        if known is not None and known[0] not in present:
            present[known[0]] = column
        else:
            unknown[field] = column.cast(_STR)  # kept as logged: what the field holds is not known
    out = {}
    for _, name, _, kind in FIELDS:
        out[name] = present[name] if name in present else pa.nulls(n, kind)
    out[UNMAPPED] = _unmapped_json(unknown, n)
    return pa.table(out)


def _per_chunk(function, column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pa.chunked_array([function(chunk) for chunk in column.chunks], column.type)


def _unmapped_json(unknown: dict[str, pa.ChunkedArray], n: int) -> pa.Array:
    if not unknown:
        return pa.nulls(n, _STR)
    values = {k: v.to_pylist() for k, v in unknown.items()}
    rows = [{k: v[i] for k, v in values.items() if v[i] is not None} for i in range(n)]
    return pa.array([orjson.dumps(r).decode() if r else None for r in rows], _STR)


def url_decode(values: pa.Array) -> pa.Array:
    """Undo %XX encoding once, vectorised over the column's bytes; a value whose bytes then are not UTF-8 is kept
    as logged. Only `%` followed by two hex digits inside the same value is an escape (`%%41` -> `%A`)."""
    if len(values) == 0 or values.null_count == len(values):
        return values
    if not pc.any(pc.fill_null(pc.match_substring(values, "%"), False)).as_py():
        return values
    values = pa.concat_arrays([values]) if values.offset else values  # offset 0: the buffers start at row 0
    validity, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(values) + 1)
    base = int(offsets[0])
    relative = (offsets - base).astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[base : base + int(relative[-1])]
    percent = np.flatnonzero(data == 0x25)
    percent = percent[percent + 2 < len(data)]
    high = _HEX[data[percent + 1]]
    low = _HEX[data[percent + 2]]
    boundary = np.zeros(len(data) + 1, dtype=bool)  # the first byte of each value: an escape may not span one
    boundary[relative] = True
    escape = (high >= 0) & (low >= 0) & ~boundary[percent + 1] & ~boundary[percent + 2]
    starts = percent[escape]
    if len(starts) == 0:
        return values
    decoded = data.copy()
    decoded[starts] = (high[escape] * 16 + low[escape]).astype(np.uint8)
    keep = np.ones(len(data), dtype=bool)
    keep[starts + 1] = False
    keep[starts + 2] = False
    new_offsets = (relative - 2 * np.searchsorted(starts, relative, side="left")).astype(np.int32)
    result = pa.Array.from_buffers(
        pa.binary(),
        len(values),
        [validity, pa.py_buffer(new_offsets), pa.py_buffer(decoded[keep].tobytes())],
        null_count=values.null_count,
    )
    try:
        return result.cast(_STR)
    except pa.ArrowInvalid:  # an escape spelled bytes that are not UTF-8: keep those values as logged
        pairs = zip(result.to_pylist(), values.to_pylist(), strict=True)
        return pa.array([None if d is None else (d.decode() if _is_utf8(d) else v) for d, v in pairs], _STR)
