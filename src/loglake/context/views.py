"""Enriched views `<table>_ctx`: each log row with the asset its identifiers name at the row's event time.

A table's identifiers are tried in order (the first that names an asset wins) and `asset_match` says which
one matched. A flow record belongs to the asset whose interface recorded it, else to the asset its destination
address names; `asset_direction` says whether the asset received (`inbound`: the destination is one of its
addresses) or sent (`outbound`) the flow; at its interface, to an address the inventory does not list (a
secondary IP), it counts as sent unless the record has v5's `flow-direction`. Two joins, not three: a
source-address match would only add flows recorded at an interface loglake does not know, and each join costs
(bench/context.py).

Each identifier is one LEFT JOIN on the index: equality on the value plus the validity interval. Index
intervals of a value never overlap (see context/index.py), so a row gets at most one match and the join is a
hash join on the value with the interval checked on its few candidates: no range join, and the same SQL runs
on Trino and Spark (`translated`). A later identifier is looked up only for rows no earlier one matched (its
key is NULL otherwise, and a NULL key is not probed): in bench/context.py's flows two thirds of the rows match
their interface and skip the destination's probe (full aggregations -15% CPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from loglake.context.index import ASSET_COLUMNS, IDENTIFIERS, INDEX, index_sql
from loglake.policy.assets_schema import ASSETS
from loglake.policy.assets_schema import SCHEMA as ASSETS_SCHEMA
from loglake.query import dialects

SUFFIX = "_ctx"
# What the index reads of the assets table
INDEXED_COLUMNS = {
    "resource_arn", "resource_type", "name", "sensitivity", "reachability", "level", "identifiers", "valid_from",
    "valid_to",
}  # fmt: skip


@dataclass(frozen=True)
class Match:
    """One identifier a log row carries: SQL over the row (alias `l`) and the index kind it is looked up as."""

    label: str
    expression: str
    kind: str


MATCHES: dict[str, tuple[Match, ...]] = {
    "vpc_flow_logs": (Match("interface_id", "l.interface_id", "eni"), Match("dstaddr", "l.dstaddr", "ip")),
    "alb_access_logs": (Match("elb", "l.elb", "lb"),),
    "nlb_tls_logs": (Match("elb", "l.elb", "lb"),),
    "elb_logs": (Match("elb_name", "l.elb_name", "lb"),),
    "s3_access_logs": (Match("bucket_name", "l.bucket_name", "bucket"),),
    "cloudtrail_logs": (
        Match("bucket", "json_extract_string(l.requestparameters, '$.bucketName')", "bucket"),
        Match("resource", "l.resources[1].arn", "arn"),
        Match("recipientaccountid", "l.recipientaccountid", "account"),
    ),
    "cloudfront_logs": (Match("host", "l.host", "distribution"), Match("host_header", "l.host_header", "distribution")),
    "apigateway_logs": (Match("stage", "l.api_id || '/' || l.stage", "api"), Match("api_id", "l.api_id", "api")),
    "r53_rlogs": (Match("srcaddr", "l.srcaddr", "ip"), Match("vpc_id", "l.vpc_id", "vpc")),
}
# Flow logs: which way the flow went, seen from the asset (it received it when the destination is its address).
EXTRA = {
    "vpc_flow_logs": f"CASE WHEN m0.asset_arn IS NOT NULL THEN CASE WHEN list_contains(m0.{IDENTIFIERS}, l.dstaddr) "
    "OR l.flow_direction = 'ingress' THEN 'inbound' ELSE 'outbound' END "
    "WHEN m1.asset_arn IS NOT NULL THEN 'inbound' END AS asset_direction"
}


def view_name(table: str) -> str:
    return table + SUFFIX


def added_columns(table: str) -> tuple[str, ...]:
    """The columns `<table>_ctx` adds to the table's."""
    return (*ASSET_COLUMNS, "asset_match", *(("asset_direction",) if table in EXTRA else ()))


def stored_column(column: str) -> str:
    """The lake column holding a row's stamped `column` (lake/columns.py: asset_name -> lake_asset_name)."""
    return "lake_asset_" + column.removeprefix("asset_")


