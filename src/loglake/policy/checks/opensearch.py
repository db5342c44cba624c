"""OpenSearch checks: audit logs, and search/index slow logs, published to CloudWatch Logs."""

from __future__ import annotations

from typing import Any

from loglake.inventory.snapshot import OPENSEARCH_DOMAIN
from loglake.policy.checks.base import AuditContext, Check, Result, failed, passed


def _published(res: dict[str, Any], kind: str) -> dict[str, Any] | None:
    option = (res["config"].get("log_publishing") or {}).get(kind) or {}
    return option if option.get("enabled") else None


class OpenSearchAuditLogs(Check):
    id = "opensearch.audit_logs"
    service = "opensearch"
    resource_types = (OPENSEARCH_DOMAIN,)
    description = "The domain publishes audit logs (needs fine-grained access control)."
    remediation = "Publish AUDIT_LOGS to a CloudWatch Logs group (LogPublishingOptions) and enable audit logging."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        audit = _published(res, "AUDIT_LOGS")
        if audit:
            return passed(f"audit logs to {audit.get('log_group')}")
        note = "" if res["config"].get("fine_grained_access") else " (fine-grained access control is off too)"
        return failed(f"audit logs are not published{note}")


class OpenSearchSlowLogs(Check):
    id = "opensearch.slow_logs"
    service = "opensearch"
    resource_types = (OPENSEARCH_DOMAIN,)
    description = "The domain publishes search and index slow logs."
    remediation = "Publish SEARCH_SLOW_LOGS and INDEX_SLOW_LOGS to a CloudWatch Logs group; set index thresholds."

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        missing = [k for k in ("SEARCH_SLOW_LOGS", "INDEX_SLOW_LOGS") if not _published(res, k)]
        if missing:
            return failed(f"{' and '.join(missing)} not published")
        return passed("search and index slow logs published")
