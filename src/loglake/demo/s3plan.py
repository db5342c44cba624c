"""The requests to the sensitive bucket (`prod-int-payments-data`), planned once so the two logs that record
them agree: the trail's S3 data events (`cloudtrail_machines`) and the bucket's server access logs
(`s3access`) show the same requests at the same second, from the same address and role session, with the
same S3 request id (`requestID`) and extended request id (`x-amz-id-2`).

Apps and workers read, write, check and list objects through the VPC's S3 gateway endpoint all day, the
report generator (a Lambda function outside the VPC) reads some; a lifecycle rule expires old chargeback
files after midnight and now and then someone on the internet tries the bucket anonymously. Those last two
reach only the server access logs: CloudTrail records neither lifecycle actions nor requests that fail
authentication. Each 5-minute window has its own random stream.
"""

from __future__ import annotations

import base64
from typing import NamedTuple

from loglake.demo.cloudtrail_actors import day_str, poisson
from loglake.demo.estate import SENSITIVE_BUCKET, Eni, Estate
from loglake.demo.rand import ALNUM, derive
from loglake.demo.rhythm import mixed

WINDOW = 300
DAILY = 14000  # requests from the apps on a weekday at scale 1.0
ALPHA = 0.75
EXPIRE_DAILY = 5000  # objects the lifecycle rule expires each night
EXPIRE_START, EXPIRE_SPAN = 1020, 1500  # seconds after midnight UTC
ANONYMOUS_DAILY = 4
UPPER = ALNUM[26:]  # A-Z0-9: S3 request ids


class S3Req(NamedTuple):
    t: int  # epoch second
    ms: int  # millisecond in the second (orders records within a second)
    eni: Eni | None  # the instance whose role made it; None: a Lambda function, S3 itself or anonymous
    op: str  # GetObject, PutObject, HeadObject, ListObjects; S3.EXPIRE.OBJECT; AnonymousListObjects
    key: str  # object key, or the prefix of a listing
    size: int
    error: tuple[str, str] | None
    request_id: str  # 16 upper-case characters
    host_id: str  # x-amz-id-2
    total_ms: int
    turnaround_ms: int
    remote_ip: str = ""  # for requests not from an instance: the client's address ("" for S3 itself)
    function: str = ""  # the Lambda function that made it


def _mean(alpha: float) -> float:
    return sum(mixed(4 * 86400 + h * 3600 + 1800, alpha) for h in range(24)) / 24


_MEAN = _mean(ALPHA)


def accessors(estate: Estate) -> list[tuple[Eni, bool]]:
    """(instance, may write?) for each instance whose role reads or writes the bucket, readers first."""
    bucket = estate.buckets[SENSITIVE_BUCKET]
    out = []
    for eni in estate.instances(bucket.region):
        role = eni.role.name if eni.role else ""
        if role in bucket.readers or role in bucket.writers:
            out.append((eni, role in bucket.writers))
    return out


def window(estate: Estate, seed: int, w0: int, scale: float) -> list[S3Req]:
    """The requests to the bucket in [w0, w0 + 300), in time order."""
    rng = derive(seed, "s3plan", w0)
    bucket = estate.buckets[SENSITIVE_BUCKET]
    who = accessors(estate)
    out: list[S3Req] = []

    def ids() -> tuple[str, str]:
        return "".join(rng.choices(UPPER, k=16)), base64.b64encode(rng.randbytes(57)).decode()

    reporter = next((f for f in estate.lambdas.values() if f.role.name in bucket.readers), None)
    for _ in range(poisson(rng, DAILY / 288 / _MEAN * mixed(w0 + WINDOW // 2, ALPHA) * scale)):
        t, ms = w0 + int(rng.random() * WINDOW), int(rng.random() * 1000)
        eni, writes = who[int(rng.random() * len(who))]
        function = ip = ""
        if reporter is not None and rng.random() < 0.05:
            eni, writes, function = None, False, reporter.name
            ip = estate.lambda_ips[int(rng.random() * len(estate.lambda_ips))]
        r = rng.random()
        day = t // 86400 - int(rng.random() ** 3 * 60)
        key = bucket.key_patterns[int(rng.random() * len(bucket.key_patterns))].format(
            n=int(rng.random() ** 2 * 40000), d=day_str(day)
        )
        size = int(rng.lognormvariate(10, 1.6))
        error = None
        if writes and r < 0.3:
            op = "PutObject"
        elif r < 0.42:
            op = "HeadObject"
        elif r < 0.5:
            op, key, size = "ListObjects", key.split("/", 1)[0] + "/", 0
        else:
            op = "GetObject"
        if op in ("GetObject", "HeadObject") and rng.random() < 0.015:
            error = ("NoSuchKey", "The specified key does not exist.")
        request_id, host_id = ids()
        total = 8 + int(size / 60_000) + int(rng.random() * 40)
        turnaround = 4 + int(rng.random() * total)
        out.append(S3Req(t, ms, eni, op, key, size, error, request_id, host_id, total, turnaround, ip, function))
    since_midnight = w0 % 86400
    if EXPIRE_START <= since_midnight < EXPIRE_START + EXPIRE_SPAN:
        for _ in range(poisson(rng, EXPIRE_DAILY * WINDOW / EXPIRE_SPAN * scale)):
            t, ms = w0 + int(rng.random() * WINDOW), int(rng.random() * 1000)
            old = day_str(t // 86400 - 400 - int(rng.random() * 30))
            key = f"chargebacks/{old}/case-{int(rng.random() * 9_999_999):07d}.json"
            request_id, host_id = ids()
            size = int(rng.lognormvariate(8, 0.8))
            out.append(S3Req(t, ms, None, "S3.EXPIRE.OBJECT", key, size, None, request_id, host_id, 0, 0))
    if rng.random() < ANONYMOUS_DAILY / 288:
        t, ms = w0 + int(rng.random() * WINDOW), int(rng.random() * 1000)
        request_id, host_id = ids()
        ip = estate.internet_v4[int(rng.random() * len(estate.internet_v4))]
        error = ("AccessDenied", "Access Denied")
        out.append(S3Req(t, ms, None, "AnonymousListObjects", "", 0, error, request_id, host_id, 3, 2, ip))
    out.sort(key=_when)
    return out


def listing_bytes(r: S3Req) -> int:
    """The size of a ListObjectsV2 answer (the same in both logs)."""
    return 1_200 + int(r.request_id[:6], 36) % 24_000


def _when(r: S3Req) -> tuple[int, int]:
    return r.t, r.ms
