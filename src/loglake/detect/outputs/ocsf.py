"""An alert as an OCSF 1.1.0 Detection Finding (class 2004), and the `ocsf:PATH` output writing them as JSON lines.

OCSF is what Security Lake, Splunk, Sentinel and most SIEMs ingest findings as. Mapping, by attribute:
finding_info (uid = alert id, analytic = the rule, attacks = its ATT&CK techniques), severity and status ids,
start/end time and count from the alert, entities as evidences + observables, the account as `cloud.account`,
and the raw-event references (lake table, file, row) under `unmapped.loglake`, which OCSF leaves to the producer.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from functools import cache
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from loglake.detect.alerts import Alert
from loglake.detect.outputs.base import utc
from loglake.detect.outputs.jsonl import JsonlOutput

OCSF_VERSION = "1.1.0"
CLASS_UID = 2004
CLASS_NAME = "Detection Finding"
CATEGORY_UID = 2
CATEGORY_NAME = "Findings"
CREATE, UPDATE = 1, 2
ACTIVITY_NAMES = {CREATE: "Create", UPDATE: "Update"}
SEVERITY_IDS = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAMES = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
# OCSF 1.1 has no "Closed" finding status: closed could be Suppressed (false positive) or Resolved, and loglake
# does not record which, so it is Other (99) with loglake's own label, as the schema asks for unmapped values.
STATUSES = {"open": (1, "New"), "acknowledged": (2, "In Progress"), "closed": (99, "Closed")}
ANALYTIC_RULE = 1
OBSERVABLE_IP, OBSERVABLE_USER_NAME, OBSERVABLE_RESOURCE_UID, OBSERVABLE_OTHER = 2, 4, 10, 99
REQUIRED = ("activity_id", "category_uid", "class_uid", "finding_info", "metadata", "severity_id", "time", "type_uid")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class OcsfOutput(JsonlOutput):
    """`ocsf:PATH`: one OCSF Detection Finding per line, appended."""

    kind = "ocsf"

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, record=to_ocsf)


def to_ocsf(alert: Alert, activity_id: int | None = None) -> dict[str, Any]:
    """The alert as an OCSF Detection Finding; activity Create for a new alert, Update once it has changed."""
    activity = activity_id or activity_of(alert)
    severity_id = SEVERITY_IDS.get(alert.severity, 0)
    status_id, status = STATUSES.get(alert.status, (99, alert.status))
    event_time = (alert.updated_at if activity == UPDATE else alert.created_at) or alert.last_seen
    finding: dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": CLASS_NAME,
        "category_uid": CATEGORY_UID,
        "category_name": CATEGORY_NAME,
        "activity_id": activity,
        "activity_name": ACTIVITY_NAMES.get(activity, "Other"),
        "type_uid": CLASS_UID * 100 + activity,
        "type_name": f"{CLASS_NAME}: {ACTIVITY_NAMES.get(activity, 'Other')}",
        "severity_id": severity_id,
        "severity": SEVERITY_NAMES[severity_id],
        "status_id": status_id,
        "status": status,
        "time": epoch_ms(event_time),
        "timezone_offset": 0,
        "start_time": epoch_ms(alert.first_seen),
        "end_time": epoch_ms(alert.last_seen),
        "count": alert.count,
        "message": alert.title,
        "finding_info": finding_info(alert),
        "metadata": _metadata(alert),
        "unmapped": {"loglake": _loglake(alert)},
    }
    finding.update(_entities(alert))
    return finding


def activity_of(alert: Alert) -> int:
    """Update when the alert changed after it was created (more events, a later last_seen, a new status)."""
    if alert.created_at and alert.updated_at and utc(alert.updated_at) > utc(alert.created_at):
        return UPDATE
    return CREATE


def epoch_ms(value: dt.datetime) -> int:
    # Integer arithmetic on timedeltas: float timestamps can land a millisecond short.
    return (utc(value) - _EPOCH) // dt.timedelta(milliseconds=1)


def finding_info(alert: Alert) -> dict[str, Any]:
    info: dict[str, Any] = {
        "uid": alert.alert_id,
        "title": alert.title,
        "first_seen_time": epoch_ms(alert.first_seen),
        "last_seen_time": epoch_ms(alert.last_seen),
        "analytic": {"uid": alert.rule_id, "name": alert.title, "type_id": ANALYTIC_RULE, "type": "Rule"},
    }
    if alert.description:
        info["desc"] = alert.description
    if alert.created_at:
        info["created_time"] = epoch_ms(alert.created_at)
    if alert.updated_at:
        info["modified_time"] = epoch_ms(alert.updated_at)
    if alert.tags:
        info["types"] = list(alert.tags)
    if alert.attack:
        info["attacks"] = [{"technique": {"uid": technique}} for technique in alert.attack]
    return info


def _metadata(alert: Alert) -> dict[str, Any]:
    meta: dict[str, Any] = {"version": OCSF_VERSION, "product": dict(_product())}
    if alert.account:
        meta["profiles"] = ["cloud"]  # `cloud` below is the Cloud profile's attribute
    return meta


@cache
def _product() -> dict[str, str]:
    product = {"name": "loglake", "vendor_name": "loglake"}
    with suppress(package_metadata.PackageNotFoundError):  # a source tree that is not installed has no version
        product["version"] = package_metadata.version("loglake")
    return product


def _entities(alert: Alert) -> dict[str, Any]:
    """evidences, resources, cloud and observables for the entities the alert has (none are required)."""
    out: dict[str, Any] = {}
    evidence: dict[str, Any] = {}
    observables = []
    if alert.principal:
        user = {"name": alert.principal}
        if alert.principal.startswith("arn:"):
            user["uid"] = alert.principal
        evidence["actor"] = {"user": user}
        observables.append(_observable("evidences.actor.user.name", OBSERVABLE_USER_NAME, "User Name", alert.principal))
    if alert.ip:
        evidence["src_endpoint"] = {"ip": alert.ip}
        observables.append(_observable("evidences.src_endpoint.ip", OBSERVABLE_IP, "IP Address", alert.ip))
    if alert.resource:
        out["resources"] = [{"uid": alert.resource}]
        observables.append(_observable("resources.uid", OBSERVABLE_RESOURCE_UID, "Resource UID", alert.resource))
    if alert.account:
        out["cloud"] = {"provider": "AWS", "account": {"uid": alert.account}}
        observables.append(_observable("cloud.account.uid", OBSERVABLE_OTHER, "Account UID", alert.account))
    if evidence:
        out["evidences"] = [evidence]
    if observables:
        out["observables"] = observables
    return out


def _observable(name: str, type_id: int, type_name: str, value: str) -> dict[str, Any]:
    return {"name": name, "type_id": type_id, "type": type_name, "value": value}


def _loglake(alert: Alert) -> dict[str, Any]:
    """What OCSF has no place for: the raw-event references (lineage back to the line) and loglake's state."""
    return {
        "rule_id": alert.rule_id,
        "status": alert.status,
        "hits": alert.hits,
        "dedup_key": alert.dedup_key,
        "refs": list(alert.refs),
        "note": alert.note,
    }
