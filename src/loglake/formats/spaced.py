"""Space-separated AWS log lines with "quoted" and [bracketed] fields: the ELB family and S3 server access logs.

The common case is read in C++ by pyarrow's CSV reader (delimiter ' ', quote '"'), with the field count that
most of the object's first lines have. A line with another count (an older or newer layout, a junk line) comes
back through the reader's invalid-row handler and is split in Python by `tokens`, which follows the same rules;
so does every line of an object the reader cannot frame (a bare carriage return, a quote left open). A field
that is `-` or empty is NULL. Each format module then converts and checks the string values with `Checked`,
and the lines that fail a check become rejects with their physical line number.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from loglake.formats.base import ObjectInfo, Parsed, Part, Reject, first_byte, ip_lists, raw_text
from loglake.lake.columns import TIMESTAMP, Origins, append_lake_columns

STR = pa.string()
EXTRA = "__extra"  # the fields after the layout's last one, as a JSON list (becomes the table's `unmapped`)
ROW = "__row"  # physical line number
TIME = "__time"  # the record's time as a UTC timestamp (becomes `lake_time`)
UNMAPPED = "unmapped"
NULLS = ("-", "")
SAMPLE_LINES = 64  # the field count is the most common one among this many first lines
AGREEING_LINES = 8  # ... or the first one this many of them have (splitting a line in Python is not cheap)
BLOCK = 1 << 24
SMALL = 8 << 10  # bytes
SAMPLE_LINE = 64 << 10  # longer lines are not samples of the layout
MORE_FIELDS = 64  # a line with this many fields more than the layout knows is not this format
_NAIVE = pa.timestamp("us")


@dataclass(frozen=True)
class Layout:
    fields: tuple[str, ...]  # the raw fields, in line order (a quoted or bracketed field counts once)
    min_fields: int  # a line with fewer fields is rejected; the missing trailing ones are NULL otherwise
    quoted: bool = True  # '"' encloses a field that may hold spaces
    bracketed: int | None = None  # the field that '[...]' encloses, holding spaces (S3's time)


# ---------------------------------------------------------------------------------------------------- splitting

_BRACKETED = re.compile(r"\[(.*?)\](?= |$)")  # up to the first ']' that ends a space-separated piece
_CLOSED_LINE = re.compile(rb'(?:"[^"]*"[^ ]*|[^ "][^ ]*|)(?: (?:"[^"]*"[^ ]*|[^ "][^ ]*|))*\r?')
# One field: a quote closed somewhere on the line is taken whole (atomic: no going back to the plain reading)
_QUOTED_FIELD = r'(?>"([^"]*)"([^ ]*)|([^ ]*))'
_QUOTED_FIELDS = re.compile(r"(?:^| )" + _QUOTED_FIELD)


@functools.cache
def _before_field(index: int, quoted: bool) -> re.Pattern[str]:
    """The first `index` fields of a line and the space after them."""
    one = r'(?>"[^"]*"[^ ]*|[^ ]*) ' if quoted else "[^ ]* "
    return re.compile(f"(?:{one}){{{index}}}")


def tokens(line: str, *, quoted: bool = True, bracketed: int | None = None, limit: int | None = None) -> list[str]:
    """The fields of one line (without its newline), by the CSV reader's rules.

    Single spaces separate fields. A field that starts with '"' runs to the next '"' and may hold spaces; text
    after the closing quote up to the next space belongs to the field. The field at position `bracketed` may
    be enclosed in `[...]`, up to the first ']' before a space or the end of the line. A quote or bracket that
    is never closed is an ordinary character. With a `limit`, at most `limit + 1` fields are returned.
    """
    if bracketed is not None:
        before = _before_field(bracketed, quoted).match(line)
        enclosed = _BRACKETED.match(line, before.end()) if before and line.startswith("[", before.end()) else None
        if enclosed:
            cut = before.end() - 1
            out = _plain_tokens(line, quoted, 0, cut) if bracketed else []
            out.append(enclosed.group(1))
            if enclosed.end() < len(line):
                out += _plain_tokens(line, quoted, enclosed.end(), len(line))
            return out if limit is None else out[: limit + 1]
    out = _plain_tokens(line, quoted, 0, len(line))
    return out if limit is None else out[: limit + 1]


def _plain_tokens(line: str, quoted: bool, start: int, end: int) -> list[str]:
    """The fields of line[start:end]; `start` is 0 or the position of a separating space."""
    if not quoted:
        return line[start + (1 if start else 0) : end].split(" ")
    return ["".join(groups) for groups in _QUOTED_FIELDS.findall(line, start, end)]


@dataclass
class Lines:
    """An object's lines split into fields (string columns named as the layout's fields, EXTRA and ROW), and
    the lines that could not be split."""

    table: pa.Table
    rejects: list[Reject]
    index: LineIndex


class LineIndex:
    """An object's physical lines; where each starts is computed on first use (blank lines, rejects)."""

    def __init__(self, data: bytes):
        self.data = data
        self._starts: np.ndarray | None = None

    @property
    def starts(self) -> np.ndarray:
        if self._starts is None:
            newlines = np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 10)
            self._starts = np.concatenate([[0], newlines + 1]).astype(np.int64)
        return self._starts

    def count(self) -> int:
        """Physical lines (a final line without newline counts; nothing after a final newline does)."""
        data = self.data
        return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)

    def line(self, number: int) -> bytes:
        starts = self.starts
        start = int(starts[number - 1])
        end = int(starts[number]) - 1 if number < len(starts) else len(self.data)
        return self.data[start:end]

    def nonblank(self) -> np.ndarray:
        """Physical numbers of the lines that are not empty (the CSV reader skips empty lines)."""
        data, total = self.data, self.count()
        starts = self.starts[:total]
        ends = np.append(self.starts[1:] - 1, len(data))[:total]
        lengths = ends - starts
        arr = np.frombuffer(data, dtype=np.uint8)
        blank = (lengths == 0) | ((lengths == 1) & (arr[np.minimum(starts, len(arr) - 1)] == 13))
        return np.flatnonzero(~blank).astype(np.int64) + 1


