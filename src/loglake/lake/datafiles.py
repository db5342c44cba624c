"""Parquet data files for a table's new rows, written here rather than by pyiceberg's append path.

Two reasons: the encodings are chosen per column (pyiceberg dictionary-encodes everything, which stores
timestamps, counters and random ids poorly), and a batch whose rows all fall on one day is written without
pyiceberg's partition split (a filter of the whole table per day). The files are the same Iceberg data
files otherwise: Parquet zstd at the table's level, the schema's field ids, the column statistics, the
partition path and values pyiceberg itself would write, so the commit (`catalog.commit_data_files`) and
every reader (pyiceberg, DuckDB `iceberg_scan`, Spark) see no difference.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import (
    ParquetFormatModel,
    _get_parquet_writer_kwargs,
    _to_requested_schema,
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
    pyarrow_to_schema,
    schema_to_pyarrow,
)
from pyiceberg.manifest import DataFile, DataFileContent, FileFormat
from pyiceberg.partitioning import PartitionFieldValue, PartitionKey
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.locations import load_location_provider
from pyiceberg.typedef import Record

# Rows are ordered by these columns inside each file where that makes neighbouring values repeat (the same
# service and API call, the same caller): dictionary runs and zstd then find far more. Flow logs are left in
# their delivery order, which already keeps a connection's records (and its time) together.
CLUSTER_BY: dict[str, tuple[str, ...]] = {
    "cloudtrail_logs": ("eventsource", "eventname", "lake_time"),
}
# A string column whose sampled values are this often distinct (request ids, random tokens) gains nothing
# from a dictionary: its values are stored one after the other, lengths apart, for zstd to compress.
DISTINCT_SHARE = 0.9
SAMPLE_ROWS = 2048
ROW_COLUMN = "lake_row"  # a position in the source object: rises by one per row, so deltas store it in bits


def write_data_files(table: Table, data: pa.Table, write_uuid: uuid.UUID) -> list[DataFile]:
    """Write `data` (rows of `table`'s schema, or a subset of its columns) as data files, one per partition."""
    metadata = table.metadata
    file_schema = metadata.schema()
    data = _clustered(data, CLUSTER_BY.get(table.name()[-1], ()))
    rows = _to_file_schema(data, file_schema, metadata.schema().name_mapping, metadata.format_version)
    locations = load_location_provider(table_location=metadata.location, table_properties=metadata.properties)
    files = []
    for index, (partition_key, part) in enumerate(_partitions(table, rows)):
        name = f"00000-{index}-{write_uuid}.parquet"
        path = locations.new_data_location(data_file_name=name, partition_key=partition_key)
        files.append(_write_file(table, path, part, partition_key))
    return files


def read_data_files(table: Table, files: list[DataFile]) -> pa.Table:
    """The rows of some of a table's data files, as written (pyiceberg's scan turns NULL lists into empty
    ones, so rows it reads back would not equal the rows written)."""
    pieces = []
    for data_file in files:
        with table.io.new_input(data_file.file_path).open() as stream:
            pieces.append(pq.read_table(stream))
    return pa.concat_tables(pieces, promote_options="permissive")


def _clustered(data: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    keys = tuple(k for k in keys if k in data.column_names)
    if not keys or data.num_rows < 2:
        return data
    return data.take(pc.sort_indices(data, [(k, "ascending") for k in keys]))


def _to_file_schema(data: pa.Table, file_schema: Schema, name_mapping: Any, format_version: int) -> pa.Table:
    """The rows with the table's field ids (and any column the table has but the rows lack, as NULLs)."""
    with_ids = _with_field_ids(data.schema, file_schema)
    if with_ids is not None:
        return data.cast(with_ids)  # the table's columns and types: only the field ids are attached, no copy
    task_schema = pyarrow_to_schema(data.schema, name_mapping=name_mapping, format_version=format_version)
    batches = data.combine_chunks().to_batches()
    requested = [
        _to_requested_schema(
            requested_schema=file_schema,
            file_schema=task_schema,
            batch=batch,
            include_field_ids=True,
            format_model=ParquetFormatModel(),
        )
        for batch in batches
    ]
    return pa.Table.from_batches(requested)


def _with_field_ids(arrow: pa.Schema, schema: Schema) -> pa.Schema | None:
    """`arrow` with each field carrying its Iceberg field id, when its columns and types are exactly the table's
    (string or large string alike: Parquet stores both the same); None when they differ."""
    if not _large(arrow).equals(schema_to_pyarrow(schema, include_field_ids=False), check_metadata=False):
        return None
    return pa.schema([_field_with_id(f, schema.find_field(f.name)) for f in arrow])


def _large(schema: pa.Schema) -> pa.Schema:
    def widen(kind: pa.DataType) -> pa.DataType:
        if pa.types.is_string(kind):
            return pa.large_string()
        if pa.types.is_binary(kind):
            return pa.large_binary()
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            return pa.large_list(pa.field("element", widen(kind.value_type), kind.value_field.nullable))
        if pa.types.is_map(kind):
            return pa.map_(widen(kind.key_type), pa.field("value", widen(kind.item_type), kind.item_field.nullable))
        if pa.types.is_struct(kind):
            return pa.struct([f.with_type(widen(f.type)) for f in kind])
        return kind

    return pa.schema([f.with_type(widen(f.type)) for f in schema])


def _field_with_id(field: pa.Field, iceberg: Any) -> pa.Field:
    return field.with_type(_type_with_ids(field.type, iceberg.field_type)).with_metadata(_id(iceberg.field_id))


def _type_with_ids(kind: pa.DataType, iceberg_type: Any) -> pa.DataType:
    if pa.types.is_struct(kind):
        return pa.struct([_field_with_id(f, iceberg_type.field_by_name(f.name)) for f in kind])
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        element = kind.value_field
        element = element.with_type(_type_with_ids(element.type, iceberg_type.element_type))
        element = element.with_metadata(_id(iceberg_type.element_id))
        return pa.list_(element) if pa.types.is_list(kind) else pa.large_list(element)
    if pa.types.is_map(kind):
        key = kind.key_field.with_type(_type_with_ids(kind.key_type, iceberg_type.key_type))
        item = kind.item_field.with_type(_type_with_ids(kind.item_type, iceberg_type.value_type))
        return pa.map_(key.with_metadata(_id(iceberg_type.key_id)), item.with_metadata(_id(iceberg_type.value_id)))
    return kind


def _id(field_id: int) -> dict[bytes, bytes]:
    return {b"PARQUET:field_id": str(field_id).encode()}


def _partitions(table: Table, rows: pa.Table) -> Iterator[tuple[PartitionKey | None, pa.Table]]:
    """The rows of each partition: one slice per day, without filtering when they are all of one day."""
    spec, schema = table.metadata.spec(), table.metadata.schema()
    if spec.is_unpartitioned():
        yield None, rows
        return
    sources = [rows.column(schema.find_column_name(f.source_id)) for f in spec.fields]
    transforms = [f.transform.pyarrow_transform(schema.find_field(f.source_id).field_type) for f in spec.fields]
    single = _single_partition(spec.fields, transforms, sources)
    if single is not None:
        yield _partition_key(table, single), rows
        return
    codes = [
        pc.dictionary_encode(t(s).combine_chunks() if isinstance(s, pa.ChunkedArray) else t(s))
        for t, s in zip(transforms, sources, strict=True)
    ]
    group = np.zeros(rows.num_rows, dtype=np.int64)
    for c in codes:
        group = group * (len(c.dictionary) + 1) + pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False) + 1
    order = np.argsort(group, kind="stable")
    ordered = rows.take(pa.array(order))
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for start, end in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [rows.num_rows]]), strict=True):
        first = int(order[start])
        values = [c.dictionary[c.indices[first].as_py()].as_py() if c.indices[first].is_valid else None for c in codes]
        yield _partition_key(table, values), ordered.slice(int(start), int(end - start))


