"""RDS DB instances and clusters: engine, log exports to CloudWatch Logs, PubliclyAccessible, VPC."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, paginate
from loglake.inventory.snapshot import RDS_CLUSTER, RDS_INSTANCE, resource, tag_list_to_dict

SERVICE = "rds"
GLOBAL = False


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    client = ctx.client("rds")
    found = []
    for db in paginate(client, "describe_db_instances", "DBInstances"):
        found.append(
            resource(
                arn=db["DBInstanceArn"],
                type=RDS_INSTANCE,
                service=SERVICE,
                name=db["DBInstanceIdentifier"],
                region=ctx.region,
                account=ctx.account,
                tags=tag_list_to_dict(db.get("TagList")),
                vpc_id=(db.get("DBSubnetGroup") or {}).get("VpcId"),
                config={
                    "engine": db.get("Engine"),
                    "engine_version": db.get("EngineVersion"),
                    "publicly_accessible": bool(db.get("PubliclyAccessible")),
                    "log_exports": sorted(db.get("EnabledCloudwatchLogsExports") or []),
                    "cluster_id": db.get("DBClusterIdentifier"),
                    "security_groups": [g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])],
                },
            )
        )
    for cluster in paginate(client, "describe_db_clusters", "DBClusters"):
        if cluster.get("Engine") in ("docdb", "neptune"):
            continue  # listed by the RDS API but not RDS: their own log settings
        found.append(
            resource(
                arn=cluster["DBClusterArn"],
                type=RDS_CLUSTER,
                service=SERVICE,
                name=cluster["DBClusterIdentifier"],
                region=ctx.region,
                account=ctx.account,
                tags=tag_list_to_dict(cluster.get("TagList")),
                config={
                    "engine": cluster.get("Engine"),
                    "engine_version": cluster.get("EngineVersion"),
                    "publicly_accessible": bool(cluster.get("PubliclyAccessible")),
                    "log_exports": sorted(cluster.get("EnabledCloudwatchLogsExports") or []),
                    "members": [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])],
                },
            )
        )
    # a cluster's VPC is its members' VPC
    vpc_of = {r["name"]: r["vpc_id"] for r in found if r["type"] == RDS_INSTANCE}
    for res in found:
        if res["type"] == RDS_CLUSTER:
            res["vpc_id"] = next((vpc_of[m] for m in res["config"]["members"] if vpc_of.get(m)), None)
    return found