def split(data: bytes, layout: Layout) -> Lines:
    """Split every line of an object into the layout's fields; lines with too few fields become rejects."""
    if not _valid_utf8(data):  # keep such lines, with the bytes that are not UTF-8 escaped as `\xNN`
        data = data.decode("utf-8", errors="backslashreplace").encode()
    index = LineIndex(data)
    if not first_byte(data):
        return Lines(_empty(layout), [], index)
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        return _python_lines(index, layout)  # a bare CR: the CSV reader would end a row there
    if len(data) < SMALL:  # a few lines: splitting them in Python costs less than setting up the reader
        return _python_lines(index, layout)
    try:
        return _fast_lines(data, index, layout)
    except pa.ArrowInvalid:  # whatever the reader cannot frame, Python splits line by line
        return _python_lines(index, layout)


def _valid_utf8(data: bytes) -> bool:
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _fast_lines(data: bytes, index: LineIndex, layout: Layout) -> Lines:
    shape = _common_shape(data, layout)
    if shape is None:
        return _python_lines(index, layout)
    body, total, slow = _without_open_last_line(data, index, layout)
    table, invalid = _read(body, shape.physical, layout)
    seen = table.num_rows + len(invalid)
    if seen == total:  # the common case: no blank line, no line joined to the next
        numbers = np.arange(1, total + 1, dtype=np.int64)
    else:
        numbers = index.nonblank()
        numbers = numbers[numbers <= total]
        if seen != len(numbers):
            # A quote opened at a field start and not closed on its line joins lines: split those lines in
            # Python and read the others again without them.
            open_lines = [n for n in numbers.tolist() if not _CLOSED_LINE.fullmatch(index.line(n))]
            if not open_lines:
                return _python_lines(index, layout)
            numbers = np.setdiff1d(numbers, np.array(open_lines, dtype=np.int64), assume_unique=True)
            table, invalid = _read(b"\n".join(index.line(n) for n in numbers.tolist()), shape.physical, layout)
            if table.num_rows + len(invalid) != len(numbers):
                return _python_lines(index, layout)
            slow += [(n, index.line(n)) for n in open_lines]
    positions = [i - 1 for i, _ in invalid if 0 < i <= len(numbers)]
    slow += [(int(numbers[i]), index.line(int(numbers[i]))) for i in positions]
    kept = np.delete(numbers, positions)
    fields, again = _logical(table, shape, layout)
    if again.any():  # rows whose bracketed or trailing field did not line up: split them in Python
        slow += [(int(n), index.line(int(n))) for n in kept[again]]
        fields = fields.filter(pa.array(~again))
        kept = kept[~again]
    fields = fields.append_column(ROW, pa.array(kept, pa.int64()))
    if not slow:
        return Lines(fields, [], index)
    more, rejects = _python_rows(sorted(slow), layout)
    combined = pa.concat_tables([fields, more])
    return Lines(combined.take(pc.sort_indices(combined.column(ROW))), rejects, index)


