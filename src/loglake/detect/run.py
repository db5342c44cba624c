"""A detect run: each rule evaluated over what arrived since it last ran (or a backtest range), alerts updated.

Per rule: find the event-time ranges of rows committed since its watermark, widen them to whole buckets,
recompute the hits in those buckets, replace the rule's old hits there, and merge all its hits into alerts.
Recomputing whole buckets (instead of adding counts) is what makes re-runs, crashes between steps and late
data safe: the same rows always give the same hits.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pyiceberg.table import Table

from loglake.context.lookup import AssetLookup
from loglake.detect import alerts as alert_merge
from loglake.detect import engine
from loglake.detect.alerts import Alert
from loglake.detect.connection import Scopes, TimeRange, open_connection
from loglake.detect.prefilter import build_candidates, simple_condition
from loglake.detect.rule import Rule
from loglake.detect.shared import SharedCtes
from loglake.detect.store import AlertStore, locked
from loglake.detect.watermark import NewData, WatermarkStore, align, new_data
from loglake.lake import catalog as lake_catalog
from loglake.lake import state as lake_state

BINDINGS_FILE = "detect-bindings.json"  # in the lake's local folder (see engine.bind_rules)


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


def rule_timeout() -> float:
    """Seconds one rule may run (env LOGLAKE_RULE_TIMEOUT; 0 for no limit)."""
    return float(os.environ.get("LOGLAKE_RULE_TIMEOUT", "300"))


def state_url(lake: Path) -> str:
    """The database holding the rules' watermarks (see lake/state.py)."""
    return lake_state.detect_state_url(lake_catalog.LakeLocation(lake))


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
    result = DetectResult()
    with locked(lake):
        # Tables are read before the connection opens: its views then show at least the rows the recorded
        # sequence numbers cover, so a commit racing this run is evaluated again later, never skipped.
        tables = log_tables(lake)
        con = open_connection(lake, threads=threads, tables=tables)
        store = AlertStore(lake)
        marks = WatermarkStore(state_url(lake))
        now = dt.datetime.now(dt.UTC)
        try:
            fresh = _NewDataCache(tables)
            plans = [_plan(rule, fresh, marks, since, until, now) for rule in rules]
            active = [p for p in plans if p.status is None]
            sources = build_candidates(con, [(p.rule, p.ranges) for p in active])
            bindings = lake_catalog.LakeLocation(lake).root / BINDINGS_FILE
            bound = engine.bind_rules(con, [p.rule for p in active], cache=bindings)
            scopes = Scopes(con)
            shared_ctes = SharedCtes([p.rule for p in active])
            assets = AssetLookup(con)
            advanced: dict[str, dict[str, int]] = {}
            runs: dict[str, RuleRun] = {}
            for plan in sorted(plans, key=lambda p: _scope_key(p, sources)):
                started = time.perf_counter()
                shared = RunShared(bound.get(plan.rule.id), scopes, shared_ctes, assets)
                run = evaluate_rule(con, store, plan, sources, now, result, shared)
                run.seconds = time.perf_counter() - started
                runs[plan.rule.id] = run
                if plan.sequences is not None and run.status != "error":
                    advanced[plan.rule.id] = plan.sequences
                if on_rule:
                    on_rule(plan.rule)
            result.runs = [runs[plan.rule.id] for plan in plans]
            store.write()
            for rule_id, sequences in advanced.items():
                marks.set(rule_id, sequences)
        finally:
            marks.close()
            con.close()
    return result


@dataclass(frozen=True)
class RulePlan:
    """What a rule will look at in this run: its time ranges, or why it has nothing to do."""

    rule: Rule
    ranges: list[TimeRange] | None  # None: all history
    status: str | None = None  # "no data" / "nothing new" when the rule does not run
    sequences: dict[str, int] | None = None  # the watermark after this run (None in a backtest)


class _NewDataCache:
    """`new_data` per table and watermark, computed once per run: most rules share their watermarks."""

    def __init__(self, tables: dict[str, Table]):
        self.tables = tables
        self._found: dict[tuple[str, int], NewData] = {}

    def get(self, name: str, after: int) -> NewData:
        if (name, after) not in self._found:
            self._found[name, after] = new_data(self.tables[name], after)
        return self._found[name, after]


