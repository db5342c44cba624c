"""Amazon S3 server access logs of the sensitive bucket (`prod-int-payments-data`), as S3 delivers them:
plain (uncompressed) objects every few minutes, named for their delivery time,

    s3-access-logs/prod-int-payments-data/YYYY-MM-DD-HH-MM-SS-<16 hex digits>

one request a line in the space-separated format with today's 27 fields (`Host Id` ... `Source Region` at
the end; quoted Request-URI, Referer and User-Agent; `-` for missing values). The apps' requests come from
`s3plan`, the attacker's from the story's CloudTrail data events, with the same request ids: the server
access logs and the trail tell the same story, except that the access logs also show what CloudTrail does
not (lifecycle expirations, anonymous attempts) and keep logging while the trail is stopped.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import quote

from loglake.demo import s3plan
from loglake.demo.base import Context, LogObject
from loglake.demo.cloudtrail_events import UA_JAVA, UA_LAMBDA_PY
from loglake.demo.estate import SENSITIVE_BUCKET, Estate
from loglake.demo.rand import derive

TLS = "SigV4 TLS_AES_128_GCM_SHA256 AuthHeader"
_OPERATIONS = {
    "GetObject": ("REST.GET.OBJECT", "GET"),
    "HeadObject": ("REST.HEAD.OBJECT", "HEAD"),
    "PutObject": ("REST.PUT.OBJECT", "PUT"),
}


def target_prefix(bucket: str = SENSITIVE_BUCKET) -> str:
    """The logging configuration's target prefix in the log bucket."""
    return f"s3-access-logs/{bucket}/"


def canonical_id(account: str) -> str:
    """The account's canonical user id (64 hex digits), as the Bucket Owner field shows it."""
    return hashlib.sha256(f"canonical:{account}".encode()).hexdigest()


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    """The bucket's access log objects for the window, in delivery order."""
    estate = ctx.estate
    bucket = estate.buckets[SENSITIVE_BUCKET]
    if region != bucket.region:
        return
    rng = derive(ctx.seed, "s3access", region)
    lines = _Lines(estate, bucket.name, region)
    story: dict[int, list[tuple[int, int, str]]] = {}
    for t, event in ctx.story.cloudtrail.get(region, []):
        if (
            event["eventSource"] == "s3.amazonaws.com"
            and (event.get("requestParameters") or {}).get("bucketName") == bucket.name
        ):
            story.setdefault(t - (t - ctx.start) % s3plan.WINDOW, []).append(lines.from_event(t, event))
    prefix = target_prefix(bucket.name)
    for w0 in range(ctx.start, ctx.end, s3plan.WINDOW):
        records = [(r.t, r.ms, lines.planned(r)) for r in s3plan.window(estate, ctx.seed, w0, ctx.scale)]
        records += story.get(w0, [])
        if not records:
            continue
        records.sort()
        delivered = w0 + s3plan.WINDOW + 20 + int(rng.random() * 600)
        name = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(delivered)) + f"-{rng.getrandbits(64):016X}"
        body = "".join(line for _, _, line in records).encode()
        yield LogObject("s3access", prefix + name, body, len(records), gzip=False)


class _Request(NamedTuple):
    """The fields of an authenticated request's line that vary."""

    t: int
    ip: str
    requester: str
    request_id: str
    op: str  # GetObject, HeadObject, PutObject, ListObjects
    key: str  # object key, or the prefix of a listing
    error: tuple[str, str] | None
    size: int  # object size, or the listing's size
    total: int  # ms
    turnaround: int  # ms
    ua: str
    host_id: str
    source_region: str