def stored_sql(table: str, source: str) -> str:
    """The SELECT behind `<table>_ctx` over rows whose stamps are current: the stamped columns, renamed."""
    return f"SELECT *, {', '.join(f'{stored_column(c)} AS {c}' for c in added_columns(table))} FROM {source}"


def split_sql(table: str, current: str, stale: str | None) -> str:
    """`<table>_ctx` over two sets of the table's rows: `current` ones read their stamps, `stale` ones join."""
    if stale is None:
        return stored_sql(table, current)
    return f"{stored_sql(table, current)}\nUNION ALL BY NAME\n{enriched_sql(table, stale)}"


def enriched_sql(table: str, source: str | None = None, index: str = INDEX) -> str:
    """The SELECT behind `<table>_ctx`: `source` (default: the table) with the asset columns added."""
    matches = MATCHES[table]
    joins = "\n".join(
        f"LEFT JOIN {index} AS m{i} ON m{i}.id_kind = '{m.kind}' AND m{i}.id_value = {_key(m.expression, i)}"
        f" AND l.lake_time >= m{i}.valid_from AND l.lake_time < m{i}.valid_to"
        for i, m in enumerate(matches)
    )
    picked = [
        f"COALESCE({', '.join(f'm{i}.{column}' for i in range(len(matches)))}) AS {column}" for column in ASSET_COLUMNS
    ]
    which = " ".join(f"WHEN m{i}.asset_arn IS NOT NULL THEN '{m.label}'" for i, m in enumerate(matches))
    extra = f", {EXTRA[table]}" if table in EXTRA else ""
    columns = f"l.*, {', '.join(picked)}, CASE {which} END AS asset_match{extra}"
    return f"SELECT {columns}\nFROM {source or table} AS l\n{joins}"


def _key(expression: str, nth: int) -> str:
    """The value the `nth` identifier is looked up by: NULL (no probe) when an earlier identifier matched."""
    if nth == 0:
        return expression
    unmatched = " AND ".join(f"m{i}.valid_from IS NULL" for i in range(nth))  # a fixed-width column: cheap to fetch
    return f"CASE WHEN {unmatched} THEN {expression} END"


def create_views(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, str]:
    """The index and a `_ctx` view for each of `tables` that has identifiers; returns table -> view."""
    build_index(con)
    made = {}
    for table in sorted(set(MATCHES) & tables):
        con.execute(f'CREATE OR REPLACE VIEW "{view_name(table)}" AS {enriched_sql(table)}')
        made[table] = view_name(table)
    return made


def build_index(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build the index from the connection's `assets` (call again when they change).

    In DuckDB the index is a table: the views join it once per identifier, and a view would recompute it
    (windows over the unnested assets) for each join of each query. Without an assets table (or with one of
    another shape) it is empty, so the views and the rules using them run everywhere, with NULL asset columns.
    """
    source = ASSETS if _has_asset_columns(con) else _no_assets(con)
    con.execute(f"CREATE OR REPLACE TABLE {INDEX} AS {index_sql(source)}")


def _has_asset_columns(con: duckdb.DuckDBPyConnection) -> bool:
    return asset_columns(con) >= INDEXED_COLUMNS


def asset_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The columns of the connection's `assets` (none without one; a lake written by an older loglake has fewer)."""
    found = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?", [ASSETS]
    ).fetchall()
    return {row[0] for row in found}


def _no_assets(con: duckdb.DuckDBPyConnection) -> str:
    """An empty assets table, as a DuckDB table: other cursors (the web's) do not see registered Arrow data."""
    name = "__no_assets"
    con.register("__assets_shape", ASSETS_SCHEMA.empty_table())
    con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM "__assets_shape"')
    con.unregister("__assets_shape")
    return name


def translated(dialect: str) -> list[str]:
    """`CREATE VIEW` statements for the index and every enriched view, in `dialect` (trino, athena or spark)."""
    statements = [f"CREATE OR REPLACE VIEW {INDEX} AS {index_sql()}"]
    statements += [f"CREATE OR REPLACE VIEW {view_name(t)} AS {enriched_sql(t)}" for t in sorted(MATCHES)]
    return [dialects.from_duckdb(s, dialect) for s in statements]  # the translator rules use, with its checks
