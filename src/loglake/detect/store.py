"""Where alerts live: the `alerts` and `alert_hits` Iceberg tables of the lake, written under one lock.

Both tables are small (one row per alert, one per hit), so a detect run reads them whole, replaces the rows
of the rules it evaluated and writes each table back as one snapshot. Every writer (detect, a status change)
holds `locks/alerts.lock`, so no update is lost between reading and writing.
"""

from __future__ import annotations

import datetime as dt
import warnings
from contextlib import AbstractContextManager
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loglake.detect.alerts import STATUSES, Alert
from loglake.detect.engine import Hit
from loglake.lake import catalog as lake_catalog
from loglake.lake import locks as lake_locks
from loglake.lake.columns import TIMESTAMP

ALERTS = "alerts"
HITS = "alert_hits"
REF = pa.struct(
    [
        pa.field("lake_table", pa.string()),
        pa.field("lake_file", pa.string()),
        pa.field("lake_row", pa.int64()),
        pa.field("event_id", pa.string()),
    ]
)
ASSET_FIELDS = ("asset_name", "asset_type", "asset_sensitivity", "asset_reachability", "asset_level")
_ENTITY_FIELDS = [pa.field(name, pa.string()) for name in ("principal", "ip", "resource", "account")]
ALERTS_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string()),
        pa.field("rule_id", pa.string()),
        pa.field("title", pa.string()),
        pa.field("severity", pa.string()),
        pa.field("first_seen", TIMESTAMP),
        pa.field("last_seen", TIMESTAMP),
        pa.field("count", pa.int64()),
        pa.field("hits", pa.int64()),
        *_ENTITY_FIELDS,
        pa.field("dedup_key", pa.string()),
        pa.field("refs", pa.list_(REF)),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("attack", pa.list_(pa.string())),
        pa.field("description", pa.string()),
        pa.field("status", pa.string()),
        pa.field("note", pa.string()),
        pa.field("created_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP),
        pa.field("hit_keys", pa.list_(pa.string())),
        *(pa.field(name, pa.string()) for name in ASSET_FIELDS),
    ]
)
HITS_SCHEMA = pa.schema(
    [
        pa.field("rule_id", pa.string()),
        pa.field("hit_key", pa.string()),
        pa.field("alert_id", pa.string()),
        pa.field("bucket", TIMESTAMP),
        pa.field("first_seen", TIMESTAMP),
        pa.field("last_seen", TIMESTAMP),
        pa.field("events", pa.int64()),
        pa.field("distinct_values", pa.int64()),
        *_ENTITY_FIELDS,
        pa.field("group_values", pa.string()),  # JSON list, in the order of the rule's group keys
        pa.field("refs", pa.list_(REF)),
    ]
)


class AlertStore:
    """The lake's alerts and hits, read whole and written back per detect run (call inside `locked`)."""

    def __init__(self, lake: Path):
        self.location = lake_catalog.LakeLocation(lake)
        catalog = lake_catalog.open_catalog(self.location, create=True)
        self.alerts_table = lake_catalog.ensure_table(catalog, ALERTS, ALERTS_SCHEMA, partitioned=False)
        self.hits_table = lake_catalog.ensure_table(catalog, HITS, HITS_SCHEMA, partitioned=False)
        self.alerts = _read(self.alerts_table, ALERTS_SCHEMA)
        self.hits = _read(self.hits_table, HITS_SCHEMA)
        self._staged: dict[str, tuple[pa.Table, pa.Table]] = {}  # rule -> its new hits and alerts

    def hits_of(self, rule_id: str) -> list[Hit]:
        hits = self._staged[rule_id][0] if rule_id in self._staged else self.hits
        return [_hit(row) for row in hits.filter(pc.equal(hits["rule_id"], rule_id)).to_pylist()]

    def alerts_of(self, rule_id: str) -> list[Alert]:
        alerts = self._staged[rule_id][1] if rule_id in self._staged else self.alerts
        return [Alert(**row) for row in alerts.filter(pc.equal(alerts["rule_id"], rule_id)).to_pylist()]

    def replace(self, rule_id: str, hits: list[Hit], alerts: list[Alert]) -> None:
        """Stage a rule's hits and alerts (written by `write`); the tables are rebuilt once, when written."""
        owner = {key: alert.alert_id for alert in alerts for key in alert.hit_keys}
        self._staged[rule_id] = (_hit_rows(hits, owner), _alert_rows(alerts))

    def write(self) -> None:
        if self._staged:
            replaced = pa.array(list(self._staged))
            self.hits = _with_staged(self.hits, replaced, [hits for hits, _ in self._staged.values()])
            self.alerts = _with_staged(self.alerts, replaced, [alerts for _, alerts in self._staged.values()])
            self._staged = {}
        with warnings.catch_warnings():  # overwriting an empty table "deletes nothing": expected, not news
            warnings.filterwarnings("ignore", "Delete operation did not match", UserWarning)
            self.hits_table.overwrite(self.hits)
            self.alerts_table.overwrite(self.alerts)


def _read(table, schema: pa.Schema) -> pa.Table:
    if table.current_snapshot() is None:
        return schema.empty_table()
    return table.scan().to_arrow().select(schema.names).cast(schema)


def _with_staged(rows: pa.Table, replaced: pa.Array, staged: list[pa.Table]) -> pa.Table:
    """The rows of the rules not replaced, and the staged rows of those that were."""
    kept = rows.filter(pc.invert(pc.is_in(rows["rule_id"], value_set=replaced)))
    return pa.concat_tables([kept, *staged])


def _hit_rows(hits: list[Hit], owner: dict[str, str]) -> pa.Table:
    rows = [
        {
            "rule_id": h.rule_id,
            "hit_key": h.hit_key,
            "alert_id": owner.get(h.hit_key),
            "bucket": h.bucket,
            "first_seen": h.first_seen,
            "last_seen": h.last_seen,
            "events": h.events,
            "distinct_values": h.distinct_values,
            **h.entities,
            "group_values": orjson.dumps(list(h.group), default=str).decode(),
            "refs": h.refs,
        }
        for h in hits
    ]
    return pa.Table.from_pylist(rows, HITS_SCHEMA)


def _hit(row: dict) -> Hit:
    return Hit(
        rule_id=row["rule_id"],
        hit_key=row["hit_key"],
        bucket=row["bucket"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        events=row["events"],
        distinct_values=row["distinct_values"],
        entities={k: row[k] for k in ("principal", "ip", "resource", "account")},
        group=tuple(orjson.loads(row["group_values"])),
        refs=row["refs"] or [],
    )


def _alert_rows(alerts: list[Alert]) -> pa.Table:
    return pa.Table.from_pylist([a.__dict__ for a in alerts], ALERTS_SCHEMA)


def locked(lake: Path) -> AbstractContextManager[None]:
    """One writer of the alert tables at a time (detect runs, status changes), across processes."""
    return lake_locks.locked(lake, "alerts")


def set_status(lake: Path, alert_id: str, status: str, note: str = "") -> Alert:
    """An analyst's decision on an alert (open / acknowledged / closed, with a note), kept across re-runs."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    with locked(lake):
        store = AlertStore(lake)
        rows = store.alerts.to_pylist()
        found = next((row for row in rows if row["alert_id"] == alert_id), None)
        if found is None:
            raise LookupError(f"no alert {alert_id!r} in the lake")
        found.update(status=status, note=note, updated_at=dt.datetime.now(dt.UTC))
        store.alerts = pa.Table.from_pylist(rows, ALERTS_SCHEMA)
        store.write()
    return Alert(**found)
