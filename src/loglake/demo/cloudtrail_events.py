"""CloudTrail record shapes: the fields, their order and the identity blocks AWS writes.

`EventBuilder.call` makes one record; the helpers make the shapes that recur (S3 data events, KMS calls made
by a service on a caller's behalf, STS AssumeRole by a service, access-denied errors). Identity dicts are
cached and shared between records: they are never mutated, and orjson serialises a shared dict as often as
it appears.
"""

from __future__ import annotations

import base64
import random
import re
import time
from typing import Any, NamedTuple

from loglake.demo.estate import Estate, IamUser, Role
from loglake.demo.rand import IsoClock, alnum, hashed_iam_id, uuid4

Event = dict[str, Any]


class Caller(NamedTuple):
    """Who made a call and from where: the userIdentity block, sourceIPAddress and userAgent."""

    ident: dict[str, Any]
    ip: str
    ua: str


# eventVersion differs by service in real trails
_VERSIONS = {
    "s3.amazonaws.com": "1.09",
    "ec2.amazonaws.com": "1.09",
    "cloudtrail.amazonaws.com": "1.09",
    "ssm.amazonaws.com": "1.09",
    "kms.amazonaws.com": "1.08",
}
_GLOBAL = {"iam.amazonaws.com", "signin.amazonaws.com", "ce.amazonaws.com", "organizations.amazonaws.com"}
_API_SUFFIX = re.compile(r"\d{8}(v\d)?$")  # ListFunctions20150331 -> lambda:ListFunctions

# user agents seen in real trails (versions pinned so output is stable)
UA_SSM_AGENT = "aws-sdk-go/1.44.260 (go1.20.10; linux; amd64) amazon-ssm-agent/3.2.1705.0"
UA_JAVA = (
    "aws-sdk-java/2.21.10 Linux/6.1.61-85.141.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 "
    "vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy"
)
UA_LAMBDA_PY = (
    "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209-218.812.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.42"
)
UA_LAMBDA_LOGS = "awslambda-worker/1.0 rusoto/0.48.0 rust/1.70.0 linux"
UA_GRAFANA = "Grafana/10.4.1 aws-sdk-go/1.50.8 (go1.21.6; linux; amd64)"
UA_BROWSERS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 "
    "Safari/605.1.15",
)


def ua_cli(command: str, env: str = "os/macos#23.3.0 md/arch#arm64", extra: str = "") -> str:
    """An AWS CLI v2 user agent naming the command, as CLI calls record it."""
    return (
        f"aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 {env} lang/python#3.11.8 md/pyimpl#CPython {extra}"
        f"cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{command}"
    )


def ua_ci(command: str) -> str:
    return ua_cli(command, "os/linux#6.5.0-1016-azure md/arch#x86_64", "exec-env/GitHubActions ")


def permission(source: str, name: str) -> str:
    """The IAM action for an event: `lambda.amazonaws.com`/`ListFunctions20150331` -> `lambda:ListFunctions`."""
    service = source.split(".", 1)[0]
    service = "cloudwatch" if service == "monitoring" else service
    return f"{service}:{_API_SUFFIX.sub('', name)}"


def denied(arn: str, source: str, name: str, resource: str | None = None) -> tuple[str, str]:
    """(errorCode, errorMessage) of an implicit deny, in the wording of the service (EC2 has its own)."""
    action = permission(source, name)
    if source == "ec2.amazonaws.com":
        return (
            "Client.UnauthorizedOperation",
            f"You are not authorized to perform this operation. User: {arn} is not authorized to perform: "
            f"{action} because no identity-based policy allows the {action} action",
        )
    on = f" on resource: {resource}" if resource else ""
    return (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: {action}{on} because no identity-based policy allows the "
        f"{action} action",
    )


def expiration(t: int) -> str:
    """STS credential expiry as CloudTrail writes it: `Mar 5, 2024, 8:12:05 PM`."""
    tm = time.gmtime(t)
    hour = tm.tm_hour % 12 or 12
    return f"{time.strftime('%b', tm)} {tm.tm_mday}, {tm.tm_year}, {hour}:{tm.tm_min:02d}:{tm.tm_sec:02d} " + (
        "AM" if tm.tm_hour < 12 else "PM"
    )


