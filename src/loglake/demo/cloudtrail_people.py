"""The people of one region in the trail, and the CI user their commits drive.

Engineers sign in to the console with MFA on weekday mornings (`ConsoleLogin` in us-east-1, now and then a
mistyped password first) and browse or change things until the evening, from the office or home; two of
them also use the CLI with their own access keys. The CI user deploys during office hours from CI runners
with its long-lived `AKIA` key: ECR login and push, then an ECS or Lambda update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loglake.demo import cloudtrail_events as ev
from loglake.demo.cloudtrail_actors import RegionActors, poisson
from loglake.demo.cloudtrail_events import Caller
from loglake.demo.estate import Estate, IamUser
from loglake.demo.rand import derive
from loglake.demo.rhythm import is_weekday

ACTIONS_PER_HOUR = 40.0  # console/CLI calls per signed-in person per hour in the main region
LOGIN_TO = "https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1"


@dataclass(frozen=True)
class Shift:
    """One person's console session on one day."""

    user: IamUser
    login: int
    logout: int
    ip: str
    browser: str


def people_shifts(estate: Estate, seed: int, day: int) -> list[Shift]:
    """Who signs in on UTC day `day` (days since the epoch), when and from where; the same for every region."""
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


# calls people make: (service, eventName, readOnly, requestParameters or a function of (People, rng))
Action = tuple[str, str, bool, Any]
_EMPTY_SETS = {"filterSet": {}}
_CONSOLE_REGIONAL: list[Action] = [
    ("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, **_EMPTY_SETS}),
    (
        "ec2.amazonaws.com",
        "DescribeInstanceStatus",
        True,
        {"instancesSet": {}, **_EMPTY_SETS, "includeAllInstances": True},
    ),
    (
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        True,
        {"securityGroupSet": {}, "securityGroupIdSet": {}, **_EMPTY_SETS},
    ),
    ("ec2.amazonaws.com", "DescribeVpcs", True, {"vpcSet": {}, **_EMPTY_SETS}),
    ("ec2.amazonaws.com", "DescribeSubnets", True, {"subnetSet": {}, **_EMPTY_SETS}),
    ("ec2.amazonaws.com", "DescribeVolumes", True, {"volumeSet": {}, **_EMPTY_SETS}),
    ("ec2.amazonaws.com", "DescribeAddresses", True, {"publicIpsSet": {}, "allocationIdsSet": {}, **_EMPTY_SETS}),
    ("monitoring.amazonaws.com", "DescribeAlarms", True, {"maxRecords": 100}),
    ("monitoring.amazonaws.com", "GetMetricData", True, None),
    ("logs.amazonaws.com", "DescribeLogGroups", True, {"limit": 50}),
    (
        "logs.amazonaws.com",
        "FilterLogEvents",
        True,
        lambda p, r: {"logGroupName": f"/aws/lambda/{r.choice(p.lambda_names)}"},
    ),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, None),
    ("lambda.amazonaws.com", "GetFunction20150331v2", True, lambda p, r: {"functionName": r.choice(p.lambda_names)}),
    ("rds.amazonaws.com", "DescribeDBInstances", True, None),
    ("cloudtrail.amazonaws.com", "LookupEvents", True, {"maxResults": 50}),
    ("dynamodb.amazonaws.com", "DescribeTable", True, lambda p, r: {"tableName": r.choice(p.e.tables[p.region])}),
    ("ecs.amazonaws.com", "ListClusters", True, {"maxResults": 100}),
    ("ssm.amazonaws.com", "DescribeInstanceInformation", True, {"maxResults": 50}),
    ("ec2.amazonaws.com", "CreateTags", False, lambda p, r: p.tag_request(r)),
    ("ssm.amazonaws.com", "StartSession", False, lambda p, r: {"target": r.choice(p.instances).instance_id}),
]
_CONSOLE_GLOBAL: list[Action] = [
    ("s3.amazonaws.com", "ListBuckets", True, {"Host": "s3.amazonaws.com"}),
    (
        "s3.amazonaws.com",
        "GetBucketPolicy",
        True,
        lambda p, r: {"bucketName": r.choice(sorted(p.e.buckets)), "Host": "s3.amazonaws.com"},
    ),
    ("iam.amazonaws.com", "ListRoles", True, None),
    ("iam.amazonaws.com", "GetRole", True, lambda p, r: {"roleName": r.choice(sorted(p.e.roles))}),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", True, lambda p, r: {"roleName": r.choice(sorted(p.e.roles))}),
    ("iam.amazonaws.com", "ListUsers", True, None),
    ("iam.amazonaws.com", "GetAccountSummary", True, None),
    ("ce.amazonaws.com", "GetCostAndUsage", True, {"granularity": "DAILY", "metrics": ["UnblendedCost"]}),
]
_CLI: list[Action] = [
    ("sts.amazonaws.com", "GetCallerIdentity", True, None),
    ("ecs.amazonaws.com", "DescribeServices", True, {"cluster": "prod", "services": ["payments-api"]}),
    ("logs.amazonaws.com", "FilterLogEvents", True, {"logGroupName": "/ecs/payments-api", "limit": 10000}),
    ("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, **_EMPTY_SETS}),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, None),
]


class People(RegionActors):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.activities = [(3.0 * self.share, 0.95, self.ci_pipeline)]
        self.ci = next(u for u in self.e.users.values() if u.kind == "ci")
        self.console_actions = _CONSOLE_REGIONAL + (_CONSOLE_GLOBAL if self.region == "us-east-1" else [])
        self._shifts: dict[int, list[Shift]] = {}

    def bucket(self, b0: int, span: int) -> None:
        super().bucket(b0, span)
        rng = self.rng
        day = b0 // 86400
        if day not in self._shifts:
            self._shifts = {day: people_shifts(self.e, self.seed, day)}
        for shift in self._shifts[day]:
            if self.region == "us-east-1" and b0 <= shift.login < b0 + span:
                self.console_login(shift)
            if shift.logout <= b0 or shift.login >= b0 + span:
                continue
            for _ in range(poisson(rng, ACTIONS_PER_HOUR * self.share * span / 3600 * self.scale)):
                t = b0 + int(rng.random() * span)
                if shift.login <= t < shift.logout:
                    self.act(shift, t)

    def console_login(self, shift: Shift) -> None:
        """`ConsoleLogin` (global: recorded in us-east-1), with MFA; sometimes a failed attempt first."""
        user, t = shift.user, shift.login
        who = Caller(self.b.signin_user(user), shift.ip, shift.browser)
        fields: dict[str, Any] = dict(ro=False, etype="AwsConsoleSignIn", request_id=False, tls="signin.aws.amazon.com")
        if self.rng.random() < 0.06:  # a mistyped password
            failed = {"LoginTo": LOGIN_TO, "MobileVersion": "No", "MFAUsed": "No"}
            error = (None, "Failed authentication")
            resp = {"ConsoleLogin": "Failure"}
            self.api(
                t - 20, who, "signin.amazonaws.com", "ConsoleLogin", resp=resp, error=error, additional=failed, **fields
            )
        mfa = {
            "LoginTo": LOGIN_TO,
            "MobileVersion": "No",
            "MFAIdentifier": f"arn:aws:iam::{self.e.account}:mfa/{user.name}",
            "MFAUsed": "Yes",
        }
        self.api(
            t, who, "signin.amazonaws.com", "ConsoleLogin", resp={"ConsoleLogin": "Success"}, additional=mfa, **fields
        )

    def act(self, shift: Shift, t: int) -> None:
        """One call by a signed-in person: in the console (its session's ASIA key) or, for some, the CLI."""
        rng = self.rng
        user = shift.user
        extra = None
        if user.access_key_id is not None and rng.random() < 0.3:
            src, name, ro, req = rng.choice(_CLI)
            who = Caller(self.b.user(user), shift.ip, ev.ua_cli(_cli_command(src, name)))
            tls = True
        else:
            src, name, ro, req = rng.choice(self.console_actions)
            internal = rng.random() < 0.3  # some console calls are made by the console's backend
            ip, ua = ("AWS Internal", "AWS Internal") if internal else (shift.ip, shift.browser)
            who = Caller(self.b.console_user(user, shift.login), ip, ua)
            tls = not internal
            extra = {"sessionCredentialFromConsole": "true"}
        if callable(req):
            req = req(self, rng)
        error = ev.denied(user.arn, src, name) if rng.random() < 0.02 else None
        self.api(t, who, src, name, req=req, ro=ro, error=error, tls=tls, extra=extra)

    def tag_request(self, rng: Any) -> dict[str, Any]:
        instance = rng.choice(self.instances).instance_id
        return {
            "resourcesSet": {"items": [{"resourceId": instance}]},
            "tagSet": {"items": [{"key": "Owner", "value": "platform"}]},
        }

    def ci_pipeline(self, t: int) -> None:
        """A deploy job: who-am-I, ECR login and push, then an ECS service update or a Lambda code update."""
        rng = self.rng
        ip = rng.choice(self.e.ci_runner_ips)
        repo = rng.choice(("payments-api", "web-frontend", "invoice-worker"))
        ecr = {"repositoryName": repo, "registryId": self.e.account}
        steps: list[tuple[int, str, str, bool, Any, str]] = [
            (0, "sts.amazonaws.com", "GetCallerIdentity", True, None, "sts.get-caller-identity"),
            (4, "ecr.amazonaws.com", "GetAuthorizationToken", True, None, "ecr.get-login-password"),
            (35, "ecr.amazonaws.com", "BatchCheckLayerAvailability", True, ecr, "ecr.put-image"),
        ]
        dt_ = 40
        for _ in range(rng.randint(2, 6)):
            dt_ += rng.randint(2, 15)
            steps.append((dt_, "ecr.amazonaws.com", "InitiateLayerUpload", False, ecr, "ecr.put-image"))
            dt_ += rng.randint(5, 40)
            steps.append((dt_, "ecr.amazonaws.com", "CompleteLayerUpload", False, ecr, "ecr.put-image"))
        dt_ += 5
        tag = f"{rng.getrandbits(28):07x}"
        steps.append((dt_, "ecr.amazonaws.com", "PutImage", False, {**ecr, "imageTag": tag}, "ecr.put-image"))
        steps += self._ecs_deploy(dt_ + 20, repo) if rng.random() < 0.6 else self._lambda_deploy(dt_ + 20)
        ident = self.b.user(self.ci)
        for dt_, src, name, ro, req, cmd in steps:
            self.api(t + dt_, Caller(ident, ip, ev.ua_ci(cmd)), src, name, req=req, ro=ro)
        if self.region == "us-east-1":  # build artifacts go to the artifacts bucket
            who = Caller(ident, ip, f"[{ev.ua_ci('s3.cp')}]")
            for i in range(rng.randint(1, 3)):
                key = f"builds/{repo}/{rng.getrandbits(32):08x}/bundle-{i}.zip"
                size = int(rng.lognormvariate(15, 1))
                event = self.b.s3_object(
                    t + 30 + i, self.region, who, op="PutObject", bucket="anycompany-ci-artifacts", key=key, size=size
                )
                self.emit(t + 30 + i, event)

    def _ecs_deploy(self, t: int, repo: str) -> list[tuple[int, str, str, bool, Any, str]]:
        ecs = "ecs.amazonaws.com"
        steps = [
            (t, ecs, "RegisterTaskDefinition", False, {"family": repo}, "ecs.register-task-definition"),
            (
                t + 4,
                ecs,
                "UpdateService",
                False,
                {"cluster": "prod", "service": repo, "forceNewDeployment": True},
                "ecs.update-service",
            ),
        ]
        for i in range(self.rng.randint(4, 14)):  # the job waits for the deployment to settle
            steps.append(
                (t + 20 + 15 * i, ecs, "DescribeServices", True, {"cluster": "prod", "services": [repo]}, "ecs.wait")
            )
        return steps

    def _lambda_deploy(self, t: int) -> list[tuple[int, str, str, bool, Any, str]]:
        fn = self.rng.choice(self.lambda_names)
        lam = "lambda.amazonaws.com"
        steps = [
            (
                t,
                lam,
                "UpdateFunctionCode20150331v2",
                False,
                {"functionName": fn, "publish": True},
                "lambda.update-function-code",
            )
        ]
        for i in range(self.rng.randint(2, 6)):
            steps.append(
                (t + 5 + 5 * i, lam, "GetFunctionConfiguration20150331v2", True, {"functionName": fn}, "lambda.wait")
            )
        return steps


def _cli_command(source: str, name: str) -> str:
    """`ecs.amazonaws.com` + `DescribeServices` -> `ecs.describe-services`, as the CLI's user agent names it."""
    svc = source.split(".", 1)[0]
    return f"{svc}.{''.join('-' + c.lower() if c.isupper() else c for c in name).lstrip('-')}"
