"""Evaluate one rule over the rows in scope: its query's events, counted into hits.

A hit is one group of matching events in one time bucket: for a threshold rule, the threshold's groups in
buckets of its window (kept only when the count reaches it); for any other rule, its dedup keys in buckets of
the dedup window. Buckets are aligned on the epoch, so evaluating the same rows again gives the same hits with
the same keys: that is what makes a re-run, a backtest or late data update alerts instead of adding new ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson

from loglake.detect.connection import Scopes, TimeRange, shapes_connection, shapes_only
from loglake.detect.rule import ENTITIES, Rule
from loglake.detect.shared import SharedCtes
from loglake.formats import registry
from loglake.lake.atomic import write_bytes_atomically

MAX_REFS = 20  # raw-event references kept per hit; the count says how many there were


class RuleRunError(Exception):
    """The rule's SQL failed on this lake; the message names the rule and DuckDB's reason."""


@dataclass(frozen=True)
class Hit:
    rule_id: str
    hit_key: str
    bucket: dt.datetime
    first_seen: dt.datetime
    last_seen: dt.datetime
    events: int
    distinct_values: int
    entities: dict[str, str | None]
    group: tuple  # the values the hit is grouped by, in the rule's order
    refs: list[dict]  # {lake_table, lake_file, lake_row, event_id}


@dataclass(frozen=True)
class Bound:
    """What binding a rule's query tells: its output columns and the SQL of each entity over them."""

    columns: frozenset[str]
    expressions: dict[str, str]


def evaluate(  # noqa: PLR0917
    con: duckdb.DuckDBPyConnection,
    rule: Rule,
    ranges: list[TimeRange] | None,
    sources: dict[str, str] | None = None,
    timeout: float | None = None,
    bound: Bound | None = None,
    scopes: Scopes | None = None,
    shared: SharedCtes | None = None,
) -> list[Hit]:
    """The rule's hits among rows whose event time is in `ranges` (bucket-aligned by the caller; None: all).

    `sources` names tables holding a prefiltered copy of some lake tables' rows to read instead (see prefilter).
    A rule still running after `timeout` seconds is stopped: one runaway rule must not hold up the others.
    A detect run passes the rule `bound` beforehand (`bind_rules`) and its `scopes` (the views shared by the
    rules it evaluates, left as they are for the next rule); without them the rule is bound here and the views
    are put back afterwards. With `shared`, the CTEs the rule shares with others are read from their copies.
    """
    timer = threading.Timer(timeout, con.interrupt) if timeout else None
    own_scopes = scopes is None
    scopes = scopes or Scopes(con)
    if timer:
        timer.start()
    try:
        bound = bound or bind(con, rule)
        scopes.point(rule.tables, ranges, rule.lookback, sources or {}, context=rule.context)
        query = shared.query(con, rule, scopes.generation) if shared else rule.query
        rows = con.execute(hits_sql(rule, set(bound.columns), bound.expressions, query)).fetchall()
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        if isinstance(error, duckdb.InterruptException):
            first = f"stopped after {timeout:.0f} s (LOGLAKE_RULE_TIMEOUT)"
        raise RuleRunError(f"rule {rule.id}: {first}") from None
    finally:
        if timer:
            timer.cancel()
        if own_scopes:
            scopes.reset()
    return [_hit(rule, row) for row in rows]


def bind(con: duckdb.DuckDBPyConnection, rule: Rule) -> Bound:
    """Bind the rule's query against empty tables shaped as the lake's (see `shapes_only`)."""
    with shapes_only(con, rule.context):
        columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM ({rule.query}\n) AS q").fetchall()}
        return Bound(frozenset(columns), entity_expressions(con, rule, columns))


def bind_rules(
    con: duckdb.DuckDBPyConnection, rules: list[Rule], cache: Path | None = None
) -> dict[str, Bound | RuleRunError]:
    """Every rule bound once, in a connection holding only the shapes of `con`'s tables (no lake data read,
    `lake.<table>` included); a rule DuckDB refuses gets its error instead.

    With `cache` (a JSON file), a binding is kept under a key of what decides it (the rule's SQL, context and
    entities, the table's default entities, the columns of every table): a run whose rules and tables did not
    change binds nothing, which is most of an incremental run's fixed cost otherwise."""
    shapes_key = _shapes_key(con)
    known = _read_bindings(cache, shapes_key) if cache else {}
    keys = {rule.id: _binding_key(rule, shapes_key) for rule in rules}
    found = {rule.id: _from_entry(known[keys[rule.id]]) for rule in rules if keys[rule.id] in known}
    missing = [rule for rule in rules if rule.id not in found]
    if missing:
        shapes = shapes_connection(con)
        try:
            for rule in missing:
                try:
                    found[rule.id] = bind(shapes, rule)
                except duckdb.Error as error:
                    found[rule.id] = RuleRunError(f"rule {rule.id}: {str(error).strip().splitlines()[0]}")
        finally:
            shapes.close()
    if cache is not None and missing:
        # the lake's other rules (a run of some rules) stay; a change of the tables' columns starts afresh
        _write_bindings(cache, shapes_key, known | {keys[rule.id]: _entry(found[rule.id]) for rule in missing})
    return found


def _shapes_key(con: duckdb.DuckDBPyConnection) -> str:
    columns = con.execute(
        """SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema IN ('shape', 'shape_ctx', 'lake') ORDER BY ALL"""
    ).fetchall()
    return hashlib.sha1(repr(columns).encode()).hexdigest()


