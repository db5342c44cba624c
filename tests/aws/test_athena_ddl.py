"""`loglake athena ddl` on a lake built by the real ingest: the DDL parses as Athena/Hive SQL, every column is
there with its type, and the partition projection's template names the folders the data files really are in."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from sqlglot import exp

from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.lake import catalog as lake_catalog
from tests.ingest.helpers import run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LOCATION = "s3://example-lake/security/warehouse"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    lake = tmp_path_factory.mktemp("ddl") / "lake"
    ingest(IngestOptions(sources=[str(FIXTURES / "loki"), str(FIXTURES / "awsdocs")], lake=lake, workers=1))
    return lake


@pytest.fixture(scope="module")
def statements(built) -> dict[str, str]:
    result = run_cli("athena", "ddl", "--lake", str(built), "--location", LOCATION)
    assert result.returncode == 0, result.stderr
    found = {}
    for text in result.stdout.split(";\n"):
        if text.strip():
            name = re.search(r"CREATE EXTERNAL TABLE IF NOT EXISTS `loglake_parquet`\.`(\w+)`", text)
            assert name, text[:200]
            found[name.group(1)] = text.strip()
    return found


def catalog(lake: Path):
    return lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))


def expected_type(arrow: pa.DataType) -> str:
    """The Hive type of an Arrow type, written independently of the code under test."""
    if pa.types.is_struct(arrow):
        return "STRUCT<" + ", ".join(f"{f.name}: {expected_type(f.type)}" for f in arrow) + ">"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return f"ARRAY<{expected_type(arrow.value_type)}>"
    if pa.types.is_map(arrow):
        return f"MAP<{expected_type(arrow.key_type)}, {expected_type(arrow.item_type)}>"
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMP"
    names = {pa.string(): "STRING", pa.large_string(): "STRING", pa.int32(): "INT", pa.int64(): "BIGINT"}
    names |= {pa.float32(): "FLOAT", pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN", pa.date32(): "DATE"}
    return names[arrow]


def test_every_table_has_ddl_that_parses_with_every_column(built, statements):
    tables = lake_catalog.table_names(catalog(built))
    assert set(statements) == set(tables) and len(tables) > 10
    for name, text in statements.items():
        for dialect in ("athena", "hive"):
            tree = sqlglot.parse_one(text.rstrip(";"), read=dialect)
            assert isinstance(tree, exp.Create) and tree.args["kind"] == "TABLE", (name, dialect)
        columns = {
            c.name: c.args["kind"].sql("hive")
            for c in tree.find_all(exp.ColumnDef)
            if c.name != "lake_day" and isinstance(c.parent, exp.Schema) and c.parent.parent is tree
        }
        arrow = lake_catalog.load_table(catalog(built), name).schema().as_arrow()
        assert list(columns) == arrow.names, name
        for field in arrow:
            assert columns[field.name].replace("`", "") == expected_type(field.type), (name, field.name)
        assert "STORED AS PARQUET" in text


def test_projection_template_matches_the_real_data_files(built, statements):
    checked = 0
    for name, text in statements.items():
        table = lake_catalog.load_table(catalog(built), name)
        files = [task.file.file_path for task in table.scan().plan_files()]
        if not files:
            continue
        template = re.search(r"'storage.location.template' = '([^']+)'", text).group(1)
        location = re.search(r"LOCATION '([^']+)'", text).group(1)
        pattern = re.compile(re.escape(template).replace(re.escape("${lake_day}"), r"(\d{4}-\d{2}-\d{2})") + r"[^/]+")
        warehouse = lake_catalog.LakeLocation(built).warehouse.resolve().as_uri()
        for path in files:
            on_s3 = LOCATION + path[len(warehouse) :]
            assert on_s3.startswith(location)
            match = pattern.fullmatch(on_s3)
            assert match, (on_s3, template)
            # the folder's day is the day of the file's events
            days = pq.read_table(path.removeprefix("file://"), columns=["lake_time"]).column("lake_time")
            assert {t.date().isoformat() for t in days.to_pylist()} == {match.group(1)}
            checked += 1
    assert checked >= 10


def test_a_local_lake_needs_a_location(built):
    result = run_cli("athena", "ddl", "--lake", str(built), "--table", "vpc_flow_logs")
    assert result.returncode == 1
    assert "give --location s3://bucket/prefix" in result.stderr and "Traceback" not in result.stderr
