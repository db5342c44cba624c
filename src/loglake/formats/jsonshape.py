"""Typed shapes for JSON log records: one declaration gives the fast decoder, the Arrow type and the columns.

A shape is declared once as a tree of `Str`, `Json`, `Struct`, `ListOf` and `MapOf` nodes with the column name
and the JSON key of each field. From it come:

- a msgspec type that decodes known records at C speed and refuses any key it does not know, so that a record
  with a new field falls back to the lenient path instead of losing the field;
- the Arrow type of the column (Athena's types: strings, structs, arrays, maps; nested JSON kept as text);
- `to_arrow`, turning decoded values into a column without a per-field Python branch on the hot path;
- `split_known`, the lenient path: it matches keys without regard to case (as Athena's JSON SerDe does) and
  returns what the shape does not name, so the caller can keep it in an `unmapped` JSON column.
"""

from __future__ import annotations

import operator
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.compute as pc

Scalar = str | bool | int | float | None
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
        raws = pa.array([b"" if v is None else bytes(v) for v in values], pa.binary())
        if pc.any(pc.match_substring(raws, b"\n")).as_py():
            # pretty-printed input: store the compact form, as delivered log files have it
            raws = pa.array([msgspec.json.format(r, indent=0) if r else r for r in raws.to_pylist()], pa.binary())
        absent = pc.or_(pc.equal(raws, b""), pc.equal(raws, b"null"))
        return pc.if_else(absent, pa.scalar(None, pa.string()), raws.cast(pa.string()))


@dataclass(frozen=True)
class Field:
    column: str
    key: str
    shape: Shape


class Struct(Shape):
    def __init__(self, name: str, fields: list[Field]):
        self.name = name
        self.fields = fields
        self.arrow_type = pa.struct([pa.field(f.column, f.shape.arrow_type) for f in fields])
        self._by_lower_key = {f.key.lower(): f for f in fields}
        self._type: Any = None

    def decoder_type(self) -> Any:
        if self._type is None:
            self._type = msgspec.defstruct(
                self.name,
                [(f.key, *f.shape.field_spec()) for f in self.fields],
                forbid_unknown_fields=True,
            )
        return self._type

    def columns(self, values: list[Any]) -> list[pa.Array]:
        """One Arrow array per field, for a list of decoded structs (None allowed)."""
        if None in values:
            absent = self.decoder_type()()  # an all-default struct reads as nulls in every field
            values = [absent if v is None else v for v in values]
        if not values:
            return [f.shape.to_arrow([]) for f in self.fields]
        # one pass over the structs, then a transpose: far fewer cache misses than a getattr per field
        by_field = zip(*map(msgspec.structs.astuple, values), strict=True)
        return [f.shape.to_arrow(list(column)) for f, column in zip(self.fields, by_field, strict=True)]

    def to_arrow(self, values: list[Any]) -> pa.Array:
        if not any(values):  # decoded structs are always true: only an all-absent column is skipped here
            return pa.nulls(len(values), self.arrow_type)
        mask = pa.array(list(map(operator.is_, values, repeat(None))), pa.bool_())
        return pa.StructArray.from_arrays(self.columns(values), fields=list(self.arrow_type), mask=mask)

    def split_known(self, value: Any) -> tuple[Any, Any]:
        if not isinstance(value, dict):
            return None, value
        known: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        for key, item in value.items():
            field = self._by_lower_key.get(key.lower())
            if field is None or field.key in known:
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

    def decoder_type(self) -> Any:
        return list[self.item.decoder_type() | None]

    def to_arrow(self, values: list[Any]) -> pa.Array:
        offsets = [0]
        flat: list[Any] = []
        for v in values:
            if v:
                flat.extend(v)
            offsets.append(len(flat))
        mask = pa.array([v is None for v in values], pa.bool_())
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), self.item.to_arrow(flat), mask=mask)

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
