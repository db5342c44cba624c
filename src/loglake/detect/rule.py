"""A detection rule as loglake runs it: what it matches, how hits are counted, grouped and deduplicated.

Rules come from YAML files (the built-in pack under `detect/rules/`, or files added with `loglake rules add`)
and from Sigma rules converted by `detect.sigma`; both end up as a `Rule` whose `query` is DuckDB SQL over
the lake tables. A rule's query returns event rows (with their lake columns); the engine does the counting.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SEVERITIES = ("info", "low", "medium", "high", "critical")
ENTITIES = ("principal", "ip", "resource", "account")
DEFAULT_DEDUP_WINDOW = dt.timedelta(hours=1)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_KEYS = {
    "id", "title", "description", "severity", "tags", "tables", "query", "sigma", "entities", "dedup",
    "threshold", "tests", "enabled", "references", "falsepositives", "author", "status", "context", "lookback",
}  # fmt: skip


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class Threshold:
    """Fire when a group has at least `count` events (or distinct values of `field`) in one window."""

    count: int
    window: dt.timedelta
    group_by: tuple[str, ...] = ()  # entity names (principal, ip, ...) or SQL over the query's rows
    field: str | None = None  # count distinct values of this instead of events (Sigma's value_count)


@dataclass(frozen=True)
class Dedup:
    """Hits with the same values of `keys` within `window` of each other are one alert."""

    keys: tuple[str, ...]
    window: dt.timedelta = DEFAULT_DEDUP_WINDOW


@dataclass(frozen=True)
class RuleTest:
    """Events in their native log format (per table) and how many alerts the rule must raise on them."""

    name: str
    events: dict[str, list[Any]]  # table -> records: dicts for JSON formats, strings for line formats
    expect: int


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    tables: tuple[str, ...]
    query: str  # DuckDB SQL returning event rows of the tables (their lake columns included)
    description: str = ""
    tags: tuple[str, ...] = ()  # MITRE ATT&CK as Sigma writes them: attack.t1078, attack.persistence
    entities: dict[str, str] = field(default_factory=dict)  # entity -> SQL over the query's rows
    threshold: Threshold | None = None
    dedup: Dedup | None = None
    tests: tuple[RuleTest, ...] = ()
    enabled: bool = True
    source: str = "sql"  # sql | sigma
    path: Path | None = None
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    context: bool = False  # the plain table names are the enriched `<table>_ctx` rows (asset columns added)
    # An alert on an asset of one of these sensitivities is raised one severity step.
    raise_severity_on: tuple[str, ...] = ("restricted",)
    # How far before and after the evaluated rows the query reads `lake.<table>` (its history); None: all of it.
    lookback: dt.timedelta | None = None

    @property
    def group_keys(self) -> tuple[str, ...]:
        """What one hit is grouped by: the threshold's groups, else the dedup keys."""
        if self.threshold is not None:
            return self.threshold.group_by
        return self.dedup_keys

    @property
    def dedup_keys(self) -> tuple[str, ...]:
        if self.dedup is not None:
            return self.dedup.keys
        if self.threshold is not None:
            return self.threshold.group_by
        return ENTITIES

    @property
    def dedup_window(self) -> dt.timedelta:
        return self.dedup.window if self.dedup is not None else DEFAULT_DEDUP_WINDOW

    @property
    def bucket(self) -> dt.timedelta:
        """The time bucket hits are counted in: the threshold window, else the dedup window."""
        return self.threshold.window if self.threshold is not None else self.dedup_window

    @property
    def attack(self) -> list[str]:
        """MITRE ATT&CK technique ids among the tags (attack.t1078.004 -> T1078.004)."""
        return [t.split(".", 1)[1].upper() for t in self.tags if re.match(r"^attack\.t\d{4}", t)]


def is_sigma(data: Any) -> bool:
    """A Sigma rule document (detection or correlation), as opposed to a loglake rule."""
    if not isinstance(data, dict):
        return False
    return ("logsource" in data and "detection" in data) or "correlation" in data


