"""AnyCompany's public web stack in us-east-1: a CloudFront distribution, the internet-facing ALB behind it
(with an AWS WAF web ACL), the web tier it forwards to, and a REST API on API Gateway.

    www.anycompany.example  -> CloudFront (static assets cached) -> origin.anycompany.example = ALB -> web-1..3
    app.anycompany.example  -> the ALB directly (the logged-in customer portal, not cached)
    api.anycompany.example  -> API Gateway REST API, stage prod (called by the portal's JavaScript)

Ids come from their own random stream (`derive(seed, "webstack")`) so adding them changed no other id.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from loglake.demo.estate import Eni, Estate, build_estate
from loglake.demo.rand import derive, hex_id, uuid4

REGION = "us-east-1"
ALB_NAME = "prod-ext-web"
WEB_ACL_NAME = "prod-ext-web-acl"
TARGET_GROUP = "prod-web-tg"
TARGET_PORT = 8080
WWW_HOST = "www.anycompany.example"
APP_HOST = "app.anycompany.example"
ORIGIN_HOST = "origin.anycompany.example"  # CloudFront's origin domain: a CNAME to the ALB
API_HOST = "api.anycompany.example"
API_STAGE = "prod"
CLOUDFRONT_PREFIX = "cloudfront-logs/"  # the distribution's standard-log prefix in the log bucket
CF_ORIGIN_IPS = tuple(f"198.51.100.{i}" for i in range(90, 100))  # CloudFront's origin-facing servers
_LOWER36 = "abcdefghijklmnopqrstuvwxyz0123456789"
_UPPER36 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class WebStack:
    account: str
    region: str
    alb_id: str  # 16 hex digits
    alb_dns: str  # prod-ext-web-1234567890.us-east-1.elb.amazonaws.com
    nodes: tuple[Eni, ...]  # the ALB's interfaces, one per AZ: each node writes its own log files
    targets: tuple[Eni, ...]  # the web tier behind the ALB
    target_group_arn: str
    cert_arn: str
    distribution_id: str  # E + 13 upper-case characters
    distribution_domain: str  # d + 13 characters + .cloudfront.net
    web_acl_id: str  # a UUID
    api_id: str  # 10 lower-case characters
    api_log_group: str
    alb_name: str = ALB_NAME
    web_acl_name: str = WEB_ACL_NAME

    @property
    def alb_resource(self) -> str:
        """`app/<name>/<id>`, the `elb` field of the access log."""
        return f"app/{self.alb_name}/{self.alb_id}"

    @property
    def web_acl_arn(self) -> str:
        return f"arn:aws:wafv2:{self.region}:{self.account}:regional/webacl/{self.web_acl_name}/{self.web_acl_id}"


@functools.cache
def build_webstack(seed: int) -> WebStack:
    """The web stack for a seed (cached: every source of a process asks for it)."""
    estate = build_estate(seed)
    return webstack_of(estate, seed)


def webstack_of(estate: Estate, seed: int) -> WebStack:
    rng = derive(seed, "webstack")
    vpc = estate.vpcs[REGION]
    account = estate.account
    alb_id = hex_id(rng, "", 16)
    tg_id = hex_id(rng, "", 16)
    alb_dns = f"{ALB_NAME}-{rng.randrange(10**9, 10**10)}.{REGION}.elb.amazonaws.com"
    cert = f"arn:aws:acm:{REGION}:{account}:certificate/{uuid4(rng)}"
    distribution_id = "E" + "".join(rng.choices(_UPPER36, k=13))
    distribution_domain = "d" + "".join(rng.choices(_LOWER36, k=13)) + ".cloudfront.net"
    web_acl_id = uuid4(rng)
    api_id = "".join(rng.choices(_LOWER36, k=10))
    return WebStack(
        account=account,
        region=REGION,
        alb_id=alb_id,
        alb_dns=alb_dns,
        nodes=tuple(vpc.by_kind("alb")),
        targets=tuple(vpc.by_kind("web")),
        target_group_arn=f"arn:aws:elasticloadbalancing:{REGION}:{account}:targetgroup/{TARGET_GROUP}/{tg_id}",
        cert_arn=cert,
        distribution_id=distribution_id,
        distribution_domain=distribution_domain,
        web_acl_id=web_acl_id,
        api_id=api_id,
        api_log_group=f"API-Gateway-Access-Logs_{api_id}/{API_STAGE}",
    )