def _binding_key(rule: Rule, shapes_key: str) -> str:
    module = registry.for_table(rule.tables[0])
    defaults = getattr(module, "ENTITIES", {}) if module else {}
    decided_by = [shapes_key, rule.query, rule.context, sorted(rule.entities.items()), rule.tables, defaults]
    return hashlib.sha1(orjson.dumps(decided_by, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _entry(bound: Bound | RuleRunError) -> dict:
    if isinstance(bound, RuleRunError):
        return {"error": str(bound)}
    return {"columns": sorted(bound.columns), "expressions": bound.expressions}


def _from_entry(entry: dict) -> Bound | RuleRunError:
    if "error" in entry:
        return RuleRunError(entry["error"])
    return Bound(frozenset(entry["columns"]), dict(entry["expressions"]))


def _read_bindings(path: Path, shapes_key: str) -> dict[str, dict]:
    """The kept bindings, if they were made for tables of these columns."""
    try:
        found = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}  # none yet, or unreadable: bind again
    if not isinstance(found, dict) or found.get("shapes") != shapes_key:
        return {}
    bindings = found.get("bindings")
    return bindings if isinstance(bindings, dict) else {}


def _write_bindings(path: Path, shapes_key: str, entries: dict[str, dict]) -> None:
    """Written whole and renamed into place: a reader sees the old file or the new one."""
    try:
        write_bytes_atomically(path, orjson.dumps({"shapes": shapes_key, "bindings": entries}))
    except OSError:
        return  # a lake folder that cannot be written binds every run, as before


def hits_sql(rule: Rule, columns: set[str], expressions: dict[str, str], query: str | None = None) -> str:
    """The rule's query (or an equivalent `query`) wrapped so that DuckDB does the grouping and counting."""
    groups = [f"g{i}" for i in range(len(rule.group_keys))]
    group_select = [
        f"{_group_expression(key, expressions)} AS {name}" for key, name in zip(rule.group_keys, groups, strict=True)
    ]
    distinct = f"CAST({rule.threshold.field} AS VARCHAR)" if rule.threshold and rule.threshold.field else "NULL"
    table = "lake_table" if "lake_table" in columns else f"'{rule.tables[0]}'"
    seconds = int(rule.bucket.total_seconds())
    event_select = ", ".join(
        [
            "lake_time AS t",
            *(f"CAST({expressions[name]} AS VARCHAR) AS {name}" for name in [*ENTITIES, "event_id"]),
            f"{table} AS lake_table",
            f"{'lake_file' if 'lake_file' in columns else 'NULL'} AS lake_file",
            f"{'lake_row' if 'lake_row' in columns else 'NULL'} AS lake_row",
            f"{distinct} AS distinct_value",
            *group_select,
        ]
    )
    count = "count(DISTINCT distinct_value)" if distinct != "NULL" else "count(*)"
    minimum = rule.threshold.count if rule.threshold else 1
    group_by = ", ".join([*groups, "bucket"])
    return f"""
        WITH ev AS (SELECT {event_select} FROM ({query or rule.query}
) AS q WHERE lake_time IS NOT NULL)
        SELECT {", ".join(groups) + "," if groups else ""}
            to_timestamp(floor(epoch(t) / {seconds}) * {seconds}) AS bucket,
            min(t), max(t), count(*), count(DISTINCT distinct_value),
            {", ".join(f"min({name})" for name in ENTITIES)},
            min_by({{'lake_table': lake_table, 'lake_file': lake_file, 'lake_row': lake_row, 'event_id': event_id}},
                   {{'t': t, 'file': lake_file, 'row': lake_row}}, {MAX_REFS})
        FROM ev
        GROUP BY {group_by}
        HAVING {count} >= {minimum}
        ORDER BY bucket, {", ".join(groups) or "1"}
    """


def entity_expressions(con: duckdb.DuckDBPyConnection, rule: Rule, columns: set[str]) -> dict[str, str]:
    """Per entity (and event_id), SQL over the query's output: the rule's own, else its table's, else NULL."""
    module = registry.for_table(rule.tables[0])
    defaults = getattr(module, "ENTITIES", {}) if module else {}
    found = {}
    for name in [*ENTITIES, "event_id"]:
        if name in rule.entities:
            found[name] = rule.entities[name]
        elif name in columns:
            found[name] = f'q."{name}"'  # the query computed the entity itself
        elif name in defaults and _binds(con, defaults[name], rule.query):
            found[name] = defaults[name]
        else:
            found[name] = "NULL"  # a projection dropped the columns the table's default needs
    return found


def _binds(con: duckdb.DuckDBPyConnection, expression: str, query: str) -> bool:
    try:
        con.execute(f"DESCRIBE SELECT {expression} FROM ({query}\n) AS q")
    except duckdb.Error:
        return False
    return True


def _group_expression(key: str, expressions: dict[str, str]) -> str:
    # a group key that is not an entity is SQL over the query's rows
    return f"CAST({expressions[key] if key in ENTITIES else key} AS VARCHAR)"


def _hit(rule: Rule, row: tuple) -> Hit:
    n = len(rule.group_keys)
    group = tuple(row[:n])
    bucket, first, last, events, distinct = row[n : n + 5]
    entities = dict(zip(ENTITIES, row[n + 5 : n + 5 + len(ENTITIES)], strict=True))
    refs = row[-1] or []
    return Hit(
        rule_id=rule.id,
        hit_key=hit_key(rule.id, bucket, group),
        bucket=bucket,
        first_seen=first,
        last_seen=last,
        events=int(events),
        distinct_values=int(distinct),
        entities=entities,
        group=group,
        refs=[dict(r) for r in refs],
    )


def hit_key(rule_id: str, bucket: dt.datetime, group: tuple) -> str:
    payload = orjson.dumps([rule_id, bucket.isoformat(), list(group)])
    return hashlib.sha1(payload).hexdigest()[:20]
