"""The asset identifier index: one row per (identifier kind, value, validity interval) with the asset it names.

It is derived from the `assets` history (see policy/assets.py) by one SELECT: a table built when a connection
opens in DuckDB (views.build_index), a view in Athena/Spark. Two rules keep a join on it cheap and exact:

- intervals of one identifier never overlap: when two assets carry the same value at once (or one snapshot
  names it twice), the later version (then the greater ARN) holds it from its `valid_from` on. A log row
  therefore matches at most one index row, and a plain equi-join with a time condition stays a hash join;
- the first holder of a value holds it since forever: logs are usually older than the first inventory run,
  and the earliest known owner is the best guess for them. Current versions hold it until a far-off date.
"""

from __future__ import annotations

from loglake.inventory import snapshot as t
from loglake.lake.columns import ASSET_STAMP_COLUMNS

INDEX = "asset_index"
# What the enriched views add to each log row, from the index row it matched.
ASSET_COLUMNS = ASSET_STAMP_COLUMNS[:6]
# Every identifier of the asset version an index row names: a view can tell whether a row's other identifier
# (a flow's destination address) is the same asset's without a second join.
IDENTIFIERS = "asset_identifiers"
BEGINNING = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
FOREVER = "TIMESTAMPTZ '9999-12-31 00:00:00+00'"

# Identifier kinds, by resource type (an IP, ENI id or ARN is recognised by its shape whatever the type).
TYPE_KINDS = {
    t.S3_BUCKET: "bucket",
    t.ELBV2: "lb",
    t.CLB: "lb",
    t.CLOUDFRONT: "distribution",
    t.APIGW_STAGE: "api",
    t.APIGWV2_STAGE: "api",
    t.VPC: "vpc",
    t.TRAIL: "trail",
    t.ACCOUNT: "account",
}
IPV4 = r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$"
IPV6 = r"^[0-9a-fA-F:]*:[0-9a-fA-F:]*:[0-9a-fA-F:.]*$"


def kind_sql(value: str, resource_type: str) -> str:
    """SQL naming the kind of identifier `value` of a resource of `resource_type`."""
    by_type = " ".join(f"WHEN {resource_type} = '{rtype}' THEN '{kind}'" for rtype, kind in TYPE_KINDS.items())
    return (
        f"CASE WHEN regexp_matches({value}, '{IPV4}') OR regexp_matches({value}, '{IPV6}') THEN 'ip' "
        f"WHEN {value} LIKE 'eni-%' THEN 'eni' WHEN {value} LIKE 'arn:%' THEN 'arn' {by_type} ELSE 'name' END"
    )


def index_sql(assets: str = "assets") -> str:
    """The index as one SELECT over the assets table (DuckDB SQL that sqlglot carries to Trino and Spark)."""
    described = "a.name AS asset_name, a.resource_type AS asset_type, a.resource_arn AS asset_arn, " + (
        f"a.sensitivity, a.reachability, a.level, a.identifiers AS {IDENTIFIERS}"
    )
    window = "PARTITION BY id_kind, id_value ORDER BY valid_from, asset_arn"
    return f"""
WITH ids AS (
  SELECT {kind_sql("u.id_value", "a.resource_type")} AS id_kind, u.id_value, a.valid_from,
         COALESCE(a.valid_to, {FOREVER}) AS valid_to, {described}
  FROM {assets} AS a CROSS JOIN UNNEST(a.identifiers) AS u(id_value)
), cut AS (
  SELECT ids.*, LEAST(valid_to, COALESCE(LEAD(valid_from) OVER ({window}), {FOREVER})) AS held_to FROM ids
), held AS (
  SELECT cut.*, ROW_NUMBER() OVER ({window}) AS nth FROM cut WHERE held_to > valid_from
)
SELECT id_kind, id_value, CASE WHEN nth = 1 THEN {BEGINNING} ELSE valid_from END AS valid_from,
       held_to AS valid_to, {", ".join(ASSET_COLUMNS)}, {IDENTIFIERS}
FROM held"""
