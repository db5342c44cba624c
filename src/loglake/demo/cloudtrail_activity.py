"""Who calls AWS APIs in AnyCompany's account, how often, and when: the normal background of the trail.

Machines run around the clock (SSM agents' heartbeats, credential refreshes, monitoring, apps reading and
writing S3 with the KMS calls S3 makes for them); people log in to the console with MFA on weekday
mornings and browse or change things until the evening; the CI user deploys during office hours from CI
runners with its long-lived key. Rates are events per hour at scale 1.0 at the busiest time.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from loglake.demo import cloudtrail_events as ev
from loglake.demo.cloudtrail_events import Caller, Event, EventBuilder
from loglake.demo.estate import Bucket, Eni, Estate, IamUser, LambdaFn
from loglake.demo.rand import derive, hex_id
from loglake.demo.rhythm import human_weight, is_weekday

Emit = Callable[[int, Event], None]

EC2_KEY_PERIOD = 6 * 3600  # instance profile credentials are refreshed every few hours
LAMBDA_KEY_PERIOD = 2 * 3600
REGION_SHARE = {"us-east-1": 1.0, "eu-west-1": 0.4}  # the second region is smaller


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson count (Knuth for small means, normal approximation for large ones)."""
    if lam <= 0:
        return 0
    if lam > 40:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass(frozen=True)
class Shift:
    """One person's console session on one day."""

    user: IamUser
    login: int
    logout: int
    ip: str
    browser: str


def people_shifts(estate: Estate, seed: int, day: int) -> list[Shift]:
    """Who logs in on UTC day `day` (days since the epoch), when, from where; the same for every region."""
    rng = derive(seed, "people", day)
    start = day * 86400
    shifts = []
    for user in (u for u in estate.users.values() if u.console):
        if is_weekday(start):
            login = start + int(rng.uniform(7.4, 9.8) * 3600)
            logout = login + int(rng.uniform(7.0, 9.5) * 3600)
        elif rng.random() < 0.3:
            login = start + int(rng.uniform(9, 16) * 3600)
            logout = login + int(rng.uniform(0.5, 2) * 3600)
        else:
            continue
        ip = rng.choice(estate.office_ips) if rng.random() < 0.6 else estate.home_ips[user.name]
        shifts.append(Shift(user, login, logout, ip, ev.UA_BROWSERS[len(shifts) % len(ev.UA_BROWSERS)]))
    return shifts


