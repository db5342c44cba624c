"""VPCs with their subnets, security groups (what is open to the world), internet gateways and flow logs; and
EC2 instances (public IP, security groups) as resources of their own, since they decide a VPC's exposure."""

from __future__ import annotations

from typing import Any

from loglake.inventory.collectors.base import Ctx, paginate
from loglake.inventory.interfaces import OWNED, owned_interface
from loglake.inventory.snapshot import INSTANCE, VPC, resource, tag_list_to_dict

SERVICE = "vpc"
GLOBAL = False
WORLD = ("0.0.0.0/0", "::/0")


def collect(ctx: Ctx) -> list[dict[str, Any]]:
    ec2 = ctx.client("ec2")
    vpcs = paginate(ec2, "describe_vpcs", "Vpcs")
    subnets = paginate(ec2, "describe_subnets", "Subnets")
    groups = paginate(ec2, "describe_security_groups", "SecurityGroups")
    gateways = paginate(ec2, "describe_internet_gateways", "InternetGateways")
    flow_logs = paginate(ec2, "describe_flow_logs", "FlowLogs")
    reservations = paginate(ec2, "describe_instances", "Reservations")
    interfaces = paginate(ec2, "describe_network_interfaces", "NetworkInterfaces")

    attached = {a["VpcId"] for g in gateways for a in g.get("Attachments", []) if a.get("VpcId")}
    found = []
    for vpc in vpcs:
        vpc_id = vpc["VpcId"]
        tags = tag_list_to_dict(vpc.get("Tags"))
        found.append(
            resource(
                arn=f"arn:{ctx.partition}:ec2:{ctx.region}:{vpc.get('OwnerId', ctx.account)}:vpc/{vpc_id}",
                type=VPC,
                service=SERVICE,
                name=tags.get("Name") or vpc_id,
                region=ctx.region,
                account=vpc.get("OwnerId", ctx.account),
                tags=tags,
                vpc_id=vpc_id,
                config={
                    "vpc_id": vpc_id,
                    "cidr": vpc.get("CidrBlock"),
                    "is_default": vpc.get("IsDefault", False),
                    "internet_gateway": vpc_id in attached,
                    "subnets": [
                        {
                            "id": s["SubnetId"],
                            "cidr": s.get("CidrBlock"),
                            "map_public_ip": s.get("MapPublicIpOnLaunch", False),
                        }
                        for s in subnets
                        if s.get("VpcId") == vpc_id
                    ],
                    "security_groups": [_group(g) for g in groups if g.get("VpcId") == vpc_id],
                    "flow_logs": [_flow_log(f) for f in flow_logs if f.get("ResourceId") == vpc_id],
                    # load balancer and Lambda interfaces, moved to their owners by inventory.interfaces
                    OWNED: [o for i in interfaces if i.get("VpcId") == vpc_id and (o := owned_interface(i))],
                },
            )
        )
    open_groups = {g["GroupId"]: _group(g)["open_to_world"] for g in groups}
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            state = (instance.get("State") or {}).get("Name")
            if state in ("terminated", "shutting-down"):
                continue
            tags = tag_list_to_dict(instance.get("Tags"))
            group_ids = [g["GroupId"] for g in instance.get("SecurityGroups", [])]
            for interface in instance.get("NetworkInterfaces", []):
                group_ids += [g["GroupId"] for g in interface.get("Groups", []) if g["GroupId"] not in group_ids]
            found.append(
                resource(
                    arn=f"arn:{ctx.partition}:ec2:{ctx.region}:{reservation.get('OwnerId', ctx.account)}"
                    f":instance/{instance['InstanceId']}",
                    type=INSTANCE,
                    service="ec2",
                    name=tags.get("Name") or instance["InstanceId"],
                    region=ctx.region,
                    account=reservation.get("OwnerId", ctx.account),
                    tags=tags,
                    vpc_id=instance.get("VpcId"),
                    config={
                        "state": state,
                        "public_ip": instance.get("PublicIpAddress")
                        or _public_ip_of_interfaces(instance.get("NetworkInterfaces", [])),
                        "private_ip": instance.get("PrivateIpAddress"),
                        "subnet_id": instance.get("SubnetId"),
                        # flow logs name the interface, not the instance: kept so logs can be tied back to it
                        "network_interfaces": [
                            i["NetworkInterfaceId"]
                            for i in instance.get("NetworkInterfaces", [])
                            if i.get("NetworkInterfaceId")
                        ],
                        "security_groups": group_ids,
                        "open_to_world": [p for gid in group_ids for p in open_groups.get(gid, [])],
                    },
                )
            )
    return found


def _group(group: dict[str, Any]) -> dict[str, Any]:
    opened = []
    for permission in group.get("IpPermissions", []):
        cidrs = [r.get("CidrIp") for r in permission.get("IpRanges", [])]
        cidrs += [r.get("CidrIpv6") for r in permission.get("Ipv6Ranges", [])]
        for cidr in cidrs:
            if cidr in WORLD:
                opened.append(
                    {
                        "group": group["GroupId"],
                        "protocol": permission.get("IpProtocol"),
                        "from_port": permission.get("FromPort"),
                        "to_port": permission.get("ToPort"),
                        "cidr": cidr,
                    }
                )
    return {"id": group["GroupId"], "name": group.get("GroupName"), "open_to_world": opened}


def _flow_log(flow: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": flow.get("FlowLogId"),
        "traffic_type": flow.get("TrafficType"),
        "destination_type": flow.get("LogDestinationType", "cloud-watch-logs"),
        "destination": flow.get("LogDestination") or flow.get("LogGroupName"),
        "log_format": flow.get("LogFormat"),
        "status": flow.get("FlowLogStatus"),
        "max_aggregation_interval": flow.get("MaxAggregationInterval"),
    }


def _public_ip_of_interfaces(interfaces: list[dict[str, Any]]) -> str | None:
    for interface in interfaces:
        ip = (interface.get("Association") or {}).get("PublicIp")
        if ip:
            return ip
    return None