def _without_open_last_line(
    data: bytes, index: LineIndex, layout: Layout
) -> tuple[pa.Buffer | bytes, int, list[tuple[int, bytes]]]:
    """The part of the object for the CSV reader, its line count, and the last line if it leaves a quote open.

    An open quote joins a line to the next ones, which shows as fewer rows than lines; on the last line (a
    file cut short) nothing would show it, so that line is left to Python.
    """
    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    start = data.rfind(b"\n", 0, end) + 1
    if not layout.quoted or _CLOSED_LINE.fullmatch(data, start, end):
        return data, index.count(), []
    lines = data.count(b"\n", 0, start)
    return pa.py_buffer(data)[:start], lines, [(lines + 1, data[start:end])]


@dataclass(frozen=True)
class _Shape:
    physical: int  # columns the CSV reader sees
    logical: int  # fields after joining a bracketed field's pieces
    bracket_at: int | None  # physical index where a bracketed field starts
    bracket_pieces: int
    trailing_blank: bool  # the sample lines end with a space: the last physical column is empty


def _common_shape(data: bytes, layout: Layout) -> _Shape | None:
    """The most common line shape among the first lines (at least `min_fields` fields)."""
    head, size = [], 1 << 16
    while True:
        head = data[:size].split(b"\n")
        if len(head) > SAMPLE_LINES or size >= len(data):
            break
        size *= 4
    shapes: Counter[_Shape] = Counter()
    for raw in head[:SAMPLE_LINES]:
        if len(raw) > SAMPLE_LINE:
            continue
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        shape = _shape_of(text, layout) if text else None
        if shape is not None:
            shapes[shape] += 1
            if shapes[shape] == AGREEING_LINES:
                return shape
    return shapes.most_common(1)[0][0] if shapes else None


def _shape_of(text: str, layout: Layout) -> _Shape | None:
    physical = tokens(text, quoted=layout.quoted)
    trailing_blank = len(physical) > 1 and physical[-1] == "" and text.endswith(" ")
    logical = physical
    if layout.bracketed is not None or trailing_blank:
        logical = tokens(text.rstrip(" "), quoted=layout.quoted, bracketed=layout.bracketed)
    if not layout.min_fields <= len(logical) <= len(layout.fields) + MORE_FIELDS:
        return None
    bracket_at, pieces = None, 1
    if layout.bracketed is not None:
        bracket_at = last = layout.bracketed
        if len(physical) <= bracket_at or not physical[bracket_at].startswith("["):
            return None
        while last < len(physical) - 1 and not physical[last].endswith("]"):
            last += 1
        pieces = last - bracket_at + 1
        if len(physical) - (1 if trailing_blank else 0) - pieces + 1 != len(logical):
            return None
    elif len(physical) - (1 if trailing_blank else 0) != len(logical):
        return None
    return _Shape(len(physical), len(logical), bracket_at, pieces, trailing_blank)


