"""Network interfaces that belong to a load balancer or a VPC Lambda: their ids and addresses are what flow logs
carry for those resources, so they are attached to the resource (`config.interfaces`) once every collector ran.

EC2 names the owner only in the interface's description (`ELB app/<name>/<id>`, `ELB <classic name>`,
`AWS Lambda VPC ENI-<function>-<uuid>`); an RDS interface (`RDSNetworkInterface`) does not say which database.
"""

from __future__ import annotations

import re
from typing import Any

from loglake.inventory.snapshot import CLB, ELBV2, LAMBDA_FUNCTION

OWNED = "owned_interfaces"  # a VPC's config key for its owned interfaces until they are attached
_LAMBDA = re.compile(r"^AWS Lambda VPC ENI-(.+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def owned_interface(interface: dict[str, Any]) -> dict[str, Any] | None:
    """An interface of describe_network_interfaces as {id, private_ip, public_ip, owner}, if its owner is known."""
    description = interface.get("Description") or ""
    lambda_name = _LAMBDA.match(description)
    if description.startswith("ELB "):
        owner = "lb:" + description.removeprefix("ELB ")
    elif lambda_name:
        owner = "lambda:" + lambda_name.group(1)
    else:
        return None
    return {
        "id": interface.get("NetworkInterfaceId"),
        "private_ip": interface.get("PrivateIpAddress"),
        "public_ip": (interface.get("Association") or {}).get("PublicIp"),
        "owner": owner,
    }


def attach_interfaces(resources: list[dict[str, Any]]) -> None:
    """Move each VPC's owned interfaces to the load balancer or function they belong to."""
    owners: dict[str, dict[str, Any]] = {}
    for res in resources:
        if res["type"] == ELBV2 and ":loadbalancer/" in res["arn"]:
            owners["lb:" + res["arn"].split(":loadbalancer/", 1)[1]] = res
        elif res["type"] == CLB:
            owners["lb:" + res["name"]] = res
        elif res["type"] == LAMBDA_FUNCTION:
            owners["lambda:" + res["name"]] = res
    for res in resources:
        for interface in (res.get("config") or {}).pop(OWNED, None) or []:
            owner = owners.get(interface.pop("owner"))
            if owner is not None:
                owner["config"].setdefault("interfaces", []).append(interface)
