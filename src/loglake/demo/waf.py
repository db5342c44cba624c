"""AWS WAF logs of the web ACL `prod-ext-web-acl` on the ALB, delivered to S3 every 5 minutes:

    AWSLogs/<account>/WAFLogs/<region>/<web ACL>/YYYY/MM/DD/HH/mm/
        <account>_waflogs_<region>_<web ACL>_<YYYYMMDDTHHmmZ>_<hash>.log.gz

One JSON object per line and request, in AWS's key order: the terminating rule and action, the rule groups
evaluated (`ruleGroupList`), rate-based and counting rules, the request as WAF saw it (`httpRequest` with
its headers; `requestId` is the ALB's trace id), labels and TLS fingerprints. The logging configuration's
filter drops allowed requests labelled as static assets, so fewer requests are logged than the ALB served.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import orjson

from loglake.demo.base import Context, LogObject
from loglake.demo.rand import stamp
from loglake.demo.web import render
from loglake.demo.webcatalog import BROWSERS
from loglake.demo.webrecords import AlbReq, WebWindow, cf_id_str, trace_str
from loglake.demo.webstack import build_webstack
from loglake.demo.webwaf import GROUPS, RATE_LIMIT, RATE_RULE, RATE_WINDOW, Verdict

_BROWSER_UAS = frozenset(a.ua for a in BROWSERS)
_ACCEPT = {
    "text/html": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "application/json": "application/json, text/plain, */*",
    "text/css": "text/css,*/*;q=0.1",
    "image/webp": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "image/png": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "image/svg+xml": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
}
# CloudFront's own TLS client fingerprints, on its fetches from the origin
CLOUDFRONT_JA3 = "8f8b3b1e0d6c2f8e0a7c9b5d4e3f2a1b"
CLOUDFRONT_JA4 = "t13d1312h1_2b729b4bf6f3_8f9b1e2c7d6a"


def iter_objects(ctx: Context, region: str) -> Iterator[LogObject]:
    yield from render(ctx, region, [Writer(ctx)])


def logged(v: Verdict) -> bool:
    """The logging filter: keep everything but allowed requests labelled static assets."""
    return v.action != "ALLOW" or not v.counted


class Writer:
    def __init__(self, ctx: Context) -> None:
        stack = build_webstack(ctx.seed)
        self.seed = ctx.seed
        self.account, self.region, self.acl = stack.account, stack.region, stack.web_acl_name
        self.head = (
            f'"formatVersion":1,"webaclId":"{stack.web_acl_arn}",'.encode(),
            f'"httpSourceName":"ALB","httpSourceId":"{stack.account}-{stack.alb_resource}",'.encode(),
        )
        self.rate_rule_id = hashlib.md5(f"{stack.web_acl_id}:{RATE_RULE}".encode()).hexdigest()[:36]
        self._verdicts: dict[Verdict, tuple[bytes, bytes, bytes]] = {}
        self._via: dict[str, str] = {}

    def feed(self, win: WebWindow) -> Iterator[LogObject]:
        lines, blocked = [], 0
        for r in sorted(win.alb, key=_start):
            if logged(r.verdict):
                lines.append(self.line(r))
                blocked += r.verdict.action == "BLOCK"
        if not lines:
            return
        t = win.w0
        acl, region = self.acl, self.region
        digest = hashlib.blake2b(f"{self.seed}:waf:{t}".encode(), digest_size=4).hexdigest()
        name = f"{self.account}_waflogs_{region}_{acl}_{stamp(t)}_{digest}.log.gz"
        key = f"AWSLogs/{self.account}/WAFLogs/{region}/{acl}/{stamp(t, '%Y/%m/%d/%H/%M')}/{name}"
        yield LogObject("waf", key, b"".join(lines), len(lines), counts=(("waf_blocked", blocked),))

    def close(self) -> Iterator[LogObject]:
        return iter(())

    def line(self, r: AlbReq) -> bytes:
        verdict, middle, labels = self._fragments(r.verdict)
        link, http = r.link, r.http
        via_cf = bool(r.cf_id)
        request: dict[str, Any] = {
            "clientIp": link.client,
            "country": r.country,
            "headers": self._headers(r),
            "uri": http.path,
            "args": http.query,
            "httpVersion": link.proto,
            "httpMethod": http.method,
            "requestId": trace_str(r.t, r.trace),
            "fragment": "",
            "scheme": "http" if link.kind == "http" else "https",
            "host": http.host,
        }
        ja3, ja4 = (CLOUDFRONT_JA3, CLOUDFRONT_JA4) if via_cf else (http.agent.ja3, http.agent.ja4)
        tail = f',"ja3Fingerprint":"{ja3}","ja4Fingerprint":"{ja4}"'
        if http.method == "POST":
            tail += ',"requestBodySize":600,"requestBodySizeInspectedByWAF":600'
        return b"".join(
            (
                b'{"timestamp":',
                str(r.t // 1000).encode(),
                b",",
                self.head[0],
                verdict,
                self.head[1],
                middle,
                b',"httpRequest":',
                orjson.dumps(request),
                labels,
                tail.encode(),
                b"}\n",
            )
        )

    def _headers(self, r: AlbReq) -> list[dict[str, str]]:
        link, http = r.link, r.http
        ua = http.agent.ua
        title = link.proto != "HTTP/2.0"
        out = [("Host", http.host)]
        if ua != "-":
            out.append(("User-Agent", ua))
        if ua in _BROWSER_UAS:
            out.append(("Accept", _ACCEPT.get(r.ctype, "*/*")))
            out.append(("Accept-Encoding", "gzip, deflate, br"))
            out.append(("Accept-Language", "en-US,en;q=0.9"))
        else:
            out.append(("Accept", "*/*"))
        if http.referer:
            out.append(("Referer", http.referer))
        if http.method == "POST":
            out.append(("Content-Type", "application/x-www-form-urlencoded"))
            out.append(("Content-Length", "600"))
        if r.cf_id:
            out.append(("X-Forwarded-For", r.viewer))
            out.append(("Via", f"2.0 {self._via_host(link.client)}.cloudfront.net (CloudFront)"))
            out.append(("X-Amz-Cf-Id", cf_id_str(r.cf_id)))
            out.append(("CloudFront-Viewer-Country", r.country))
        if title:
            return [{"name": n, "value": v} for n, v in out]
        return [{"name": n.lower(), "value": v} for n, v in out]

    def _via_host(self, ip: str) -> str:
        host = self._via.get(ip)
        if host is None:
            host = self._via[ip] = hashlib.md5(f"via:{ip}".encode()).hexdigest()
        return host

    def _fragments(self, v: Verdict) -> tuple[bytes, bytes, bytes]:
        """The JSON of a verdict, cached: the terminating rule; rule groups to responseCodeSent; labels."""
        cached = self._verdicts.get(v)
        if cached is not None:
            return cached
        details = [{"conditionType": c, "location": loc, "matchedData": list(data)} for c, loc, data in v.details]
        if details and details[0]["conditionType"] == "SQL_INJECTION":
            details[0] = {"conditionType": "SQL_INJECTION", "sensitivityLevel": "LOW", **details[0]}
        terminating = {
            "terminatingRuleId": v.rule_id,
            "terminatingRuleType": v.rule_type,
            "action": v.action,
            "terminatingRuleMatchDetails": details,
        }
        groups = []
        for i in range(v.groups):
            last = v.rule_type == "MANAGED_RULE_GROUP" and i == v.groups - 1
            rule = {"ruleId": v.group_rule, "action": "BLOCK", "ruleMatchDetails": None} if last else None
            groups.append(
                {
                    "ruleGroupId": GROUPS[i][1],
                    "terminatingRule": rule,
                    "nonTerminatingMatchingRules": [],
                    "excludedRules": None,
                    "customerConfig": None,
                }
            )
        rate = []
        if v.rule_type == "RATE_BASED":
            rate.append(
                {
                    "rateBasedRuleId": self.rate_rule_id,
                    "rateBasedRuleName": RATE_RULE,
                    "limitKey": "IP",
                    "maxRateAllowed": RATE_LIMIT,
                    "evaluationWindowSec": str(RATE_WINDOW),
                    "customValues": [],
                }
            )
        middle = {
            "ruleGroupList": groups,
            "rateBasedRuleList": rate,
            "nonTerminatingMatchingRules": [
                {"ruleId": c, "action": "COUNT", "ruleMatchDetails": []} for c in v.counted
            ],
            "requestHeadersInserted": None,
            "responseCodeSent": None,
        }
        labels = b""
        if v.labels:
            labels = b',"labels":' + orjson.dumps([{"name": label} for label in v.labels])
        cached = self._verdicts[v] = (orjson.dumps(terminating)[1:-1] + b",", orjson.dumps(middle)[1:-1], labels)
        return cached


def _start(r: AlbReq) -> int:
    return r.t
