"""Run a rule's inline tests: its events go through the real parsers, then through the engine and alert merge.

A test's records are native log records: dicts for the JSON formats (CloudTrail, WAF, Route 53, ...), text
lines for the line formats (VPC Flow Logs, ALB, S3 access ...). A table no format writes (threat intel, the
assets a `context` rule looks at) takes its records as rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from loglake.detect import alerts as alert_merge
from loglake.detect import engine
from loglake.detect.connection import memory_connection, owned_tables, replace_rows
from loglake.detect.rule import Rule, RuleTest
from loglake.formats import registry
from loglake.formats.base import ObjectInfo
from loglake.policy.assets import ASSETS
from loglake.policy.assets import SCHEMA as ASSETS_SCHEMA

TEST_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class TestOutcome:
    rule_id: str
    name: str
    expected: int
    alerts: int
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.alerts == self.expected


def run_tests(rule: Rule) -> list[TestOutcome]:
    return [run_test(rule, test) for test in rule.tests]


def run_test(rule: Rule, test: RuleTest) -> TestOutcome:
    con = _connection()
    tables: dict[str, pa.Table] = {}
    try:
        tables = {name: rows_of(name, records) for name, records in test.events.items()}
        replace_rows(con, tables)
        hits = engine.evaluate(con, rule, None)
        merged = alert_merge.merge(rule, hits, [], TEST_TIME)
    except (ValueError, engine.RuleRunError) as error:
        return TestOutcome(rule.id, test.name, test.expect, 0, str(error))
    finally:
        owned = owned_tables()
        replace_rows(con, {name: owned[name].empty_table() for name in tables if name in owned})
    return TestOutcome(rule.id, test.name, test.expect, len(merged.alerts))


@cache
def _connection() -> duckdb.DuckDBPyConnection:
    """One in-memory connection per process: opening one per test would cost more than most tests."""
    return memory_connection({})


def rows_of(table: str, records: list[Any]) -> pa.Table:
    """Records parsed by the table's format, as the lake would hold them; rejects are an error here."""
    module = registry.for_table(table)
    if module is None:
        return pa.Table.from_pylist(records, ASSETS_SCHEMA if table == ASSETS else None)
    body = b"\n".join(r.encode() if isinstance(r, str) else orjson.dumps(r) for r in records)
    parsed = module.parse(body + b"\n", ObjectInfo(uri=f"test://{table}", ingested_at=TEST_TIME))
    own = [r for r in parsed.results() if r.table == table]
    rejects = [reject for r in parsed.results() for reject in r.rejects]
    if rejects:
        raise ValueError(f"test events for {table}: line {rejects[0].row} rejected ({rejects[0].reason})")
    rows = [r.rows for r in own if r.rows is not None]
    return pa.concat_tables(rows) if rows else registry.tables()[table].empty_table()
