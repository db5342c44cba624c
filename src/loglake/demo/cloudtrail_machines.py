"""The machines of one region in the trail: agents, apps, Lambdas, monitoring and the AWS services themselves.

They run around the clock: SSM agents report every five minutes, apps read and write S3 through the VPC's
gateway endpoint (private source IP, `vpcEndpointId`) with the KMS calls S3 makes on their behalf (the
payments bucket's requests come from `s3plan`, shared with its server access logs), EC2 and
Lambda assume roles when credentials are due (`AWSService` identities), Grafana polls CloudWatch, and
Secrets Manager rotates a secret every night (`AwsServiceEvent`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from loglake.demo import cloudtrail_events as ev
from loglake.demo import s3plan
from loglake.demo.cloudtrail_actors import (
    EC2_KEY_PERIOD,
    LAMBDA_KEY_PERIOD,
    RegionActors,
    day_str,
    key_offset,
    next_boundary,
)
from loglake.demo.cloudtrail_events import Caller
from loglake.demo.estate import SENSITIVE_BUCKET, Bucket, Eni
from loglake.demo.rand import hex_id


class Machines(RegionActors):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s, n = self.share, len(self.instances)
        self.s3_pairs = self._s3_access_pairs()
        # the payments bucket's requests are planned (`s3plan`): the rest of the apps' S3 calls stay random
        every = len(self._s3_access_pairs(planned=True)) or 1
        self.activities = [
            (12.0 * n, 0.0, self.ssm_heartbeat),
            (6.0 * n, 0.0, self.ssm_associations),
            (620.0 * s * len(self.s3_pairs) / every, 0.75, self.app_s3),
            (80.0 * s, 0.5, self.lambda_s3),
            (55.0 * s, 0.4, self.secrets),
            (75.0 * s, 0.6, self.app_kms),
            (110.0 * s, 0.1, self.monitoring),
            (25.0 * s, 0.5, self.dynamodb),
        ]
        self.tables = self.e.tables[self.region]
        self.apps = [e for e in self.instances if e.kind in ("app", "worker")] or self.instances
        self.grafana = next((e for e in self.instances if e.kind == "worker"), self.instances[0])
        self.payments = self.e.buckets[SENSITIVE_BUCKET]
        self.ssm_info = {e.eni_id: self._ssm_info(e) for e in self.instances}

    def bucket(self, b0: int, span: int) -> None:
        super().bucket(b0, span)
        self.planned_s3(b0, span)
        self.credential_refreshes(b0, span)
        self.nightly_rotation(b0, span)

    # ---- SSM agents -------------------------------------------------------------------------------------------
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

    def ssm_heartbeat(self, t: int) -> None:
        eni = self.rng.choice(self.instances)
        who = self.instance(eni, t, ev.UA_SSM_AGENT)
        self.api(t, who, "ssm.amazonaws.com", "UpdateInstanceInformation", req=self.ssm_info[eni.eni_id], ro=False)

    def ssm_associations(self, t: int) -> None:
        eni = self.rng.choice(self.instances)
        req = {"instanceId": eni.instance_id, "maxResults": 20}
        self.api(t, self.instance(eni, t, ev.UA_SSM_AGENT), "ssm.amazonaws.com", "ListInstanceAssociations", req=req)

    # ---- S3 and the KMS calls S3 makes -------------------------------------------------------------------------
    def _s3_access_pairs(self, *, planned: bool = False) -> list[tuple[Eni, Bucket, bool]]:
        """(instance, bucket, writes?) for every instance whose role may read or write a bucket of the region
        (with `planned`, also the payments bucket, whose requests `planned_s3` emits)."""
        pairs = []
        for bucket in (b for b in self.e.buckets.values() if b.region == self.region):
            if bucket.name == SENSITIVE_BUCKET and not planned:
                continue
            for eni in self.instances:
                role = eni.role.name if eni.role else ""
                pairs += [(eni, bucket, False)] if role in bucket.readers else []
                pairs += [(eni, bucket, True)] if role in bucket.writers else []
        return pairs

    def app_s3(self, t: int) -> None:
        """Apps read and write their buckets through the VPC's S3 gateway endpoint."""
        if not self.s3_pairs:
            return
        rng = self.rng
        eni, bucket, writes = rng.choice(self.s3_pairs)
        op = "PutObject" if writes and rng.random() < 0.6 else ("HeadObject" if rng.random() < 0.2 else "GetObject")
        who = self.instance(eni, t, f"[{ev.UA_JAVA}]", private=True)
        self.s3(t, who, op, bucket, self.vpc.s3_endpoint_id)

    def lambda_s3(self, t: int) -> None:
        rng = self.rng
        fns = [f for f in self.lambdas if f.name != "invoice-webhook"]
        if not fns:
            return
        fn = rng.choice(fns)
        role = fn.role.name
        buckets = [
            b
            for b in self.e.buckets.values()
            if b.region == self.region and role in b.readers + b.writers and b.name != SENSITIVE_BUCKET
        ]
        if not buckets:
            return
        bucket = rng.choice(buckets)
        op = "PutObject" if role in bucket.writers and rng.random() < 0.5 else "GetObject"
        self.s3(
            t, self.lambda_fn(fn, t, f"[{ev.UA_LAMBDA_PY}]"), op, bucket, self.vpc.s3_endpoint_id if fn.in_vpc else None
        )

    def planned_s3(self, b0: int, span: int) -> None:
        """The planned requests to the payments bucket (`s3plan`) made in [b0, b0 + span), as data events."""
        bucket = self.payments
        if bucket.region != self.region:
            return
        for w0 in range(b0 - b0 % s3plan.WINDOW, b0 + span, s3plan.WINDOW):
            for r in s3plan.window(self.e, self.seed, w0, self.scale):
                if b0 <= r.t < b0 + span and (r.eni is not None or r.function):
                    self._planned(r, bucket)

    def _planned(self, r: s3plan.S3Req, bucket: Bucket) -> None:
        t, vpce = r.t, self.vpc.s3_endpoint_id
        if r.eni is not None:
            who = self.instance(r.eni, t, f"[{ev.UA_JAVA}]", private=True)
        else:
            fn = self.e.lambdas[r.function]
            offset = key_offset(fn.name, LAMBDA_KEY_PERIOD)
            ident = self.b.role(fn.role, fn.name, t, period=LAMBDA_KEY_PERIOD, offset=offset)
            who, vpce = Caller(ident, r.remote_ip, f"[{ev.UA_LAMBDA_PY}]"), None
        if r.op == "ListObjects":
            host = f"{bucket.name}.s3.{self.region}.amazonaws.com"
            req = {"list-type": "2", "bucketName": bucket.name, "Host": host, "prefix": r.key, "encoding-type": "url"}
            additional = {
                "SignatureVersion": "SigV4",
                "CipherSuite": "TLS_AES_128_GCM_SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": r.host_id,
                "bytesTransferredOut": s3plan.listing_bytes(r),
            }
            resources = [{"accountId": self.e.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket.name}"}]
            self.api(
                t,
                who,
                "s3.amazonaws.com",
                "ListObjects",
                req=req,
                resources=resources,
                additional=additional,
                data=True,
                tls=host,
                vpce=vpce,
                request_id=r.request_id,
            )
            return
        event = self.b.s3_object(
            t,
            self.region,
            who,
            op=r.op,
            bucket=bucket.name,
            key=r.key,
            kms=bucket.kms,
            size=r.size,
            vpce=vpce,
            error=r.error,
            request_id=r.request_id,
            host_id=r.host_id,
        )
        self.emit(t, event)
        if bucket.kms and not r.error and r.op != "HeadObject" and self.rng.random() < 0.5:
            name = "GenerateDataKey" if r.op == "PutObject" else "Decrypt"
            context = {"aws:s3:arn": f"arn:aws:s3:::{bucket.name}"}
            self.emit(t, self.b.kms_for_service(t, self.region, who.ident, "s3.amazonaws.com", name, context=context))

    def s3(self, t: int, who: Caller, op: str, bucket: Bucket, vpce: str | None) -> None:
        """An object read or write (1.5% of reads miss), and half the time the KMS call S3 makes for it."""
        rng = self.rng
        day = t // 86400 - int(rng.random() ** 3 * 60)
        key = rng.choice(bucket.key_patterns).format(n=int(rng.random() ** 2 * 40000), d=day_str(day))
        error = (
            ("NoSuchKey", "The specified key does not exist.") if op != "PutObject" and rng.random() < 0.015 else None
        )
        size = int(rng.lognormvariate(10, 1.6))
        event = self.b.s3_object(
            t, self.region, who, op=op, bucket=bucket.name, key=key, kms=bucket.kms, size=size, vpce=vpce, error=error
        )
        self.emit(t, event)
        if bucket.kms and not error and op != "HeadObject" and rng.random() < 0.5:
            name = "GenerateDataKey" if op == "PutObject" else "Decrypt"
            context = {"aws:s3:arn": f"arn:aws:s3:::{bucket.name}"}
            self.emit(t, self.b.kms_for_service(t, self.region, who.ident, "s3.amazonaws.com", name, context=context))

    # ---- secrets, keys, tables, metrics ------------------------------------------------------------------------
    def secrets(self, t: int) -> None:
        who = self.instance(self.rng.choice(self.apps), t, ev.UA_JAVA)
        secret = self.rng.choice(self.e.secrets[self.region])
        self.api(t, who, "secretsmanager.amazonaws.com", "GetSecretValue", req={"secretId": secret})
        if self.rng.random() < 0.5:
            context = {"SecretARN": secret, "SecretVersionId": _version_id(secret)}
            svc = "secretsmanager.amazonaws.com"
            self.emit(t, self.b.kms_for_service(t, self.region, who.ident, svc, "Decrypt", context=context))

    def app_kms(self, t: int) -> None:
        """Envelope encryption of card tokens by the app: GenerateDataKey/Decrypt called directly."""
        key = self.e.kms_keys[self.region]
        context = {"purpose": "card-token"}
        if self.rng.random() < 0.4:
            name, req = "GenerateDataKey", {"keyId": key, "keySpec": "AES_256", "encryptionContext": context}
        else:
            name, req = "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": context}
        who = self.instance(self.rng.choice(self.apps), t, ev.UA_JAVA)
        resources = [{"accountId": self.e.account, "type": "AWS::KMS::Key", "ARN": key}]
        self.api(t, who, "kms.amazonaws.com", name, req=req, resources=resources)

    def dynamodb(self, t: int) -> None:
        who = self.instance(self.rng.choice(self.apps), t, ev.UA_JAVA)
        self.api(t, who, "dynamodb.amazonaws.com", "DescribeTable", req={"tableName": self.rng.choice(self.tables)})

    def monitoring(self, t: int) -> None:
        """Grafana on a worker polls CloudWatch and EC2 around the clock."""
        r = self.rng.random()
        if r < 0.55:
            req = {"startTime": self.b.iso(t - 3600), "endTime": self.b.iso(t), "maxDatapoints": 1440}
            src, name = "monitoring.amazonaws.com", "GetMetricData"
        elif r < 0.7:
            req = {"namespace": self.rng.choice(("AWS/EC2", "AWS/ApplicationELB", "AWS/RDS"))}
            src, name = "monitoring.amazonaws.com", "ListMetrics"
        elif r < 0.85:
            src, name, req = "monitoring.amazonaws.com", "DescribeAlarms", {"maxRecords": 100}
        else:
            src, name, req = "ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}
        self.api(t, self.instance(self.grafana, t, ev.UA_GRAFANA), src, name, req=req)

    # ---- AWS services ------------------------------------------------------------------------------------------
    def credential_refreshes(self, b0: int, span: int) -> None:
        """EC2 and Lambda assume their roles when credentials are due; Lambdas then open a log stream."""
        for eni in self.instances:
            assert eni.role and eni.instance_id
            offset = key_offset(eni.instance_id, EC2_KEY_PERIOD)
            t = next_boundary(b0, EC2_KEY_PERIOD, offset)
            if t < b0 + span:
                asia, _ = self.b.session_key(eni.role, eni.instance_id, t, EC2_KEY_PERIOD, offset)
                lifetime = EC2_KEY_PERIOD + 900
                event = self.b.assume_role_by_service(
                    t, self.region, eni.role, eni.instance_id, asia=asia, lifetime=lifetime
                )
                self.emit(t, event)
        for fn in self.lambdas:
            offset = key_offset(fn.name, LAMBDA_KEY_PERIOD)
            t = next_boundary(b0, LAMBDA_KEY_PERIOD, offset)
            if t < b0 + span:
                asia, _ = self.b.session_key(fn.role, fn.name, t, LAMBDA_KEY_PERIOD, offset)
                self.emit(t, self.b.assume_role_by_service(t, self.region, fn.role, fn.name, asia=asia, lifetime=43200))
                stream = f"{day_str(t // 86400)}/[$LATEST]{hex_id(self.rng, '', 32)}"
                req = {"logGroupName": f"/aws/lambda/{fn.name}", "logStreamName": stream}
                who = self.lambda_fn(fn, t + 1, ev.UA_LAMBDA_LOGS)
                self.api(t + 1, who, "logs.amazonaws.com", "CreateLogStream", req=req, ro=False)

    def nightly_rotation(self, b0: int, span: int) -> None:
        """Secrets Manager rotates the DB secret every night: AwsServiceEvent records from the service."""
        t = b0 // 86400 * 86400 + 3 * 3600 + 600
        if not b0 <= t < b0 + span:
            return
        svc = "secretsmanager.amazonaws.com"
        who = Caller({"accountId": self.e.account, "invokedBy": svc}, svc, svc)
        secret = {"SecretId": self.e.secrets[self.region][0]}
        for dt_, name in ((0, "RotationStarted"), (41, "RotationSucceeded")):
            self.api(
                t + dt_,
                who,
                svc,
                name,
                ro=False,
                additional=secret,
                etype="AwsServiceEvent",
                request_id=False,
                tls=False,
            )


def _version_id(secret: str) -> str:
    """A stable version id per secret (a real one changes at each rotation; stable is enough here)."""
    h = hashlib.md5(secret.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