def _single_partition(fields: list, transforms: list, sources: list) -> list[Any] | None:
    """The partition values when every row has the same ones, found from each column's least and greatest
    value (order-preserving transforms such as day() map both to the same value only then); else None."""
    values = []
    for field, transform, source in zip(fields, transforms, sources, strict=True):
        if not field.transform.preserves_order or source.null_count:
            return None
        bounds = pc.min_max(source)
        ends = transform(pa.array([bounds["min"].as_py(), bounds["max"].as_py()], source.type)).to_pylist()
        if ends[0] != ends[1]:
            return None
        values.append(ends[0])
    return values


def _partition_key(table: Table, values: list[Any]) -> PartitionKey:
    spec = table.metadata.spec()
    return PartitionKey(
        field_values=[PartitionFieldValue(field=f, value=v) for f, v in zip(spec.fields, values, strict=True)],
        partition_spec=spec,
        schema=table.metadata.schema(),
    )


def _write_file(table: Table, path: str, rows: pa.Table, partition_key: PartitionKey | None) -> DataFile:
    metadata = table.metadata
    properties = metadata.properties
    output = table.io.new_output(path)
    with output.create(overwrite=True) as stream:
        writer = pq.ParquetWriter(
            stream, schema=rows.schema, store_decimal_as_integer=True, **_writer_options(rows, properties)
        )
        writer.write_table(rows, row_group_size=_row_group_rows(properties))
        writer.close()
    plan, column_ids = _statistics_layout(metadata)
    statistics = data_file_statistics_from_parquet_metadata(
        parquet_metadata=writer.writer.metadata, stats_columns=plan, parquet_column_mapping=column_ids
    )
    return DataFile.from_args(
        content=DataFileContent.DATA,
        file_path=path,
        file_format=FileFormat.PARQUET,
        partition=partition_key.partition if partition_key else Record(),
        file_size_in_bytes=len(output),
        sort_order_id=None,
        spec_id=metadata.default_spec_id,
        equality_ids=None,
        key_metadata=None,
        **statistics.to_serialized_dict(),
    )


