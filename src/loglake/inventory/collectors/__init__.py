"""One collector per service (Prowler-style small units): `collect(ctx) -> list[resource]`, `SERVICE`, `GLOBAL`."""

from __future__ import annotations

from types import ModuleType

from loglake.inventory.collectors import (
    apigateway,
    cloudfront,
    cloudtrail,
    dynamodb,
    elb,
    lambda_,
    logs,
    opensearch,
    rds,
    s3,
    vpc,
)

COLLECTORS: list[ModuleType] = [
    s3,
    vpc,
    elb,
    cloudfront,
    apigateway,
    rds,
    dynamodb,
    lambda_,
    opensearch,
    cloudtrail,
    logs,
]
BY_SERVICE = {c.SERVICE: c for c in COLLECTORS}
