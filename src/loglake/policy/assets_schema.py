"""The lake's `assets` table, its name and columns: what readers of the posture need (the context views, the
ingest's asset stamps) without importing the classifier and audit that write it (policy/assets.py)."""

from __future__ import annotations

import pyarrow as pa

from loglake.lake.columns import TIMESTAMP

ASSETS = "assets"
SCHEMA = pa.schema(
    [
        pa.field("resource_arn", pa.string()),
        pa.field("resource_type", pa.string()),
        pa.field("name", pa.string()),
        pa.field("account", pa.string()),
        pa.field("region", pa.string()),
        pa.field("tags", pa.map_(pa.string(), pa.string())),
        pa.field("sensitivity", pa.string()),  # NULL for resources the classifier does not rate (trails, log groups)
        pa.field("reachability", pa.string()),
        pa.field("level", pa.string()),
        pa.field("failing_checks", pa.list_(pa.string())),
        pa.field("evidence", pa.string()),  # JSON: classification evidence, conflicts, why each failing check fails
        pa.field("identifiers", pa.list_(pa.string())),  # values logs carry: IPs, ENI ids, bucket/LB names, ...
        pa.field("snapshot_at", TIMESTAMP),
        pa.field("valid_from", TIMESTAMP),
        pa.field("valid_to", TIMESTAMP),
        pa.field("vpc_id", pa.string()),  # the VPC a resource sits in: flows it sends or receives are its VPC's
    ]
)
