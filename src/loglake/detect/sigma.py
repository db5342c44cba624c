"""Sigma rules as loglake rules: pySigma parses them, a processing pipeline maps them onto `cloudtrail_logs`.

A Sigma rule for `product: aws, service: cloudtrail` becomes a `Rule` whose query is
`SELECT * FROM cloudtrail_logs WHERE <condition>`, the condition written by pySigma's SQLite backend with the
DuckDB differences put right in `DuckDBBackend`. The pipeline (`cloudtrail_pipeline`) is made of small named
transformations, pySigma style: reject other log sources and placeholders, set the table, map every field.

Fields are mapped from the CloudTrail record's own layout (`formats.cloudtrail.EVENT`), matching keys without
regard to case as the table's JSON reader does: `userIdentity.sessionContext.sessionIssuer.type` is the struct
path `useridentity.sessioncontext.sessionissuer.type`; below the JSON text columns (`requestParameters`,
`responseElements`, `additionalEventData`, ...) a key is read with `json_extract_string`; a key the table has no
column for is read from `unmapped`, where the parser keeps it. A field can hold several values (`resources.ARN`,
or a JSON object that may sit in an array such as `requestParameters.containerDefinitions.command`): it matches
when any value does, as Sigma reads a list.

Sigma's string matching ignores case, so equality is `lower(field) = 'value'` and wildcards are `ILIKE`; `|cased`
uses the case-sensitive forms, `|re` is `regexp_matches` (RE2: case-sensitive unless `|i`). A condition on an
absent field is false, also under `not`.

Counting rules become a `rule.Threshold`: Sigma correlations of type `event_count` and `value_count`, and the
older aggregation conditions (`selection | count() by field > 5` with `timeframe`). The engine counts in windows
aligned on the epoch, not sliding ones, so a burst that straddles a window boundary can be missed by a count
that a sliding window would reach.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
from dataclasses import dataclass
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any, ClassVar

import duckdb
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationConditionOperator, SigmaCorrelationRule, SigmaCorrelationType
from sigma.exceptions import SigmaError, SigmaFeatureNotSupportedByBackendError, SigmaTransformationError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldFunctionTransformation, SetStateTransformation
from sigma.processing.transformations.base import DetectionItemTransformation, PreprocessingTransformation
from sigma.rule import SigmaDetectionItem, SigmaRule
from sigma.types import SigmaCompareExpression, SigmaExists, SigmaNull, SigmaString, TimestampPart

from loglake.detect.rule import Rule, RuleError, Threshold, is_sigma, parse_duration, read_yaml_documents
from loglake.formats import cloudtrail, registry
from loglake.formats.jsonshape import Json, ListOf, MapOf, Shape, Str, Struct

TABLE = cloudtrail.TABLE
SEVERITIES = {"informational": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical"}
DEFAULT_SEVERITY = "medium"  # Sigma's level is optional; a rule without one is neither noise nor an emergency
MANY = "[]"  # prefix of a mapped field that holds several values (a list expression): any of them may match
_SIMPLE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_ARRAY_GUESSES = 3  # JSON objects on a field's path that may be arrays: 2**n paths are read
_AGGREGATION = re.compile(
    r"^(?P<condition>.+?)\s*\|\s*count\(\s*(?P<field>[\w.]*)\s*\)"
    r"(?:\s+by\s+(?P<by>[\w.]+(?:\s*,\s*[\w.]+)*))?\s*(?P<op><=|>=|==|<|>|=)\s*(?P<count>\d+)\s*$",
    re.IGNORECASE,
)


class SigmaUnsupported(Exception):  # noqa: N818 (the name other modules use)
    """A Sigma rule loglake cannot run as written; the message is the reason, on one line."""


def load_sigma_file(path: Path) -> list[Rule]:
    """The loglake rules of a Sigma YAML file: its detection rules and its correlation rules.

    A rule a correlation refers to is not a rule of its own unless the correlation says `generate: true`, as
    in Sigma. Raises RuleError for a file that is not YAML mappings, SigmaUnsupported (naming the rule when
    the file holds several) for anything pySigma refuses or this module cannot express in DuckDB SQL.
    """
    documents = _read_documents(path)
    # pySigma reorders a collection (referenced rules first), so aggregations are found again by id and title
    aggregations = {}
    for document in documents:
        try:
            aggregation = _take_aggregation(document)
        except SigmaUnsupported as why:
            raise SigmaUnsupported(f"{document.get('title')}: {why}" if len(documents) > 1 else str(why)) from None
        if aggregation is not None:
            aggregations[_document_key(document)] = aggregation
    collection = _collection(documents)
    converter = _Converter(path, several=len(collection.rules) > 1)
    wanted = {id(r) for r in collection.get_output_rules()}  # not those only a correlation refers to
    return [
        converter.rule(r, aggregations.get(_document_key({"id": r.id, "title": r.title})))
        for r in collection.rules
        if id(r) in wanted
    ]


def _document_key(document: dict[str, Any]) -> tuple[str, str]:
    return str(document.get("id") or "").lower(), str(document.get("title") or "")


def cloudtrail_field(name: str) -> str:
    """DuckDB SQL over `cloudtrail_logs` for a Sigma CloudTrail field; prefixed with MANY when it is a list."""
    parts = name.split(".")
    if not all(parts):
        raise SigmaTransformationError(f"field {name!r} is not a field name")
    return _shape_field(cloudtrail.EVENT, "", parts, parts)


# --- the processing pipeline ---------------------------------------------------------------------------------


@dataclass
class RejectLogsource(PreprocessingTransformation):
    """Fail a rule for a log source that has no loglake table the pipeline maps (applied to those only)."""

    def apply(self, rule: Any) -> None:
        source = rule.logsource
        named = ", ".join(f"{k}: {v}" for k, v in (("product", source.product), ("category", source.category),
                                                   ("service", source.service)) if v)  # fmt: skip
        raise SigmaTransformationError(
            f"logsource {{{named}}} is not supported; loglake converts Sigma rules for product aws, service cloudtrail"
        )


@dataclass
class RejectPlaceholders(DetectionItemTransformation):
    """Fail on `|expand` placeholders: they stand for values (allow-lists) that only the user can supply."""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        for value in detection_item.value:
            if isinstance(value, SigmaString) and value.contains_placeholder():
                names = ", ".join(f"%{p.name}%" for p in value.s if hasattr(p, "name"))
                raise SigmaTransformationError(
                    f"field {detection_item.field} uses the placeholder {names} (|expand), "
                    "a list of values loglake has no way to fill in"
                )


def _is_cloudtrail() -> list[LogsourceCondition]:
    return [LogsourceCondition(product="aws", service="cloudtrail")]  # a new one per item: pySigma binds it


def cloudtrail_pipeline() -> ProcessingPipeline:
    """Sigma CloudTrail rules onto the `cloudtrail_logs` table; other log sources fail with the reason."""
    items = [
        ProcessingItem(
            identifier="loglake_reject_other_logsources",
            transformation=RejectLogsource(),
            rule_conditions=_is_cloudtrail(),
            rule_condition_negation=True,
        ),
        ProcessingItem(identifier="loglake_reject_placeholders", transformation=RejectPlaceholders()),
        ProcessingItem(
            identifier="loglake_cloudtrail_table",
            transformation=SetStateTransformation("table", TABLE),
            rule_conditions=_is_cloudtrail(),
        ),
        ProcessingItem(
            identifier="loglake_cloudtrail_fields",
            transformation=FieldFunctionTransformation(mapping={}, transform_func=cloudtrail_field),
            rule_conditions=_is_cloudtrail(),
        ),
    ]
    return ProcessingPipeline(name="loglake cloudtrail_logs", priority=20, items=items)


# --- field mapping -------------------------------------------------------------------------------------------


def _shape_field(shape: Shape, sql: str, rest: list[str], whole: list[str]) -> str:
    """The expression for the `rest` of a field path below `sql`, a value of `shape`."""
    if not rest:
        return sql if isinstance(shape, Str | Json) else f"CAST({sql} AS VARCHAR)"
    if isinstance(shape, Struct):
        child = _struct_fields(shape).get(rest[0].lower())
        if child is None:  # the parser keeps keys the schema does not name in `unmapped`, at the same path
            return json_field(cloudtrail.UNMAPPED, whole)
        return _shape_field(
            child.shape, f"{sql}.{_name(child.column)}" if sql else _name(child.column), rest[1:], whole
        )
    if isinstance(shape, Json):
        return json_field(sql, rest)
    if isinstance(shape, ListOf) and isinstance(shape.item, Struct):
        element = _shape_field(shape.item, "x", rest, whole)
        if not element.startswith("x."):
            raise SigmaTransformationError(f"field {'.'.join(whole)} is not a field of the {TABLE} table")
        return f"{MANY}list_transform({sql}, lambda x: {element})"
    if isinstance(shape, MapOf) and len(rest) == 1:
        return f"{sql}[{sql_literal(rest[0])}]"
    raise SigmaTransformationError(f"field {'.'.join(whole)} is not a field of the {TABLE} table")


@cache
def _struct_fields(shape: Struct) -> dict[str, Any]:
    return {f.key.lower(): f for f in shape.fields}


def json_field(column: str, keys: list[str]) -> str:
    """A key path inside a JSON text column, as text (objects and arrays as their JSON text).

    CloudTrail nests arrays of objects (`containerDefinitions: [{command: ...}]`) where a Sigma path names the
    keys only, so for a deeper path every object on the way is read both as an object and as an array of them.
    """
    if any('"' in key for key in keys):
        raise SigmaTransformationError(f"a JSON key with a double quote ({'.'.join(keys)}) is not supported")
    if len(keys) == 1:
        return f"json_extract_string({column}, {sql_literal(_json_path(keys, ()))})"
    guesses = list(product((False, True), repeat=min(len(keys) - 1, _MAX_ARRAY_GUESSES)))
    scalar = f"[json_extract_string({column}, {sql_literal(_json_path(keys, guesses[0]))})]"
    arrays = [f"json_extract_string({column}, {sql_literal(_json_path(keys, g))})" for g in guesses[1:]]
    return f"{MANY}flatten([{', '.join([scalar, *arrays])}])"


def _json_path(keys: list[str], arrays: tuple[bool, ...]) -> str:
    steps = [
        (key if _SIMPLE_KEY.match(key) else f'"{key}"') + ("[*]" if i < len(arrays) and arrays[i] else "")
        for i, key in enumerate(keys)
    ]
    return "$." + ".".join(steps)


def _name(column: str) -> str:
    return column if _SIMPLE_NAME.match(column) else '"' + column.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _lower_literal(text: str) -> str:
    # Python and DuckDB agree on lower case for ASCII; beyond it, let DuckDB lower both sides alike
    return sql_literal(text.lower()) if text.isascii() else f"lower({sql_literal(text)})"


def many(field: str) -> str | None:
    """The list expression of a field that holds several values, else None."""
    return field[len(MANY) :] if field.startswith(MANY) else None


# --- the backend ---------------------------------------------------------------------------------------------


class DuckDBBackend(sqliteBackend):
    """pySigma's SQLite backend, writing DuckDB SQL with Sigma's case-insensitive matching.

    SQLite's `=` and `LIKE` ignore case only through collations and its LIKE default, DuckDB's do not; fields
    arrive from the pipeline as SQL expressions, so they are not quoted again.
    """

    name: ClassVar[str] = "loglake DuckDB backend"
    convert_or_as_in: ClassVar[bool] = True
    wildcard_match_expression: ClassVar[str] = "{field} ILIKE '{value}' ESCAPE '\\'"
    case_sensitive_wildcard_expression: ClassVar[str] = "{field} LIKE '{value}' ESCAPE '\\'"
    re_expression: ClassVar[str] = "regexp_matches({field}, '{regex}')"
    compare_op_expression: ClassVar[str] = "TRY_CAST({field} AS DOUBLE) {operator} {value}"
    null_safe_expression: ClassVar[str] = "COALESCE({expr}, FALSE)"
    field_equals_field_expression: ClassVar[str] = "lower({field1}) = lower({field2})"
    field_equals_field_startswith_expression: ClassVar[str] = (
        "{field1} ILIKE " + sqliteBackend.field_ref_like_escape + " || '%' ESCAPE '\\'"
    )
    field_equals_field_endswith_expression: ClassVar[str] = (
        "{field1} ILIKE '%' || " + sqliteBackend.field_ref_like_escape + " ESCAPE '\\'"
    )
    field_equals_field_contains_expression: ClassVar[str] = (
        "{field1} ILIKE '%' || " + sqliteBackend.field_ref_like_escape + " || '%' ESCAPE '\\'"
    )
    field_timestamp_part_expression: ClassVar[str] = "date_part('{timestamp_part}', TRY_CAST({field} AS TIMESTAMPTZ))"
    timestamp_part_mapping: ClassVar[dict[TimestampPart, str]] = {
        TimestampPart.MINUTE: "minute",
        TimestampPart.HOUR: "hour",
        TimestampPart.DAY: "day",
        TimestampPart.WEEK: "week",
        TimestampPart.MONTH: "month",
        TimestampPart.YEAR: "year",
    }

    def escape_and_quote_field(self, field: str) -> str:
        if many(field) is not None:  # only reached by forms that cannot take a list (field references)
            raise SigmaFeatureNotSupportedByBackendError(
                "comparing a field that holds several values with another field"
            )
        return field

    def convert_condition_field_eq_val(self, cond: ConditionFieldEqualsValueExpression, state: ConversionState) -> Any:
        values = many(cond.field) if cond.field else None
        if values is None:
            return super().convert_condition_field_eq_val(cond, state)
        if isinstance(cond.value, SigmaNull) or (isinstance(cond.value, SigmaExists) and not cond.value.exists):
            return f"coalesce(array_length(list_filter({values}, lambda x: x IS NOT NULL)) = 0, TRUE)"
        element = copy.copy(cond)
        element.field = "x"
        predicate = super().convert_condition_field_eq_val(element, state)
        return f"array_length(list_filter({values}, lambda x: {predicate})) > 0"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        if cond.value.contains_special():
            return self.wildcard_match_expression.format(field=cond.field, value=self._like_pattern(cond.value))
        return f"lower({cond.field}) = {_lower_literal(cond.value.to_plain())}"

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        if cond.value.contains_special():
            return self.case_sensitive_wildcard_expression.format(
                field=cond.field, value=self._like_pattern(cond.value)
            )
        return f"{cond.field} = {sql_literal(cond.value.to_plain())}"

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        # only plain strings on a single-valued field: numbers compare as text, wildcards need ILIKE
        return (
            super().decide_convert_condition_as_in_expression(cond, state)
            and all(type(arg.value) is SigmaString and not arg.value.contains_special() for arg in cond.args)
            and many(cond.args[0].field) is None
        )

    def convert_condition_as_in_expression(self, cond: ConditionOR | ConditionAND, state: ConversionState) -> str:
        # only ORs come here: convert_and_as_in stays off
        values = ", ".join(_lower_literal(arg.value.to_plain()) for arg in cond.args)
        return f"lower({cond.args[0].field}) IN ({values})"

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        # CloudTrail values are text: a number is compared with its spelling (a cast of the column could fail)
        return f"CAST({cond.field} AS VARCHAR) = {sql_literal(str(cond.value))}"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        return f"lower(CAST({cond.field} AS VARCHAR)) = '{str(cond.value.boolean).lower()}'"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value: SigmaCompareExpression = cond.value
        return self.compare_op_expression.format(
            field=cond.field, operator=self.compare_operators[value.op], value=value.number
        )

    def _like_pattern(self, value: SigmaString) -> str:
        """The LIKE pattern of a Sigma string (`*` -> %, `?` -> _), literal %, _ and \\ escaped, quotes doubled."""
        pattern = value.convert(escape_char="\\", wildcard_multi="%", wildcard_single="_", add_escaped="\\")
        return pattern.replace("'", "''")

    def _fulltext_column(self) -> str:
        raise SigmaFeatureNotSupportedByBackendError(
            "keyword search (a value without a field) is not supported on CloudTrail; name the field to match"
        )


# --- from Sigma documents to rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Count:
    """What a counting rule counts: events (or distinct values of `field`) per group, at least `count` in `window`."""

    count: int
    window: dt.timedelta
    group_by: tuple[str, ...] = ()  # Sigma field names
    field: str | None = None  # Sigma 1 `count(field)` and `value_count` count distinct values


def _read_documents(path: Path) -> list[dict[str, Any]]:
    documents = read_yaml_documents(path)
    if not documents or not all(isinstance(d, dict) for d in documents):
        raise RuleError(f"{path}: a Sigma file holds one or more rule mappings (title, logsource, detection ...)")
    return documents


def _take_aggregation(document: dict[str, Any]) -> _Count | None:
    """Turn a Sigma 1 aggregation (`selection | count() by x > 5`, `timeframe`) into a count; pySigma refuses them.

    The document keeps the plain condition; `timeframe` is taken out, as pySigma would read it as a selection.
    """
    detection = document.get("detection")
    if not isinstance(detection, dict):
        return None
    timeframe = detection.pop("timeframe", None)
    condition = detection.get("condition")
    conditions = condition if isinstance(condition, list) else [condition]
    if not any(isinstance(c, str) and "|" in c for c in conditions):
        return None
    if len(conditions) != 1:
        raise SigmaUnsupported("an aggregation (|) in a list of conditions is not supported")
    match = _AGGREGATION.match(condition)
    if match is None:
        raise SigmaUnsupported(_aggregation_reason(condition.split("|", 1)[1].strip()))
    if timeframe is None:
        raise SigmaUnsupported("a count aggregation needs a timeframe (the window it counts in)")
    detection["condition"] = match["condition"]
    count = _minimum(match["op"], int(match["count"]))
    by = tuple(f.strip() for f in match["by"].split(",")) if match["by"] else ()
    window = parse_duration(timeframe, "timeframe")
    return _Count(count=count, window=window, group_by=by, field=match["field"] or None)


def _aggregation_reason(aggregation: str) -> str:
    if aggregation.lower().startswith("near"):
        return (
            f"the aggregation '{aggregation}' (events near each other in time) cannot be written as a loglake threshold"
        )
    return f"the aggregation '{aggregation}' is not supported; only count() [by field] > n is"


def _minimum(op: str, number: int) -> int:
    """The least count the comparison accepts: a threshold fires at or above a count, never below."""
    if op == ">":
        return number + 1
    if op == ">=":
        return max(number, 1)
    raise SigmaUnsupported(f"a count that must be {op} {number} cannot be a threshold (it fires at or above a count)")


def _collection(documents: list[dict[str, Any]]) -> SigmaCollection:
    try:
        return SigmaCollection.from_dicts(documents)
    except SigmaError as error:
        raise SigmaUnsupported(_reason(error)) from None


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    text = re.sub(r"\bb'(.*?)'", r"\1", text)  # RE2 reports its reason as Python bytes
    return re.sub(r"\s+in rule \S+$", "", text)  # pySigma appends the rule's location; callers know the file


class _Converter:
    """Converts the rules of one file, with one backend (pySigma keeps per-rule state on it)."""

    def __init__(self, path: Path, *, several: bool):
        self.path = path
        self.several = several
        self.backend = DuckDBBackend(processing_pipeline=cloudtrail_pipeline())

    def rule(self, sigma_rule: SigmaRule | SigmaCorrelationRule, aggregation: _Count | None) -> Rule:
        try:
            if isinstance(sigma_rule, SigmaCorrelationRule):
                condition, count = self.correlation(sigma_rule)
            else:
                condition, count = self.condition(sigma_rule), aggregation
            query = f"SELECT * FROM {TABLE} WHERE {condition}"
            threshold = _threshold(count) if count else None
            check_query(query, threshold)
        except SigmaUnsupported as error:
            raise SigmaUnsupported(self._named(sigma_rule, str(error))) from None
        except SigmaError as error:
            raise SigmaUnsupported(self._named(sigma_rule, _reason(error))) from None
        return _rule(sigma_rule, query, threshold, self.path)

    def condition(self, sigma_rule: SigmaRule) -> str:
        """The rule's WHERE condition; several conditions (a list in Sigma) match when any does."""
        conditions: list[str] = []

        def keep(*args: Any) -> Any:  # (rule, output format, index, parsed condition, converted condition)
            if args[-1]:
                conditions.append(args[-1])
            return args[-1]

        # the callback sees each condition before the backend finalises it (which it skips for a rule that only
        # a correlation refers to), so one path serves both
        self.backend.convert_rule(sigma_rule, callback=keep)
        if not conditions:
            raise SigmaUnsupported("the rule's condition converts to nothing")
        return conditions[0] if len(conditions) == 1 else " OR ".join(f"({c})" for c in conditions)

    def correlation(self, correlation: SigmaCorrelationRule) -> tuple[str, _Count]:
        kind = correlation.type
        if kind not in (SigmaCorrelationType.EVENT_COUNT, SigmaCorrelationType.VALUE_COUNT):
            raise SigmaUnsupported(f"correlation type {kind.name.lower()} cannot be written as a loglake threshold")
        if correlation.aliases.aliases:
            raise SigmaUnsupported("correlation field aliases are not supported")
        cond = correlation.condition
        if not hasattr(cond, "op"):
            raise SigmaUnsupported("an extended correlation condition is not supported")
        ops = {SigmaCorrelationConditionOperator.GT: ">", SigmaCorrelationConditionOperator.GTE: ">="}
        if cond.op not in ops:
            raise SigmaUnsupported(
                f"a count that must be {cond.op.name.lower()} {cond.count} cannot be a threshold "
                "(it fires at or above a count)"
            )
        field = cond.fieldref if kind == SigmaCorrelationType.VALUE_COUNT else None
        if isinstance(field, list):
            raise SigmaUnsupported("value_count over several fields is not supported")
        bases = [reference.rule for reference in correlation.rules]
        if not all(isinstance(base, SigmaRule) for base in bases):
            raise SigmaUnsupported("a correlation of correlations is not supported")
        conditions = [self.condition(base) for base in bases]
        condition = conditions[0] if len(conditions) == 1 else " OR ".join(f"({c})" for c in conditions)
        count = _Count(
            count=_minimum(ops[cond.op], int(cond.count)),
            window=parse_duration(correlation.timespan.seconds, "timespan"),
            group_by=tuple(correlation.group_by or ()),
            field=field,
        )
        return condition, count

    def _named(self, sigma_rule: SigmaRule | SigmaCorrelationRule, reason: str) -> str:
        return f"{sigma_rule.title}: {reason}" if self.several else reason