def parse_duration(value: Any, where: str) -> dt.timedelta:
    if isinstance(value, int) and value > 0:
        return dt.timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match or int(match.group(1)) == 0:
        raise RuleError(f"{where}: {value!r} is not a duration; write e.g. 30s, 5m, 1h or 7d")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def read_yaml_documents(path: Path) -> list[Any]:
    """The YAML documents of a rule file (LibYAML's parser: the pure-Python one takes seconds for the pack)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader) if d is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RuleError(f"{where}: not valid YAML ({getattr(error, 'problem', error)})") from None


def load_rule_file(path: Path) -> Rule:
    """A loglake YAML rule file (not Sigma: see `detect.sigma`)."""
    return rule_from_documents(read_yaml_documents(path), path)


def rule_from_documents(documents: list[Any], path: Path) -> Rule:
    data = documents[0] if len(documents) == 1 else None
    if not isinstance(data, dict):
        raise RuleError(f"{path}: a rule file holds one mapping (id, title, severity, tables, query ...)")
    return rule_from_dict(data, path=path)


def rule_from_dict(data: dict[str, Any], *, path: Path | None = None, source: str = "sql") -> Rule:
    where = str(path) if path else f"rule {data.get('id', '?')}"
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise RuleError(f"{where}: unknown key {unknown[0]!r}; rule keys are: {', '.join(sorted(_KEYS))}")
    for key in ("id", "title", "severity", "tables", "query"):
        if not data.get(key):
            raise RuleError(f"{where}: the rule needs {key!r}")
    rule_id = str(data["id"])
    if not _ID.match(rule_id):
        raise RuleError(f"{where}: id {rule_id!r} must be lower case letters, digits, '.', '_' or '-'")
    severity = str(data["severity"]).lower()
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    tables = _strings(data["tables"], f"{where}: tables")
    entities = data.get("entities") or {}
    if not isinstance(entities, dict) or set(entities) - set(ENTITIES):
        raise RuleError(f"{where}: entities maps {', '.join(ENTITIES)} to SQL expressions")
    return Rule(
        id=rule_id,
        title=str(data["title"]),
        severity=severity,
        tables=tables,
        query=str(data["query"]).strip().rstrip(";"),
        description=str(data.get("description", "")).strip(),
        tags=tuple(str(t).lower() for t in _strings(data.get("tags", []), f"{where}: tags")),
        entities={k: str(v) for k, v in entities.items()},
        threshold=_threshold(data.get("threshold"), where),
        dedup=_dedup(data.get("dedup"), where),
        tests=_tests(data.get("tests", []), tables, where),
        enabled=bool(data.get("enabled", True)),
        source=source,
        path=path,
        references=_strings(data.get("references", []), f"{where}: references"),
        falsepositives=_strings(data.get("falsepositives", []), f"{where}: falsepositives"),
        context=bool(data.get("context", False)),
        raise_severity_on=_raise_severity_on(data.get("context"), where),
        lookback=parse_duration(data["lookback"], f"{where}: lookback") if data.get("lookback") else None,
    )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise RuleError(f"{where} must be a list of strings")
    return tuple(str(v) for v in value)


def _raise_severity_on(context: Any, where: str) -> tuple[str, ...]:
    """`context: {raise_severity_on: [...]}` (a list, possibly empty); otherwise restricted assets raise."""
    if not isinstance(context, dict):
        return ("restricted",)
    extra = sorted(set(context) - {"raise_severity_on"})
    if extra:
        raise RuleError(f"{where}: unknown context key {extra[0]!r}; use raise_severity_on (a list of sensitivities)")
    return _strings(context.get("raise_severity_on", ["restricted"]), f"{where}: context raise_severity_on")


def raised(severity: str) -> str:
    """One step up the severity scale (critical stays critical)."""
    return SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]


def _threshold(value: Any, where: str) -> Threshold | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "count" not in value or "window" not in value:
        raise RuleError(f"{where}: threshold needs count and window (and optionally group_by, field)")
    extra = sorted(set(value) - {"count", "window", "group_by", "field"})
    if extra:
        raise RuleError(f"{where}: unknown threshold key {extra[0]!r}; use count, window, group_by, field")
    count = value["count"]
    if not isinstance(count, int) or count < 1:
        raise RuleError(f"{where}: threshold count must be a positive integer")
    return Threshold(
        count=count,
        window=parse_duration(value["window"], f"{where}: threshold window"),
        group_by=_strings(value.get("group_by", []), f"{where}: threshold group_by"),
        field=str(value["field"]) if value.get("field") else None,
    )


def _dedup(value: Any, where: str) -> Dedup | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RuleError(f"{where}: dedup needs keys (entity names) and window, e.g. {{keys: [principal], window: 1h}}")
    extra = sorted(set(value) - {"keys", "window"})
    if extra:
        raise RuleError(f"{where}: unknown dedup key {extra[0]!r}; use keys, window")
    return Dedup(
        keys=_strings(value.get("keys", list(ENTITIES)), f"{where}: dedup keys"),
        window=parse_duration(value.get("window", "1h"), f"{where}: dedup window"),
    )


def _tests(value: Any, tables: tuple[str, ...], where: str) -> tuple[RuleTest, ...]:
    if not isinstance(value, list):
        raise RuleError(f"{where}: tests must be a list")
    tests = []
    for number, item in enumerate(value, 1):
        here = f"{where}: test {number}"
        if not isinstance(item, dict) or "events" not in item or "expect" not in item:
            raise RuleError(f"{here} needs events and expect (the number of alerts)")
        events = item["events"]
        if isinstance(events, list):
            events = {tables[0]: events}
        if not isinstance(events, dict) or not all(isinstance(v, list) for v in events.values()):
            raise RuleError(f"{here}: events is a list of records, or a mapping of table -> records")
        expect = item["expect"]
        if isinstance(expect, bool):
            expect = int(expect)
        if not isinstance(expect, int) or expect < 0:
            raise RuleError(f"{here}: expect is the number of alerts (0 for a negative case)")
        tests.append(RuleTest(name=str(item.get("name", f"test {number}")), events=events, expect=expect))
    return tuple(tests)
