"""The demo's web stack, S3 access, WAF, DNS and API Gateway logs, read back with plain gzip, orjson and regular
expressions (not loglake's parsers): their layouts and formats, and that they tell the same story."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import unquote

import orjson
import pytest

from loglake.demo import DemoManifest

ACCOUNT = "111122223333"
REGION = "us-east-1"
TS = r"(?P<ts>\d{8}T\d{4}Z)"
ALB_NAME = re.compile(
    rf"(?P<conn>conn_log\.)?{ACCOUNT}_elasticloadbalancing_{REGION}_app\.prod-ext-web\.(?P<id>[0-9a-f]{{16}})_{TS}_"
    r"(?P<ip>\d+\.\d+\.\d+\.\d+)_[a-z0-9]{8}\.log\.gz"
)
WAF_NAME = re.compile(rf"{ACCOUNT}_waflogs_{REGION}_prod-ext-web-acl_{TS}_[0-9a-f]{{8}}\.log\.gz")
DNS_NAME = re.compile(rf"{ACCOUNT}_vpcdnsquerylogs_(?P<vpc>vpc-[0-9a-f]{{17}})_{TS}_[0-9a-f]{{8}}\.log\.gz")
CF_NAME = re.compile(r"(?P<dist>E[A-Z0-9]{13})\.(?P<hour>\d{4}-\d\d-\d\d-\d\d)\.[0-9a-f]{8}\.gz")
S3_NAME = re.compile(r"(?P<ts>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)-[0-9A-F]{16}")
FIREHOSE_NAME = re.compile(
    r"cwl-apigw-to-s3-1-(?P<ts>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
    r"[0-9a-f]{12}"
)
TOKENS = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')  # a field: quoted, bracketed or bare
ALB_FIELDS = 30  # type ... classification, classification_reason, conn_trace_id
CONN_FIELDS = 12
CF_FIELDS = 33
S3_FIELDS = 27
TID = re.compile(r"TID_[0-9a-f]{32}")


# ---- reading ---------------------------------------------------------------------------------------------------
def _lines(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode().splitlines()


@pytest.fixture(scope="module")
def alb(demo: tuple[Path, DemoManifest]) -> list[list[str]]:
    out, _ = demo
    rows = []
    for path in sorted(out.glob(f"AWSLogs/*/elasticloadbalancing/*/*/*/*/{ACCOUNT}_*.log.gz")):
        rows += [[t.strip('"') for t in TOKENS.findall(line)] for line in _lines(path)]
    return rows


@pytest.fixture(scope="module")
def conns(demo: tuple[Path, DemoManifest]) -> list[list[str]]:
    out, _ = demo
    paths = sorted(out.glob("AWSLogs/*/elasticloadbalancing/*/*/*/*/conn_log.*.log.gz"))
    return [[t.strip('"') for t in TOKENS.findall(line)] for p in paths for line in _lines(p)]


@pytest.fixture(scope="module")
def cloudfront(demo: tuple[Path, DemoManifest]) -> list[dict[str, str]]:
    out, _ = demo
    rows = []
    for path in sorted(out.glob("cloudfront-logs/*.gz")):
        version, fields, *lines = _lines(path)
        assert version == "#Version: 1.0"
        names = fields.removeprefix("#Fields: ").split()
        rows += [dict(zip(names, line.split("\t"), strict=True)) for line in lines]
    return rows


@pytest.fixture(scope="module")
def waf(demo: tuple[Path, DemoManifest]) -> list[dict]:
    out, _ = demo
    paths = sorted(out.glob("AWSLogs/*/WAFLogs/*/*/*/*/*/*/*/*.log.gz"))
    return [orjson.loads(line) for p in paths for line in _lines(p)]


@pytest.fixture(scope="module")
def dns(demo: tuple[Path, DemoManifest]) -> list[dict]:
    out, _ = demo
    paths = sorted(out.glob("AWSLogs/*/vpcdnsquerylogs/*/*/*/*/*.log.gz"))
    return [orjson.loads(line) for p in paths for line in _lines(p)]


@pytest.fixture(scope="module")
def s3(demo: tuple[Path, DemoManifest]) -> list[list[str]]:
    out, m = demo
    paths = sorted((out / m.facts["s3_access_log_prefix"]).iterdir())
    return [TOKENS.findall(line) for p in paths for line in p.read_text().splitlines()]


def _firehose_messages(data: bytes) -> list[dict]:
    """A Firehose object of CloudWatch Logs batches: gzip members back to back, each one JSON object."""
    text = gzip.decompress(data).decode()  # gzip reads every member
    decoder, i, out = json.JSONDecoder(), 0, []
    while i < len(text):
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)
    return out


@pytest.fixture(scope="module")
def firehose(demo: tuple[Path, DemoManifest]) -> list[dict]:
    out, _ = demo
    return [msg for p in sorted(out.glob("firehose/cwl-apigw/*/*/*/*/*")) for msg in _firehose_messages(p.read_bytes())]


@pytest.fixture(scope="module")
def api(firehose: list[dict]) -> list[dict]:
    return [orjson.loads(e["message"]) for m in firehose if m["messageType"] == "DATA_MESSAGE" for e in m["logEvents"]]


@pytest.fixture(scope="module")
def trail(demo: tuple[Path, DemoManifest]) -> list[dict]:
    out, _ = demo
    events = []
    for path in sorted(out.glob(f"AWSLogs/*/CloudTrail/{REGION}/*/*/*/*.json.gz")):
        events.extend(orjson.loads(gzip.decompress(path.read_bytes()))["Records"])
    return events


@pytest.fixture(scope="module")
def flows(demo: tuple[Path, DemoManifest]) -> list[dict]:
    out, _ = demo
    rows = []
    for path in sorted(out.glob(f"AWSLogs/*/vpcflowlogs/{REGION}/*/*/*/*.log.gz")):
        header, *lines = _lines(path)
        rows.extend(dict(zip(header.split(), line.split(" "), strict=True)) for line in lines)
    return rows


def _iso(ts: str) -> float:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def _stamp(ts: str, fmt: str = "%Y%m%dT%H%MZ") -> float:
    return dt.datetime.strptime(ts, fmt).replace(tzinfo=dt.UTC).timestamp()


# ---- layouts ---------------------------------------------------------------------------------------------------
def test_alb_layout(demo: tuple[Path, DemoManifest]) -> None:
    out, m = demo
    n = Counter()
    ips = set()
    for path in out.glob("AWSLogs/*/elasticloadbalancing/**/*.gz"):
        y, mo, d, name = path.relative_to(out).parts[-4:]
        assert path.relative_to(out).parts[:4] == ("AWSLogs", ACCOUNT, "elasticloadbalancing", REGION)
        match = ALB_NAME.fullmatch(name)
        assert match, name
        assert match["id"] == m.facts["alb_id"]
        assert match["ts"][:8] == f"{y}{mo}{d}"  # folder: the day of the interval's end
        assert int(match["ts"][11:13]) % 5 == 0  # an interval every 5 minutes
        ips.add(match["ip"])
        n["alb_connection" if match["conn"] else "alb"] += 1
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert n == {"alb": m.files["alb"], "alb_connection": m.files["alb_connection"]}
    assert len(ips) == 2  # each of the ALB's two nodes writes its own files
    assert m.files["alb"] >= 2 * 250  # every 5 minutes, per node (a quiet night may skip one)


def test_other_layouts(demo: tuple[Path, DemoManifest]) -> None:
    out, m = demo
    # WAF: Firehose-style minute folders, a file every 5 minutes
    waf = list(out.glob("AWSLogs/*/WAFLogs/**/*.gz"))
    assert len(waf) == m.files["waf"] >= 250
    for path in waf:
        parts = path.relative_to(out).parts
        assert parts[:6] == ("AWSLogs", ACCOUNT, "WAFLogs", REGION, "prod-ext-web-acl", "2024")
        match = WAF_NAME.fullmatch(parts[-1])
        assert match and match["ts"] == "".join(parts[5:8]) + "T" + parts[8] + parts[9] + "Z"
        assert int(parts[9]) % 5 == 0
    # Route 53 Resolver: one folder per VPC
    vpcs = Counter()
    for path in out.glob("AWSLogs/*/vpcdnsquerylogs/**/*.gz"):
        parts = path.relative_to(out).parts
        match = DNS_NAME.fullmatch(parts[-1])
        assert match and match["vpc"] == parts[3] and match["ts"][:8] == "".join(parts[4:7])
        vpcs[match["vpc"]] += 1
    assert len(vpcs) == 2 and sum(vpcs.values()) == m.files["resolver"]
    # CloudFront: flat, per distribution and hour
    cf = list((out / "cloudfront-logs").iterdir())
    assert len(cf) == m.files["cloudfront"] >= 24
    assert {CF_NAME.fullmatch(p.name)["dist"] for p in cf} == {m.cloudfront_distribution_id}
    # S3 server access logs: plain text, named for the delivery second
    s3 = list((out / m.facts["s3_access_log_prefix"]).iterdir())
    assert len(s3) == m.files["s3access"] > 100
    assert all(S3_NAME.fullmatch(p.name) and p.read_bytes()[:2] != b"\x1f\x8b" for p in s3)
    # API Gateway through CloudWatch Logs and Firehose: hour folders, Firehose object names
    objects = list(out.glob("firehose/cwl-apigw/*/*/*/*/*"))
    assert len(objects) == m.files["apigateway"] > 100
    for path in objects:
        y, mo, d, h, name = path.relative_to(out).parts[-5:]
        match = FIREHOSE_NAME.fullmatch(name)
        assert match and match["ts"][:13] == f"{y}-{mo}-{d}-{h}"
        assert path.read_bytes()[:2] == b"\x1f\x8b"


# ---- formats ---------------------------------------------------------------------------------------------------
def test_alb_fields(alb: list[list[str]], conns: list[list[str]], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    assert len(alb) == m.records["alb"] and len(conns) == m.records["alb_connection"]
    types = Counter()
    for row in alb:
        assert len(row) == ALB_FIELDS, row
        types[row[0]] += 1
        assert row[2] == f"app/prod-ext-web/{m.facts['alb_id']}"
        method, url, proto = row[12].split(" ")
        assert method in ("GET", "POST", "HEAD")
        assert url.startswith(("https://", "http://")) and proto in ("HTTP/1.1", "HTTP/2.0")
        assert row[17].startswith("Root=1-") and TID.fullmatch(row[29])
        assert _iso(row[21]) <= _iso(row[1])  # request_creation_time before the response
        if row[4] == "-":  # not dispatched: blocked by WAF, or redirected to HTTPS
            assert (row[8], row[22]) in (("403", "waf"), ("301", "waf,redirect")), row
        else:
            assert row[22] == "waf,forward" and row[25] == row[4] and row[26] == row[9]
    assert {"h2", "https", "http"} <= set(types)
    for row in conns:
        assert len(row) == CONN_FIELDS, row
        assert row[3] in ("443", "80") and TID.fullmatch(row[11])
        assert row[10] == ("Success" if row[3] == "443" else "-")
    # conn_trace_id joins every request to the connection it came on
    assert {r[29] for r in alb} == {c[11] for c in conns}


def test_cloudfront_fields(cloudfront: list[dict[str, str]], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    assert len(cloudfront) == m.records["cloudfront"]
    assert all(len(r) == CF_FIELDS for r in cloudfront)
    results = Counter(r["x-edge-result-type"] for r in cloudfront)
    assert results["Hit"] > results["Miss"] > 0 and results["Error"] > 0
    browsers = [r for r in cloudfront if r["cs(User-Agent)"].startswith("Mozilla/5.0%20(")]
    assert browsers and all(" " not in r["cs(User-Agent)"] for r in cloudfront)  # URL-encoded
    for r in cloudfront[:2000]:
        assert r["cs(Host)"] == m.facts["cloudfront_domain"] and r["x-host-header"] == "www.anycompany.example"
        assert re.fullmatch(r"[A-Za-z0-9_-]{54}==", r["x-edge-request-id"])
        assert re.fullmatch(r"\d\d:\d\d:\d\d", r["time"]) and r["sc-status"].isdigit()


def test_s3_access_fields(s3: list[list[str]], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    assert len(s3) == m.records["s3access"]
    ops = Counter()
    for row in s3:
        assert len(row) == S3_FIELDS, row
        assert row[1] == m.sensitive_bucket and re.fullmatch(r"[0-9a-f]{64}", row[0])
        assert re.fullmatch(r"\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\]", row[2])
        ops[row[6]] += 1
    assert {"REST.GET.OBJECT", "REST.PUT.OBJECT", "REST.HEAD.OBJECT", "REST.GET.BUCKET", "S3.EXPIRE.OBJECT"} <= set(ops)


def test_waf_records(waf: list[dict], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    assert len(waf) == m.records["waf"]
    assert sum(r["action"] == "BLOCK" for r in waf) == m.waf_blocked_requests > 0
    for r in waf[:3000]:
        assert list(r)[:14] == [
            "timestamp",
            "formatVersion",
            "webaclId",
            "terminatingRuleId",
            "terminatingRuleType",
            "action",
            "terminatingRuleMatchDetails",
            "httpSourceName",
            "httpSourceId",
            "ruleGroupList",
            "rateBasedRuleList",
            "nonTerminatingMatchingRules",
            "requestHeadersInserted",
            "responseCodeSent",
        ]
        assert r["webaclId"] == m.facts["web_acl_arn"] and r["httpSourceName"] == "ALB"
        req = r["httpRequest"]
        assert {"clientIp", "country", "headers", "uri", "args", "httpVersion", "httpMethod", "requestId"} <= set(req)
        assert re.fullmatch(r"1-[0-9a-f]{8}-[0-9a-f]{24}", req["requestId"])
        assert {h["name"].lower() for h in req["headers"]} >= {"host"}
    # the logging filter drops allowed static files
    assert not [r for r in waf if r["action"] == "ALLOW" and r["httpRequest"]["uri"].startswith("/static/")]


def test_resolver_records(dns: list[dict], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    assert len(dns) == m.records["resolver"]
    keys = ["version", "account_id", "region", "vpc_id", "query_timestamp", "query_name", "query_type"]
    for r in dns:
        assert list(r)[: len(keys)] == keys and r["query_name"].endswith(".")
        assert r["srcids"]["instance"].startswith("i-") and r["transport"] == "UDP"
    assert {r["rcode"] for r in dns} >= {"NOERROR", "NXDOMAIN"} and {r["region"] for r in dns} == set(m.regions)


def test_api_gateway_messages(firehose: list[dict], api: list[dict], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    kinds = Counter(msg["messageType"] for msg in firehose)
    assert kinds["CONTROL_MESSAGE"] == 1 and kinds["DATA_MESSAGE"] > 0
    for msg in firehose:
        if msg["messageType"] == "DATA_MESSAGE":
            assert list(msg) == ["messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents"]
            assert msg["owner"] == ACCOUNT and msg["logGroup"] == m.facts["api_log_group"]
    assert len(api) == m.records["apigateway"]
    for rec in api:
        assert list(rec)[:11] == [
            "requestId",
            "extendedRequestId",
            "ip",
            "caller",
            "user",
            "requestTime",
            "httpMethod",
            "resourcePath",
            "status",
            "protocol",
            "responseLength",
        ]
        assert re.fullmatch(r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000", rec["requestTime"])


# ---- one story across the logs ---------------------------------------------------------------------------------
def test_attacker_probes_blocked_by_waf(waf: list[dict], alb: list[list[str]], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    mine = [r for r in waf if r["httpRequest"]["clientIp"] == m.attacker_ip]
    blocked = [r for r in mine if r["action"] == "BLOCK"]
    assert len(mine) == m.facts["web_probe_requests"] - 3  # three went through CloudFront (clientIp: CloudFront)
    assert len(blocked) == m.facts["web_probe_blocked"] - 1 >= 15
    uris = {r["httpRequest"]["uri"] for r in blocked}
    args = " ".join(r["httpRequest"]["args"] for r in blocked)
    assert {"/../../etc/passwd", "/wp-login.php", "/.env"} <= uris
    assert "%27%20OR%201=1--" in args
    rules = {r["terminatingRuleId"] for r in blocked}
    assert {
        "AWS-AWSManagedRulesSQLiRuleSet",
        "AWS-AWSManagedRulesCommonRuleSet",
        "block-cms-and-secrets-probes",
    } <= rules
    assert all(r["labels"] for r in blocked)
    # the ALB answered those 403 itself, without a target
    refused = [r for r in alb if r[3].startswith(m.attacker_ip + ":") and r[8] == "403"]
    assert len(refused) == len(blocked) and all(r[4] == "-" and r[22] == "waf" for r in refused)
    # the attacker's look through CloudFront: WAF saw CloudFront's address, the attacker in X-Forwarded-For
    forwarded = [r for r in waf if {"name": "X-Forwarded-For", "value": m.attacker_ip} in r["httpRequest"]["headers"]]
    assert len(forwarded) == 3 and [r["action"] for r in forwarded].count("BLOCK") == 1


def test_scanner_in_waf_and_alb(waf: list[dict], alb: list[list[str]], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    mine = [r for r in waf if r["httpRequest"]["clientIp"] == m.scanner_ip]
    assert len(mine) == m.facts["web_scan_requests"] > 100
    actions = Counter(r["terminatingRuleType"] for r in mine if r["action"] == "BLOCK")
    assert actions["RATE_BASED"] > 20 and actions["MANAGED_RULE_GROUP"] > 0  # Nmap's user agent, then the rate
    assert sum(r["action"] == "BLOCK" for r in mine) == m.facts["web_scan_blocked"]
    assert {"/admin", "/.git/HEAD", "/wp-login.php"} <= {r["httpRequest"]["uri"] for r in mine}
    scanned = [r for r in alb if r[3].startswith(m.scanner_ip + ":")]
    assert len(scanned) == len(mine) and {r[8] for r in scanned} >= {"403", "404"}


def test_s3_access_burst_matches_cloudtrail(
    s3: list[list[str]], trail: list[dict], demo: tuple[Path, DemoManifest]
) -> None:
    _, m = demo
    logged = [r for r in s3 if r[3] == m.attacker_ip and r[6] == "REST.GET.OBJECT"]
    events = [
        e
        for e in trail
        if e["eventName"] == "GetObject"
        and e["sourceIPAddress"] == m.attacker_ip
        and e["requestParameters"]["bucketName"] == m.sensitive_bucket
    ]
    assert len(logged) == len(events) == m.facts["exfil_get_object_count"] >= 300
    assert {r[1] for r in logged} == {m.sensitive_bucket}
    assert all(r[4] == f"arn:aws:iam::{ACCOUNT}:user/{m.compromised_user}" for r in logged)

    def when(ts: str) -> str:
        return dt.datetime.strptime(ts, "[%d/%b/%Y:%H:%M:%S +0000]").strftime("%Y-%m-%dT%H:%M:%SZ")

    # same second, same object, same S3 request id and extended request id
    assert sorted((when(r[2]), unquote(r[7]), r[5], r[18]) for r in logged) == sorted(
        (e["eventTime"], e["requestParameters"]["key"], e["requestID"], e["additionalEventData"]["x-amz-id-2"])
        for e in events
    )
    # the apps' requests are in both logs too, by request id
    apps = {r[5] for r in s3 if r[3].startswith("10.") and r[6] == "REST.GET.OBJECT"}
    trail_ids = {e["requestID"] for e in trail if e["eventName"] == "GetObject"}
    assert len(apps & trail_ids) > 0.9 * len(apps)  # all but those during the trail's logging gap
    # while the trail was stopped, the server access logs kept recording
    start, end = (t.timestamp() for t in m.facts["logging_gap"])
    during = [r for r in s3 if start < _stamp(r[2], "[%d/%b/%Y:%H:%M:%S +0000]") < end]
    assert during and not {r[5] for r in during} & {e.get("requestID") for e in trail}


def test_same_clients_through_cloudfront_alb_and_api(
    cloudfront: list[dict[str, str]], alb: list[list[str]], api: list[dict]
) -> None:
    seen: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in cloudfront:
        seen[r["c-ip"]]["cf"].append(_iso(f"{r['date']}T{r['time']}Z"))
    for r in alb:
        if "://app.anycompany.example:" in r[12]:
            seen[r[3].rsplit(":", 1)[0]]["alb"].append(_iso(r[21]))
    for r in api:
        seen[r["ip"]]["api"].append(int(r["requestTimeEpoch"]) / 1000)
    together = []
    for ip, by in seen.items():
        if len(by) == 3:
            for t_alb in by["alb"]:
                if any(0 < t_alb - t < 60 for t in by["cf"]) and any(0 < t - t_alb < 60 for t in by["api"]):
                    together.append(ip)
                    break
    assert len(together) >= 50


def test_cloudfront_origin_requests_in_waf_and_alb(
    cloudfront: list[dict[str, str]], waf: list[dict], alb: list[list[str]]
) -> None:
    misses = {r["x-edge-request-id"]: r for r in cloudfront if r["x-edge-result-type"] == "Miss"}
    origin = {}
    for r in waf:
        headers = {h["name"]: h["value"] for h in r["httpRequest"]["headers"]}
        if "X-Amz-Cf-Id" in headers:
            origin[headers["X-Amz-Cf-Id"]] = (headers["X-Forwarded-For"], r["httpRequest"]["requestId"])
    joined = [cf_id for cf_id in origin if cf_id in misses]
    assert len(joined) > 0.9 * len(origin) > 100
    assert all(misses[i]["c-ip"] == origin[i][0] for i in joined)  # the viewer, forwarded
    traces = {r[17].removeprefix("Root=") for r in alb}
    assert all(origin[i][1] in traces for i in joined)  # WAF's requestId is the ALB's trace id


def test_alb_connections_in_flow_logs(alb: list[list[str]], flows: list[dict]) -> None:
    direct = {tuple(r[3].rsplit(":", 1)) for r in alb if "://app.anycompany.example:" in r[12] and "." in r[3]}
    inbound = {(f["srcaddr"], f["srcport"]) for f in flows if f["dstport"] in ("443", "80") and f["action"] == "ACCEPT"}
    assert direct and len(direct & inbound) == len(direct)


def test_known_bad_domain(dns: list[dict], flows: list[dict], demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    bad = [r for r in dns if r["query_name"] == m.bad_domain + "."]
    assert len(bad) == m.facts["bad_domain_queries"] >= 3
    assert {r["srcids"]["instance"] for r in bad} == {m.resolver_query_instance_id}
    assert all(
        r["firewall_rule_action"] == "ALERT" and r["firewall_rule_group_id"].startswith("rslvr-frg-") for r in bad
    )
    assert not [r for r in dns if "firewall_rule_action" in r and r not in bad]
    ip = m.facts["bad_domain_ip"]
    assert {a["Rdata"] for r in bad for a in r["answers"]} == {ip}
    first = min(_iso(r["query_timestamp"]) for r in bad)
    out = [f for f in flows if f["dstaddr"] == ip and f["srcaddr"] == m.facts["ssh_target_private_ip"]]
    assert out and all(int(f["start"]) >= first for f in out)
    assert m.attack_start.timestamp() < first < m.end.timestamp()


def test_manifest_new_fields(demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    d = json.loads(json.dumps(m.to_dict()))
    assert d["alb_name"] == "prod-ext-web" and d["web_acl_name"] == "prod-ext-web-acl"
    assert re.fullmatch(r"E[A-Z0-9]{13}", d["cloudfront_distribution_id"])
    assert d["bad_domain"].endswith(".example") and d["resolver_query_instance_id"].startswith("i-")
    sources = {"alb", "alb_connection", "cloudfront", "waf", "apigateway", "s3access", "resolver"}
    assert sources <= set(d["files"]) and sources <= set(d["records"]) and sources <= set(d["bytes"])
    assert isinstance(d["waf_blocked_requests"], int) and d["waf_blocked_requests"] > 0
    # relative volumes of a weekday (scale 1.0: ALB ~100k, CloudFront ~120k, WAF ~60k, DNS ~80k, S3 ~20k, API ~20k)
    r = m.records
    assert r["cloudfront"] > r["alb"] > r["waf"] > r["apigateway"] > 0
    assert 0.1 * r["alb"] < r["s3access"] < 0.4 * r["alb"] and 0.5 * r["alb"] < r["resolver"] < 1.2 * r["alb"]