def _read(data: bytes | pa.Buffer, width: int, layout: Layout) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Every line with `width` fields as a row of strings; the others come back as (number, text)."""
    invalid: list[tuple[int, str]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number or 0, row.text))
        return "skip"

    names = [f"p{i}" for i in range(width)]
    block = BLOCK
    while True:
        try:
            table = pacsv.read_csv(
                pa.BufferReader(data),
                read_options=pacsv.ReadOptions(column_names=names, use_threads=False, block_size=block),
                parse_options=pacsv.ParseOptions(
                    delimiter=" ",
                    quote_char='"' if layout.quoted else False,
                    double_quote=False,
                    escape_char=False,
                    newlines_in_values=False,
                    ignore_empty_lines=True,
                    invalid_row_handler=on_invalid_row,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, STR),
                    null_values=list(NULLS),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    check_utf8=False,  # the whole object was checked once
                ),
            )
            return table, invalid
        except pa.ArrowInvalid as error:
            if "straddl" not in str(error) or block > len(data):
                raise
            invalid.clear()
            block = len(data) + 1  # a line longer than a block


def _logical(table: pa.Table, shape: _Shape, layout: Layout) -> tuple[pa.Table, np.ndarray]:
    """Physical reader columns -> the layout's fields and EXTRA; also which rows must be split again."""
    n = table.num_rows
    again = np.zeros(n, dtype=bool)
    physical = list(table.columns)
    if shape.trailing_blank:
        again |= pc.is_valid(physical[-1]).to_numpy(zero_copy_only=False)
        physical = physical[:-1]
    if shape.bracket_at is not None:
        start, stop = shape.bracket_at, shape.bracket_at + shape.bracket_pieces
        pieces = physical[start:stop]
        opened = pc.fill_null(pc.starts_with(pieces[0], "["), False)
        closed = pc.fill_null(pc.ends_with(pieces[-1], "]"), False)
        again |= ~pc.and_(opened, closed).to_numpy(zero_copy_only=False)
        for piece in pieces[:-1]:  # the bracket closes at the first piece that ends with ']'
            again |= pc.fill_null(pc.ends_with(piece, "]"), False).to_numpy(zero_copy_only=False)
        joined = pc.binary_join_element_wise(*pieces, " ") if len(pieces) > 1 else pieces[0]
        joined = pc.utf8_slice_codeunits(joined, 1, -1)
        joined = _dash_null(joined)
        physical = [*physical[:start], joined, *physical[stop:]]
    count = len(layout.fields)
    columns = {}
    for i, name in enumerate(layout.fields):
        columns[name] = physical[i] if i < len(physical) else pa.nulls(n, STR)
    columns[EXTRA] = _json_lists(physical[count:], n)
    return pa.table(columns), again


def _json_lists(columns: list, n: int) -> pa.ChunkedArray | pa.Array:
    """Per row, the values as a JSON list of strings (NULL stands for '-'); NULL when there are none."""
    if not columns:
        return pa.nulls(n, STR)
    filled = [pc.fill_null(c, "-") for c in columns]
    unsafe = np.zeros(n, dtype=bool)
    for column in filled:  # what JSON must escape (or not plain ASCII): a JSON encoder writes those rows
        plain = pc.and_not(pc.ascii_is_printable(column), pc.match_substring(column, '"'))
        plain = pc.and_not(plain, pc.match_substring(column, "\\"))
        unsafe |= ~plain.to_numpy(zero_copy_only=False)
    parts: list = ['["']
    for i, column in enumerate(filled):
        parts += [column, '","' if i < len(filled) - 1 else '"]']
    text = whole(pc.binary_join_element_wise(*parts, ""))
    if unsafe.any():
        values = [c.to_pylist() for c in filled]
        fixed = [orjson.dumps([v[i] for v in values]).decode() for i in np.flatnonzero(unsafe).tolist()]
        text = pc.replace_with_mask(text, pa.array(unsafe), pa.array(fixed, STR))
    return text


def _python_lines(index: LineIndex, layout: Layout) -> Lines:
    table, rejects = _python_rows(((n + 1, index.line(n + 1)) for n in range(index.count())), layout)
    return Lines(table, rejects, index)


def _python_rows(lines: Iterable[tuple[int, bytes]], layout: Layout) -> tuple[pa.Table, list[Reject]]:
    """Split lines in Python (the slow path): string columns, EXTRA and ROW, and the lines with too few fields."""
    count = len(layout.fields)
    values: list[list[str | None]] = [[] for _ in range(count)]
    extras: list[str | None] = []
    rows: list[int] = []
    rejects: list[Reject] = []
    for number, raw in lines:
        text = raw.decode("utf-8", errors="backslashreplace").rstrip("\r").rstrip(" ")
        if not text:
            continue
        most = count + MORE_FIELDS
        fields = tokens(text, quoted=layout.quoted, bracketed=layout.bracketed, limit=most)
        if not layout.min_fields <= len(fields) <= most:
            reason = f"expected at most {most} space-separated fields, found more"
            if len(fields) < layout.min_fields:
                reason = f"expected at least {layout.min_fields} space-separated fields, found {len(fields)}"
            rejects.append(Reject(number, reason, raw_text(text)))
            continue
        for i in range(count):
            value = fields[i] if i < len(fields) else None
            values[i].append(None if value in NULLS else value)
        rest = fields[count:]
        extras.append(orjson.dumps([v or "-" for v in rest]).decode() if rest else None)
        rows.append(number)
    columns = {name: pa.array(values[i], STR) for i, name in enumerate(layout.fields)}
    columns[EXTRA] = pa.array(extras, STR)
    columns[ROW] = pa.array(rows, pa.int64())
    return pa.table(columns), rejects


