"""The lake's own Parquet writer: files readers agree on, one per day, encodings chosen per column."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pyarrow.parquet as pq

from loglake.lake import catalog as lake_catalog
from loglake.lake import datafiles
from loglake.lake.columns import TIMESTAMP
from loglake.query import engine

SCHEMA = pa.schema(
    [
        pa.field("eventsource", pa.string()),
        pa.field("eventname", pa.string()),
        pa.field("eventid", pa.string()),
        pa.field("bytes", pa.int64()),
        pa.field("who", pa.struct([pa.field("arn", pa.string()), pa.field("key", pa.string())])),
        pa.field("lake_time", TIMESTAMP),
        pa.field("lake_ips", pa.list_(pa.string())),
        pa.field("lake_row", pa.int64()),
    ]
)


def _rows(days: list[dt.date], per_day: int) -> pa.Table:
    rows = []
    for day in days:
        start = dt.datetime.combine(day, dt.time(), dt.UTC)
        for i in range(per_day):
            rows.append(
                {
                    "eventsource": ["s3.amazonaws.com", "kms.amazonaws.com"][i % 2],
                    "eventname": ["GetObject", "Decrypt", "PutObject"][i % 3],
                    "eventid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{day}/{i}")),
                    "bytes": (i * 7919) % 100_000 if i % 5 else None,
                    "who": {"arn": f"arn:aws:iam::111122223333:user/u{i % 4}", "key": f"AKIA{i:016d}"},
                    "lake_time": start + dt.timedelta(seconds=(37 * i) % 86400),
                    "lake_ips": [f"10.0.0.{i % 250}", "198.51.100.7"][: 1 + i % 2],
                    "lake_row": i + 1,
                }
            )
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _table(tmp_path, name: str = "events"):
    location = lake_catalog.LakeLocation(tmp_path / "lake")
    catalog = lake_catalog.open_catalog(location, create=True)
    return location, lake_catalog.ensure_table(catalog, name, SCHEMA)


def _commit(table, files) -> None:
    lake_catalog.commit_data_files(table, {"batch-1": files})


def test_rows_of_several_days_land_in_their_day_and_read_back_equal(tmp_path):
    location, table = _table(tmp_path)
    rows = _rows([dt.date(2024, 5, 1), dt.date(2024, 5, 2), dt.date(2024, 5, 3)], 300)
    files = datafiles.write_data_files(table, rows, uuid.uuid4())
    assert len(files) == 3
    assert sorted(f.record_count for f in files) == [300, 300, 300]
    for f in files:  # the partition value is the file's day, and the path says so
        day = dt.date(1970, 1, 1) + dt.timedelta(days=f.partition[0])
        assert f"lake_day={day.isoformat()}" in f.file_path
        assert (
            pq.read_table(f.file_path.removeprefix("file://"), columns=["lake_time"])["lake_time"].to_pylist()[0].date()
            == day
        )
    _commit(table, files)
    table.refresh()
    key = ["lake_time", "lake_row"]
    scanned = table.scan().to_arrow().select(SCHEMA.names).sort_by([(k, "ascending") for k in key])
    assert scanned.to_pylist() == rows.sort_by([(k, "ascending") for k in key]).to_pylist()
    with engine.connect(location.root) as con:  # DuckDB over the Iceberg metadata reads the same rows
        found = con.execute(
            "SELECT count(*), count(DISTINCT eventid), sum(bytes), max(lake_row), count(who.arn), "
            "sum(len(lake_ips)) FROM events "
            "WHERE lake_time >= TIMESTAMPTZ '2024-05-02 00:00:00+00' AND lake_time < TIMESTAMPTZ '2024-05-03 00:00:00+00'"
        ).fetchone()
    day2 = rows.filter(pa.compute.equal(pa.compute.cast(rows["lake_time"], pa.date32()), dt.date(2024, 5, 2)))
    assert found == (
        300,
        300,
        pa.compute.sum(day2["bytes"]).as_py(),
        300,
        300,
        sum(len(v) for v in day2["lake_ips"].to_pylist()),
    )


def test_one_day_is_one_file_with_field_ids_statistics_and_chosen_encodings(tmp_path):
    _, table = _table(tmp_path)
    rows = _rows([dt.date(2024, 5, 1)], 3000)
    [data_file] = datafiles.write_data_files(table, rows, uuid.uuid4())
    assert data_file.record_count == 3000
    ids = {f.name: f.field_id for f in table.schema().fields}
    assert data_file.null_value_counts[ids["bytes"]] == 600
    metadata = pq.ParquetFile(data_file.file_path.removeprefix("file://")).metadata
    encodings = {
        metadata.schema.column(i).path: metadata.row_group(0).column(i).encodings for i in range(metadata.num_columns)
    }
    assert "DELTA_BINARY_PACKED" in encodings["lake_time"]
    assert "DELTA_BINARY_PACKED" in encodings["lake_row"]
    assert "DELTA_LENGTH_BYTE_ARRAY" in encodings["eventid"]  # every value distinct: no dictionary
    assert "DELTA_LENGTH_BYTE_ARRAY" in encodings["who.key"]
    assert "RLE_DICTIONARY" in encodings["eventname"]
    assert "RLE_DICTIONARY" in encodings["who.arn"]
    assert "RLE_DICTIONARY" in encodings["lake_ips.list.element"]
    assert pq.ParquetFile(data_file.file_path.removeprefix("file://")).schema_arrow.field("eventid").metadata == {
        b"PARQUET:field_id": str(ids["eventid"]).encode()
    }


def test_clustered_tables_order_rows_by_their_keys(tmp_path):
    _, table = _table(tmp_path, "cloudtrail_logs")
    rows = _rows([dt.date(2024, 5, 1)], 600)
    [data_file] = datafiles.write_data_files(table, rows, uuid.uuid4())
    written = pq.read_table(data_file.file_path.removeprefix("file://"))
    keys = [(k, "ascending") for k in datafiles.CLUSTER_BY["cloudtrail_logs"]]
    assert written.select(SCHEMA.names).to_pylist() == rows.sort_by(keys).to_pylist()


def test_rows_lacking_a_column_the_table_has_get_nulls(tmp_path):
    _, table = _table(tmp_path)
    rows = _rows([dt.date(2024, 5, 1)], 50).drop_columns(["bytes"])
    [data_file] = datafiles.write_data_files(table, rows, uuid.uuid4())
    _commit(table, [data_file])
    table.refresh()
    scanned = table.scan().to_arrow()
    assert scanned.num_rows == 50
    assert scanned["bytes"].null_count == 50
    assert sorted(scanned["eventid"].to_pylist()) == sorted(rows["eventid"].to_pylist())