def _threshold(count: _Count) -> Threshold:
    return Threshold(
        count=count.count,
        window=count.window,
        group_by=tuple(_single_field(name) for name in count.group_by),
        field=_single_field(count.field) if count.field else None,
    )


def _single_field(name: str) -> str:
    try:
        expression = cloudtrail_field(name)
    except SigmaError as error:
        raise SigmaUnsupported(_reason(error)) from None
    if many(expression) is not None:
        raise SigmaUnsupported(f"cannot count or group by {name}, a field that holds several values")
    return expression


def _rule(sigma_rule: SigmaRule | SigmaCorrelationRule, query: str, threshold: Threshold | None, path: Path) -> Rule:
    level = sigma_rule.level.name.lower() if sigma_rule.level else None
    return Rule(
        id=_rule_id(sigma_rule, path),
        title=str(sigma_rule.title),
        severity=SEVERITIES.get(level or "", DEFAULT_SEVERITY),
        tables=(TABLE,),
        query=query,
        description=(sigma_rule.description or "").strip(),
        tags=tuple(str(tag).lower() for tag in sigma_rule.tags or ()),
        threshold=threshold,
        source="sigma",
        path=path,
        references=tuple(str(r) for r in sigma_rule.references or ()),
        falsepositives=tuple(str(f) for f in sigma_rule.falsepositives or ()),
    )


