"""The demo estate as an inventory snapshot in the real model, recorded in the demo lake's `assets` table.

The snapshot goes through the same classifier, policy matrix and audit as `loglake inventory --lake`: the
estate only says what exists, with the tags and settings AnyCompany gave it (the payments data is tagged
`pci`, the KYC uploads `pii`); sensitivity, reachability and level are the policy's verdict.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from loglake.demo.estate import Eni, Estate, build_estate
from loglake.demo.webstack import API_STAGE, webstack_of
from loglake.inventory import snapshot as t
from loglake.inventory.snapshot import Inventory, resource
from loglake.policy.assets import AssetChanges, write_assets
from loglake.policy.config import load_policy

DATA_TAGS = {
    "prod-int-payments-data": "pci",
    "anycompany-eu-customer-uploads": "pii",
    "payments-db": "pci",
    "customers-db": "pii",
}
ENVIRONMENT = {"Environment": "prod"}


def estate_inventory(estate: Estate, seed: int, at: dt.datetime) -> Inventory:
    """What `loglake inventory` would have collected from the estate at `at`."""
    resources = [_bucket(estate, name, bucket.region) for name, bucket in estate.buckets.items()]
    for vpc in estate.vpcs.values():
        resources.append(_vpc(estate, vpc))
        resources += [_instance(estate, eni) for eni in vpc.instances]
        resources += [_owned(estate, eni) for eni in vpc.enis if eni.kind in ("db", "lambda")]
    resources += _web(estate, seed)
    return Inventory(
        account=estate.account, regions=list(estate.regions), collected_at=at.isoformat(), resources=resources
    )


def write_demo_assets(lake: Path, seed: int, at: dt.datetime) -> AssetChanges:
    """Classify and audit the estate with the default policy and record it in the lake as of `at`."""
    estate = build_estate(seed)
    return write_assets(lake, estate_inventory(estate, seed, at), load_policy())


def _bucket(estate: Estate, name: str, region: str) -> dict:
    tags = {**ENVIRONMENT, **({"Classification": DATA_TAGS[name]} if name in DATA_TAGS else {})}
    return resource(
        arn=f"arn:aws:s3:::{name}", type=t.S3_BUCKET, service="s3", name=name, region=region,
        account=estate.account, tags=tags,
    )  # fmt: skip


def _vpc(estate: Estate, vpc) -> dict:
    return resource(
        arn=f"arn:aws:ec2:{vpc.region}:{estate.account}:vpc/{vpc.vpc_id}",
        type=t.VPC,
        service="ec2",
        name=f"anycompany-{vpc.region}",
        region=vpc.region,
        account=estate.account,
        tags=ENVIRONMENT,
        vpc_id=vpc.vpc_id,
        config={"vpc_id": vpc.vpc_id, "subnets": [{"id": s.subnet_id, "cidr": s.cidr} for s in vpc.subnets]},
    )


def _exposure(eni: Eni) -> dict[str, str]:
    data = {"Classification": DATA_TAGS[eni.name]} if eni.name in DATA_TAGS else {}
    return {**ENVIRONMENT, **data, "Exposure": "internet" if eni.public_ip else "internal"}


def _instance(estate: Estate, eni: Eni) -> dict:
    return resource(
        arn=f"arn:aws:ec2:{eni.region}:{estate.account}:instance/{eni.instance_id}",
        type=t.INSTANCE,
        service="ec2",
        name=eni.name,
        region=eni.region,
        account=estate.account,
        tags={"Name": eni.name, **_exposure(eni)},
        vpc_id=eni.vpc_id,
        config={
            "state": "running",
            "public_ip": eni.public_ip,
            "private_ip": eni.private_ip,
            "subnet_id": eni.subnet.subnet_id,
            "network_interfaces": [eni.eni_id],
            "security_groups": [],
            "open_to_world": [],
        },
    )


def _interface(eni: Eni) -> dict:
    return {"id": eni.eni_id, "private_ip": eni.private_ip, "public_ip": eni.public_ip}


def _owned(estate: Estate, eni: Eni) -> dict:
    """The database or VPC Lambda behind an interface of the estate."""
    if eni.kind == "db":
        arn, rtype, service = f"arn:aws:rds:{eni.region}:{estate.account}:db:{eni.name}", t.RDS_INSTANCE, "rds"
        config = {"engine": "postgres", "publicly_accessible": False, "log_exports": ["postgresql"]}
    else:
        name = eni.name.removeprefix("lambda-")
        arn = f"arn:aws:lambda:{eni.region}:{estate.account}:function:{name}"
        rtype, service = t.LAMBDA_FUNCTION, "lambda"
        config = {"runtime": "python3.12", "vpc_id": eni.vpc_id, "url": None, "log_group": f"/aws/lambda/{name}"}
    return resource(
        arn=arn, type=rtype, service=service, name=arn.rsplit(":", 1)[-1], region=eni.region,
        account=estate.account, tags=_exposure(eni), vpc_id=eni.vpc_id,
        config={**config, "interfaces": [_interface(eni)]},
    )  # fmt: skip


def _web(estate: Estate, seed: int) -> list[dict]:
    """The internet-facing ALB (its nodes' interfaces included), the CloudFront distribution and the API stage."""
    stack = webstack_of(estate, seed)
    alb = resource(
        arn=f"arn:aws:elasticloadbalancing:{stack.region}:{estate.account}:loadbalancer/{stack.alb_resource}",
        type=t.ELBV2, service="elasticloadbalancing", name=stack.alb_name, region=stack.region,
        account=estate.account, tags=ENVIRONMENT, vpc_id=stack.nodes[0].vpc_id,
        config={
            "lb_type": "application", "scheme": "internet-facing", "dns_name": stack.alb_dns,
            "access_logs": {"enabled": True}, "connection_logs": {"enabled": True},
            "interfaces": [_interface(node) for node in stack.nodes],
        },
    )  # fmt: skip
    distribution = resource(
        arn=f"arn:aws:cloudfront::{estate.account}:distribution/{stack.distribution_id}",
        type=t.CLOUDFRONT, service="cloudfront", name="www.anycompany.example", region="us-east-1",
        account=estate.account, tags=ENVIRONMENT,
        config={"id": stack.distribution_id, "domain_name": stack.distribution_domain, "aliases": []},
    )  # fmt: skip
    stage = resource(
        arn=f"arn:aws:apigateway:{stack.region}::/restapis/{stack.api_id}/stages/{API_STAGE}",
        type=t.APIGW_STAGE, service="apigateway", name=f"anycompany-api/{API_STAGE}", region=stack.region,
        account=estate.account, tags=ENVIRONMENT,
        config={"api_id": stack.api_id, "stage": API_STAGE, "endpoint_types": ["REGIONAL"]},
    )  # fmt: skip
    return [alb, distribution, stage]
