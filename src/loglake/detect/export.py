"""Rules as SQL for other engines (Athena scheduled queries, Trino, Spark): each rule's hits over its last
window, translated from DuckDB, with a header naming the rule and how often to run it.

A rule's query returns its matching events; the exported SQL keeps what the engine adds on top (see
`engine.hits_sql`): a threshold rule is counted per group over its window and kept when the count reaches the
threshold; any other rule returns its events of the last dedup window. `lake.<table>` (a rule's history of a
table, in loglake) is the table itself in an engine that reads the whole table. A rule that cannot be written
for the engine is returned with the reason instead of SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from sqlglot import exp

from loglake.detect.rule import ENTITIES, Rule
from loglake.formats import registry
from loglake.lake import rejects as rejects_table
from loglake.query.dialects import DialectError, from_duckdb

HISTORY_SCHEMA = "lake"  # rules read `lake.<table>` for the history before the rows in scope


@dataclass(frozen=True)
class ExportedRule:
    rule: Rule
    sql: str | None  # None when the rule cannot be written for the dialect
    reason: str | None = None


def export_rule(rule: Rule, dialect: str) -> ExportedRule:
    try:
        body = from_duckdb(scheduled_sql(rule), dialect, rewrite=_whole_table, schema=lake_schema())
    except DialectError as error:
        return ExportedRule(rule, None, str(error))
    return ExportedRule(rule, f"{header(rule, dialect)}\n{body};\n")


def scheduled_sql(rule: Rule, *, last_window: bool = True) -> str:
    """DuckDB SQL of the rule's hits over the last window ending now (or over every row: `last_window=False`)."""
    query = rule.query
    since = f"lake_time >= current_timestamp - INTERVAL '{int(rule.bucket.total_seconds())}' SECOND"
    where = f"\nWHERE {since}" if last_window else ""
    if rule.threshold is None:
        return f"SELECT *\nFROM (\n{query}\n) AS q{where}"
    keys = [_group_expression(rule, key) for key in rule.threshold.group_by]
    counted = f"count(DISTINCT {rule.threshold.field})" if rule.threshold.field else "count(*)"
    names = [_column_name(key) for key in rule.threshold.group_by]
    select = [
        *(f"{expression} AS {name}" for expression, name in zip(keys, names, strict=True)),
        "min(lake_time) AS first_seen",
        "max(lake_time) AS last_seen",
        "count(*) AS events",
        f"{counted} AS counted",
    ]
    group_by = f"\nGROUP BY {', '.join(keys)}" if keys else ""
    return (
        f"SELECT {', '.join(select)}\nFROM (\n{query}\n) AS q{where}{group_by}\n"
        f"HAVING {counted} >= {rule.threshold.count}"
    )


def header(rule: Rule, dialect: str) -> str:
    lines = [
        f"-- rule: {rule.id}",
        f"-- title: {_one_line(rule.title)}",
        f"-- severity: {rule.severity}",
        f"-- schedule: every {_duration(rule.bucket)} (each run reads the last {_duration(rule.bucket)})",
        f"-- tables: {', '.join(rule.tables)}",
        f"-- dialect: {dialect} (written by `loglake rules export` from the rule's DuckDB SQL)",
    ]
    if rule.threshold is not None:
        counted = f"distinct {_one_line(rule.threshold.field)}" if rule.threshold.field else "events"
        by = f" per {_one_line(', '.join(rule.threshold.group_by))}" if rule.threshold.group_by else ""
        lines.append(f"-- threshold: {rule.threshold.count} {counted}{by} in {_duration(rule.threshold.window)}")
    return "\n".join(lines)


def _whole_table(node: exp.Expression) -> exp.Expression:
    """`lake.<table>` (a rule's history of a table) as `<table>`: the engine reads the whole table anyway."""
    if isinstance(node, exp.Table) and node.db == HISTORY_SCHEMA and not node.catalog:
        node.set("db", None)
    return node


@cache
def lake_schema() -> dict[str, dict[str, str]]:
    """Every table's columns (their types do not matter for spelling out a star)."""
    tables = {**registry.tables(), rejects_table.TABLE: rejects_table.SCHEMA}
    return {name: {f.name: "VARCHAR" for f in schema} for name, schema in tables.items()}


def _group_expression(rule: Rule, key: str) -> str:
    """A threshold group key: an entity (the rule's own SQL for it, else its table's) or SQL over the rows."""
    if key not in ENTITIES:
        return key
    if key in rule.entities:
        return rule.entities[key]
    module = registry.for_table(rule.tables[0])
    defaults = getattr(module, "ENTITIES", {}) if module else {}
    if key in defaults:
        return defaults[key]
    raise DialectError(f"the threshold groups by {key}, which neither the rule nor {rule.tables[0]} defines")


def _column_name(key: str) -> str:
    return key if key.isidentifier() else "group_" + "".join(c if c.isalnum() else "_" for c in key).strip("_")


def _duration(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def _one_line(text: str) -> str:
    return " ".join(text.split())