def _row_group_rows(properties: dict[str, str]) -> int:
    from pyiceberg.table import TableProperties

    return int(properties.get(TableProperties.PARQUET_ROW_GROUP_LIMIT, TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT))


_statistics: dict[tuple, tuple[Any, dict[str, int]]] = {}


def _statistics_layout(metadata: Any) -> tuple[Any, dict[str, int]]:
    """The statistics plan and Parquet path -> field id map of a table's schema (worked out once per schema)."""
    schema = metadata.schema()
    key = (metadata.location, schema.schema_id, tuple(sorted(metadata.properties.items())))
    if key not in _statistics:
        _statistics[key] = (compute_statistics_plan(schema, metadata.properties), parquet_path_to_id_mapping(schema))
    return _statistics[key]


def _writer_options(rows: pa.Table, properties: dict[str, str]) -> dict[str, Any]:
    """pyiceberg's writer settings (codec, level, page sizes) plus an encoding per column."""
    encodings = column_encodings(rows)
    options = _get_parquet_writer_kwargs(properties)
    options["use_dictionary"] = [path for path, _, _ in _leaves(rows.schema) if path not in encodings]
    options["column_encoding"] = encodings
    return options


def column_encodings(rows: pa.Table) -> dict[str, str]:
    """The leaf columns not dictionary-encoded, with their encoding.

    Timestamps and the row position rise slowly: deltas. Other integers (ports, byte counts): plain values,
    which zstd compresses better than dictionary indices. Strings mostly distinct in a sample (ids, tokens):
    their bytes back to back. Everything else keeps the dictionary, which suits repeated names and lists.
    """
    encodings: dict[str, str] = {}
    for path, kind, column in _leaves(rows.schema, rows):
        if pa.types.is_timestamp(kind) or path == ROW_COLUMN:
            encodings[path] = "DELTA_BINARY_PACKED"
        elif pa.types.is_integer(kind):
            encodings[path] = "PLAIN"
        elif (
            (pa.types.is_string(kind) or pa.types.is_large_string(kind))
            and column is not None
            and _mostly_distinct(column)
        ):
            encodings[path] = "DELTA_LENGTH_BYTE_ARRAY"
    return encodings


def _mostly_distinct(column: pa.ChunkedArray | pa.Array) -> bool:
    step = max(1, len(column) // SAMPLE_ROWS)
    sample = column.take(pa.array(np.arange(0, len(column), step, dtype=np.int64)))
    present = len(sample) - sample.null_count
    return present >= 16 and pc.count_distinct(sample).as_py() >= DISTINCT_SHARE * present


def _leaves(schema: pa.Schema, rows: pa.Table | None = None) -> list[tuple[str, pa.DataType, Any]]:
    """(Parquet column path, type, values where cheaply known) of every leaf: struct fields are followed,
    lists and maps are named by their element paths (their values are not sampled)."""
    out: list[tuple[str, pa.DataType, Any]] = []

    def walk(path: str, kind: pa.DataType, values: Any) -> None:
        if pa.types.is_struct(kind):
            for i in range(kind.num_fields):
                child = kind.field(i)
                walk(f"{path}.{child.name}", child.type, _child(values, i))
        elif pa.types.is_map(kind):
            walk(f"{path}.key_value.key", kind.key_type, None)
            walk(f"{path}.key_value.value", kind.item_type, None)
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            walk(f"{path}.list.element", kind.value_type, None)
        else:
            out.append((path, kind, values))

    for i, f in enumerate(schema):
        walk(f.name, f.type, rows.column(i) if rows is not None else None)
    return out


def _child(values: Any, index: int) -> Any:
    if values is None:
        return None
    return pc.struct_field(values, [index])
