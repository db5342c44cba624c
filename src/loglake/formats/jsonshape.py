"""Typed shapes for JSON log records: one declaration gives the fast decoder, the Arrow type and the columns.

A shape is declared once as a tree of `Str`, `Int`, `Json`, `Text`, `Struct`, `ListOf` and `MapOf` nodes with the
column name and the JSON key of each field. From it come:

- a msgspec type that decodes known records at C speed and refuses any key it does not know, so that a record
  with a new field falls back to the lenient path instead of losing the field;
- the Arrow type of the column (Athena's types: strings, structs, arrays, maps; nested JSON kept as text);
- `to_arrow`, turning decoded values into a column without a per-field Python branch on the hot path;
- `split_known`, the lenient path: it matches keys without regard to case (as Athena's JSON SerDe does) and
  returns what the shape does not name, so the caller can keep it in an `unmapped` JSON column;
- `read_json_lines`, reading a newline-delimited JSON object (WAF, Route 53 Resolver) with both paths, every
  record numbered by its physical line and every unreadable line a reject.
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Annotated, Any

import msgspec
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from msgspec.structs import astuple

from loglake.formats.base import Part, Reject, gc_paused, raw_text

Scalar = str | bool | int | float | None
_CHUNK = 256  # structs transposed into columns at a time (see Struct.columns)
_ERROR_PATH = re.compile(r"at `\$((?:\.[A-Za-z0-9_$@:-]+|\[\d+\])+)`")


def _as_text(value: Any) -> str | None:
    """A scalar as Athena's string column shows it (JSON booleans are `true`/`false`)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Shape(ABC):
    arrow_type: pa.DataType

    @abstractmethod
    def decoder_type(self) -> Any:
        """The msgspec type that decodes this shape."""

    @abstractmethod
    def to_arrow(self, values: list[Any]) -> pa.Array:
        """A column from decoded values (None for absent)."""

    def field_spec(self) -> tuple[Any, Any]:
        """(type, default) of a struct field of this shape; absent keys decode as the default."""
        return self.decoder_type() | None, None

    def split_known(self, value: Any) -> tuple[Any, Any]:
        """(the part of a plain JSON value this shape reads, the part it does not; None when nothing)."""
        return value, None

    has_extras = False  # whether a struct inside declares `extras` (keys decoded but kept out of the columns)

    def unknown_of(self, value: Any) -> Any:
        """For a strictly decoded value: its `extras`, as `split_known` would report them (None when none)."""
        return None


