"""DuckDB's list and JSON functions (the rules use them) as Spark SQL: the same values on the same documents."""

from __future__ import annotations

import json

import duckdb

from loglake.query.dialects import to_spark

DOCUMENTS = [
    '{"items": [{"userId": "111122223333"}, {"group": "all"}], "layers": ["arn:a", "arn:b"], "n": 3}',
    '{"Statement": {"Effect": "Allow", "Action": "*", "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]}}}',
    '{"Statement": [{"Effect": "Allow", "Action": ["s3:*", "*"]}, {"Effect": "Deny"}], "flag": true, "x": null}',
    '{"items": [], "layers": "not a list", "name": "/app/db"}',
    "{}",
    "not json",
    None,
]
# DuckDB expressions over a document `d`, each as rules write them
EXPRESSIONS = [
    "json_extract_string(d, '$.items[*].userId')",
    "json_extract_string(d, '$.items[*]')",
    "json_extract(d, '$.Statement[*]')",
    "json_extract(d, '$.Statement')",
    "CAST(json_extract(d, '$.Statement.Action') AS VARCHAR)",
    "json_type(d, '$.Statement')",
    "json_type(d, '$.flag')",
    "json_type(d, '$.n')",
    "json_type(d, '$.name')",
    "json_type(d, '$.x')",
    "json_array_length(d, '$.layers')",
    "len(coalesce(json_extract_string(d, '$.layers[*]'), []))",
    "len(list_filter(json_extract_string(d, '$.items[*].group'), lambda g: g = 'all'))",
    "list_bool_or(list_transform(json_extract_string(d, '$.layers[*]'), lambda l: l LIKE '%b'))",
    "list_concat([d], json_extract(d, '$.Statement[*]'))",
    "string_split(json_extract_string(d, '$.name'), '/')[2:]",
    "string_split(json_extract_string(d, '$.name'), '/')[2:2]",
    "len(string_split(json_extract_string(d, '$.name'), '/'))",
]


def test_spark_forms_give_duckdbs_values(spark) -> None:
    # DuckDB raises on text that is not JSON (rules read requestparameters, always JSON): compared on JSON here
    rows = [(i, d) for i, d in enumerate(DOCUMENTS) if d is None or d.startswith("{")]
    sql = "SELECT " + ", ".join(f"{e} AS v{n}" for n, e in enumerate(EXPRESSIONS)) + " FROM docs ORDER BY i"
    duck = duckdb.connect()
    duck.execute("CREATE TABLE docs (i INTEGER, d VARCHAR)")
    duck.executemany("INSERT INTO docs VALUES (?, ?)", rows)
    expected = duck.execute(sql).fetchall()
    spark.createDataFrame(rows, "i INT, d STRING").createOrReplaceTempView("docs")
    got = [tuple(row) for row in spark.sql(to_spark(sql)).collect()]
    assert len(got) == len(expected) == len(rows)
    for n, expression in enumerate(EXPRESSIONS):
        column = [row[n] for row in got]
        assert _parsed(column) == _parsed([row[n] for row in expected]), (expression, to_spark(expression))


def _parsed(value):
    """JSON text as its value: Spark writes an object's keys sorted (VARIANT), DuckDB as the document had them."""
    if isinstance(value, list):
        return [_parsed(v) for v in value]
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


def test_spark_reads_text_that_is_not_json_as_null(spark) -> None:
    spark.createDataFrame([(1, "not json")], "i INT, d STRING").createOrReplaceTempView("bad")
    row = spark.sql(to_spark("SELECT json_extract(d, '$.a[*]') AS a, json_type(d, '$.a') AS t FROM bad")).first()
    assert (row["a"], row["t"]) == ([], None)
