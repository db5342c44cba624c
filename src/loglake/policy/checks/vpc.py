"""VPC flow log checks: ALL traffic with the v5 fields a hunt needs, or at least REJECTed traffic."""

from __future__ import annotations

from typing import Any

from loglake.inventory.snapshot import VPC
from loglake.policy.checks.base import AuditContext, Check, Result, failed, passed

REQUIRED_FIELDS = ("pkt-srcaddr", "pkt-dstaddr", "flow-direction", "tcp-flags")
FULL_FORMAT = (
    "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} "
    "${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} "
    "${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${pkt-src-aws-service} ${pkt-dst-aws-service} "
    "${flow-direction} ${traffic-path}"
)


def _active(res: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in res["config"].get("flow_logs") or [] if (f.get("status") or "ACTIVE") == "ACTIVE"]


def records_all_traffic(res: dict[str, Any]) -> bool:
    """An active flow log of the VPC records ALL traffic (whatever its format)."""
    return any(f.get("traffic_type") == "ALL" for f in _active(res))


def missing_fields(log_format: str | None) -> list[str]:
    return [f for f in REQUIRED_FIELDS if f"${{{f}}}" not in (log_format or "")]


class VpcFlowLogsAll(Check):
    id = "vpc.flow_logs.all"
    service = "vpc"
    resource_types = (VPC,)
    description = (
        "An active flow log records ALL traffic in a custom format with at least the v5 fields "
        "pkt-srcaddr pkt-dstaddr flow-direction tcp-flags."
    )
    remediation = "Create a VPC flow log (TrafficType ALL) with a custom format that includes the v5 fields."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        flows = _active(res)
        if not flows:
            return failed("no active flow log on the VPC")
        problems = []
        for flow in flows:
            if flow.get("traffic_type") != "ALL":
                problems.append(f"{flow['id']} records {flow.get('traffic_type')} only")
                continue
            lacking = missing_fields(flow.get("log_format"))
            if lacking:
                problems.append(f"{flow['id']} format lacks {' '.join(lacking)}")
                continue
            return passed(f"flow log {flow['id']} records ALL traffic to {flow.get('destination')} with v5 fields")
        return failed("; ".join(problems))


class VpcFlowLogsReject(Check):
    id = "vpc.flow_logs.reject"
    service = "vpc"
    resource_types = (VPC,)
    description = "An active flow log records at least REJECTed traffic (REJECT or ALL)."
    remediation = "Create a VPC flow log with TrafficType REJECT (or ALL)."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        flows = _active(res)
        for flow in flows:
            if flow.get("traffic_type") in ("REJECT", "ALL"):
                return passed(f"flow log {flow['id']} records {flow['traffic_type']} traffic")
        if flows:
            return failed(f"flow logs record {', '.join(str(f.get('traffic_type')) for f in flows)} only")
        return failed("no active flow log on the VPC")