class Str(Shape):
    arrow_type = pa.string()

    def decoder_type(self) -> Any:
        return Scalar

    def to_arrow(self, values: list[Any]) -> pa.Array:
        try:
            return pa.array(values, pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            pass
        try:  # JSON booleans (readOnly, managementEvent): Arrow's cast writes them as Athena shows them
            return pa.array(values).cast(pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return pa.array([_as_text(v) for v in values], pa.string())

    def split_known(self, value: Any) -> tuple[Any, Any]:
        if isinstance(value, dict | list):
            return None, value
        return value, None


class Json(Shape):
    """Nested JSON kept as compact text (Athena's `requestparameters STRING`)."""

    arrow_type = pa.string()

    def decoder_type(self) -> Any:
        return msgspec.Raw

    def field_spec(self) -> tuple[Any, Any]:
        return msgspec.Raw, msgspec.Raw()  # msgspec.Raw cannot sit in a union with None

    def split_known(self, value: Any) -> tuple[Any, Any]:
        return msgspec.Raw(orjson.dumps(value)), None

    def to_arrow(self, values: list[Any]) -> pa.Array:
        if not any(values):  # an absent key decodes as an empty Raw
            return pa.nulls(len(values), pa.string())
        raws = _binary(values)
        pretty = pc.match_substring(raws, b"\n")  # JSON strings cannot hold a raw newline: it is layout
        if pc.any(pretty).as_py():
            # pretty-printed input: store the compact form delivered log files have, value by value, so that a
            # value reads the same whatever other objects share its batch
            texts = zip(raws.to_pylist(), pretty.to_pylist(), strict=True)
            raws = pa.array([msgspec.json.format(r, indent=-1) if p else r for r, p in texts], raws.type)
        absent = pc.or_(pc.equal(raws, b""), pc.equal(raws, b"null"))
        return pc.if_else(absent, pa.scalar(None, pa.string()), raws.cast(pa.string()))


_NO_RAW = msgspec.Raw()


def _binary(raws: list[Any]) -> pa.Array:
    """Raw JSON values (None for absent) as one binary array, without a Python step per value.

    bytes.join and len read a msgspec.Raw in C; the offsets are their running lengths. An absent value is
    empty, as an absent key's Raw is.
    """
    if None in raws:
        raws = [_NO_RAW if r is None else r for r in raws]
    data = b"".join(raws)
    large = len(data) >= 2**31
    offsets = np.zeros(len(raws) + 1, dtype=np.int64 if large else np.int32)
    np.cumsum(np.fromiter(map(len, raws), dtype=offsets.dtype, count=len(raws)), out=offsets[1:])
    kind = pa.large_binary() if large else pa.binary()
    return pa.Array.from_buffers(kind, len(raws), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


class Text(Json):
    """A string column that also takes nested JSON: OpenX's JSON SerDe keeps an array or object as its JSON text.

    Athena declares some list-valued WAF fields as `string` (`excludedrules`, `oversizefields`); a JSON string
    value is stored as the string itself, anything else as compact JSON text.
    """

    def to_arrow(self, values: list[Any]) -> pa.Array:
        texts = super().to_arrow(values)
        quoted = pc.fill_null(pc.starts_with(texts, '"'), False)
        if not pc.any(quoted).as_py():
            return texts
        return pa.array([msgspec.json.decode(t) if t and t[0] == '"' else t for t in texts.to_pylist()], pa.string())


class Int(Shape):
    """A JSON integer as an Athena `int`/`bigint` column.

    A string of digits is read as its number, as OpenX's JSON SerDe casts it (Route 53 Resolver writes `srcport`
    as a string). A value out of the column's range, a fraction or any other text is refused, so the lenient
    path keeps it in `unmapped` instead of losing it.
    """

    def __init__(self, arrow_type: pa.DataType | None = None):
        arrow_type = pa.int64() if arrow_type is None else arrow_type
        self.arrow_type = arrow_type
        high = 2 ** (arrow_type.bit_width - 1) - 1
        digits = len(str(high)) - 1  # every string of this many digits fits the column
        self._type = (
            Annotated[int, msgspec.Meta(ge=-high - 1, le=high)]
            | Annotated[str, msgspec.Meta(pattern=rf"\A-?[0-9]{{1,{digits}}}\Z")]
        )

    def decoder_type(self) -> Any:
        return self._type

    def to_arrow(self, values: list[Any]) -> pa.Array:
        try:
            return pa.array(values, self.arrow_type)
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            return pa.array([int(v) if isinstance(v, str) else v for v in values], self.arrow_type)

    def split_known(self, value: Any) -> tuple[Any, Any]:
        if isinstance(value, dict | list):
            return None, value
        return value, None


@dataclass(frozen=True)
class Field:
    column: str
    key: str
    shape: Shape


class Struct(Shape):
    """A JSON object with named fields, as an Arrow struct (or, at the top, as a table's columns).

    `extras` are keys a source is known to write that the table has no column for (WAF's `customerConfig`):
    the strict decoder accepts them (as raw JSON), so such records stay on the fast path, and `unknown_of`
    gives them back for the `unmapped` column exactly as the lenient path would have kept them.
    `null_is_absent` (see `treat_null_as_absent`): a key the shape does not name whose value is null is
    dropped instead of kept in `unmapped` (Athena's JSON SerDe reads null and absent alike).
    """

    def __init__(self, name: str, fields: list[Field], extras: tuple[str, ...] = ()):
        self.name = name
        self.fields = fields
        self.extras = tuple(extras)
        self.null_is_absent = False
        self.arrow_type = pa.struct([pa.field(f.column, f.shape.arrow_type) for f in fields])
        self._by_lower_key = {f.key.lower(): f for f in fields}
        self._type: Any = None
        self._children_with_extras = [f for f in fields if f.shape.has_extras]
        self.has_extras = bool(self.extras or self._children_with_extras)

    def decoder_type(self) -> Any:
        if self._type is None:
            self._type = msgspec.defstruct(
                self.name,
                [
                    *((f.key, *f.shape.field_spec()) for f in self.fields),
                    *((key, msgspec.Raw, msgspec.Raw()) for key in self.extras),
                ],
                forbid_unknown_fields=True,
            )
        return self._type

    def unknown_of(self, value: Any) -> dict[str, Any] | None:
        if value is None:
            return None
        out: dict[str, Any] = {}
        for key in self.extras:
            raw = getattr(value, key)
            if raw:  # the key was there (an absent key decodes as an empty Raw)
                item = orjson.loads(bytes(raw))
                if item is not None or not self.null_is_absent:
                    out[key] = item
        for f in self._children_with_extras:
            inner = f.shape.unknown_of(getattr(value, f.key))
            if inner is not None:
                out[f.key] = inner
        return out or None

    def columns(self, values: list[Any]) -> list[pa.Array]:
        """One Arrow array per field, for a list of decoded structs (None allowed)."""
        if None in values:
            absent = self.decoder_type()()  # an all-default struct reads as nulls in every field
            values = [absent if v is None else v for v in values]
        by_field: list[list[Any]] = [[] for _ in self.fields]
        # transposed a chunk at a time: the chunk's structs stay in the CPU cache while each field is read out;
        # zip builds the extras' columns (last in each tuple) lazily, so they are never built
        for start in range(0, len(values), _CHUNK):
            chunk_by_field = zip(*map(astuple, values[start : start + _CHUNK]), strict=True)
            for column, items in zip(by_field, chunk_by_field, strict=False):  # stops before the extras
                column.extend(items)
        return [f.shape.to_arrow(column) for f, column in zip(self.fields, by_field, strict=True)]

    def to_arrow(self, values: list[Any]) -> pa.Array:
        if not any(values):  # decoded structs are always true: only an all-absent column is skipped here
            return pa.nulls(len(values), self.arrow_type)
        mask = pa.array(list(map(operator.is_, values, repeat(None))), pa.bool_()) if None in values else None
        return pa.StructArray.from_arrays(self.columns(values), fields=list(self.arrow_type), mask=mask)

    def split_known(self, value: Any) -> tuple[Any, Any]:
        if not isinstance(value, dict):
            return None, value
        known: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, item in value.items():
            field = self._by_lower_key.get(key.lower())
            if field is None or field.key in known:
                if item is not None or not self.null_is_absent:
                    unknown[key] = item
                continue
            inner_known, inner_unknown = field.shape.split_known(item)
            known[field.key] = inner_known
            if inner_unknown is not None:
                unknown[key] = inner_unknown
        return known, unknown or None

    def convert(self, value: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        """Lenient decode of one plain JSON object: (the struct, what it could not hold)."""
        known, unknown = self.split_known(value)
        unknown = unknown or {}
        for _ in range(64):
            try:
                return msgspec.convert(known, self.decoder_type(), strict=False), unknown or None
            except msgspec.ValidationError as error:
                path = _error_path(str(error))
                if not path or not _move(known, unknown, path):
                    return msgspec.convert({}, self.decoder_type()), value
        return msgspec.convert({}, self.decoder_type()), value


class ListOf(Shape):
    def __init__(self, item: Shape):
        self.item = item
        self.arrow_type = pa.list_(item.arrow_type)
        self.has_extras = item.has_extras

    def unknown_of(self, value: Any) -> list[Any] | None:
        if not value:
            return None
        items = [self.item.unknown_of(v) for v in value]
        return items if any(i is not None for i in items) else None

    def decoder_type(self) -> Any:
        return list[self.item.decoder_type() | None]

    def to_arrow(self, values: list[Any]) -> pa.Array:
        lists = [v or () for v in values]
        offsets = np.zeros(len(lists) + 1, dtype=np.int32)
        np.cumsum(np.fromiter(map(len, lists), dtype=np.int32, count=len(lists)), out=offsets[1:])
        flat = list(chain.from_iterable(lists))  # C-level loops: no Python step per row
        mask = pa.array(list(map(operator.is_, values, repeat(None))), pa.bool_()) if None in values else None
        return pa.ListArray.from_arrays(pa.array(offsets), self.item.to_arrow(flat), mask=mask)

    def split_known(self, value: Any) -> tuple[Any, Any]:
        if not isinstance(value, list):
            return None, value
        parts = [self.item.split_known(v) for v in value]
        known = [k for k, _ in parts]
        if any(u is not None for _, u in parts):
            return known, [u for _, u in parts]
        return known, None


class MapOf(Shape):
    """A JSON object of arbitrary keys as map<string,string>; non-string values kept as JSON text."""

    arrow_type = pa.map_(pa.string(), pa.string())

    def decoder_type(self) -> Any:
        return dict[str, Any]

    def to_arrow(self, values: list[Any]) -> pa.Array:
        rows = [
            None if v is None else [(k, x if isinstance(x, str) else orjson.dumps(x).decode()) for k, x in v.items()]
            for v in values
        ]
        return pa.array(rows, self.arrow_type)

    def split_known(self, value: Any) -> tuple[Any, Any]:
        if not isinstance(value, dict):
            return None, value
        return value, None


def treat_null_as_absent(shape: Shape) -> Shape:
    """Set `null_is_absent` on every struct of a shape tree (returns the shape, for use in its declaration)."""
    if isinstance(shape, Struct):
        shape.null_is_absent = True
        for f in shape.fields:
            treat_null_as_absent(f.shape)
    elif isinstance(shape, ListOf):
        treat_null_as_absent(shape.item)
    return shape


def _error_path(message: str) -> list[str | int]:
    match = _ERROR_PATH.search(message)
    if not match:
        return []
    return [int(p[1:-1]) if p.startswith("[") else p[1:] for p in re.findall(r"\.[^.\[]+|\[\d+\]", match.group(1))]


def _move(known: Any, unknown: dict[str, Any], path: list[str | int]) -> bool:
    """Move the value at path from the known tree to the unknown tree (mirroring the path)."""
    node = known
    for step in path[:-1]:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    try:
        value = node[last]
    except (KeyError, IndexError, TypeError):
        return False
    if isinstance(node, list):
        node[last] = None
    else:
        del node[last]
    target: Any = unknown
    for step in path[:-1]:
        target = target.setdefault(str(step), {})
        if not isinstance(target, dict):
            return False
    target[str(last)] = value
    return True


@dataclass
class Records:
    """Records decoded from an object, with their unmapped JSON, their positions, and what could not be read."""

    records: list[Any] = field(default_factory=list)
    unmapped: list[str | None] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def add_lenient(self, shape: Struct, record: Any, row: int, raw: bytes) -> None:
        """A record the strict decoder refused: what the shape can hold, the rest kept as unmapped JSON."""
        if not isinstance(record, dict):
            self.rejects.append(Reject(row, "record is not a JSON object", raw_text(raw)))
            return
        decoded, rest = shape.convert(record)
        self.records.append(decoded)
        self.unmapped.append(orjson.dumps(rest).decode() if rest else None)
        self.rows.append(row)


_BOM = b"\xef\xbb\xbf"


def read_json_lines(shape: Struct, data: bytes) -> Records:
    """Newline-delimited JSON objects of one shape; each record's row is its physical line number.

    Every line is tried with the strict decoder first (C speed, refuses unknown keys), then with the lenient
    path; a line that is not JSON, or not an object, becomes a reject with its line number and a reason.
    """
    decode = _lines_decoder(shape)
    extras = shape.unknown_of if shape.has_extras else None
    out = Records()
    records, unmapped, rows = out.records, out.unmapped, out.rows
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            records.append(decode(line))
        except msgspec.ValidationError:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as error:
                out.rejects.append(Reject(number, f"invalid JSON: {error}", raw_text(line)))
                continue
            out.add_lenient(shape, record, number, line)
            continue
        except (msgspec.DecodeError, UnicodeDecodeError) as error:  # msgspec reports a non-UTF-8 key this way
            if line.strip():
                out.rejects.append(Reject(number, f"invalid JSON: {error}", raw_text(line)))
            continue
        if extras is None:
            unmapped.append(None)
        else:
            found = extras(records[-1])
            unmapped.append(None if found is None else orjson.dumps(found).decode())
        rows.append(number)
    return out


def _lines_decoder(shape: Struct) -> Any:
    decoder = getattr(shape, "_line_decoder", None)
    if decoder is None:
        decoder = shape._line_decoder = msgspec.json.Decoder(shape.decoder_type()).decode
    return decoder


def records_table(shape: Struct, parts: list[Part], unmapped_column: str = "unmapped") -> tuple[pa.Table, pa.Array]:
    """Many objects' decoded records as one table of the shape's columns (plus `unmapped`), and their rows.

    A part's data is (records, unmapped JSON per record, row per record), as the JSON formats' `parse` keeps
    it; building all parts at once pays the per-call cost of column building once per batch.
    """
    records: list[Any] = []
    unmapped: list[str | None] = []
    rows: list[int] = []
    for part in parts:
        part_records, part_unmapped, part_rows = part.data
        records += part_records
        unmapped += part_unmapped
        rows += part_rows
    with gc_paused():
        columns = shape.columns(records)
    names = [f.column for f in shape.fields]
    table = pa.Table.from_arrays([*columns, pa.array(unmapped, pa.string())], names=[*names, unmapped_column])
    return table, pa.array(rows, pa.int64())