class EventBuilder:
    """Builds CloudTrail records for one estate from one random stream."""

    def __init__(self, estate: Estate, seed: int, rng: random.Random) -> None:
        self.estate = estate
        self.account = estate.account
        self.seed = seed
        self.rng = rng
        self.iso = IsoClock()
        self._tls: dict[str, dict[str, str]] = {}
        self._hosts: dict[tuple[str, str], str] = {}
        self._idents: dict[Any, dict[str, Any]] = {}

    # ---- identities -------------------------------------------------------------------------------------
    def user(self, user: IamUser) -> dict[str, Any]:
        """An IAM user calling with its long-lived access key (CLI, SDK, CI)."""
        key = ("user", user.name)
        ident = self._idents.get(key)
        if ident is None:
            ident = self.signin_user(user, user.access_key_id)
            self._idents[key] = ident
        return ident

    def signin_user(self, user: IamUser, access_key_id: str | None = None) -> dict[str, Any]:
        """An IAM user's identity; a ConsoleLogin record has no access key yet."""
        ident = {"type": "IAMUser", "principalId": user.user_id, "arn": user.arn, "accountId": self.account}
        if access_key_id:
            ident["accessKeyId"] = access_key_id
        ident["userName"] = user.name
        return ident

    def console_user(self, user: IamUser, since: int) -> dict[str, Any]:
        """An IAM user's console session: a temporary ASIA key and MFA in the session attributes."""
        key = ("console", user.name, since)
        ident = self._idents.get(key)
        if ident is None:
            ident = {
                **self.signin_user(user, hashed_iam_id("ASIA", 20, self.seed, "console", user.name, since)),
                "sessionContext": {
                    "sessionIssuer": {},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": self.iso(since), "mfaAuthenticated": str(user.mfa).lower()},
                },
            }
            self._idents[key] = ident
        return ident

    def session_key(self, role: Role, session: str, t: int, period: int, offset: int) -> tuple[str, int]:
        """The ASIA key a role session holds at `t` and when it was issued; keys rotate every `period` s."""
        issued = (t - offset) // period * period + offset
        return hashed_iam_id("ASIA", 20, self.seed, role.name, session, issued), issued

    def role(self, role: Role, session: str, t: int, *, period: int, offset: int, ec2: bool = False) -> dict[str, Any]:
        """An `AssumedRole` identity (instance profile or Lambda execution role) with its session issuer."""
        issued = (t - offset) // period * period + offset
        key = (role.name, session, issued)
        ident = self._idents.get(key)
        if ident is None:
            asia = hashed_iam_id("ASIA", 20, self.seed, role.name, session, issued)
            ctx: dict[str, Any] = {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role.role_id,
                    "arn": role.arn,
                    "accountId": self.account,
                    "userName": role.name,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": self.iso(issued), "mfaAuthenticated": "false"},
            }
            if ec2:
                ctx["ec2RoleDelivery"] = "2.0"
            ident = {
                "type": "AssumedRole",
                "principalId": f"{role.role_id}:{session}",
                "arn": f"arn:aws:sts::{self.account}:assumed-role/{role.name}/{session}",
                "accountId": self.account,
                "accessKeyId": asia,
                "sessionContext": ctx,
            }
            if len(self._idents) > 20000:
                self._idents.clear()
            self._idents[key] = ident
        return ident

    def service(self, service: str) -> dict[str, Any]:
        key = ("service", service)
        ident = self._idents.get(key)
        if ident is None:
            ident = self._idents[key] = {"type": "AWSService", "invokedBy": service}
        return ident

    # ---- records ----------------------------------------------------------------------------------------
    def host(self, source: str, region: str) -> str:
        """The endpoint a client connected to, for `tlsDetails.clientProvidedHostHeader`."""
        key = (source, region)
        host = self._hosts.get(key)
        if host is None:
            prefix = source.removesuffix(".amazonaws.com")
            host = f"{prefix}.amazonaws.com" if source in _GLOBAL else f"{prefix}.{region}.amazonaws.com"
            self._hosts[key] = host
        return host

    def tls(self, host: str) -> dict[str, str]:
        d = self._tls.get(host)
        if d is None:
            d = self._tls[host] = {
                "tlsVersion": "TLSv1.3",
                "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": host,
            }
        return d

    def call(
        self,
        t: int,
        region: str,
        who: Caller,
        source: str,
        name: str,
        *,
        req: Any = None,
        resp: Any = None,
        ro: bool = True,
        error: tuple[str | None, str] | None = None,
        resources: list[dict[str, str]] | None = None,
        additional: dict[str, Any] | None = None,
        data: bool = False,
        etype: str = "AwsApiCall",
        tls: bool | str = True,
        vpce: str | None = None,
        request_id: str | bool = True,
        extra: dict[str, Any] | None = None,
    ) -> Event:
        """One record, keys in the order AWS writes them. `tls` True derives the endpoint, a str names it."""
        if source in _GLOBAL:
            region = "us-east-1"
        ident, ip, ua = who
        ev: Event = {
            "eventVersion": _VERSIONS.get(source, "1.08"),
            "userIdentity": ident,
            "eventTime": self.iso(t),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": ua,
        }
        if error:  # (code, message); a failed console sign-in has a message and no code
            if error[0]:
                ev["errorCode"] = error[0]
            ev["errorMessage"] = error[1]
        ev["requestParameters"] = req
        ev["responseElements"] = resp
        if additional is not None:
            ev["additionalEventData"] = additional
        if request_id:
            ev["requestID"] = uuid4(self.rng) if request_id is True else request_id
        ev["eventID"] = uuid4(self.rng)
        ev["readOnly"] = ro
        if resources:
            ev["resources"] = resources
        ev["eventType"] = etype
        ev["managementEvent"] = not data
        ev["recipientAccountId"] = self.account
        if vpce:
            ev["vpcEndpointId"] = vpce
            ev["vpcEndpointAccountId"] = self.account
        ev["eventCategory"] = "Data" if data else "Management"
        if tls:
            ev["tlsDetails"] = self.tls(self.host(source, region) if tls is True else tls)
        if extra:
            ev.update(extra)
        return ev

    # ---- recurring shapes -------------------------------------------------------------------------------
    def s3_object(
        self,
        t: int,
        region: str,
        who: Caller,
        *,
        op: str,
        bucket: str,
        key: str,
        kms: bool = False,
        size: int = 0,
        vpce: str | None = None,
        error: tuple[str, str] | None = None,
        request_id: str | None = None,
        host_id: str | None = None,
    ) -> Event:
        """An S3 data event on an object (GetObject, PutObject, HeadObject) with its Object and Bucket resources.

        `request_id` and `host_id` (x-amz-id-2) default to new random ones; a request planned for the server
        access logs too passes its own.
        """
        host = f"{bucket}.s3.{region}.amazonaws.com"
        put = op == "PutObject"
        resp = None
        if put and not error:
            resp = (
                {
                    "x-amz-server-side-encryption-aws-kms-key-id": self.estate.kms_keys[region],
                    "x-amz-server-side-encryption": "aws:kms",
                    "x-amz-server-side-encryption-bucket-key-enabled": "true",
                }
                if kms
                else {"x-amz-server-side-encryption": "AES256"}
            )
        additional = {
            "SignatureVersion": "SigV4",
            "CipherSuite": "TLS_AES_128_GCM_SHA256",
            "bytesTransferredIn": size if put else 0,
            "SSEApplied": "SSE_KMS" if kms else "Default_SSE_S3",
            "AuthenticationMethod": "AuthHeader",
            "x-amz-id-2": host_id or base64.b64encode(self.rng.randbytes(57)).decode(),
            "bytesTransferredOut": 0 if put or op == "HeadObject" or error else size,
        }
        resources = [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
            {"accountId": self.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
        ]
        return self.call(
            t,
            region,
            who,
            "s3.amazonaws.com",
            op,
            req={"bucketName": bucket, "Host": host, "key": key},
            resp=resp,
            ro=not put,
            error=error,
            resources=resources,
            additional=additional,
            data=True,
            tls=host,
            vpce=vpce,
            request_id=request_id or alnum(self.rng, 16).upper(),
        )

    def kms_for_service(
        self, t: int, region: str, ident: dict[str, Any], service: str, name: str, *, context: dict[str, str]
    ) -> Event:
        """A KMS Decrypt/GenerateDataKey a service (S3, Secrets Manager) made for a caller: `invokedBy` set."""
        key = self.estate.kms_keys[region]
        req: dict[str, Any] = {"encryptionContext": context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        if name == "GenerateDataKey":
            req = {"keyId": key, "encryptionContext": context, "keySpec": "AES_256"}
        return self.call(
            t,
            region,
            Caller({**ident, "invokedBy": service}, service, service),
            "kms.amazonaws.com",
            name,
            req=req,
            resources=[{"accountId": self.account, "type": "AWS::KMS::Key", "ARN": key}],
            tls=False,
        )

    def assume_role_by_service(
        self, t: int, region: str, role: Role, session: str, *, asia: str, lifetime: int
    ) -> Event:
        """STS AssumeRole made by EC2 (instance profile) or Lambda (execution role) for the code they run."""
        svc = role.service
        token = base64.b64encode(self.rng.randbytes(96)).decode()
        resp = {
            "credentials": {
                "accessKeyId": asia,
                "sessionToken": "IQoJb3JpZ2luX2Vj" + token,
                "expiration": expiration(t + lifetime),
            },
            "assumedRoleUser": {
                "assumedRoleId": f"{role.role_id}:{session}",
                "arn": f"arn:aws:sts::{self.account}:assumed-role/{role.name}/{session}",
            },
        }
        return self.call(
            t,
            region,
            Caller(self.service(svc), svc, svc),
            "sts.amazonaws.com",
            "AssumeRole",
            req={"roleArn": role.arn, "roleSessionName": session},
            resp=resp,
            resources=[{"accountId": self.account, "type": "AWS::IAM::Role", "ARN": role.arn}],
            tls=False,
        )