def _empty(layout: Layout) -> pa.Table:
    columns = {name: pa.array([], STR) for name in layout.fields}
    return pa.table({**columns, EXTRA: pa.array([], STR), ROW: pa.array([], pa.int64())})


# --------------------------------------------------------------------------------------------------- converting

ISO_TIME = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?$"
INTEGER = r"^-?\d+$"
_CLF = r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$"
_MONTHS = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_FLOAT = r"^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"


@dataclass
class Checked:
    """Typed columns made from the split strings; a row whose value does not convert is flagged with why."""

    lines: Lines
    reasons: dict[int, str] = field(default_factory=dict)  # row index -> the first problem found

    def __post_init__(self) -> None:
        self.n = self.lines.table.num_rows
        self.bad = np.zeros(self.n, dtype=bool)

    def column(self, name: str) -> pa.ChunkedArray:
        return self.lines.table.column(name)

    def flag(self, mask: np.ndarray, reason: Callable[[int], str]) -> None:
        for i in np.flatnonzero(mask & ~self.bad).tolist():
            self.reasons[i] = reason(i)
        self.bad |= mask

    def columns(
        self, spec: list[tuple[str, pa.DataType]], raw: dict[str, str], done: dict[str, pa.Array]
    ) -> dict[str, pa.Array]:
        """The table's columns in order: those in `done` as given, the others from their raw field (named as
        the column unless `raw` says otherwise) converted to the column's type."""
        out = {}
        for name, kind in spec:
            if name in done:
                out[name] = done[name]
            else:
                field_name = raw.get(name, name)
                out[name] = self.column(field_name) if kind == STR else self.number(field_name, kind)
        return out

    def number(self, name: str, kind: pa.DataType, values=None) -> pa.Array:
        """A numeric field: a value that is not a number (or out of range) rejects its row."""
        values = self.column(name) if values is None else values
        try:
            return pc.cast(values, kind)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        floating = pa.types.is_floating(kind)
        numeric = pc.fill_null(pc.match_substring_regex(values, _FLOAT if floating else INTEGER), True)
        wrong = pc.invert(numeric).to_numpy(zero_copy_only=False)
        cleaned = whole(pc.if_else(numeric, values, pa.scalar(None, values.type)))
        out, out_of_range = _convert(lambda v: pc.cast(v, kind), cleaned, kind)  # numbers too big for the type
        if out_of_range is not None:
            wrong |= out_of_range
        if wrong.any():
            texts = values.to_pylist()
            self.flag(wrong, lambda i: f"field {name!r} must be a number or '-', found {str(texts[i])[:40]!r}")
        return out

    def iso_time(self, name: str) -> pa.Array:
        """An ISO 8601 time (`2018-07-02T22:23:00.186641Z`; no zone means UTC) as a UTC timestamp."""
        return self._time(name, _ISO, _parse_iso, "an ISO 8601 time")

    def clf_time(self, name: str) -> pa.Array:
        """A time like `06/Feb/2019:00:00:38 +0000` (the Common Log Format's, S3's) as a UTC timestamp."""
        return self._time(name, _CLF_WAY, _parse_clf, "a time like 06/Feb/2019:00:00:38 +0000")

    def _time(self, name: str, way: _TimeWay, slow: Callable[[str], dt.datetime | None], what: str) -> pa.Array:
        """Well-formed values converted all at once; the others one by one (a bad one rejects its row)."""
        pattern, placeholder, fast = way
        values = whole(self.column(name))
        repeated = _by_distinct_values(values, way)
        if repeated is not None:
            return repeated
        if pattern is ISO_TIME:  # the ISO reader checks every value itself: try it first
            try:
                return fast(values)
            except pa.ArrowInvalid:
                pass
        wellformed = pc.fill_null(pc.match_substring_regex(values, pattern), False)
        odd = np.flatnonzero(pc.and_(pc.invert(wellformed), pc.is_valid(values)).to_numpy(zero_copy_only=False))
        out, impossible = _convert(fast, pc.if_else(wellformed, values, placeholder) if len(odd) else values)
        if impossible is not None:  # well-formed yet impossible (a 31 February): those the slow way too
            odd = np.union1d(odd, np.flatnonzero(impossible))
        out = pc.if_else(pc.is_valid(values), out, pa.scalar(None, TIMESTAMP))
        if not len(odd):
            return out
        texts = values.take(pa.array(odd)).to_pylist()
        parsed = [slow(text) for text in texts]
        wrong = np.zeros(self.n, dtype=bool)
        wrong[odd[[i for i, t in enumerate(parsed) if t is None]]] = True
        reason = dict(zip(odd.tolist(), texts, strict=True))
        self.flag(wrong, lambda i: f"field {name!r} is not {what}: {reason[i][:40]!r}")
        mask = np.zeros(self.n, dtype=bool)
        mask[odd] = True
        return pc.replace_with_mask(out, pa.array(mask), pa.array(parsed, TIMESTAMP))

    def matches(self, name: str, pattern: str, what: str) -> None:
        """A text field whose values must look a certain way (when present): catches fields shifted by one."""
        values = self.column(name)
        quick = _QUICK_CHECKS.get(pattern)
        if quick is not None:
            try:  # a reader that takes every value is cheaper than the regex
                quick(values)
                return
            except pa.ArrowInvalid:
                pass
        wrong = pc.invert(pc.fill_null(pc.match_substring_regex(values, pattern), True)).to_numpy(zero_copy_only=False)
        if wrong.any():
            texts = values.to_pylist()
            self.flag(wrong, lambda i: f"field {name!r} is not {what}: {texts[i][:40]!r}")

    def require(self, name: str, values) -> None:
        """A field every record has: a line without it is not this format."""
        missing = pc.is_null(values).to_numpy(zero_copy_only=False)
        if missing.any():
            self.flag(missing, lambda i: f"field {name!r} is missing")

    def host_port(self, name: str) -> tuple[pa.Array, pa.Array]:
        """`ip:port` -> (ip, port), split at the last colon as the Athena regex does; no port -> NULL port."""
        values = self.column(name)
        if _repetitive(values):  # targets and listeners: a few distinct values, split once each
            encoded = whole(pc.dictionary_encode(values))
            found = _split_host_port(encoded.dictionary)
            if found is not None:
                return found[0].take(encoded.indices), found[1].take(encoded.indices)
        else:
            found = _split_host_port(values)
            if found is not None:
                return found
        # some value without a port (or with a port that is not a number): the slow way
        parts = pc.extract_regex(values, r"^(?P<ip>.*):(?P<port>[0-9]+)$")
        ip = _unbracket(pc.coalesce(pc.struct_field(parts, "ip"), values))
        return ip, self.number(name, pa.int32(), pc.struct_field(parts, "port"))

    def request(self, name: str) -> tuple[pa.Array, pa.Array, pa.Array]:
        """The quoted request line `VERB url PROTO` -> its three parts (the url may hold spaces).

        `- - - ` (a request that was not HTTP) is three NULLs; a line that does not have three parts is kept
        whole as the url.
        """
        values = self.column(name)
        if pc.any(pc.ends_with(values, " ")).as_py():
            values = pc.utf8_rtrim(values, characters=" ")
        parts = pc.split_pattern(values, " ")
        three = pc.fill_null(pc.equal(pc.list_value_length(parts), 3), True)
        if pc.all(three).as_py():
            found = [pc.list_element(parts, i) for i in range(3)]
        else:  # urls with spaces, or not three parts: a regex for those rows
            values, parts, three = whole(values), whole(parts), whole(three)
            odd = pc.invert(three)
            regular = parts.filter(three)
            matched = pc.extract_regex(values.filter(odd), r"^(?P<verb>[^ ]*) (?P<url>.*) (?P<proto>[^ ]*)$")
            odd_parts = [pc.struct_field(matched, f) for f in ("verb", "url", "proto")]
            odd_parts[1] = pc.coalesce(odd_parts[1], values.filter(odd))
            found = []
            for i in range(3):
                column = pc.replace_with_mask(pa.nulls(len(values), STR), three, pc.list_element(regular, i))
                found.append(pc.replace_with_mask(column, odd, odd_parts[i]))
        verb, url, proto = (_dash_null(f) for f in found)
        return verb, url, proto

    def finish(self, columns: dict[str, pa.Array], time: pa.Array) -> tuple[pa.Table, list[Reject]]:
        """The good rows (format columns, `unmapped`, TIME, ROW) and the rejects of the flagged ones, by line."""
        table = self.lines.table
        out = pa.table({**columns, UNMAPPED: table.column(EXTRA), TIME: time, ROW: table.column(ROW)})
        rejects = list(self.lines.rejects)
        if self.bad.any():
            rows = table.column(ROW).to_numpy()
            for i in np.flatnonzero(self.bad).tolist():
                number = int(rows[i])
                rejects.append(Reject(number, self.reasons[i], raw_text(self.lines.index.line(number).rstrip(b"\r"))))
            out = out.filter(pa.array(~self.bad))
            rejects.sort(key=lambda r: r.row)
        return out, rejects