def _plan(rule: Rule, fresh_data: _NewDataCache, marks: WatermarkStore, since, until, now) -> RulePlan:  # noqa: PLR0917
    present = {name: fresh_data.tables[name] for name in rule.tables if name in fresh_data.tables}
    if not present:
        return RulePlan(rule, [], "no data")
    if since is not None or until is not None:
        return RulePlan(rule, backtest_ranges(rule, since, until, now))
    seen = marks.get(rule.id)
    fresh = {name: fresh_data.get(name, seen.get(name, 0)) for name in present}
    sequences = {name: data.sequence for name, data in fresh.items()}
    if not seen:
        return RulePlan(rule, None, sequences=sequences)  # a rule's first run looks at all history
    ranges = align([r for data in fresh.values() for r in data.ranges], rule.bucket)
    return RulePlan(rule, ranges, None if ranges else "nothing new", sequences)


def backtest_ranges(rule: Rule, since: dt.datetime | None, until: dt.datetime | None, now: dt.datetime):
    """The whole buckets of the rule a backtest over [since, until) evaluates (either bound may be open)."""
    low = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    high = until or now + dt.timedelta(days=1)
    return align([(low, high)], rule.bucket)


@dataclass(frozen=True)
class RunShared:
    """What a rule gets from its run besides the prefiltered copies: its binding (or why it failed), the views
    the rules share, the CTEs several rules compute alike."""

    bound: engine.Bound | engine.RuleRunError | None
    scopes: Scopes
    ctes: SharedCtes
    assets: AssetLookup | None = None  # one per run: it reads the asset index once


def _scope_key(plan: RulePlan, sources: dict[str, str]) -> tuple:
    """Rules with equal keys read the same views: evaluated one after another, they create them once."""
    rule = plan.rule
    reads_copy = bool(sources) and simple_condition(rule) is not None
    ranges = None if plan.ranges is None else tuple(plan.ranges)
    return (plan.status is not None, str(ranges), str(rule.lookback if ranges else None), reads_copy, rule.context)


def evaluate_rule(  # noqa: PLR0917
    con: duckdb.DuckDBPyConnection,
    store: AlertStore,
    plan: RulePlan,
    sources: dict[str, str],
    now: dt.datetime,
    result: DetectResult,
    shared: RunShared | None = None,
) -> RuleRun:
    rule = plan.rule
    if plan.status is not None:
        return RuleRun(rule.id, plan.status)
    try:
        if shared and isinstance(shared.bound, engine.RuleRunError):
            raise shared.bound
        candidates = sources if simple_condition(rule) is not None else {}
        evaluate = functools.partial(engine.evaluate, con, rule, plan.ranges, timeout=rule_timeout())
        if shared:
            evaluate = functools.partial(evaluate, bound=shared.bound, scopes=shared.scopes)
        try:
            hits = evaluate(candidates, shared=shared.ctes if shared else None)
        except engine.RuleRunError:
            if not candidates and not (shared and shared.ctes.shared):
                raise
            hits = evaluate({})  # the lake, not the copies
    except engine.RuleRunError as error:
        return RuleRun(rule.id, "error", error=str(error))
    kept = [h for h in store.hits_of(rule.id) if not _inside(h.bucket, plan.ranges)]
    assets = shared.assets if shared and shared.assets else AssetLookup(con)
    merged = alert_merge.merge(rule, kept + hits, store.alerts_of(rule.id), now, assets)
    store.replace(rule.id, kept + hits, merged.alerts)
    result.new.extend(merged.new)
    result.updated.extend(merged.updated)
    return RuleRun(rule.id, "evaluated", len(hits), len(merged.alerts), len(merged.new), len(merged.updated))


def _inside(moment: dt.datetime, ranges: list[TimeRange] | None) -> bool:
    return ranges is None or any(low <= moment < high for low, high in ranges)


def log_tables(lake: Path) -> dict[str, Table]:
    """The lake's log tables (those with event times), by name."""
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    found = {}
    for name in lake_catalog.table_names(catalog):
        table = lake_catalog.load_table(catalog, name)
        if "lake_time" in table.schema().column_names and table.current_snapshot() is not None:
            found[name] = table
    return found
