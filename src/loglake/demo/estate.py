"""AnyCompany: the fictional company whose AWS account the demo logs describe.

One account, two regions, one VPC per region (public, private and data subnets), instances with roles, an
ALB, a NAT gateway, an RDS database and a VPC Lambda's ENI; IAM users (people with console + MFA, a CI user
with a long-lived key) and roles (EC2 instance roles, Lambda roles); S3 buckets, KMS keys and secrets.
Ids (vpc-, eni-, AKIA...) are drawn from the seed; names are fixed so stories and docs can name them.

Internet addresses are documentation or reserved ranges only, so nothing real is named:
  192.0.2.0/25      office and employees' homes          192.0.2.128/26   CI runners
  198.51.100.0/26   AnyCompany's own public IPs (EIPs)    198.51.100.64/26 AWS service front ends
  198.51.100.128/25 external SaaS APIs                    203.0.113.0/24   hostile (attacker, scanner)
  198.18.0.0/15     the public internet (customers, background scanning noise)
  2001:db8::/32     all IPv6
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from loglake.demo.rand import derive, hex_id, iam_id

ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "eu-west-1")
HOME_REGION = "us-east-1"
TRAIL_NAME = "anycompany-management-trail"
CLOUDTRAIL_BUCKET = f"anycompany-cloudtrail-logs-{ACCOUNT}"
SENSITIVE_BUCKET = "prod-int-payments-data"

# VPC flow log formats: us-east-1 uses the default (v2) format, eu-west-1 a custom v5 one whose fields are
# in a non-default order, so a reader must take the order from the header line.
FLOW_FORMAT_V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
FLOW_FORMAT_V5 = (
    "version account-id vpc-id subnet-id instance-id interface-id region az-id type srcaddr dstaddr "
    "srcport dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags "
    "flow-direction traffic-path log-status"
)


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    name: str
    cidr: str
    az: str
    az_id: str
    public: bool


@dataclass(frozen=True)
class Role:
    name: str
    role_id: str  # AROA...
    arn: str
    service: str  # who assumes it: ec2.amazonaws.com, lambda.amazonaws.com


@dataclass(frozen=True)
class Eni:
    """A network interface: what VPC flow logs are recorded for."""

    eni_id: str
    name: str
    kind: str  # alb, nat, bastion, legacy-web, web, app, worker, db, lambda
    subnet: Subnet
    vpc_id: str
    region: str
    private_ip: str
    public_ip: str | None = None
    ipv6: str | None = None
    instance_id: str | None = None
    role: Role | None = None  # the instance profile's role, for instances

    @property
    def is_instance(self) -> bool:
        return self.instance_id is not None


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    region: str
    cidr: str
    ipv6_cidr: str
    subnets: tuple[Subnet, ...]
    enis: tuple[Eni, ...]
    flow_log_id: str
    flow_format: str
    s3_endpoint_id: str  # gateway endpoint: S3 calls from private subnets carry it and a private source IP
    security_groups: dict[str, str]  # name -> sg id

    def by_kind(self, kind: str) -> list[Eni]:
        return [e for e in self.enis if e.kind == kind]

    @property
    def instances(self) -> list[Eni]:
        return [e for e in self.enis if e.is_instance]

    @property
    def public_enis(self) -> list[Eni]:
        return [e for e in self.enis if e.public_ip]


@dataclass(frozen=True)
class IamUser:
    name: str
    user_id: str  # AIDA...
    arn: str
    access_key_id: str | None  # long-lived AKIA key, if the user has one
    console: bool
    mfa: bool
    kind: str  # human or ci


@dataclass(frozen=True)
class Bucket:
    name: str
    region: str
    kms: bool
    key_patterns: tuple[str, ...]  # str.format patterns with {n} (a number) and {d} (a date)
    readers: tuple[str, ...]  # role names that read it
    writers: tuple[str, ...]


@dataclass(frozen=True)
class LambdaFn:
    name: str
    region: str
    role: Role
    in_vpc: bool = False


@dataclass
class Estate:
    account: str
    regions: tuple[str, ...]
    vpcs: dict[str, Vpc]
    users: dict[str, IamUser]
    roles: dict[str, Role]
    buckets: dict[str, Bucket]
    lambdas: dict[str, LambdaFn]
    kms_keys: dict[str, str]  # region -> key ARN
    secrets: dict[str, list[str]]  # region -> secret ARNs
    tables: dict[str, list[str]]  # region -> DynamoDB table names
    trail_name: str = TRAIL_NAME
    trail_arn: str = f"arn:aws:cloudtrail:{HOME_REGION}:{ACCOUNT}:trail/{TRAIL_NAME}"
    cloudtrail_bucket: str = CLOUDTRAIL_BUCKET
    home_region: str = HOME_REGION
    office_ips: tuple[str, ...] = ()
    home_ips: dict[str, str] = field(default_factory=dict)  # user -> home IP
    ci_runner_ips: tuple[str, ...] = ()
    lambda_ips: tuple[str, ...] = ()  # public egress IPs of Lambdas outside a VPC
    saas_ips: tuple[str, ...] = ()
    s3_ips: dict[str, tuple[str, ...]] = field(default_factory=dict)  # region -> S3 front-end IPs
    attacker_ip: str = "203.0.113.66"
    scanner_ip: str = "203.0.113.201"
    internet_v4: tuple[str, ...] = ()  # customers and background noise
    internet_v6: tuple[str, ...] = ()

    def instances(self, region: str) -> list[Eni]:
        return self.vpcs[region].instances

    def eni(self, region: str, name: str) -> Eni:
        return next(e for e in self.vpcs[region].enis if e.name == name)


_AZS = {
    "us-east-1": (("us-east-1a", "use1-az1"), ("us-east-1b", "use1-az2")),
    "eu-west-1": (("eu-west-1a", "euw1-az1"), ("eu-west-1b", "euw1-az2")),
}

# (name, kind, subnet name, has public IP, role name) per region; the first region is the bigger one
_LAYOUT: dict[str, list[tuple[str, str, str, bool, str | None]]] = {
    "us-east-1": [
        ("alb-a", "alb", "public-a", True, None),
        ("alb-b", "alb", "public-b", True, None),
        ("nat-a", "nat", "public-a", True, None),
        ("bastion-1", "bastion", "public-a", True, "bastion-role"),
        ("legacy-web-1", "legacy-web", "public-b", True, "legacy-web-role"),
        ("web-1", "web", "private-a", False, "web-server-role"),
        ("web-2", "web", "private-b", False, "web-server-role"),
        ("web-3", "web", "private-a", False, "web-server-role"),
        ("app-1", "app", "private-a", False, "app-server-role"),
        ("app-2", "app", "private-b", False, "app-server-role"),
        ("app-3", "app", "private-b", False, "app-server-role"),
        ("worker-1", "worker", "private-a", False, "worker-role"),
        ("worker-2", "worker", "private-b", False, "worker-role"),
        ("payments-db", "db", "data-a", False, None),
        ("lambda-invoice-webhook", "lambda", "private-a", False, None),
    ],
    "eu-west-1": [
        ("alb-a", "alb", "public-a", True, None),
        ("alb-b", "alb", "public-b", True, None),
        ("nat-a", "nat", "public-a", True, None),
        ("eu-web-1", "legacy-web", "public-a", True, "legacy-web-role"),
        ("eu-web-2", "web", "private-a", False, "web-server-role"),
        ("eu-web-3", "web", "private-b", False, "web-server-role"),
        ("eu-app-1", "app", "private-a", False, "app-server-role"),
        ("eu-app-2", "app", "private-b", False, "app-server-role"),
        ("eu-worker-1", "worker", "private-b", False, "worker-role"),
        ("customers-db", "db", "data-a", False, None),
        ("lambda-eu-uploads", "lambda", "private-b", False, None),
    ],
}
_SUBNETS = (
    ("public-a", 0, 0, True),
    ("public-b", 1, 1, True),
    ("private-a", 10, 0, False),
    ("private-b", 11, 1, False),
    ("data-a", 20, 0, False),
    ("data-b", 21, 1, False),
)

_ROLES = {
    "bastion-role": "ec2.amazonaws.com",
    "legacy-web-role": "ec2.amazonaws.com",
    "web-server-role": "ec2.amazonaws.com",
    "app-server-role": "ec2.amazonaws.com",
    "worker-role": "ec2.amazonaws.com",
    "report-generator-role": "lambda.amazonaws.com",
    "invoice-webhook-role": "lambda.amazonaws.com",
    "eu-uploads-processor-role": "lambda.amazonaws.com",
    "cloudtrail-guard-role": "lambda.amazonaws.com",
}
_HUMANS = (("alice", False), ("bruno", True), ("chen", True), ("dana", False))  # (name, has CLI key)


def build_estate(seed: int) -> Estate:
    """The company for a seed: same seed, same ids."""
    rng = derive(seed, "estate")
    roles = {
        name: Role(name, iam_id(rng, "AROA", 21), f"arn:aws:iam::{ACCOUNT}:role/{name}", svc)
        for name, svc in _ROLES.items()
    }
    vpcs = {region: _build_vpc(rng, region, i, roles) for i, region in enumerate(REGIONS)}
    users = _build_users(rng)
    lambdas = {
        "report-generator": LambdaFn("report-generator", "us-east-1", roles["report-generator-role"]),
        "invoice-webhook": LambdaFn("invoice-webhook", "us-east-1", roles["invoice-webhook-role"], True),
        "eu-uploads-processor": LambdaFn("eu-uploads-processor", "eu-west-1", roles["eu-uploads-processor-role"], True),
        "cloudtrail-guard": LambdaFn("cloudtrail-guard", "us-east-1", roles["cloudtrail-guard-role"]),
    }
    kms_keys = {r: f"arn:aws:kms:{r}:{ACCOUNT}:key/{_uuid(rng)}" for r in REGIONS}
    secrets = {
        r: [
            f"arn:aws:secretsmanager:{r}:{ACCOUNT}:secret:{n}-{''.join(rng.choices('ABCDEFabcdef0123', k=6))}"
            for n in ("prod/payments/db", "prod/stripe-like/api-key", "prod/app/jwt-signing")
        ]
        for r in REGIONS
    }
    office = tuple(f"192.0.2.{i}" for i in (10, 11, 12))
    return Estate(
        account=ACCOUNT,
        regions=REGIONS,
        vpcs=vpcs,
        users=users,
        roles=roles,
        buckets=_build_buckets(),
        lambdas=lambdas,
        kms_keys=kms_keys,
        secrets=secrets,
        tables={"us-east-1": ["payments-ledger", "merchant-sessions"], "eu-west-1": ["eu-customer-profiles"]},
        office_ips=office,
        home_ips={name: f"192.0.2.{40 + i * 7}" for i, (name, _) in enumerate(_HUMANS)},
        ci_runner_ips=tuple(f"192.0.2.{i}" for i in range(130, 142)),
        lambda_ips=tuple(f"198.51.100.{i}" for i in range(70, 90)),
        saas_ips=tuple(f"198.51.100.{i}" for i in range(140, 160)),
        s3_ips={
            "us-east-1": tuple(f"198.51.100.{i}" for i in range(100, 108)),
            "eu-west-1": tuple(f"198.51.100.{i}" for i in range(110, 116)),
        },
        internet_v4=_internet_v4(rng, 6000),
        internet_v6=tuple(
            f"2001:db8:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}::{rng.getrandbits(16):x}" for _ in range(800)
        ),
    )


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _build_vpc(rng: random.Random, region: str, index: int, roles: dict[str, Role]) -> Vpc:
    vpc_id = hex_id(rng, "vpc-")
    cidr = f"10.{index}.0.0/16"
    v6 = f"2001:db8:1234:{index + 1:x}a00::/56"
    subnets = {}
    for name, third, az_i, public in _SUBNETS:
        az, az_id = _AZS[region][az_i]
        subnets[name] = Subnet(hex_id(rng, "subnet-"), name, f"10.{index}.{third}.0/24", az, az_id, public)
    used: set[str] = set()
    enis = []
    for name, kind, subnet_name, public, role in _LAYOUT[region]:
        subnet = subnets[subnet_name]
        ip = _host(rng, subnet.cidr, used)
        public_ip = f"198.51.100.{len([e for e in enis if e.public_ip]) + 1 + index * 20}" if public else None
        # dual-stack: the ALB and the public instances of the first VPC, the ALB in the second
        ipv6 = None
        if kind in ("alb", "legacy-web", "bastion") and (index == 0 or kind == "alb"):
            third = int(subnet.cidr.split(".")[2])
            ipv6 = f"2001:db8:1234:{index + 1:x}a{third:02x}::{rng.getrandbits(12) | 0x100:x}"
        enis.append(
            Eni(
                eni_id=hex_id(rng, "eni-"),
                name=name,
                kind=kind,
                subnet=subnet,
                vpc_id=vpc_id,
                region=region,
                private_ip=ip,
                public_ip=public_ip,
                ipv6=ipv6,
                instance_id=hex_id(rng, "i-") if role else None,
                role=roles[role] if role else None,
            )
        )
    sgs = {n: hex_id(rng, "sg-") for n in ("alb-sg", "web-sg", "app-sg", "db-sg", "bastion-sg", "legacy-web-sg")}
    return Vpc(
        vpc_id=vpc_id,
        region=region,
        cidr=cidr,
        ipv6_cidr=v6,
        subnets=tuple(subnets.values()),
        enis=tuple(enis),
        flow_log_id=hex_id(rng, "fl-"),
        flow_format=FLOW_FORMAT_V2 if index == 0 else FLOW_FORMAT_V5,
        s3_endpoint_id=hex_id(rng, "vpce-"),
        security_groups=sgs,
    )


def _host(rng: random.Random, cidr: str, used: set[str]) -> str:
    net = ipaddress.ip_network(cidr)
    while True:
        ip = str(net[rng.randrange(10, 250)])
        if ip not in used:
            used.add(ip)
            return ip


def _build_users(rng: random.Random) -> dict[str, IamUser]:
    users = {}
    for name, has_key in _HUMANS:
        key = iam_id(rng, "AKIA", 20) if has_key else None
        users[name] = IamUser(
            name,
            iam_id(rng, "AIDA", 21),
            f"arn:aws:iam::{ACCOUNT}:user/{name}",
            key,
            console=True,
            mfa=True,
            kind="human",
        )
    users["ci-deploy"] = IamUser(
        "ci-deploy",
        iam_id(rng, "AIDA", 21),
        f"arn:aws:iam::{ACCOUNT}:user/ci-deploy",
        iam_id(rng, "AKIA", 20),
        console=False,
        mfa=False,
        kind="ci",
    )
    return users


def _build_buckets() -> dict[str, Bucket]:
    buckets = [
        Bucket(
            SENSITIVE_BUCKET,
            "us-east-1",
            True,
            (
                "settlements/{d}/batch-{n:06d}.csv.gz",
                "exports/merchant={n}/cards-{d}.parquet",
                "chargebacks/{d}/case-{n:07d}.json",
            ),
            ("app-server-role", "worker-role", "report-generator-role"),
            ("worker-role", "app-server-role"),
        ),
        Bucket(
            "anycompany-app-assets",
            "us-east-1",
            False,
            ("static/js/chunk-{n:05d}.js", "img/products/{n}.webp", "static/css/site-{n:04d}.css"),
            ("web-server-role", "legacy-web-role"),
            ("web-server-role",),
        ),
        Bucket(
            "anycompany-ci-artifacts",
            "us-east-1",
            False,
            ("builds/payments-api/{n:08x}/bundle.zip", "builds/web/{n:08x}/site.tar.gz"),
            ("app-server-role",),
            (),
        ),
        Bucket(
            "anycompany-reports",
            "us-east-1",
            True,
            ("daily/{d}/report-{n:04d}.pdf", "monthly/summary-{n:04d}.xlsx"),
            ("report-generator-role",),
            ("report-generator-role",),
        ),
        Bucket(
            "anycompany-eu-customer-uploads",
            "eu-west-1",
            True,
            ("uploads/{d}/{n:010d}/document.pdf", "kyc/{n:08d}/selfie.jpg"),
            ("app-server-role", "eu-uploads-processor-role"),
            ("app-server-role", "eu-uploads-processor-role"),
        ),
    ]
    return {b.name: b for b in buckets}


def _internet_v4(rng: random.Random, n: int) -> tuple[str, ...]:
    """Addresses in 198.18.0.0/15 (reserved for benchmarking), standing in for the public internet."""
    out = set()
    while len(out) < n:
        v = rng.getrandbits(17)
        out.add(f"198.{18 + (v >> 16)}.{(v >> 8) & 255}.{(v & 255) or 1}")
    return tuple(sorted(out))