class _Lines:
    def __init__(self, estate: Estate, bucket: str, region: str) -> None:
        self.account = account = estate.account
        self.roles = {fn.name: fn.role.name for fn in estate.lambdas.values()}
        self.bucket = bucket
        self.region = region
        self.head = f"{canonical_id(account)} {bucket} "
        self.host = f"{bucket}.s3.{region}.amazonaws.com"
        self._times: dict[int, str] = {}

    def when(self, t: int) -> str:
        s = self._times.get(t)
        if s is None:
            if len(self._times) > 4096:
                self._times.clear()
            s = self._times[t] = time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime(t))
        return s

    def planned(self, r: s3plan.S3Req) -> str:
        if r.op == "S3.EXPIRE.OBJECT":
            return (
                f"{self.head}{self.when(r.t)} - AmazonS3 {r.request_id} S3.EXPIRE.OBJECT {_key(r.key)} "
                f'"-" - - - {r.size} - - "-" "-" - {r.host_id} - - - - - - - -\n'
            )
        if r.op == "AnonymousListObjects":
            return (
                f"{self.head}{self.when(r.t)} {r.remote_ip} - {r.request_id} REST.GET.BUCKET - "
                f'"GET /?list-type=2&max-keys=1000 HTTP/1.1" 403 AccessDenied 243 - {r.total_ms} - "-" '
                f'"python-requests/2.31.0" - {r.host_id} - TLS_AES_128_GCM_SHA256 - {self.bucket}.s3.amazonaws.com '
                "TLSv1.3 - - -\n"
            )
        if r.eni is not None:
            role, session, ip, ua = r.eni.role.name if r.eni.role else "", r.eni.instance_id, r.eni.private_ip, UA_JAVA
        else:
            role, session, ip, ua = self.roles[r.function], r.function, r.remote_ip, UA_LAMBDA_PY
        requester = f"arn:aws:sts::{self.account}:assumed-role/{role}/{session}"
        size = s3plan.listing_bytes(r) if r.op == "ListObjects" else r.size
        return self.line(
            _Request(
                r.t,
                ip,
                requester,
                r.request_id,
                r.op,
                r.key,
                r.error,
                size,
                r.total_ms,
                r.turnaround_ms,
                ua,
                r.host_id,
                self.region,
            )
        )

    def from_event(self, t: int, e: dict[str, Any]) -> tuple[int, int, str]:
        """A line for a CloudTrail S3 data event of the story (same time, address, identity and request id)."""
        params = e.get("requestParameters") or {}
        extra = e.get("additionalEventData") or {}
        request_id = e.get("requestID") or ""
        host_id = extra.get("x-amz-id-2") or _host_id(request_id)
        op = e["eventName"]
        key = params.get("prefix", "") if op == "ListObjects" else params.get("key", "")
        size = int(extra.get("bytesTransferredOut") or 0) or 1_200 + int(request_id[:6] or "0", 36) % 24_000
        error = (e["errorCode"], e.get("errorMessage", "")) if e.get("errorCode") else None
        ms = int(hashlib.md5(request_id.encode()).hexdigest()[:3], 16) % 1000
        total = 10 + size // 60_000 + ms % 30
        ua = e["userAgent"].removeprefix("[").removesuffix("]")
        region = "-" if not e["sourceIPAddress"].startswith("10.") else self.region
        ip, arn = e["sourceIPAddress"], e["userIdentity"]["arn"]
        request = _Request(t, ip, arn, request_id, op, key, error, size, total, 4 + total // 3, ua, host_id, region)
        return t, ms, self.line(request)

    def line(self, r: _Request) -> str:
        op, key, error, size = r.op, r.key, r.error, r.size
        if op == "ListObjects":
            operation, enc = "REST.GET.BUCKET", "-"
            uri = f"GET /?list-type=2&prefix={quote(key, safe='')}&encoding-type=url HTTP/1.1"
            status, err, sent, obj = "200", "-", str(size), "-"
        else:
            operation, method = _OPERATIONS[op]
            enc = _key(key)
            uri = f"{method} /{enc} HTTP/1.1"
            if error:
                status, err, sent, obj = "404", error[0], "243" if method == "GET" else "-", "-"
            elif method == "GET":
                status, err, sent, obj = "200", "-", str(size or "-"), str(size)
            else:
                status, err, sent, obj = "200", "-", "-", str(size)
        return (
            f'{self.head}{self.when(r.t)} {r.ip} {r.requester} {r.request_id} {operation} {enc} "{uri}" {status} '
            f'{err} {sent} {obj} {r.total} {r.turnaround} "-" "{r.ua}" - {r.host_id} {TLS} {self.host} TLSv1.3 - - '
            f"{r.source_region}\n"
        )


def _key(key: str) -> str:
    return quote(key, safe="/-_.~") if key else "-"


def _host_id(request_id: str) -> str:
    return base64.b64encode(hashlib.sha512(request_id.encode()).digest()[:57]).decode()
