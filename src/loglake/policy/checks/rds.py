"""RDS check: log exports to CloudWatch Logs, every log type the engine offers (full) or its error/audit logs."""

from __future__ import annotations

from typing import Any, ClassVar

from loglake.inventory.snapshot import RDS_CLUSTER, RDS_INSTANCE
from loglake.policy.checks.base import AuditContext, Check, Result, failed, passed

# engine -> (every log type it can export, the error/audit-type ones); from the RDS user guide, since
# describe_db_engine_versions is a network call per engine (and broken in moto's server mode)
ENGINE_LOGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "postgres": (("postgresql", "upgrade", "iam-db-auth-error"), ("postgresql",)),
    "mysql": (("audit", "error", "general", "slowquery", "iam-db-auth-error"), ("audit", "error")),
    "mariadb": (("audit", "error", "general", "slowquery", "iam-db-auth-error"), ("audit", "error")),
    "aurora-mysql": (("audit", "error", "general", "slowquery", "iam-db-auth-error", "instance"), ("audit", "error")),
    "aurora-postgresql": (("postgresql", "instance", "iam-db-auth-error"), ("postgresql",)),
    "oracle": (("alert", "audit", "listener", "trace", "oemagent"), ("alert", "audit")),
    "sqlserver": (("agent", "error"), ("error",)),
    "db2": (("diag.log", "notify.log"), ("diag.log",)),
}


def engine_logs(engine: str | None) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    engine = (engine or "").lower()
    for prefix in sorted(ENGINE_LOGS, key=len, reverse=True):
        if engine == prefix or engine.startswith(prefix + "-") or engine.startswith(prefix):
            return ENGINE_LOGS[prefix]
    return None


def required_logs(engine: str | None, which: str) -> list[str] | None:
    known = engine_logs(engine)
    if known is None:
        return None
    return list(known[0] if which == "all" else known[1])


class RdsLogExports(Check):
    id = "rds.log_exports"
    service = "rds"
    resource_types = (RDS_INSTANCE, RDS_CLUSTER)
    description = "The database exports its logs to CloudWatch Logs: every type the engine offers, or error/audit."
    remediation = "Enable CloudWatch Logs exports (CloudwatchLogsExportConfiguration.EnableLogTypes)."
    options: ClassVar[dict[str, tuple[Any, ...]]] = {"logs": ("all", "errors")}

    def applies(self, res: dict[str, Any]) -> bool:
        if not super().applies(res):
            return False
        # Aurora instances export through their cluster
        return not (res["type"] == RDS_INSTANCE and res["config"].get("cluster_id") and _aurora(res))

    def evaluate(self, res: dict[str, Any], ctx: AuditContext, options: dict[str, Any]) -> Result:
        which = options.get("logs", "errors")
        enabled = set(res["config"].get("log_exports") or [])
        needed = required_logs(res["config"].get("engine"), which)
        if needed is None:
            if enabled:
                return passed(f"exports {', '.join(sorted(enabled))} (engine {res['config'].get('engine')} not known)")
            return failed(f"no log exports (engine {res['config'].get('engine')})")
        missing = [log for log in needed if log not in enabled]
        if missing:
            have = ", ".join(sorted(enabled)) or "none"
            return failed(f"exports {have}; missing {', '.join(missing)} ({which} for {res['config'].get('engine')})")
        return passed(f"exports {', '.join(sorted(enabled))}")


def _aurora(res: dict[str, Any]) -> bool:
    return str(res["config"].get("engine", "")).startswith("aurora")
