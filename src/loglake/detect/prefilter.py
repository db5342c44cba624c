"""One scan per table for all the simple rules on it, instead of one scan per rule.

Most rules are a filter over one table (`SELECT * FROM cloudtrail_logs WHERE <condition>`). Before they run,
the rows matching any of their conditions (within the union of their time ranges) are copied once into a small
in-memory table, and those rules then read it instead of the lake: forty CloudTrail rules cost one pass over
the table, plus forty queries over a few thousand candidate rows. Rules of any other shape (joins, history,
unions, subqueries) read the lake as usual.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

from loglake.context import views as context_views
from loglake.detect.connection import TimeRange, time_predicate
from loglake.detect.rule import Rule
from loglake.detect.watermark import merge_ranges
from loglake.formats import registry
from loglake.query import pruning

CANDIDATES = "__candidates_{table}"
_DUCKDB = sqlglot.Dialect.get_or_raise("duckdb")


def simple_condition(rule: Rule) -> str | None:
    """The rule's WHERE condition when the rule is `SELECT * FROM <its one table> WHERE ...`, else None."""
    if len(rule.tables) != 1 or rule.context:  # a context rule's condition is on the enriched rows
        return None
    if not re.match(rf"\s*SELECT\s+\*\s+FROM\s+{re.escape(rule.tables[0])}\s+WHERE\s", rule.query, re.I):
        return None  # not that shape, whatever the parse would say: no need to parse
    return _where_of_select_star(rule.query, rule.tables[0])


@functools.cache  # a run asks for each rule several times; parsing is most of the cost
def _where_of_select_star(query: str, table_name: str) -> str | None:
    try:
        tree = sqlglot.parse_one(query, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    source = tree.args.get("from_")
    if not isinstance(tree, exp.Select) or source is None or tree.args.get("joins") or tree.args.get("with_"):
        return None
    table = source.this
    simple = (
        [type(e) for e in tree.expressions] == [exp.Star]
        and isinstance(table, exp.Table)
        and table.name == table_name
        and not table.db
        and not table.alias
        and tree.args.get("where") is not None
        and not any(tree.args.get(k) for k in ("group", "having", "qualify", "limit", "order", "distinct"))
        and tree.args["where"].find(exp.Subquery, exp.Select, exp.Exists) is None
    )
    return tree.args["where"].this.sql("duckdb") if simple else None


def build_candidates(
    con: duckdb.DuckDBPyConnection, plans: list[tuple[Rule, list[TimeRange] | None]]
) -> dict[str, str]:
    """Copy each table's candidate rows once; returns table -> the in-memory table rules should read instead.

    A table gets candidates only when at least two simple rules read it (one rule gains nothing). If the
    combined query fails (one rule's condition does not run), that table's rules fall back to the lake.
    """
    by_table: dict[str, list[tuple[Rule, str, list[TimeRange] | None]]] = {}
    for rule, ranges in plans:
        condition = simple_condition(rule)
        if condition is not None:
            by_table.setdefault(rule.tables[0], []).append((rule, condition, ranges))
    sources = {}
    for table, entries in by_table.items():
        if len(entries) < 2:
            continue
        name = CANDIDATES.format(table=table)
        conditions = " OR ".join(f"({condition})" for _, condition, _ in entries)
        scope = time_predicate(_union([ranges for _, _, ranges in entries]))
        columns = ", ".join(f'"{c}"' for c in _needed_columns(con, table, [rule for rule, _, _ in entries]))
        ranges = _union([ranges for _, _, ranges in entries])
        source = (pruning.days_relation(con, table, ranges) if ranges else None) or f'main."{table}"'
        try:
            con.execute(
                f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT {columns} FROM {source} AS "{table}" '
                f"WHERE ({scope}) AND ({conditions})"
            )
        except duckdb.Error:
            continue
        sources[table] = name
    return sources


def _needed_columns(con: duckdb.DuckDBPyConnection, table: str, rules: list[Rule]) -> list[str]:
    """The table's columns the rules (and the entities they report) name: the only ones worth copying.

    Copying every column of the matching rows costs more than the scan itself on wide tables (CloudTrail's
    JSON text columns); rules see the same names, and the alerts point back to the full raw rows.
    """
    present = [row[0] for row in con.execute(f'DESCRIBE shape."{table}"').fetchall()]
    module = registry.for_table(table)
    texts = [r.query for r in rules] + [e for r in rules for e in r.entities.values()]
    texts += [t for r in rules if r.threshold for t in (*r.threshold.group_by, r.threshold.field) if t]
    texts += list(getattr(module, "ENTITIES", {}).values())
    if table in context_views.MATCHES:  # the rows in scope are also seen enriched (`<table>_ctx`)
        texts.append(context_views.enriched_sql(table))
    named = {"lake_time", "lake_file", "lake_row", "lake_table", "lake_account", "lake_region", "lake_ips"}
    for text in texts:
        names = _names_in(text)
        if names is None:
            return present
        named |= names
    return [column for column in present if column in named]


_NAME_TOKENS = {TokenType.VAR, TokenType.IDENTIFIER}


@functools.cache
def _names_in(text: str) -> frozenset[str] | None:
    """Every name the SQL text mentions (None if it does not tokenise). Tokens, not a parse: a name that is a
    function's or an alias's too only copies a column more, and tokenising costs a tenth of parsing."""
    try:
        tokens = _DUCKDB.tokenize(text)
    except sqlglot.errors.TokenError:
        return None
    return frozenset(token.text for token in tokens if token.token_type in _NAME_TOKENS)


def _union(scopes: list[list[TimeRange] | None]) -> list[TimeRange] | None:
    if any(scope is None for scope in scopes):
        return None
    return merge_ranges([r for scope in scopes for r in scope or []], gap=dt.timedelta(0))
