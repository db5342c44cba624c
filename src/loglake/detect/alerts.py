"""Alerts: hits of one rule with the same dedup key values, chained while each follows the last within the window.

`merge` is a pure function from a rule's hits (old and new) and its existing alerts to its alerts now. An alert
keeps its id as long as any of its hits is still in it, so a status set by an analyst survives later repeats,
late data and re-runs; a re-run over the same rows gives the same hits, hence the same alerts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace

import orjson

from loglake.context.lookup import AssetLookup
from loglake.detect.engine import MAX_REFS, Hit
from loglake.detect.rule import Rule, raised

STATUSES = ("open", "acknowledged", "closed")


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule_id: str
    title: str
    severity: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    count: int  # matching events across the alert's hits
    hits: int
    principal: str | None
    ip: str | None
    resource: str | None
    account: str | None
    dedup_key: str  # JSON list of the dedup key values
    refs: list[dict]  # up to MAX_REFS raw-event references: lake_table, lake_file, lake_row, event_id
    tags: list[str] = field(default_factory=list)
    attack: list[str] = field(default_factory=list)  # MITRE ATT&CK technique ids
    description: str = ""
    status: str = "open"
    note: str = ""
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    hit_keys: list[str] = field(default_factory=list)
    # the asset the alert's resource (else IP) names at its first event, from the lake's assets history
    asset_name: str | None = None
    asset_type: str | None = None
    asset_sensitivity: str | None = None
    asset_reachability: str | None = None
    asset_level: str | None = None

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data.pop("hit_keys")
        return data


@dataclass(frozen=True)
class Merged:
    alerts: list[Alert]
    new: list[Alert]  # alerts that did not exist before (these are sent to outputs)
    updated: list[Alert]  # existing alerts with more events or a later last_seen


def dedup_value(rule: Rule, hit: Hit) -> tuple:
    """The values of the rule's dedup keys for a hit (a group key or an entity)."""
    by_group = dict(zip(rule.group_keys, hit.group, strict=True))
    return tuple(by_group.get(key, hit.entities.get(key)) for key in rule.dedup_keys)


def merge(
    rule: Rule, hits: list[Hit], existing: list[Alert], now: dt.datetime, assets: AssetLookup | None = None
) -> Merged:
    """The rule's alerts from all its hits; `existing` are its alerts before this run (ids and statuses kept).

    With `assets`, each alert names the asset it is about, and is raised a severity step when that asset's
    sensitivity is one the rule raises on (the id does not depend on it: a raise never makes a second alert).
    """
    owner = {key: alert for alert in existing for key in alert.hit_keys}
    by_key: dict[tuple, list[Hit]] = {}
    for hit in sorted(hits, key=lambda h: (h.first_seen, h.hit_key)):
        by_key.setdefault(dedup_value(rule, hit), []).append(hit)
    alerts = []
    for key, group in by_key.items():
        for episode in _episodes(group, rule.dedup_window):
            alerts.append(_with_asset(_alert(rule, key, episode, owner, now), rule, assets))
    before = {a.alert_id: a for a in existing}
    new = [a for a in alerts if a.alert_id not in before]
    updated = [
        a
        for a in alerts
        if a.alert_id in before and (a.count, a.last_seen) != (before[a.alert_id].count, before[a.alert_id].last_seen)
    ]
    return Merged(alerts=alerts, new=new, updated=updated)


def _episodes(hits: list[Hit], window: dt.timedelta) -> list[list[Hit]]:
    episodes: list[list[Hit]] = []
    last_seen = None
    for hit in hits:
        if last_seen is None or hit.first_seen - last_seen > window:
            episodes.append([])
            last_seen = hit.last_seen
        episodes[-1].append(hit)
        last_seen = max(last_seen, hit.last_seen)
    return episodes


def _alert(rule: Rule, key: tuple, hits: list[Hit], owner: dict[str, Alert], now: dt.datetime) -> Alert:
    previous = sorted(
        {owner[h.hit_key].alert_id: owner[h.hit_key] for h in hits if h.hit_key in owner}.values(),
        key=lambda a: (a.created_at or now, a.alert_id),
    )
    refs = [ref for hit in hits for ref in hit.refs][:MAX_REFS]
    first = hits[0]
    alert = Alert(
        alert_id=previous[0].alert_id if previous else alert_id(rule.id, key, first.hit_key),
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        first_seen=min(h.first_seen for h in hits),
        last_seen=max(h.last_seen for h in hits),
        count=sum(h.events for h in hits),
        hits=len(hits),
        principal=_first(hits, "principal"),
        ip=_first(hits, "ip"),
        resource=_first(hits, "resource"),
        account=_first(hits, "account"),
        dedup_key=orjson.dumps(list(key), default=str).decode(),
        refs=refs,
        tags=list(rule.tags),
        attack=rule.attack,
        description=rule.description,
        created_at=now,
        updated_at=now,
        hit_keys=[h.hit_key for h in hits],
    )
    if not previous:
        return alert
    kept = previous[0]
    changed = (alert.count, alert.last_seen, alert.first_seen) != (kept.count, kept.last_seen, kept.first_seen)
    return replace(
        alert,
        status=kept.status,
        note=kept.note,
        created_at=kept.created_at,
        updated_at=now if changed else kept.updated_at,
    )


def _with_asset(alert: Alert, rule: Rule, assets: AssetLookup | None) -> Alert:
    found = assets.first([alert.resource, alert.ip], alert.first_seen) if assets else None
    if found is None:
        return alert
    severity = raised(rule.severity) if found.sensitivity in rule.raise_severity_on else rule.severity
    return replace(
        alert,
        severity=severity,
        asset_name=found.name,
        asset_type=found.type,
        asset_sensitivity=found.sensitivity,
        asset_reachability=found.reachability,
        asset_level=found.level,
    )


def _first(hits: list[Hit], entity: str) -> str | None:
    return next((h.entities[entity] for h in hits if h.entities.get(entity)), None)


def alert_id(rule_id: str, key: tuple, first_hit: str) -> str:
    return hashlib.sha1(orjson.dumps([rule_id, list(key), first_hit], default=str)).hexdigest()[:16]
