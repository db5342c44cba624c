"""`loglake spark detect`: the rules' queries run on Spark, their events counted into hits and alerts as usual.

Spark does the heavy part, scanning the lake for each rule's matching events (the rule's DuckDB SQL translated
to Spark SQL). The events, few next to the lake, then go through the same code as `loglake detect`: the
engine's grouping into hits (bucketing, thresholds, entities, references) in an in-memory DuckDB, and the
alert merge. With `save`, the rule's hits and alerts in the lake are replaced as a detect run replaces them.
A rule whose SQL does not translate, or that Spark cannot run, is reported as an error with the reason.

Tables are views over their snapshot's data files (see spark.query). Without --since/--until every rule looks at
all history, as a rule's first `loglake detect` does; with them, at the whole buckets of that range.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from loglake.context import views as ctx_views
from loglake.detect import alerts as alert_merge
from loglake.detect import engine
from loglake.detect.connection import memory_connection, owned_tables, time_predicate
from loglake.detect.rule import Rule
from loglake.detect.ruletest import TEST_TIME, TestOutcome, rows_of
from loglake.detect.run import DetectResult, RulePlan, RuleRun, backtest_ranges, evaluate_rule, log_tables
from loglake.detect.store import AlertStore, locked
from loglake.query import dialects
from loglake.query.engine import QueryError
from loglake.spark.query import context_views, first_line, register_lake, run, table_frame
from loglake.spark.session import session

EVENTS = "__spark_events"  # the DuckDB name of one rule's events as Spark returned them
HISTORY = "lake__{}"  # the Spark view of a table's whole history (DuckDB's `lake.<table>`)


def spark_detect(
    lake: Path,
    rules: list[Rule],
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    save: bool = False,
    spark=None,
    on_rule: Callable[[Rule], None] | None = None,
) -> DetectResult:
    """Evaluate `rules` with Spark; with `save`, the lake's hits and alerts are updated like `detect`'s."""
    spark = spark or session()
    result = DetectResult()
    now = dt.datetime.now(dt.UTC)
    with locked(lake):
        frames, logs = _register(spark, lake)
        present = set(log_tables(lake))  # tables with rows: a rule over none of them has no data
        store = AlertStore(lake)
        con = memory_connection({})
        try:
            for rule in rules:
                started = time.perf_counter()
                ranges = None if since is None and until is None else backtest_ranges(rule, since, until, now)
                if not set(rule.tables) & present:
                    outcome = RuleRun(rule.id, "no data")
                else:
                    outcome = _evaluate(spark, con, store, frames, logs, rule, ranges, now, result)
                outcome.seconds = time.perf_counter() - started
                result.runs.append(outcome)
                if on_rule:
                    on_rule(rule)
            if save:
                store.write()
        finally:
            con.close()
    return result


def unsupported_rules(lake: Path, rules: list[Rule], *, spark=None) -> dict[str, str]:
    """The rules Spark cannot run, each with the reason (translation or Spark's analysis); runs no query."""
    from pyspark.errors import PySparkException

    spark = spark or session()
    _, logs = _register(spark, lake)
    found = {}
    for rule in rules:
        try:
            spark.sql(rule_sql(rule, logs))  # parses and analyses the query against the views, reads no rows
        except dialects.DialectError as error:
            found[rule.id] = str(error)
        except PySparkException as error:
            found[rule.id] = first_line(error)
    return found


def _register(spark, lake: Path) -> tuple[dict, set[str]]:
    """The lake's views by plain name (a rule may join tables it is not scoped on) and by history name;
    returns the DataFrames and the names of the log tables."""
    frames = register_lake(spark, lake)
    for name, frame in frames.items():
        frame.createOrReplaceTempView(HISTORY.format(name))
    return frames, {name for name, frame in frames.items() if "lake_time" in frame.columns}


def _evaluate(spark, con, store, frames, logs, rule, ranges, now, result) -> RuleRun:  # noqa: PLR0917
    """The rule's events from Spark, then detect's own evaluation of them (hits, alert merge)."""
    try:
        query = rule_sql(rule, logs)
    except dialects.DialectError as error:
        return RuleRun(rule.id, "error", error=f"rule {rule.id}: {error}")
    for name in rule.tables:
        scoped = frames[name] if ranges is None else frames[name].where(dialects.to_spark(time_predicate(ranges)))
        scoped.createOrReplaceTempView(name)
    if ranges is not None:
        context_views(spark)  # the enriched views over the rows in scope
    try:
        events = run(spark, query)
    except QueryError as error:
        return RuleRun(rule.id, "error", error=f"rule {rule.id}: Spark: {error}")
    finally:
        for name in rule.tables:
            frames[name].createOrReplaceTempView(name)
        if ranges is not None:
            context_views(spark)
    con.register(EVENTS, events)
    try:
        # the events are the rule's rows as computed (asset context included, were Spark to add it)
        over_events = dataclasses.replace(rule, query=f'SELECT * FROM "{EVENTS}"', context=False)
        return evaluate_rule(con, store, RulePlan(over_events, ranges), {}, now, result)
    finally:
        con.unregister(EVENTS)


def rule_sql(rule: Rule, tables: set[str]) -> str:
    """The rule's query as Spark SQL; `lake.<table>` (its history) reads the unscoped view, and a rule asking for
    context (`context: true`) reads its tables' enriched views, as detect's scoped views give it."""
    rename = {f"lake.{name}": HISTORY.format(name) for name in tables}
    if rule.context:
        rename |= {name: ctx_views.view_name(name) for name in rule.tables if name in ctx_views.MATCHES}
    return dialects.to_spark(rule.query, "duckdb", rename=rename)


def run_rule_tests(rule: Rule, *, spark=None) -> list[TestOutcome]:
    """The rule's inline tests with Spark finding the events: each test's records parsed as the lake holds them,
    every table loglake owns present (empty where the test has none), then detect's own hit and alert count."""
    spark = spark or session()
    outcomes = []
    for test in rule.tests:
        try:
            tables = {name: rows_of(name, records) for name, records in test.events.items()}
        except ValueError as error:
            outcomes.append(TestOutcome(rule.id, test.name, test.expect, 0, str(error)))
            continue
        given = {name: spark.createDataFrame(rows) for name, rows in tables.items() if rows.num_rows}
        for name, frame in (_empty_frames(spark) | given).items():
            frame.createOrReplaceTempView(name)
            frame.createOrReplaceTempView(HISTORY.format(name))
        if rule.context or "_ctx" in rule.query:
            context_views(spark)
        outcomes.append(_spark_test_outcome(spark, rule, test))
    return outcomes


def _spark_test_outcome(spark, rule: Rule, test) -> TestOutcome:
    try:
        events = run(spark, rule_sql(rule, set(owned_tables())))
    except (dialects.DialectError, QueryError) as error:
        return TestOutcome(rule.id, test.name, test.expect, 0, str(error))
    con = memory_connection({})
    try:
        con.register(EVENTS, events)
        over_events = dataclasses.replace(rule, query=f'SELECT * FROM "{EVENTS}"', context=False)
        merged = alert_merge.merge(rule, engine.evaluate(con, over_events, None), [], TEST_TIME)
    finally:
        con.close()
    return TestOutcome(rule.id, test.name, test.expect, len(merged.alerts))


_EMPTY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # session -> its empty frames


def _empty_frames(spark) -> dict:
    """An empty DataFrame per table loglake owns, made once per session (each costs Spark round trips)."""
    if spark not in _EMPTY:
        _EMPTY[spark] = {name: table_frame(spark, schema, []) for name, schema in owned_tables().items()}
    return _EMPTY[spark]