def _parse_iso(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _iso_fast(values: pa.Array) -> pa.Array:
    return pc.cast(pc.cast(pc.utf8_rtrim(values, characters="Z"), _NAIVE), TIMESTAMP)


def _clf_fast(values: pa.Array) -> pa.Array:
    """Cut into pieces and read as ISO 8601 (much faster than strptime), then apply the zone offset."""
    month = pc.dictionary_encode(pc.utf8_slice_codeunits(values, 3, 6))
    month_numbers = pc.index_in(month.dictionary, pa.array(_MONTHS))
    if month_numbers.null_count or (len(month_numbers) and pc.min(month_numbers).as_py() < 1):
        raise pa.ArrowInvalid("not a month name")
    number = pc.utf8_lpad(pc.take(pc.cast(month_numbers, STR), month.indices), 2, padding="0")
    piece = functools.partial(pc.utf8_slice_codeunits, values)
    iso = pc.binary_join_element_wise(piece(7, 11), "-", number, "-", piece(0, 2), "T", piece(12, 20), "")
    local = pc.cast(iso, _NAIVE)
    zone = piece(21, 26)
    if not pc.all(pc.equal(zone, "+0000")).as_py():
        sign = pc.if_else(pc.starts_with(zone, "-"), -1, 1)
        hours = pc.cast(pc.utf8_slice_codeunits(zone, 1, 3), pa.int64())
        minutes = pc.cast(pc.utf8_slice_codeunits(zone, 3, 5), pa.int64())
        offset = pc.multiply(pc.multiply(pc.add(pc.multiply(hours, 60), minutes), sign), 60_000_000)
        local = pc.cast(pc.subtract(pc.cast(local, pa.int64()), offset), _NAIVE)
    return pc.cast(local, TIMESTAMP)


_QUICK_CHECKS: dict[str, Callable[[pa.Array], pa.Array]] = {
    INTEGER: lambda values: pc.cast(values, pa.int64()),
    ISO_TIME: _iso_fast,
}
_TimeWay = tuple[str, str, Callable[[pa.Array], pa.Array]]  # well-formed pattern, a placeholder, fast converter
_ISO: _TimeWay = (ISO_TIME, "1970-01-01T00:00:00", _iso_fast)
_CLF_WAY: _TimeWay = (_CLF, "01/Jan/1970:00:00:00 +0000", _clf_fast)


def _convert(
    fast: Callable[[pa.Array], pa.Array], values: pa.Array, kind: pa.DataType = TIMESTAMP
) -> tuple[pa.Array, np.ndarray | None]:
    """Convert all values at once; if some cannot be, halve until they are found: (result, which failed)."""
    try:
        return fast(values), None
    except pa.ArrowInvalid:
        if len(values) == 1:
            return pa.nulls(1, kind), np.ones(1, dtype=bool)
    half = len(values) // 2
    left, left_failed = _convert(fast, values[:half], kind)
    right, right_failed = _convert(fast, values[half:], kind)
    failed = np.concatenate(
        [
            np.zeros(half, bool) if left_failed is None else left_failed,
            np.zeros(len(values) - half, bool) if right_failed is None else right_failed,
        ]
    )
    return pa.concat_arrays([whole(left), whole(right)]), failed


def _repetitive(values) -> bool:
    """Whether a long column holds few distinct values (judged on its start)."""
    return len(values) >= 4096 and pc.count_distinct(values.slice(0, 1024)).as_py() <= 256


def _split_host_port(values) -> tuple[pa.Array, pa.Array] | None:
    """(ip, port) when every value is `ip:port` with a numeric port, else None."""
    parts = pc.split_pattern(values, ":", max_splits=1, reverse=True)
    lengths = pc.min_max(pc.list_value_length(parts))
    if lengths["min"].as_py() not in (2, None) or lengths["max"].as_py() not in (2, None):
        return None
    try:
        port = pc.cast(pc.list_element(parts, 1), pa.int32())
    except pa.ArrowInvalid:
        return None
    return _unbracket(pc.list_element(parts, 0)), port


def _unbracket(ip):
    """`[2001:db8::1]` (an IPv6 address written with its port) -> `2001:db8::1`."""
    return pc.utf8_trim(ip, characters="[]") if pc.any(pc.starts_with(ip, "[")).as_py() else ip


def _by_distinct_values(values: pa.Array, way: _TimeWay) -> pa.Array | None:
    """Times converted once per distinct value, when they repeat (S3 logs have one per second at most)."""
    pattern, _, fast = way
    if not _repetitive(values):
        return None
    encoded = pc.dictionary_encode(values)
    if not pc.all(pc.fill_null(pc.match_substring_regex(encoded.dictionary, pattern), False)).as_py():
        return None
    try:
        return fast(encoded.dictionary).take(encoded.indices)
    except pa.ArrowInvalid:
        return None


def _parse_clf(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, "%d/%b/%Y:%H:%M:%S %z").astimezone(dt.UTC)
    except ValueError:
        return None


def _dash_null(values):
    empty = pc.or_(pc.equal(values, "-"), pc.equal(values, ""))
    return pc.if_else(empty, pa.scalar(None, STR), values)


# ------------------------------------------------------------------------------------------------- lake columns

_REGION = r"^[a-z]{2}(?:-[a-z]+)+-\d+$"
_ACCOUNT = r"^\d{12}$"


def arn_parts(*arns) -> tuple[pa.Array, pa.Array]:
    """(region, account) from the first of the given ARN columns that names them, per row."""
    regions, accounts = [], []
    for arn in arns:
        # an ARN column holds few distinct values (a target group, a certificate): work on those only
        encoded = whole(pc.dictionary_encode(arn))
        values = encoded.dictionary
        parts = pc.split_pattern(pc.binary_join_element_wise(values, ":::::", ""), ":", max_splits=5)
        is_arn = pc.equal(pc.list_element(parts, 0), "arn")
        region, account = pc.list_element(parts, 3), pc.list_element(parts, 4)
        region = _keep(region, pc.and_(is_arn, pc.match_substring_regex(region, _REGION)))
        account = _keep(account, pc.and_(is_arn, pc.match_substring_regex(account, _ACCOUNT)))
        regions.append(region.take(encoded.indices))
        accounts.append(account.take(encoded.indices))
    return pc.coalesce(*regions), pc.coalesce(*accounts)


def _keep(values, mask):
    return pc.if_else(pc.fill_null(mask, False), values, pa.scalar(None, STR))


def concat(parts: list) -> pa.Table:
    return pa.concat_tables([p.data for p in parts]) if len(parts) > 1 else parts[0].data


def whole(values) -> pa.Array:
    """One array (a column of a table read in blocks has several chunks)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def to_lake(
    parts: list,
    schema: pa.Schema,
    *,
    ip_columns: tuple[str, ...],
    where: Callable[[pa.Table], tuple[pa.Array | None, pa.Array | None]] | None = None,
) -> pa.Table:
    """Many objects' parsed rows as one table with the lake columns; `where` gives (region, account) per row."""
    rows = concat(parts)
    region, account = where(rows) if where else (None, None)
    return append_lake_columns(
        rows.drop_columns([TIME, ROW]),
        schema=schema,
        origins=Origins.of([p.obj for p in parts], [p.records for p in parts]),
        time=rows.column(TIME),
        account=account,
        region=region,
        ips=ip_lists([whole(rows.column(c)) for c in ip_columns]),
        rows=rows.column(ROW),
    )


def parsed(table: str, obj: ObjectInfo, rows: pa.Table, rejects: list[Reject], to_arrow) -> Parsed:
    if not rows.num_rows:
        return Parsed(table, None, rejects)
    return Parsed(table, Part(obj, rows.num_rows, rows), rejects, to_arrow=to_arrow)