def _rule_id(sigma_rule: SigmaRule | SigmaCorrelationRule, path: Path) -> str:
    # Sigma ids are UUIDs; a rule without one falls back on its name, then on the file's name
    raw = str(sigma_rule.id) if sigma_rule.id else (sigma_rule.name or path.stem)
    slug = re.sub(r"[^a-z0-9_.-]+", "-", raw.lower()).strip("-.")
    return f"sigma.{slug}"


# --- a converted query must run ------------------------------------------------------------------------------

_check_lock = threading.Lock()


@cache
def _check_connection() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register(TABLE, registry.tables()[TABLE].empty_table())
    return con


def check_query(query: str, threshold: Threshold | None = None) -> None:
    """Bind the query (and the threshold's expressions) on an empty table, so that a rule that loads also runs.

    pySigma already refuses a regular expression RE2 cannot compile (DuckDB's engine too); this catches what
    the conversion gets wrong for DuckDB, with DuckDB's own words.
    """
    expressions = [
        *(threshold.group_by if threshold else ()),
        *([threshold.field] if threshold and threshold.field else []),
    ]
    select = ", ".join(["1", *(f"CAST({e} AS VARCHAR)" for e in expressions)])
    with _check_lock:
        try:
            _check_connection().execute(f"DESCRIBE SELECT {select} FROM ({query}) AS q")
        except duckdb.Error as error:
            first = str(error).strip().splitlines()[0]
            raise SigmaUnsupported(f"the converted query does not run in DuckDB: {first}") from None


__all__ = [
    "DuckDBBackend",
    "SigmaUnsupported",
    "check_query",
    "cloudtrail_field",
    "cloudtrail_pipeline",
    "is_sigma",
    "load_sigma_file",
]
