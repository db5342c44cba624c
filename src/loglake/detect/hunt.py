"""Hunting: one timeline of what an IP, a principal or an access key did across every log table; saved hunts.

A timeline row is a log row reduced to the same columns whatever its table: when, where from (lake_table,
lake_file, lake_row: the raw line), who and what (the format's ENTITIES), and `action`, a one-line summary
written per table (an API call, a flow, a request, a DNS query). Time bounds are literals on lake_time, so
DuckDB reads only the days in range.

Saved hunts are SQL files: the first comment line says what the hunt finds, and `$name` marks a parameter
(DuckDB's named prepared parameters, given as `--param name=value`; values are strings, cast them in the SQL).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from loglake.context.lookup import with_assets
from loglake.detect.connection import existing_tables
from loglake.formats import registry
from loglake.lake.columns import TIMESTAMP

HUNTS = Path(__file__).parent / "hunts"
DEFAULT_LIMIT = 1000
TIMELINE_SCHEMA = pa.schema(
    [
        pa.field("lake_time", TIMESTAMP),
        pa.field("lake_table", pa.string()),
        pa.field("principal", pa.string()),
        pa.field("ip", pa.string()),
        pa.field("resource", pa.string()),
        pa.field("account", pa.string()),
        pa.field("action", pa.string()),
        pa.field("lake_file", pa.string()),
        pa.field("lake_row", pa.int64()),
        # the asset the row's resource (else IP) named then, from the lake's assets history
        pa.field("asset_name", pa.string()),
        pa.field("asset_sensitivity", pa.string()),
        pa.field("asset_reachability", pa.string()),
    ]
)
_PROTOCOL = (
    "CASE protocol WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' WHEN 1 THEN 'icmp' WHEN 58 THEN 'icmpv6' "
    "ELSE 'proto ' || protocol END"
)
# What a row did, in one line per table (concat_ws skips NULL parts, so a short record still reads well)
ACTIONS: dict[str, str] = {
    "cloudtrail_logs": "concat_ws(' ', eventsource, eventname, errorcode)",
    "vpc_flow_logs": (
        f"concat_ws(' ', concat_ws(':', srcaddr, srcport) || ' -> ' || concat_ws(':', dstaddr, dstport), {_PROTOCOL},"
        " action, log_status)"
    ),
    "alb_access_logs": "concat_ws(' ', request_verb, request_url, elb_status_code)",
    "alb_connection_logs": "concat_ws(' ', 'port ' || listener_port, tls_protocol, tls_verify_status)",
    "elb_logs": "concat_ws(' ', request_verb, url, elb_response_code)",
    "nlb_tls_logs": "concat_ws(' ', 'tls', domain_name, tls_protocol_version, 'alert ' || incoming_tls_alert)",
    "cloudfront_logs": "concat_ws(' ', method, host_header || uri, status, result_type)",
    "s3_access_logs": "concat_ws(' ', operation, bucket_name || '/' || nullif(key, '-'), httpstatus, errorcode)",
    "waf_logs": "concat_ws(' ', action, httprequest.httpmethod, httprequest.uri, terminatingruleid)",
    "r53_rlogs": "concat_ws(' ', query_name, query_type, rcode, firewall_rule_action)",
    "apigateway_logs": "concat_ws(' ', http_method, coalesce(path, resource_path, route_key), status)",
    "cloudwatch_logs": "concat_ws(' ', log_group, left(message, 200))",
}
# Besides a format's principal entity: a user's name, and for an assumed role the role that issued the session
PRINCIPAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "cloudtrail_logs": (
        "useridentity.arn",
        "useridentity.username",
        "useridentity.sessioncontext.sessionissuer.arn",
        "useridentity.sessioncontext.sessionissuer.username",
    ),
    "apigateway_logs": ('"user"',),
}
# The key as the caller's, and in the calls that created, issued (STS), changed or deleted it
KEY_CONDITION = (
    "useridentity.accesskeyid = $key OR contains(requestparameters, $key) OR contains(responseelements, $key)"
)
ACCESS_KEY = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
_PARAMETER = re.compile(r"(?<![\w$])\$([A-Za-z_]\w*)")
_NOT_CODE = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


class HuntError(Exception):
    """A hunt that cannot run as asked (not an IP, a missing parameter, bad SQL); the message says what to fix."""


@dataclass(frozen=True)
class Window:
    """Event times from `since` (inclusive) to `until` (exclusive); either end may be open."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def predicate(self) -> str:
        # literal bounds, not parameters: DuckDB prunes Iceberg files and days only on constants
        parts = ["TRUE"]
        if self.since is not None:
            parts.append(f"lake_time >= TIMESTAMPTZ '{self.since.isoformat()}'")
        if self.until is not None:
            parts.append(f"lake_time < TIMESTAMPTZ '{self.until.isoformat()}'")
        return " AND ".join(parts)


