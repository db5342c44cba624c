"""The requests to AnyCompany's public web stack, planned once and seen by every log that records them.

Visitors are drawn five minutes at a time from their own random stream (`derive(seed, "web", window)`), so
the sources that record them (ALB and WAF; CloudFront, API Gateway and VPC flow logs: two jobs) each replay
the same plan in their own process and agree on every client address, port, request id and time:

- a *browse* visit loads pages of www.anycompany.example through CloudFront: the HTML and cache misses go
  on to the ALB (origin.anycompany.example), from a CloudFront origin-facing address, with the viewer in
  X-Forwarded-For and the CloudFront request id in X-Amz-Cf-Id (both seen by WAF);
- a *customer* visit does that, then signs in to the portal on app.anycompany.example (the ALB directly,
  one HTTP/2 connection: the same client address and port as in the VPC flow logs) whose JavaScript calls
  api.anycompany.example (API Gateway) a few seconds later;
- mobile apps call the API; crawlers read pages; the internet's noise knocks on the ALB directly (some of it
  blocked by WAF); the story's attacker and scanner probe it (`Probe`s planned by `story_web.py`).

`WebPlan(ctx).windows()` yields `WebWindow`s of 5 minutes in time order; each holds the CloudFront records
finished, the ALB requests answered, the API calls made and the ALB connections opened in it.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable, Iterator
from typing import NamedTuple, Protocol

from loglake.demo.base import Context, LogObject
from loglake.demo.rand import derive
from loglake.demo.rhythm import mixed
from loglake.demo.webcatalog import (
    API_RESOURCES,
    APP_ASSETS,
    APP_PAGES,
    APP_XHR,
    BLOG_SLUGS,
    BROWSER_WEIGHTS,
    BROWSERS,
    CRAWLER_PAGES,
    CRAWLERS,
    LANDING_QUERIES,
    MOBILE_APPS,
    NOISE_AGENTS,
    NOISE_PATHS,
    SITE_ASSETS,
    SITE_IMAGES,
    SITE_PAGES,
    Agent,
    Asset,
    country_of,
    edge_of,
)
from loglake.demo.webrecords import (
    NO_TLS,
    US,
    WINDOW,
    AlbReq,
    ApiReq,
    CfReq,
    Conn,
    Http,
    Link,
    Probe,
    WebWindow,
    tls_of,
)
from loglake.demo.webstack import APP_HOST, CF_ORIGIN_IPS, ORIGIN_HOST, REGION, WebStack, build_webstack
from loglake.demo.webwaf import ALLOW, Verdict, allow_static, evaluate, is_static

# visits per weekday at scale 1.0 and how much they follow office hours (0 flat .. 1 office hours only)
DAILY = {"browse": (6800, 0.7), "customer": (3000, 0.85), "mobile": (400, 0.6), "crawl": (1500, 0.0)}
NOISE_DAILY = 450  # internet noise straight to the ALB
CF_NOISE_DAILY = 120  # the same through CloudFront
_MONDAY = 4 * 86400


def _mean_mixed(alpha: float) -> float:
    return sum(mixed(_MONDAY + h * 3600 + 1800, alpha) for h in range(24)) / 24


_MEANS = {alpha: _mean_mixed(alpha) for _, alpha in DAILY.values()}


class Writer(Protocol):
    """A log source drawn from the web plan: given each window in turn, it yields the objects to deliver."""

    def feed(self, win: WebWindow) -> Iterable[LogObject]: ...

    def close(self) -> Iterable[LogObject]: ...


def render(ctx: Context, region: str, writers: list[Writer]) -> Iterator[LogObject]:
    """Replay the web plan once and hand each window to every writer. The web stack lives in us-east-1: in
    another region the windows are empty (its VPC flow logs still need them)."""
    if region == REGION:
        windows: Iterable[WebWindow] = WebPlan(ctx).windows()
    else:
        windows = (WebWindow(w0) for w0 in range(ctx.start - ctx.start % WINDOW, ctx.end, WINDOW))
    for win in windows:
        for writer in writers:
            yield from writer.feed(win)
    for writer in writers:
        yield from writer.close()


class _Visitor(NamedTuple):
    ip: str
    country: str
    edge: str
    agent: Agent
    port: int  # the viewer's connection to CloudFront


def _hash_int(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=16).digest(), "big")


class WebPlan:
    """The plan of one run (seed, window, scale); `windows()` replays it five minutes at a time."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.seed = ctx.seed
        self.scale = ctx.scale
        self.stack: WebStack = build_webstack(ctx.seed)
        self.account = self.stack.account
        self.acl = self.stack.web_acl_name
        self.static = allow_static(self.account, self.acl)
        e = ctx.estate
        self.v4, self.v6 = e.internet_v4, e.internet_v6
        self.crawler_ips = e.internet_v4[-len(CRAWLERS) * 3 :]
        self.end_index = (ctx.end - 1) // WINDOW
        self.pending: dict[int, WebWindow] = {}
        self.seen: set[int] = set()  # conn_trace_ids of the connections already in the connection log
        self.origin_links: dict[tuple[str, int], Link] = {}
        self.probes: dict[int, list[Probe]] = {}
        for p in ctx.story.web:
            self.probes.setdefault(p.t // US // WINDOW, []).append(p)
        self.rng = random.Random(0)
        normals = derive(ctx.seed, "web-normals")
        self.normals = [normals.gauss(0.0, 1.0) for _ in range(4096)]  # cheaper than a gauss() per request

    # ---- replay ------------------------------------------------------------------------------------------
    def windows(self) -> Iterator[WebWindow]:
        for w0 in range(self.ctx.start - self.ctx.start % WINDOW, self.ctx.end, WINDOW):
            k = w0 // WINDOW
            self._generate(k, w0)
            win = self.pending.pop(k, None) or WebWindow(w0)
            win.w0 = w0
            win.cf.sort(key=_first)
            win.alb.sort(key=_done)
            win.api.sort(key=_first)
            self._connections(win)
            yield win

    def _bucket(self, t_us: int) -> WebWindow | None:
        k = t_us // US // WINDOW
        if k > self.end_index:
            return None
        win = self.pending.get(k)
        if win is None:
            win = self.pending[k] = WebWindow(k * WINDOW)
        return win

    def _connections(self, win: WebWindow) -> None:
        """The connection log: a line for each connection whose first request is answered in this window."""
        seen = self.seen
        for r in sorted(win.alb, key=_start):
            link = r.link
            if link.tid in seen:
                continue
            seen.add(link.tid)
            if link.kind == "http":
                win.conns.append(Conn(r.t - 900, link.client, link.port, link.node, link.tid, 80, -1, NO_TLS))
            else:
                hs = 2_000 + link.tid % 60_000
                conn = Conn(r.t - 1_000 - hs, link.client, link.port, link.node, link.tid, 443, hs, tls_of(link))
                win.conns.append(conn)
        win.conns.sort(key=_first)

    # ---- a window's visitors -------------------------------------------------------------------------------
    def _generate(self, k: int, w0: int) -> None:
        self.rng = derive(self.seed, "web", k)
        mid = w0 + WINDOW // 2
        starts = {kind: self._count(kind, mid) for kind in DAILY}
        for kind, fn in (
            ("browse", self._browse),
            ("customer", self._customer),
            ("mobile", self._mobile),
            ("crawl", self._crawl),
        ):
            for _ in range(starts[kind]):
                fn(self._start(w0))
        for _ in range(self._poisson(NOISE_DAILY / 288 * self.scale)):
            self._noise(self._start(w0))
        for _ in range(self._poisson(CF_NOISE_DAILY / 288 * self.scale)):
            self._cf_noise(self._start(w0))
        for probe in self.probes.get(k, ()):
            self._probe(probe)

    def _count(self, kind: str, t: int) -> int:
        daily, alpha = DAILY[kind]
        return self._poisson(daily / 288 / _MEANS[alpha] * mixed(t, alpha) * self.scale)

    def _poisson(self, lam: float) -> int:
        rng = self.rng
        if lam <= 0:
            return 0
        if lam > 30:
            return max(0, round(rng.gauss(lam, math.sqrt(lam))))
        limit, n, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            n += 1
            p *= rng.random()
        return n

    def _start(self, w0: int) -> int:
        """A visit start in the window, clear of its edges (so a visit's first connection is in it)."""
        return (w0 + 2) * US + int(self.rng.random() * (WINDOW - 4) * US)

    def _ms(self, median: float, sigma: float = 0.6) -> int:
        """A latency in µs: log-normal around `median` milliseconds."""
        return int(median * math.exp(sigma * self.normals[int(self.rng.random() * 4096)]) * 1000)

    def _client(self, v6_share: float = 0.12) -> str:
        rng = self.rng
        pool = self.v6 if rng.random() < v6_share else self.v4
        return pool[int(rng.random() ** 2.5 * len(pool))]

    def _visitor(self, agent: Agent | None = None, ip: str | None = None) -> _Visitor:
        rng = self.rng
        ip = ip or self._client()
        country = country_of(ip)
        if agent is None:
            agent = rng.choices(BROWSERS, BROWSER_WEIGHTS)[0]
        return _Visitor(ip, country, edge_of(ip, country), agent, 1024 + int(rng.random() * 64511))

    # ---- CloudFront and its origin --------------------------------------------------------------------------
    def _origin_link(self, edge: str, t_us: int) -> Link:
        """CloudFront's pooled connection to the origin from an edge's origin-facing address (one per 10 min)."""
        ip = CF_ORIGIN_IPS[_hash_int("cf-ip", edge) % len(CF_ORIGIN_IPS)]
        slot = t_us // US // 600
        key = (ip, slot)
        link = self.origin_links.get(key)
        if link is None:
            h = _hash_int(self.seed, "cf-conn", ip, slot)
            tid = _hash_int(self.seed, "cf-tid", ip, slot)
            link = self.origin_links[key] = Link(ip, 1024 + h % 64511, (h >> 20) & 1, tid, "https", "HTTP/1.1")
        return link

    def _cf(
        self,
        t: int,
        v: _Visitor,
        asset: Asset,
        *,
        cached: bool,
        query: str = "",
        referer: str = "",
        method: str = "GET",
        status: int = 200,
        verdict: Verdict | None = None,
    ) -> int:
        """One viewer request for `asset` to CloudFront (and to the origin on a miss); returns when it finished."""
        rng = self.rng
        req_id = rng.getrandbits(320)
        r = rng.random()
        result = "Hit" if cached and r < 0.93 else ("RefreshHit" if cached and r < 0.95 else "Miss")
        path = asset.path
        cs_bytes = 60 + len(path) + len(query) + (len(referer) + 20 if referer else 0) + int(rng.random() * 40)
        if result == "Hit":
            ttfb = 300 + int(rng.random() * 2500)
            code, size = status, asset.size
        else:  # to the origin; a RefreshHit revalidates the cached copy (304 from the origin, 200 to the viewer)
            origin_status = 304 if result == "RefreshHit" else status
            http = Http(method, ORIGIN_HOST, path, query, v.agent, referer)
            done = self._alb(
                t + 1_000 + int(rng.random() * 4_000),
                self._origin_link(v.edge, t),
                http,
                status=origin_status,
                body=0 if origin_status == 304 else asset.size,
                ctype=asset.ctype,
                verdict=verdict or (self.static if is_static(path) else ALLOW),
                cf_id=req_id,
                viewer=v.ip,
                recv=cs_bytes + 320,
            )
            ttfb = done - t + 500 + int(rng.random() * 1500)
            blocked = verdict is not None and verdict.action == "BLOCK"
            code, size = (403, 118) if blocked else (status, asset.size)
            if code >= 400:
                result = "Error"
        taken = ttfb + int(size / 4000) + int(rng.random() * 800)
        win = self._bucket(t + taken)
        if win is not None:
            proto = "HTTP/2.0" if v.agent.h2 else "HTTP/1.1"
            sc_bytes = size + 350 + int(rng.random() * 150)
            win.cf.append(
                CfReq(
                    t + taken,
                    v.edge,
                    sc_bytes,
                    v.ip,
                    method,
                    path,
                    code,
                    referer,
                    v.agent,
                    query,
                    result,
                    req_id,
                    cs_bytes,
                    taken,
                    v.port,
                    ttfb,
                    asset.ctype,
                    size,
                    proto,
                )
            )
        return t + taken

    def _alb(
        self,
        t: int,
        link: Link,
        http: Http,
        *,
        status: int,
        body: int,
        ctype: str,
        verdict: Verdict,
        cf_id: int = 0,
        viewer: str = "",
        recv: int = 0,
        median_ms: float = 0.0,
    ) -> int:
        """One request answered by the ALB: forwarded to a web server, or blocked by WAF, or redirected."""
        rng = self.rng
        redirect = ""
        if verdict.action == "BLOCK":
            status, target, tstatus, tpt, body, ctype = 403, -1, "-", -1, 118, "text/html"
        elif link.kind == "http":
            status, target, tstatus, tpt, body, ctype = 301, -1, "-", -1, 134, "text/html"
            redirect = f"https://{http.host}:443{http.path}" + (f"?{http.query}" if http.query else "")
        else:
            target = int(rng.random() * len(self.stack.targets))
            tpt = self._ms(median_ms or (4.0 if body and ctype != "text/html" else 45.0))
            tstatus = str(status)
        done = t + max(tpt, 0) + 200 + int(rng.random() * 900)
        win = self._bucket(done)
        if win is not None:
            if not recv:
                recv = 120 if link.proto == "HTTP/2.0" else 420
                recv += len(http.path) + len(http.query) + int(rng.random() * 300)
            recv += 600 if http.method == "POST" else 0
            sent = body + 280 + int(rng.random() * 80)
            country = country_of(viewer or link.client)
            win.alb.append(
                AlbReq(
                    t,
                    done,
                    link,
                    http,
                    status,
                    target,
                    tstatus,
                    tpt,
                    recv,
                    sent,
                    rng.getrandbits(96),
                    verdict,
                    ctype,
                    redirect,
                    cf_id,
                    viewer,
                    country,
                )
            )
        return done

    # ---- visits ----------------------------------------------------------------------------------------------
    def _page(self) -> str:
        rng = self.rng
        r = rng.random() * 100
        pattern = "/"
        for pattern, weight in SITE_PAGES:  # noqa: B007 - the pattern the draw lands on
            r -= weight
            if r < 0:
                break
        if "{n}" in pattern:
            return pattern.replace("{n}", str(1 + int(rng.random() ** 2 * 40)))
        if "{s}" in pattern:
            return pattern.replace("{s}", BLOG_SLUGS[int(rng.random() * len(BLOG_SLUGS))])
        return pattern

    def _site_visit(self, t: int, v: _Visitor, pages: int) -> int:
        """Pages of www through CloudFront with their assets (the first page loads them all); returns the end."""
        rng = self.rng
        referer = "https://www.google.com/" if rng.random() < 0.4 else ""
        for i in range(pages):
            path = self._page()
            query = LANDING_QUERIES[int(rng.random() * len(LANDING_QUERIES))] if i == 0 else ""
            missing = rng.random() < 0.01
            page = Asset(path, "text/html", 3_400 if missing else 18_000 + int(rng.random() * 40_000))
            done = self._cf(t, v, page, cached=False, query=query, referer=referer, status=404 if missing else 200)
            here = f"https://www.anycompany.example{path}"
            assets = list(SITE_ASSETS) if i == 0 else []
            for _ in range(1 + int(rng.random() * 4)):
                assets.append(SITE_IMAGES[int(rng.random() ** 1.5 * len(SITE_IMAGES))])
            at = done
            for asset in assets:
                at += 2_000 + int(rng.random() * 60_000)
                self._cf(at, v, asset, cached=True, referer=here)
            referer = here
            t = at + int((4 + rng.random() * 60) * US)
        return t

    def _browse(self, t: int) -> None:
        rng = self.rng
        self._site_visit(t, self._visitor(), 1 + min(4, int(rng.expovariate(0.9))))

    def _customer(self, t: int) -> None:
        """www, then the portal on the ALB (one HTTP/2 connection) and the API its JavaScript calls."""
        rng = self.rng
        v = self._visitor()
        t = self._site_visit(t, v, 1 + (rng.random() < 0.3))
        t += int((1.5 + rng.random() * 6) * US)
        kind, proto = ("h2", "HTTP/2.0") if v.agent.h2 else ("https", "HTTP/1.1")
        port, node = 1024 + int(rng.random() * 64511), int(rng.random() * 2)
        portal = _Portal(self, v, Link(v.ip, port, node, rng.getrandbits(128), kind, proto))
        done = portal.get(t, "/app/login", referer="https://www.anycompany.example/")
        portal.assets(done, "https://app.anycompany.example/app/login", 1.0)
        t = done + int((4 + rng.random() * 12) * US)
        done = portal.get(
            t,
            "/app/login",
            method="POST",
            status=302,
            body=120,
            ms=180.0,
            referer="https://app.anycompany.example/app/login",
        )
        here = "https://app.anycompany.example/app/dashboard"
        done = portal.get(done + 40_000, "/app/dashboard", ms=60.0)
        portal.assets(done, here, 0.15)
        self._api(done + 150_000 + int(rng.random() * 400_000), v, "GET", "/v1/balance")
        self._api(done + 200_000 + int(rng.random() * 600_000), v, "GET", "/v1/payments", "limit=20")
        end = t + int((60 + rng.random() * 420) * US)
        poll = done + 30 * US
        while poll < end:
            xhr = APP_XHR[0] if rng.random() < 0.7 else APP_XHR[int(rng.random() * len(APP_XHR))]
            path, _, query = xhr.partition("?")
            size = 300 + int(rng.random() * 2_000)
            portal.get(poll, path, query, ctype="application/json", body=size, ms=12.0, referer=here)
            if rng.random() < 0.3:  # the customer opens another page of the portal
                page = APP_PAGES[int(rng.random() * len(APP_PAGES))].replace("{id}", f"pay_{rng.getrandbits(40):010x}")
                at = portal.get(poll + int(rng.random() * 20 * US), page, referer=here, ms=70.0)
                here = f"https://app.anycompany.example{page}"
                for _ in range(1 + int(rng.random() * 2)):
                    method, resource, _w = API_RESOURCES[int(rng.random() * len(API_RESOURCES))]
                    at = self._api(at + 100_000 + int(rng.random() * 900_000), v, method, resource)
            poll += int((25 + rng.random() * 10) * US)
        if rng.random() < 0.2:
            portal.get(end, "/app/logout", method="POST", status=302, body=90, referer=here)

    def _api(self, t: int, v: _Visitor, method: str, resource: str, query: str = "") -> int:
        rng = self.rng
        path = resource.replace("{id}", f"{'pay' if 'payments' in resource else 'mer'}_{rng.getrandbits(40):010x}")
        if query:
            path = f"{path}?{query}"
        r = rng.random()
        status = 200 if method == "GET" else 201
        if r < 0.03:
            status = 401
        elif r < 0.045:
            status = 404 if "{id}" in resource else 400
        elif r < 0.05:
            status = 429
        elif r < 0.053:
            status = 500
        integration = self._ms(35.0 if method == "GET" else 120.0) // 1000
        latency = integration + 3 + int(rng.random() * 12)
        if status == 429:  # throttled by API Gateway: no integration
            length, integration = 0, -1
        else:
            length = 180 + int(rng.random() * 4_000) if status < 300 else 60 + int(rng.random() * 80)
        rid, xid = rng.getrandbits(128), rng.getrandbits(88)
        win = self._bucket(t)
        if win is not None:
            win.api.append(
                ApiReq(t, v.ip, method, resource, path, status, length, rid, xid, v.agent, latency, integration)
            )
        return t + latency * 1000

    def _mobile(self, t: int) -> None:
        rng = self.rng
        v = self._visitor(MOBILE_APPS[rng.random() < 0.4])
        weights = [w for _, _, w in API_RESOURCES]
        for _ in range(3 + int(rng.random() * 6)):
            method, resource, _w = rng.choices(API_RESOURCES, weights)[0]
            t = self._api(t, v, method, resource) + int((1 + rng.random() ** 2 * 40) * US)

    def _crawl(self, t: int) -> None:
        rng = self.rng
        i = int(rng.random() * len(self.crawler_ips))
        v = self._visitor(CRAWLERS[i % len(CRAWLERS)], self.crawler_ips[i])
        for _ in range(1 + int(rng.random() * 3)):
            path = CRAWLER_PAGES[int(rng.random() * len(CRAWLER_PAGES))] if rng.random() < 0.5 else self._page()
            if path == "/robots.txt":
                page = Asset(path, "text/plain", 310)
            elif path.endswith(".xml"):
                page = Asset(path, "application/xml", 4_200)
            else:
                page = Asset(path, "text/html", 20_000 + int(rng.random() * 30_000))
            t = self._cf(t, v, page, cached=False) + int((2 + rng.random() * 20) * US)

    def _noise(self, t: int) -> None:
        """The internet's background scanning, straight to the ALB by its DNS name or a node's address."""
        rng = self.rng
        ip = self.v4[int(rng.random() * len(self.v4))]
        agent = NOISE_AGENTS[int(rng.random() * len(NOISE_AGENTS))]
        node = int(rng.random() * 2)
        host = self.stack.alb_dns if rng.random() < 0.5 else (self.stack.nodes[node].public_ip or self.stack.alb_dns)
        kind = "http" if rng.random() < 0.3 else "https"
        link = Link(ip, 1024 + int(rng.random() * 64511), node, rng.getrandbits(128), kind, "HTTP/1.1")
        bad = _hash_int("reputation", ip) % 5 == 0
        for _ in range(1 + int(rng.random() * 3)):
            path, query = NOISE_PATHS[int(rng.random() * len(NOISE_PATHS))]
            verdict = evaluate(self.account, self.acl, path, query, agent.ua, bad_reputation=bad)
            status = 200 if path in ("/", "/robots.txt", "/favicon.ico") else 404
            http = Http("GET", host, path, query, agent, "")
            done = self._alb(
                t, link, http, status=status, body=3_000 if status == 200 else 560, ctype="text/html", verdict=verdict
            )
            t = done + int((0.2 + rng.random() * 3) * US)

    def _cf_noise(self, t: int) -> None:
        """Bots asking www for WordPress and secrets: CloudFront forwards them, WAF on the ALB blocks them."""
        rng = self.rng
        agent = NOISE_AGENTS[int(rng.random() * 5)]
        v = self._visitor(agent, self.v4[int(rng.random() * len(self.v4))])
        for _ in range(1 + int(rng.random() * 2)):
            path, query = NOISE_PATHS[2 + int(rng.random() * 3)]
            verdict = evaluate(self.account, self.acl, path, query, agent.ua)
            t = self._cf(t, v, Asset(path, "text/html", 560), cached=False, query=query, status=404, verdict=verdict)
            t += US

    def _probe(self, p: Probe) -> None:
        """A request of the story: through CloudFront or straight to the ALB, as the story planned it."""
        size = 560 if p.status == 404 else 12_000
        if p.via_cf:
            country = country_of(p.client)
            v = _Visitor(p.client, country, edge_of(p.client, country), p.agent, p.port)
            asset = Asset(p.path, "text/html", size)
            self._cf(p.t, v, asset, cached=False, query=p.query, method=p.method, status=p.status, verdict=p.verdict)
            return
        node = _hash_int("probe-node", p.client, p.port) % 2
        tid = _hash_int(self.seed, "probe", p.client, p.port)
        kind = "http" if p.scheme == "http" else "https"
        link = Link(p.client, p.port, node, tid, kind, "HTTP/1.1")
        http = Http(p.method, p.host, p.path, p.query, p.agent, "")
        self._alb(p.t, link, http, status=p.status, body=size, ctype="text/html", verdict=p.verdict)


class _Portal:
    """A customer's HTTP/2 connection to the portal on the ALB."""

    def __init__(self, plan: WebPlan, v: _Visitor, link: Link) -> None:
        self.plan, self.v, self.link = plan, v, link

    def get(
        self,
        t: int,
        path: str,
        query: str = "",
        *,
        method: str = "GET",
        status: int = 200,
        ctype: str = "text/html",
        body: int = 0,
        referer: str = "",
        ms: float = 0.0,
    ) -> int:
        plan = self.plan
        verdict = plan.static if is_static(path) else ALLOW
        if not body:
            body = 22_000 + int(plan.rng.random() * 30_000) if ctype == "text/html" else 1_200
        http = Http(method, APP_HOST, path, query, self.v.agent, referer)
        return plan._alb(t, self.link, http, status=status, body=body, ctype=ctype, verdict=verdict, median_ms=ms)

    def assets(self, t: int, referer: str, share: float) -> None:
        """The portal's static files (only some when the browser has them cached)."""
        rng = self.plan.rng
        for asset in APP_ASSETS:
            if share >= 1.0 or rng.random() < share:
                t += 3_000 + int(rng.random() * 40_000)
                self.get(t, asset.path, ctype=asset.ctype, body=asset.size, referer=referer, ms=3.0)


def _done(r: AlbReq) -> int:
    return r.done


def _first(r: CfReq | ApiReq | Conn) -> int:
    return r[0]


def _start(r: AlbReq) -> int:
    return r.t