# console calls people make: (service, eventName, readOnly, requestParameters or a function of (gen, rng))
Action = tuple[str, str, bool, Any]
_CONSOLE_REGIONAL: list[Action] = [
    ("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, "filterSet": {}}),
    (
        "ec2.amazonaws.com",
        "DescribeInstanceStatus",
        True,
        {"instancesSet": {}, "filterSet": {}, "includeAllInstances": True},
    ),
    (
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        True,
        {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
    ),
    ("ec2.amazonaws.com", "DescribeVpcs", True, {"vpcSet": {}, "filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeSubnets", True, {"subnetSet": {}, "filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeVolumes", True, {"volumeSet": {}, "filterSet": {}}),
    ("ec2.amazonaws.com", "DescribeAddresses", True, {"publicIpsSet": {}, "allocationIdsSet": {}, "filterSet": {}}),
    ("monitoring.amazonaws.com", "DescribeAlarms", True, {"maxRecords": 100}),
    ("monitoring.amazonaws.com", "GetMetricData", True, None),
    ("logs.amazonaws.com", "DescribeLogGroups", True, {"limit": 50}),
    (
        "logs.amazonaws.com",
        "FilterLogEvents",
        True,
        lambda g, r: {"logGroupName": f"/aws/lambda/{r.choice(g.lambda_names)}", "limit": 100, "interleaved": True},
    ),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, None),
    ("lambda.amazonaws.com", "GetFunction20150331v2", True, lambda g, r: {"functionName": r.choice(g.lambda_names)}),
    ("rds.amazonaws.com", "DescribeDBInstances", True, None),
    ("cloudtrail.amazonaws.com", "LookupEvents", True, {"maxResults": 50}),
    ("dynamodb.amazonaws.com", "DescribeTable", True, lambda g, r: {"tableName": r.choice(g.tables)}),
    ("ecs.amazonaws.com", "ListClusters", True, {"maxResults": 100}),
    ("ssm.amazonaws.com", "DescribeInstanceInformation", True, {"maxResults": 50}),
    (
        "ec2.amazonaws.com",
        "CreateTags",
        False,
        lambda g, r: {
            "resourcesSet": {"items": [{"resourceId": r.choice(g.instances).instance_id}]},
            "tagSet": {"items": [{"key": "Owner", "value": "platform"}]},
        },
    ),
    ("ssm.amazonaws.com", "StartSession", False, lambda g, r: {"target": r.choice(g.instances).instance_id}),
]
_CONSOLE_GLOBAL: list[Action] = [
    ("s3.amazonaws.com", "ListBuckets", True, {"Host": "s3.amazonaws.com"}),
    (
        "s3.amazonaws.com",
        "GetBucketPolicy",
        True,
        lambda g, r: {"bucketName": r.choice(g.bucket_names), "Host": "s3.amazonaws.com", "policy": ""},
    ),
    ("iam.amazonaws.com", "ListRoles", True, None),
    ("iam.amazonaws.com", "GetRole", True, lambda g, r: {"roleName": r.choice(g.role_names)}),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", True, lambda g, r: {"roleName": r.choice(g.role_names)}),
    ("iam.amazonaws.com", "ListUsers", True, None),
    ("iam.amazonaws.com", "GetAccountSummary", True, None),
    ("ce.amazonaws.com", "GetCostAndUsage", True, {"granularity": "DAILY", "metrics": ["UnblendedCost"]}),
]
_CLI: list[Action] = [
    ("sts.amazonaws.com", "GetCallerIdentity", True, None),
    ("ecs.amazonaws.com", "DescribeServices", True, {"cluster": "prod", "services": ["payments-api"]}),
    ("logs.amazonaws.com", "FilterLogEvents", True, {"logGroupName": "/ecs/payments-api", "limit": 10000}),
    (
        "ec2.amazonaws.com",
        "DescribeInstances",
        True,
        {
            "instancesSet": {},
            "filterSet": {"items": [{"name": "tag:Name", "valueSet": {"items": [{"value": "app-*"}]}}]},
        },
    ),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, None),
]


class Background:
    """The background CloudTrail activity of one region, generated five minutes at a time."""

    def __init__(self, estate: Estate, builder: EventBuilder, region: str, seed: int, scale: float) -> None:
        self.e = estate
        self.b = builder
        self.rng = builder.rng
        self.region = region
        self.seed = seed
        self.scale = scale
        self.share = REGION_SHARE.get(region, 0.4)
        vpc = estate.vpcs[region]
        self.vpc = vpc
        self.instances = vpc.instances
        self.nat_ip = vpc.by_kind("nat")[0].public_ip or ""
        self.lambdas = [f for f in estate.lambdas.values() if f.region == region and f.name != "cloudtrail-guard"]
        self.lambda_names = [f.name for f in self.lambdas] or ["report-generator"]
        self.tables = estate.tables[region]
        self.bucket_names = sorted(estate.buckets)
        self.role_names = sorted(estate.roles)
        self.ci = next(u for u in estate.users.values() if u.kind == "ci")
        self._s3_pairs = self._s3_access_pairs()
        self._ssm_params = {e.eni_id: self._ssm_info(e) for e in self.instances}
        self._shifts: dict[int, list[Shift]] = {}
        s = self.share
        # (events per hour at the busiest time, how much it follows people (0..1), actor)
        self.activities: list[tuple[float, float, Callable[[int, Emit], None]]] = [
            (12.0 * len(self.instances), 0.0, self.ssm_heartbeat),
            (6.0 * len(self.instances), 0.0, self.ssm_associations),
            (620.0 * s, 0.75, self.app_s3),
            (80.0 * s, 0.5, self.lambda_s3),
            (55.0 * s, 0.4, self.secrets),
            (75.0 * s, 0.6, self.app_kms),
            (110.0 * s, 0.1, self.monitoring),
            (25.0 * s, 0.5, self.dynamodb),
            (3.0 * s, 0.95, self.ci_pipeline),
        ]

    # ---- the per-bucket driver ---------------------------------------------------------------------------
    def bucket(self, b0: int, span: int, emit: Emit) -> None:
        """Generate everything that starts in [b0, b0 + span)."""
        hw = human_weight(b0 + span // 2)
        rng = self.rng
        hours = span / 3600 * self.scale
        for rate, alpha, actor in self.activities:
            for _ in range(poisson(rng, rate * ((1 - alpha) + alpha * hw) * hours)):
                actor(b0 + int(rng.random() * span), emit)
        self.credential_refreshes(b0, span, emit)
        self.people(b0, span, emit)
        self.daily_service_events(b0, span, emit)

    # ---- machines -----------------------------------------------------------------------------------------
    def instance_ident(self, eni: Eni, t: int) -> dict[str, Any]:
        assert eni.role and eni.instance_id
        offset = _offset(eni.instance_id, EC2_KEY_PERIOD)
        return self.b.role(eni.role, eni.instance_id, t, period=EC2_KEY_PERIOD, offset=offset, ec2=True)

    def lambda_ident(self, fn: LambdaFn, t: int) -> dict[str, Any]:
        return self.b.role(fn.role, fn.name, t, period=LAMBDA_KEY_PERIOD, offset=_offset(fn.name, LAMBDA_KEY_PERIOD))

    def egress_ip(self, eni: Eni) -> str:
        """The address AWS sees for an instance's API call: its public IP, else the NAT gateway's."""
        return eni.public_ip or self.nat_ip

    def _ssm_info(self, eni: Eni) -> dict[str, Any]:
        host = "ip-" + eni.private_ip.replace(".", "-")
        return {
            "instanceId": eni.instance_id,
            "agentVersion": "3.2.1705.0",
            "agentStatus": "Active",
            "platformType": "Linux",
            "platformName": "Amazon Linux",
            "platformVersion": "2023",
            "iPAddress": eni.private_ip,
            "computerName": f"{host}.{self.region}.compute.internal",
            "agentName": "amazon-ssm-agent",
            "availabilityZone": eni.subnet.az,
            "availabilityZoneId": eni.subnet.az_id,
        }

    def ssm_heartbeat(self, t: int, emit: Emit) -> None:
        eni = self.rng.choice(self.instances)
        emit(
            t,
            self.b.call(
                t,
                self.region,
                Caller(self.instance_ident(eni, t), self.egress_ip(eni), ev.UA_SSM_AGENT),
                "ssm.amazonaws.com",
                "UpdateInstanceInformation",
                req=self._ssm_params[eni.eni_id],
                ro=False,
            ),
        )

    def ssm_associations(self, t: int, emit: Emit) -> None:
        eni = self.rng.choice(self.instances)
        emit(
            t,
            self.b.call(
                t,
                self.region,
                Caller(self.instance_ident(eni, t), self.egress_ip(eni), ev.UA_SSM_AGENT),
                "ssm.amazonaws.com",
                "ListInstanceAssociations",
                req={"instanceId": eni.instance_id, "maxResults": 20},
            ),
        )

    def _s3_access_pairs(self) -> list[tuple[Eni, Bucket, bool]]:
        """(instance, bucket, writes?) for every instance whose role may read or write a bucket of the region."""
        pairs = []
        for bucket in self.e.buckets.values():
            if bucket.region != self.region:
                continue
            for eni in self.instances:
                name = eni.role.name if eni.role else ""
                if name in bucket.readers:
                    pairs.append((eni, bucket, False))
                if name in bucket.writers:
                    pairs.append((eni, bucket, True))
        return pairs

    def object_key(self, bucket: Bucket, t: int) -> str:
        rng = self.rng
        day = t // 86400 - int(rng.random() ** 3 * 60)
        return rng.choice(bucket.key_patterns).format(n=int(rng.random() ** 2 * 40000), d=_day_str(day))

    def app_s3(self, t: int, emit: Emit) -> None:
        """Apps read and write their buckets through the VPC's S3 gateway endpoint (private source IP)."""
        if not self._s3_pairs:
            return
        rng = self.rng
        eni, bucket, writes = rng.choice(self._s3_pairs)
        op = "PutObject" if writes and rng.random() < 0.6 else ("HeadObject" if rng.random() < 0.2 else "GetObject")
        who = Caller(self.instance_ident(eni, t), eni.private_ip, f"[{ev.UA_JAVA}]")
        self._s3(t, emit, who, op=op, bucket=bucket, vpce=self.vpc.s3_endpoint_id)

    def lambda_s3(self, t: int, emit: Emit) -> None:
        rng = self.rng
        fns = [f for f in self.lambdas if f.name != "invoice-webhook"]
        if not fns:
            return
        fn = rng.choice(fns)
        role = fn.role.name
        choices = [
            (b, role in b.writers)
            for b in self.e.buckets.values()
            if b.region == self.region and (role in b.readers or role in b.writers)
        ]
        if not choices:
            return
        bucket, writes = rng.choice(choices)
        op = "PutObject" if writes and rng.random() < 0.5 else "GetObject"
        if fn.in_vpc:
            ip, vpce = self.vpc.by_kind("lambda")[0].private_ip, self.vpc.s3_endpoint_id
        else:
            ip, vpce = rng.choice(self.e.lambda_ips), None
        self._s3(t, emit, Caller(self.lambda_ident(fn, t), ip, f"[{ev.UA_LAMBDA_PY}]"), op=op, bucket=bucket, vpce=vpce)

    def _s3(self, t: int, emit: Emit, who: Caller, *, op: str, bucket: Bucket, vpce: str | None) -> None:
        rng = self.rng
        key = self.object_key(bucket, t)
        error = None
        if op != "PutObject" and rng.random() < 0.015:
            error = ("NoSuchKey", "The specified key does not exist.")
        size = int(rng.lognormvariate(10, 1.6))
        emit(
            t,
            self.b.s3_object(
                t,
                self.region,
                who,
                op=op,
                bucket=bucket.name,
                key=key,
                kms=bucket.kms,
                size=size,
                vpce=vpce,
                error=error,
            ),
        )
        if bucket.kms and not error and op != "HeadObject" and rng.random() < 0.5:
            name = "GenerateDataKey" if op == "PutObject" else "Decrypt"
            emit(
                t,
                self.b.kms_for_service(
                    t,
                    self.region,
                    who.ident,
                    "s3.amazonaws.com",
                    name,
                    context={"aws:s3:arn": f"arn:aws:s3:::{bucket.name}"},
                ),
            )

    def _app_instance(self) -> Eni:
        apps = [e for e in self.instances if e.kind in ("app", "worker")]
        return self.rng.choice(apps or self.instances)

    def secrets(self, t: int, emit: Emit) -> None:
        eni = self._app_instance()
        ident = self.instance_ident(eni, t)
        secret = self.rng.choice(self.e.secrets[self.region])
        emit(
            t,
            self.b.call(
                t,
                self.region,
                Caller(ident, self.egress_ip(eni), ev.UA_JAVA),
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                req={"secretId": secret},
            ),
        )
        if self.rng.random() < 0.5:
            emit(
                t,
                self.b.kms_for_service(
                    t,
                    self.region,
                    ident,
                    "secretsmanager.amazonaws.com",
                    "Decrypt",
                    context={"SecretARN": secret, "SecretVersionId": _version_id(secret)},
                ),
            )

    def app_kms(self, t: int, emit: Emit) -> None:
        """Envelope encryption of card tokens by the app: GenerateDataKey/Decrypt called directly."""
        eni = self._app_instance()
        key = self.e.kms_keys[self.region]
        name = "GenerateDataKey" if self.rng.random() < 0.4 else "Decrypt"
        req = (
            {"keyId": key, "keySpec": "AES_256", "encryptionContext": {"purpose": "card-token"}}
            if name == "GenerateDataKey"
            else {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"purpose": "card-token"}}
        )
        emit(
            t,
            self.b.call(
                t,
                self.region,
                Caller(self.instance_ident(eni, t), self.egress_ip(eni), ev.UA_JAVA),
                "kms.amazonaws.com",
                name,
                req=req,
                resources=[{"accountId": self.e.account, "type": "AWS::KMS::Key", "ARN": key}],
            ),
        )

    def monitoring(self, t: int, emit: Emit) -> None:
        """Grafana on a worker polls CloudWatch and EC2 around the clock."""
        workers = [e for e in self.instances if e.kind == "worker"] or self.instances
        eni = workers[0]
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            src, name, req = (
                "monitoring.amazonaws.com",
                "GetMetricData",
                {"startTime": self.b.iso(t - 3600), "endTime": self.b.iso(t), "maxDatapoints": 1440},
            )
        elif r < 0.7:
            src, name, req = (
                "monitoring.amazonaws.com",
                "ListMetrics",
                {"namespace": rng.choice(("AWS/EC2", "AWS/ApplicationELB", "AWS/RDS"))},
            )
        elif r < 0.85:
            src, name, req = "monitoring.amazonaws.com", "DescribeAlarms", {"maxRecords": 100}
        else:
            src, name, req = "ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}
        emit(
            t,
            self.b.call(
                t,
                self.region,
                Caller(self.instance_ident(eni, t), self.egress_ip(eni), ev.UA_GRAFANA),
                src,
                name,
                req=req,
            ),
        )

    def dynamodb(self, t: int, emit: Emit) -> None:
        eni = self._app_instance()
        emit(
            t,
            self.b.call(
                t,
                self.region,
                Caller(self.instance_ident(eni, t), self.egress_ip(eni), ev.UA_JAVA),
                "dynamodb.amazonaws.com",
                "DescribeTable",
                req={"tableName": self.rng.choice(self.tables)},
            ),
        )

    def credential_refreshes(self, b0: int, span: int, emit: Emit) -> None:
        """EC2 and Lambda assume their roles when credentials are due; Lambdas then open a log stream."""
        for eni in self.instances:
            assert eni.role and eni.instance_id
            t = _next_boundary(b0, EC2_KEY_PERIOD, _offset(eni.instance_id, EC2_KEY_PERIOD))
            if t < b0 + span:
                asia, _ = self.b.session_key(
                    eni.role, eni.instance_id, t, EC2_KEY_PERIOD, _offset(eni.instance_id, EC2_KEY_PERIOD)
                )
                emit(
                    t,
                    self.b.assume_role_by_service(
                        t, self.region, eni.role, eni.instance_id, asia=asia, lifetime=EC2_KEY_PERIOD + 900
                    ),
                )
        for fn in self.lambdas:
            off = _offset(fn.name, LAMBDA_KEY_PERIOD)
            t = _next_boundary(b0, LAMBDA_KEY_PERIOD, off)
            if t < b0 + span:
                asia, _ = self.b.session_key(fn.role, fn.name, t, LAMBDA_KEY_PERIOD, off)
                emit(t, self.b.assume_role_by_service(t, self.region, fn.role, fn.name, asia=asia, lifetime=43200))
                stream = f"{_day_str(t // 86400)}/[$LATEST]{hex_id(self.rng, '', 32)}"
                ip = self.vpc.by_kind("lambda")[0].private_ip if fn.in_vpc else self.rng.choice(self.e.lambda_ips)
                emit(
                    t + 1,
                    self.b.call(
                        t + 1,
                        self.region,
                        Caller(self.lambda_ident(fn, t + 1), ip, ev.UA_LAMBDA_LOGS),
                        "logs.amazonaws.com",
                        "CreateLogStream",
                        ro=False,
                        req={"logGroupName": f"/aws/lambda/{fn.name}", "logStreamName": stream},
                    ),
                )

    def daily_service_events(self, b0: int, span: int, emit: Emit) -> None:
        """Secrets Manager rotates the DB secret every night: AwsServiceEvent records from the service."""
        t = (b0 // 86400) * 86400 + 3 * 3600 + 600
        if not b0 <= t < b0 + span:
            return
        secret = self.e.secrets[self.region][0]
        svc = "secretsmanager.amazonaws.com"
        ident = {"accountId": self.e.account, "invokedBy": svc}
        for dt_, name in ((0, "RotationStarted"), (41, "RotationSucceeded")):
            emit(
                t + dt_,
                self.b.call(
                    t + dt_,
                    self.region,
                    Caller(ident, svc, svc),
                    svc,
                    name,
                    ro=False,
                    additional={"SecretId": secret},
                    etype="AwsServiceEvent",
                    request_id=False,
                    tls=False,
                ),
            )

    # ---- people ---------------------------------------------------------------------------------------------
    def shifts(self, day: int) -> list[Shift]:
        if day not in self._shifts:
            self._shifts[day] = people_shifts(self.e, self.seed, day)
        return self._shifts[day]

    def people(self, b0: int, span: int, emit: Emit) -> None:
        rng = self.rng
        for shift in self.shifts(b0 // 86400):
            if self.region == "us-east-1" and b0 <= shift.login < b0 + span:
                self.console_login(shift, emit)
            if shift.logout <= b0 or shift.login >= b0 + span:
                continue
            for _ in range(poisson(rng, 40.0 * self.share * span / 3600 * self.scale)):
                t = b0 + int(rng.random() * span)
                if shift.login <= t < shift.logout:
                    self.person_acts(shift, t, emit)

    def console_login(self, shift: Shift, emit: Emit) -> None:
        user, t = shift.user, shift.login
        login_to = (
            "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1"
        )
        base = {"LoginTo": login_to, "MobileVersion": "No"}
        if self.rng.random() < 0.06:  # a mistyped password first
            emit(
                t - 20,
                self.b.call(
                    t - 20,
                    "us-east-1",
                    Caller(self.b.signin_user(user), shift.ip, shift.browser),
                    "signin.amazonaws.com",
                    "ConsoleLogin",
                    resp={"ConsoleLogin": "Failure"},
                    ro=False,
                    error=(None, "Failed authentication"),
                    additional={**base, "MFAUsed": "No"},
                    etype="AwsConsoleSignIn",
                    request_id=False,
                    tls="signin.aws.amazon.com",
                ),
            )
        mfa = {"MFAIdentifier": f"arn:aws:iam::{self.e.account}:mfa/{user.name}", "MFAUsed": "Yes"}
        emit(
            t,
            self.b.call(
                t,
                "us-east-1",
                Caller(self.b.signin_user(user), shift.ip, shift.browser),
                "signin.amazonaws.com",
                "ConsoleLogin",
                resp={"ConsoleLogin": "Success"},
                ro=False,
                additional={**base, **mfa},
                etype="AwsConsoleSignIn",
                request_id=False,
                tls="signin.aws.amazon.com",
            ),
        )

    def person_acts(self, shift: Shift, t: int, emit: Emit) -> None:
        rng = self.rng
        user = shift.user
        cli = user.access_key_id is not None and rng.random() < 0.3
        if cli:
            src, name, ro, req = rng.choice(_CLI)
            ident, ip, ua, tls = self.b.user(user), shift.ip, ev.ua_cli(_cli_command(src, name)), True
            extra = None
        else:
            pool = _CONSOLE_REGIONAL + (_CONSOLE_GLOBAL if self.region == "us-east-1" else [])
            src, name, ro, req = rng.choice(pool)
            ident = self.b.console_user(user, shift.login)
            internal = rng.random() < 0.3
            ip, ua = ("AWS Internal", "AWS Internal") if internal else (shift.ip, shift.browser)
            tls = not internal
            extra = {"sessionCredentialFromConsole": "true"}
        if callable(req):
            req = req(self, rng)
        error = ev.denied(user.arn, src, name) if rng.random() < 0.02 else None
        emit(
            t,
            self.b.call(
                t, self.region, Caller(ident, ip, ua), src, name, req=req, ro=ro, error=error, tls=tls, extra=extra
            ),
        )

    # ---- CI -----------------------------------------------------------------------------------------------
    def ci_pipeline(self, t: int, emit: Emit) -> None:
        """A deploy job: who-am-I, ECR login and push, then an ECS service update or a Lambda code update."""
        rng = self.rng
        ident = self.b.user(self.ci)
        ip = rng.choice(self.e.ci_runner_ips)
        repo = rng.choice(("payments-api", "web-frontend", "invoice-worker"))
        reg = self.e.account
        steps: list[tuple[int, str, str, bool, Any, str]] = [
            (0, "sts.amazonaws.com", "GetCallerIdentity", True, None, "sts.get-caller-identity"),
            (4, "ecr.amazonaws.com", "GetAuthorizationToken", True, None, "ecr.get-login-password"),
            (
                35,
                "ecr.amazonaws.com",
                "BatchCheckLayerAvailability",
                True,
                {"repositoryName": repo, "registryId": reg},
                "ecr.put-image",
            ),
        ]
        tt = 40
        for _ in range(rng.randint(2, 6)):
            tt += rng.randint(2, 15)
            steps.append(
                (
                    tt,
                    "ecr.amazonaws.com",
                    "InitiateLayerUpload",
                    False,
                    {"repositoryName": repo, "registryId": reg},
                    "ecr.put-image",
                )
            )
            tt += rng.randint(5, 40)
            steps.append(
                (
                    tt,
                    "ecr.amazonaws.com",
                    "CompleteLayerUpload",
                    False,
                    {"repositoryName": repo, "registryId": reg},
                    "ecr.put-image",
                )
            )
        tt += 5
        steps.append(
            (
                tt,
                "ecr.amazonaws.com",
                "PutImage",
                False,
                {"repositoryName": repo, "registryId": reg, "imageTag": f"{rng.getrandbits(28):07x}"},
                "ecr.put-image",
            )
        )
        if rng.random() < 0.6:
            svc = {"cluster": "prod", "service": repo}
            steps.append(
                (
                    tt + 20,
                    "ecs.amazonaws.com",
                    "RegisterTaskDefinition",
                    False,
                    {"family": repo},
                    "ecs.register-task-definition",
                )
            )
            steps.append(
                (
                    tt + 24,
                    "ecs.amazonaws.com",
                    "UpdateService",
                    False,
                    {**svc, "forceNewDeployment": True},
                    "ecs.update-service",
                )
            )
            for i in range(rng.randint(4, 14)):
                steps.append(
                    (
                        tt + 40 + 15 * i,
                        "ecs.amazonaws.com",
                        "DescribeServices",
                        True,
                        {"cluster": "prod", "services": [repo]},
                        "ecs.wait",
                    )
                )
        else:
            fn = rng.choice(self.lambda_names)
            steps.append(
                (
                    tt + 20,
                    "lambda.amazonaws.com",
                    "UpdateFunctionCode20150331v2",
                    False,
                    {"functionName": fn, "publish": True},
                    "lambda.update-function-code",
                )
            )
            for i in range(rng.randint(2, 6)):
                steps.append(
                    (
                        tt + 25 + 5 * i,
                        "lambda.amazonaws.com",
                        "GetFunctionConfiguration20150331v2",
                        True,
                        {"functionName": fn},
                        "lambda.wait",
                    )
                )
        for dt_, src, name, ro, req, cmd in steps:
            emit(
                t + dt_, self.b.call(t + dt_, self.region, Caller(ident, ip, ev.ua_ci(cmd)), src, name, req=req, ro=ro)
            )
        if self.region == "us-east-1":
            bucket = self.e.buckets["anycompany-ci-artifacts"]
            for i in range(rng.randint(1, 3)):
                key = f"builds/{repo}/{rng.getrandbits(32):08x}/bundle-{i}.zip"
                emit(
                    t + 30 + i,
                    self.b.s3_object(
                        t + 30 + i,
                        self.region,
                        Caller(ident, ip, f"[{ev.ua_ci('s3.cp')}]"),
                        op="PutObject",
                        bucket=bucket.name,
                        key=key,
                        size=int(rng.lognormvariate(15, 1)),
                    ),
                )


def _offset(name: str, period: int) -> int:
    """A stable phase for a session's key rotation, so sessions do not all refresh at once."""
    return int.from_bytes(name.encode()[-6:], "big") % period


def _next_boundary(t: int, period: int, offset: int) -> int:
    """The first time >= t of the form k * period + offset."""
    return -((offset - t) // period) * period + offset


_DAYS: dict[int, str] = {}


def _day_str(day: int) -> str:
    s = _DAYS.get(day)
    if s is None:
        s = _DAYS[day] = time.strftime("%Y/%m/%d", time.gmtime(day * 86400))
    return s


def _version_id(secret: str) -> str:
    """A stable version id per secret (a real one changes at each rotation; stable is enough here)."""
    h = hashlib.md5(secret.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _cli_command(source: str, name: str) -> str:
    svc = source.split(".", 1)[0]
    return f"{svc}.{''.join('-' + c.lower() if c.isupper() else c for c in name).lstrip('-')}"
