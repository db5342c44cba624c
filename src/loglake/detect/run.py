"""A detect run: each rule evaluated over what arrived since it last ran (or a backtest range), alerts updated.

Per rule: find the event-time ranges of rows committed since its watermark, widen them to whole buckets,
recompute the hits in those buckets, replace the rule's old hits there, and merge all its hits into alerts.
Recomputing whole buckets (instead of adding counts) is what makes re-runs, crashes between steps and late
data safe: the same rows always give the same hits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pyiceberg.table import Table

from loglake.detect import alerts as alert_merge
from loglake.detect import engine
from loglake.detect.alerts import Alert
from loglake.detect.connection import TimeRange, open_connection
from loglake.detect.rule import Rule
from loglake.detect.store import AlertStore, locked
from loglake.detect.watermark import WatermarkStore, align, new_data
from loglake.lake import catalog as lake_catalog


@dataclass
class RuleRun:
    rule_id: str
    status: str  # evaluated | nothing new | no data | error
    hits: int = 0
    alerts: int = 0
    new: int = 0
    updated: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class DetectResult:
    runs: list[RuleRun] = field(default_factory=list)
    new: list[Alert] = field(default_factory=list)
    updated: list[Alert] = field(default_factory=list)

    @property
    def errors(self) -> list[RuleRun]:
        return [r for r in self.runs if r.status == "error"]


def state_path(lake: Path) -> Path:
    return lake / "detect-state.db"


def detect(
    lake: Path,
    rules: list[Rule],
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    threads: int | None = None,
    on_rule: Callable[[Rule], None] | None = None,
) -> DetectResult:
    """Evaluate `rules`; incremental by watermark, or a backtest over [since, until) when either is given."""
    backtest = since is not None or until is not None
    result = DetectResult()
    with locked(lake):
        # Tables are read before the connection opens: its views then show at least the rows the recorded
        # sequence numbers cover, so a commit racing this run is evaluated again later, never skipped.
        tables = _log_tables(lake)
        con = open_connection(lake, threads=threads)
        store = AlertStore(lake)
        marks = WatermarkStore(state_path(lake))
        context = _Context(con, store, marks, tables, backtest, since, until, dt.datetime.now(dt.UTC))
        advanced: dict[str, dict[str, int]] = {}
        try:
            for rule in rules:
                started = time.perf_counter()
                run, sequences = _run_rule(context, rule, result)
                run.seconds = time.perf_counter() - started
                result.runs.append(run)
                if sequences is not None and run.status != "error":
                    advanced[rule.id] = sequences
                if on_rule:
                    on_rule(rule)
            store.write()
            for rule_id, sequences in advanced.items():
                marks.set(rule_id, sequences)
        finally:
            marks.close()
            con.close()
    return result


@dataclass(frozen=True)
class _Context:
    con: duckdb.DuckDBPyConnection
    store: AlertStore
    marks: WatermarkStore
    tables: dict[str, Table]
    backtest: bool
    since: dt.datetime | None
    until: dt.datetime | None
    now: dt.datetime


def _run_rule(context: _Context, rule: Rule, result: DetectResult) -> tuple[RuleRun, dict[str, int] | None]:
    con, store, marks, since, until, now = (
        context.con, context.store, context.marks, context.since, context.until, context.now
    )  # fmt: skip
    present = {name: context.tables[name] for name in rule.tables if name in context.tables}
    if not present:
        return RuleRun(rule.id, "no data"), None
    sequences = None
    if context.backtest:
        low = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        high = until or now + dt.timedelta(days=1)
        ranges: list[TimeRange] | None = align([(low, high)], rule.bucket)
    else:
        seen = marks.get(rule.id)
        fresh = {name: new_data(table, seen.get(name, 0)) for name, table in present.items()}
        sequences = {name: data.sequence for name, data in fresh.items()}
        if not seen:
            ranges = None  # a rule's first run looks at all history
        else:
            ranges = align([r for data in fresh.values() for r in data.ranges], rule.bucket)
            if not ranges:
                return RuleRun(rule.id, "nothing new"), sequences
    try:
        hits = engine.evaluate(con, rule, ranges)
    except engine.RuleRunError as error:
        return RuleRun(rule.id, "error", error=str(error)), None
    kept = [h for h in store.hits_of(rule.id) if not _inside(h.bucket, ranges)]
    merged = alert_merge.merge(rule, kept + hits, store.alerts_of(rule.id), now)
    store.replace(rule.id, kept + hits, merged.alerts)
    result.new.extend(merged.new)
    result.updated.extend(merged.updated)
    run = RuleRun(rule.id, "evaluated", len(hits), len(merged.alerts), len(merged.new), len(merged.updated))
    return run, sequences


def _inside(moment: dt.datetime, ranges: list[TimeRange] | None) -> bool:
    return ranges is None or any(low <= moment < high for low, high in ranges)


def _log_tables(lake: Path) -> dict[str, Table]:
    """The lake's log tables (those with event times), by name."""
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    found = {}
    for name in lake_catalog.table_names(catalog):
        table = lake_catalog.load_table(catalog, name)
        if "lake_time" in table.schema().column_names and table.current_snapshot() is not None:
            found[name] = table
    return found
