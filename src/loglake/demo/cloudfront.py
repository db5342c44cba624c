"""CloudFront standard logs (legacy, to S3) of the distribution in front of www.anycompany.example.

    cloudfront-logs/<distribution id>.YYYY-MM-DD-HH.<unique>.gz

A file per hour of requests and group of edge locations (CloudFront consolidates its edges' logs into a few
files per period), W3C format: `#Version: 1.0` and `#Fields:` header lines, then 33 tab-separated fields
per request; the user agent, referer and query are URL-encoded as CloudFront encodes them (`%20`, ...).
Requests missing the cache went on to the ALB; `x-edge-request-id` is the `X-Amz-Cf-Id` header WAF logged
on the origin request.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

from loglake.demo.base import Context, LogObject
from loglake.demo.web import render
from loglake.demo.webcatalog import cf_encode
from loglake.demo.webrecords import US, CfReq, WebWindow, cf_id_str
from loglake.demo.webstack import CLOUDFRONT_PREFIX, WWW_HOST, build_webstack

FIELDS = (
    "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) "
    "cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
    "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status "
    "fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len "
    "sc-range-start sc-range-end"
)
HEADER = f"#Version: 1.0\n#Fields: {FIELDS}\n".encode()


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    yield from render(ctx, region, [Writer(ctx)])


class Writer:
    def __init__(self, ctx: Context) -> None:
        stack = build_webstack(ctx.seed)
        self.seed = ctx.seed
        self.dist = stack.distribution_id
        self.domain = stack.distribution_domain
        self.hours: dict[int, list[CfReq]] = {}
        self._encoded: dict[str, str] = {}
        self._dates: dict[int, str] = {}

    def feed(self, win: WebWindow) -> Iterator[LogObject]:
        for r in win.cf:
            self.hours.setdefault(r.done // US // 3600, []).append(r)
        done = [h for h in self.hours if (h + 1) * 3600 <= win.w0 + 300]
        for hour in sorted(done):
            yield from self._flush(hour)

    def close(self) -> Iterator[LogObject]:
        for hour in sorted(self.hours):
            yield from self._flush(hour)

    def _flush(self, hour: int) -> Iterator[LogObject]:
        records = self.hours.pop(hour)
        parts = min(4, 1 + len(records) // 3000)  # more edge groups, more files, in a busy hour
        groups: list[list[CfReq]] = [[] for _ in range(parts)]
        for r in records:
            groups[_edge_group(r.edge) % parts].append(r)
        stamp = time.strftime("%Y-%m-%d-%H", time.gmtime(hour * 3600))
        for i, group in enumerate(groups):
            if not group:
                continue
            unique = hashlib.blake2b(f"{self.seed}:{hour}:{i}".encode(), digest_size=4).hexdigest()
            key = f"{CLOUDFRONT_PREFIX}{self.dist}.{stamp}.{unique}.gz"
            group.sort()
            body = HEADER + "".join([self.line(r) for r in group]).encode()
            yield LogObject("cloudfront", key, body, len(group))

    def enc(self, value: str) -> str:
        """`cf_encode`, cached: paths, referers, user agents and queries repeat."""
        out = self._encoded.get(value)
        if out is None:
            out = cf_encode(value)
            if len(self._encoded) < 50_000:
                self._encoded[value] = out
        return out

    def line(self, r: CfReq) -> str:
        sec = r.done // US
        day, second = divmod(sec, 86400)
        date = self._dates.get(day)
        if date is None:
            date = self._dates[day] = time.strftime("%Y-%m-%d", time.gmtime(sec))
        h, rem = divmod(second, 3600)
        m, s = divmod(rem, 60)
        proto, cipher = (
            ("TLSv1.3", "TLS_AES_128_GCM_SHA256") if r.agent.h2 else ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
        )
        result = r.result
        return (
            f"{date}\t{h:02d}:{m:02d}:{s:02d}\t{r.edge}\t{r.sc_bytes}\t{r.client}\t{r.method}\t{self.domain}\t"
            f"{self.enc(r.path)}\t{r.status}\t{self.enc(r.referer)}\t{self.enc(r.agent.ua)}\t{self.enc(r.query)}\t-\t"
            f"{result}\t{cf_id_str(r.req_id)}\t{WWW_HOST}\thttps\t{r.cs_bytes}\t{r.taken / 1e6:.3f}\t-\t{proto}\t"
            f"{cipher}\t{result}\t{r.proto}\t-\t-\t{r.port}\t{r.ttfb / 1e6:.3f}\t{result}\t{r.ctype}\t{r.clen}\t-\t-\n"
        )


def _edge_group(edge: str) -> int:
    return sum(map(ord, edge[:3]))