@dataclass(frozen=True)
class Timeline:
    rows: pa.Table  # TIMELINE_SCHEMA, sorted by time
    truncated: bool  # more rows matched than the limit


# -- timelines -------------------------------------------------------------------------------------------------------


def ip_timeline(
    con: duckdb.DuckDBPyConnection, address: str, window: Window = Window(), limit: int = DEFAULT_LIMIT
) -> Timeline:
    """Every row, in any log table, whose IPs (`lake_ips`) include the address."""
    forms = address_forms(address)
    conditions = dict.fromkeys(log_tables(con), "list_has_any(lake_ips, $forms)")
    return timeline(con, conditions, {"forms": forms}, window, limit)


def address_forms(address: str) -> list[str]:
    """The ways logs may write an address: IPv6 compressed or not, lower or upper case, as the user typed it."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        raise HuntError(f"{address!r} is not an IP address (e.g. 203.0.113.7 or 2001:db8::7)") from None
    forms = [address.strip(), str(parsed)]
    if parsed.version == 6:
        forms += [parsed.exploded, parsed.exploded.upper(), str(parsed).upper()]
    return list(dict.fromkeys(forms))


def principal_timeline(
    con: duckdb.DuckDBPyConnection, who: str, window: Window = Window(), limit: int = DEFAULT_LIMIT
) -> Timeline:
    """Rows of a principal given by ARN, or by name (a user, role or session name: the ARN's last part).

    An access key id (AKIA.../ASIA...) finds the CloudTrail calls made with it, as `key_timeline` does.
    """
    who = who.strip()
    if ACCESS_KEY.match(who):
        return key_timeline(con, who, window, limit)
    conditions = {}
    for table in log_tables(con):
        columns = [*_principal_entity(table), *PRINCIPAL_COLUMNS.get(table, ())]
        if columns:
            conditions[table] = " OR ".join(_matches_principal(column) for column in dict.fromkeys(columns))
    return timeline(con, conditions, {"who": who}, window, limit)


def _principal_entity(table: str) -> list[str]:
    module = registry.for_table(table)
    expression = getattr(module, "ENTITIES", {}).get("principal") if module else None
    return [expression] if expression else []


def _matches_principal(column: str) -> str:
    # a name matches the ARN it ends (user/alice, assumed-role/admin/alice) and a bare name column
    return f"({column} = $who OR ends_with({column}, '/' || $who))"


def key_timeline(
    con: duckdb.DuckDBPyConnection, key_id: str, window: Window = Window(), limit: int = DEFAULT_LIMIT
) -> Timeline:
    """CloudTrail rows of an access key: the calls made with it, and those that created, issued or changed it."""
    key_id = key_id.strip()
    if not ACCESS_KEY.match(key_id):
        raise HuntError(f"{key_id!r} is not an access key id (AKIA... or ASIA..., 20 characters)")
    conditions = {"cloudtrail_logs": KEY_CONDITION} if "cloudtrail_logs" in log_tables(con) else {}
    return timeline(con, conditions, {"key": key_id}, window, limit)


def log_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The log tables the connection has (format tables; not alerts, intel or rejects)."""
    present = existing_tables(con)
    return [name for name in registry.tables() if name in present]


def timeline(
    con: duckdb.DuckDBPyConnection,
    conditions: dict[str, str],
    params: dict[str, Any],
    window: Window = Window(),
    limit: int = DEFAULT_LIMIT,
) -> Timeline:
    """Rows matching each table's condition (SQL with `$` parameters), as one list in time order."""
    if not conditions:
        return Timeline(TIMELINE_SCHEMA.empty_table(), truncated=False)
    selects = [_timeline_select(table, condition, window) for table, condition in conditions.items()]
    order = "lake_time, lake_table, lake_file, lake_row"
    sql = with_assets(" UNION ALL ".join(selects) + f" ORDER BY {order} LIMIT {int(limit) + 1}", order)
    used = {name: value for name, value in params.items() if f"${name}" in sql}
    rows = con.execute(sql, used).to_arrow_table().cast(TIMELINE_SCHEMA)
    return Timeline(rows.slice(0, limit), truncated=rows.num_rows > limit)


def _timeline_select(table: str, condition: str, window: Window) -> str:
    module = registry.for_table(table)
    entities = getattr(module, "ENTITIES", {}) if module else {}

    def text(expression: str | None) -> str:
        return f"CAST({expression} AS VARCHAR)" if expression else "CAST(NULL AS VARCHAR)"

    return (
        f"SELECT lake_time, '{table}' AS lake_table, {text(entities.get('principal'))} AS principal, "
        f"{text(entities.get('ip'))} AS ip, {text(entities.get('resource'))} AS resource, "
        f"{text(entities.get('account'))} AS account, {text(ACTIONS.get(table))} AS action, lake_file, lake_row "
        f'FROM "{table}" WHERE ({condition}) AND {window.predicate()}'
    )


# -- saved hunts -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedHunt:
    name: str
    path: Path
    description: str  # the file's first comment line
    parameters: tuple[str, ...]  # $names in the SQL, in order of first use
    sql: str


def load_hunt(path: Path) -> SavedHunt:
    sql = path.read_text(encoding="utf-8").strip().rstrip(";")
    comments = [line.strip()[2:].strip() for line in sql.splitlines() if line.strip().startswith("--")]
    return SavedHunt(
        name=path.stem,
        path=path,
        description=comments[0] if comments else "",
        parameters=hunt_parameters(sql),
        sql=sql,
    )


def hunt_parameters(sql: str) -> tuple[str, ...]:
    """The `$name` parameters of SQL, ignoring `$` inside strings (JSON paths like '$.key') and comments."""
    code = _NOT_CODE.sub(" ", sql)
    return tuple(dict.fromkeys(_PARAMETER.findall(code)))


def shipped_hunts() -> list[SavedHunt]:
    return [load_hunt(path) for path in sorted(HUNTS.glob("*.sql"))]


def find_hunt(name: str) -> SavedHunt:
    """A saved hunt by file path, or a shipped one by name (with or without .sql)."""
    path = Path(name)
    if path.is_file():
        return load_hunt(path)
    shipped = {hunt.name: hunt for hunt in shipped_hunts()}
    found = shipped.get(path.name.removesuffix(".sql"))
    if found is None:
        raise HuntError(
            f"no saved hunt {name!r}: give a .sql file or one of {', '.join(shipped)} (`loglake hunt list`)"
        )
    return found


def parse_params(values: list[str]) -> dict[str, str]:
    """`name=value` pairs from the command line."""
    params = {}
    for value in values:
        name, sep, given = value.partition("=")
        if not sep or not name.strip():
            raise HuntError(f"--param {value!r}: write name=value")
        params[name.strip().lstrip("$")] = given
    return params


def run_hunt(con: duckdb.DuckDBPyConnection, hunt: SavedHunt, params: dict[str, str]) -> pa.Table:
    """The hunt's rows; every parameter it uses must be given, and nothing else."""
    usage = " ".join(f"--param {p}=..." for p in hunt.parameters) or "no --param"
    missing = [p for p in hunt.parameters if p not in params]
    if missing:
        raise HuntError(f"hunt {hunt.name} needs parameter {missing[0]!r}: loglake hunt run {hunt.name} {usage}")
    unknown = sorted(set(params) - set(hunt.parameters))
    if unknown:
        raise HuntError(f"hunt {hunt.name} has no parameter {unknown[0]!r}; it takes {usage}")
    try:
        cursor = con.execute(hunt.sql, params or None)
        return cursor.to_arrow_table() if cursor.description else pa.table({})
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        raise HuntError(f"hunt {hunt.name} ({hunt.path}): {first}") from None
