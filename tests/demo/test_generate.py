"""The demo generator's output, read back with plain gzip + orjson (not loglake's parsers)."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from loglake.demo import DemoManifest, generate_raw_logs
from loglake.demo.estate import build_estate
from tests.demo.conftest import END

ACCOUNT = "111122223333"
V2_HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
CT_NAME = re.compile(
    rf"{ACCOUNT}_CloudTrail_(?P<region>[a-z0-9-]+)_(?P<ts>\d{{8}}T\d{{4}}Z)_[A-Za-z0-9]{{16}}\.json\.gz"
)
DIGEST_NAME = re.compile(
    rf"{ACCOUNT}_CloudTrail-Digest_(?P<region>[a-z0-9-]+)_anycompany-management-trail_us-east-1_(?P<ts>\d{{8}}T\d{{6}}Z)\.json\.gz"
)
FLOW_NAME = re.compile(
    rf"{ACCOUNT}_vpcflowlogs_(?P<region>[a-z0-9-]+)_fl-[0-9a-f]{{17}}_(?P<ts>\d{{8}}T\d{{4}}Z)_[0-9a-f]{{8}}\.log\.gz"
)
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
REQUIRED = (
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
)


@pytest.fixture(scope="module")
def events(demo: tuple[Path, DemoManifest]) -> list[dict]:
    out, _ = demo
    evs = []
    for path in sorted(out.glob("AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz")):
        evs.extend(orjson.loads(gzip.decompress(path.read_bytes()))["Records"])
    return sorted(evs, key=lambda e: e["eventTime"])


@pytest.fixture(scope="module")
def flows(demo: tuple[Path, DemoManifest]) -> list[dict]:
    out, _ = demo
    rows = []
    for path in sorted(out.glob("AWSLogs/*/vpcflowlogs/*/*/*/*/*.log.gz")):
        header, *lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        names = header.split()
        rows.extend(dict(zip(names, line.split(" "), strict=True)) for line in lines)
    return rows


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _epoch(ts: str) -> int:
    return int(dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp())


# ---- layout and determinism -------------------------------------------------------------------------------
def test_key_layout_and_names(demo: tuple[Path, DemoManifest]) -> None:
    out, m = demo
    counts: Counter[str] = Counter()
    patterns = {"CloudTrail": CT_NAME, "CloudTrail-Digest": DIGEST_NAME, "vpcflowlogs": FLOW_NAME}
    for path in out.glob("AWSLogs/*/*/*/*/*/*/*"):
        parts = path.relative_to(out).parts
        assert parts[:2] == ("AWSLogs", ACCOUNT), parts
        service, region, y, mo, d, name = parts[2:]
        if service not in patterns:
            continue  # the other sources have their own layout tests (test_sources.py)
        assert region in m.regions
        match = patterns[service].fullmatch(name)
        assert match, name
        assert match["region"] == region
        assert match["ts"][:8] == f"{y}{mo}{d}"  # the folder is the delivery day of the file name
        counts[service] += 1
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert counts == {
        "CloudTrail": m.files["cloudtrail"],
        "CloudTrail-Digest": m.files["cloudtrail_digest"],
        "vpcflowlogs": m.files["vpcflow"],
    }
    # one flow log file per VPC per 10 minutes; CloudTrail about every 5 minutes per region
    assert m.files["vpcflow"] == 2 * 144
    assert 2 * 200 <= m.files["cloudtrail"] <= 2 * 288
    assert m.files["cloudtrail_digest"] == 2 * 24


def test_deterministic(demo: tuple[Path, DemoManifest], tmp_path: Path) -> None:
    """The same seed, days, end and scale give byte-identical files, in one process or several (every source
    of the fixture is there at a twentieth of the volume too, so a small run is enough to compare)."""
    _, m = demo
    one = generate_raw_logs(tmp_path / "one", days=1, seed=7, end=END, scale=0.05, workers=1)
    two = generate_raw_logs(tmp_path / "two", days=1, seed=7, end=END, scale=0.05, workers=2)
    files = _files(tmp_path / "one")
    assert files == _files(tmp_path / "two")
    assert one.to_dict() | {"out": ""} == two.to_dict() | {"out": ""}
    assert set(one.files) == set(m.files)  # every source
    assert (
        one.attack_start == m.attack_start and one.facts["exfil_get_object_count"] == m.facts["exfil_get_object_count"]
    )
    assert build_estate(8).users[m.compromised_user].access_key_id != m.leaked_access_key_id  # another seed


def test_manifest(demo: tuple[Path, DemoManifest]) -> None:
    _, m = demo
    d = json.loads(json.dumps(m.to_dict()))
    assert d["account"] == ACCOUNT and d["regions"] == ["us-east-1", "eu-west-1"]
    assert d["start"] == "2024-03-06T00:00:00Z" and d["end"] == "2024-03-07T00:00:00Z"
    assert m.start <= m.attack_start < m.end
    assert m.leaked_access_key_id.startswith("AKIA") and len(m.leaked_access_key_id) == 20
    assert m.attacker_ip.startswith("203.0.113.") and m.scanner_ip.startswith("203.0.113.")
    assert m.attacker_ip != m.scanner_ip
    assert m.opened_security_group_id.startswith("sg-")
    assert m.timeline and all(isinstance(t, dt.datetime) for t, _ in m.timeline)
    with pytest.raises(ValueError):
        generate_raw_logs(Path("unused"), days=0)


# ---- CloudTrail -------------------------------------------------------------------------------------------
def test_cloudtrail_records(demo: tuple[Path, DemoManifest], events: list[dict]) -> None:
    out, m = demo
    assert len(events) == m.records["cloudtrail"]
    for path in out.glob("AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz"):
        doc = orjson.loads(gzip.decompress(path.read_bytes()))
        assert list(doc) == ["Records"] and doc["Records"]
        region = path.parts[-5]
        assert all(e["awsRegion"] == region for e in doc["Records"])
    start, end = m.start.timestamp(), m.end.timestamp()
    for e in events:
        missing = [k for k in REQUIRED if k not in e]
        assert not missing, (missing, e)
        assert e["eventVersion"] in ("1.08", "1.09")
        assert UUID.match(e["eventID"])
        assert isinstance(e["readOnly"], bool) and isinstance(e["managementEvent"], bool)
        assert e["eventType"] in ("AwsApiCall", "AwsConsoleSignIn", "AwsServiceEvent")
        assert e["eventCategory"] in ("Management", "Data")
        assert e["recipientAccountId"] == ACCOUNT
        assert start <= _epoch(e["eventTime"]) < end
        if e["eventType"] == "AwsApiCall":
            assert e["requestID"]
        if e["eventCategory"] == "Data":
            assert not e["managementEvent"] and e["eventSource"] == "s3.amazonaws.com"
            types = {r["type"] for r in e["resources"]}
            assert "AWS::S3::Bucket" in types


def test_cloudtrail_identities(events: list[dict]) -> None:
    by_type = Counter(e["userIdentity"].get("type") for e in events)
    assert {"IAMUser", "AssumedRole", "AWSService"} <= set(by_type)
    assumed = next(e["userIdentity"] for e in events if e["userIdentity"].get("type") == "AssumedRole")
    assert assumed["accessKeyId"].startswith("ASIA")
    assert assumed["sessionContext"]["sessionIssuer"]["type"] == "Role"
    service = next(e for e in events if e["userIdentity"].get("type") == "AWSService")
    assert service["userIdentity"]["invokedBy"].endswith(".amazonaws.com")
    assert service["sourceIPAddress"].endswith(".amazonaws.com")
    logins = [
        e for e in events if e["eventName"] == "ConsoleLogin" and e["responseElements"]["ConsoleLogin"] == "Success"
    ]
    assert logins and all(e["additionalEventData"]["MFAUsed"] == "Yes" for e in logins)
    ci = [e for e in events if e["userIdentity"].get("userName") == "ci-deploy"]
    assert ci and all(e["userIdentity"]["accessKeyId"].startswith("AKIA") for e in ci)
    objects = [e for e in events if e["eventName"] in ("GetObject", "PutObject")]
    assert {"AWS::S3::Object", "AWS::S3::Bucket"} <= {r["type"] for r in objects[0]["resources"]}


def test_digests_chain_and_hashes(demo: tuple[Path, DemoManifest]) -> None:
    out, _ = demo
    for region in ("us-east-1", "eu-west-1"):
        paths = sorted(out.glob(f"AWSLogs/*/CloudTrail-Digest/{region}/*/*/*/*.json.gz"))
        previous = None
        for path in paths:
            raw = gzip.decompress(path.read_bytes())
            d = orjson.loads(raw)
            assert list(d) == [
                "awsAccountId",
                "digestStartTime",
                "digestEndTime",
                "digestS3Bucket",
                "digestS3Object",
                "digestPublicKeyFingerprint",
                "digestSignatureAlgorithm",
                "newestEventTime",
                "oldestEventTime",
                "previousDigestS3Bucket",
                "previousDigestS3Object",
                "previousDigestHashValue",
                "previousDigestHashAlgorithm",
                "previousDigestSignature",
                "logFiles",
            ]
            assert d["digestS3Object"] == str(path.relative_to(out))
            if previous is None:
                assert d["previousDigestHashValue"] is None
            else:
                assert d["previousDigestS3Object"] == previous[0]
                assert d["previousDigestHashValue"] == hashlib.sha256(previous[1]).hexdigest()
            for f in d["logFiles"]:
                body = gzip.decompress((out / f["s3Object"]).read_bytes())
                assert f["hashValue"] == hashlib.sha256(body).hexdigest()
            previous = (d["digestS3Object"], raw)
        assert previous is not None


# ---- VPC flow logs ----------------------------------------------------------------------------------------
def test_flow_files(demo: tuple[Path, DemoManifest]) -> None:
    out, m = demo
    headers = {}
    total = 0
    for path in out.glob("AWSLogs/*/vpcflowlogs/*/*/*/*/*.log.gz"):
        header, *lines = gzip.decompress(path.read_bytes()).decode().splitlines()
        headers[path.parts[-5]] = header
        n = len(header.split())
        assert lines
        for line in lines:
            assert len(line.split(" ")) == n, line
        total += len(lines)
    assert total == m.records["vpcflow"]
    assert headers["us-east-1"] == V2_HEADER
    custom = headers["eu-west-1"].split()
    assert custom[0] == "version" and {"flow-direction", "traffic-path", "pkt-srcaddr", "tcp-flags"} <= set(custom)
    assert custom[: len(V2_HEADER.split())] != V2_HEADER.split()  # not the default order


def test_flow_records(flows: list[dict]) -> None:
    status = Counter(r["log-status"] for r in flows)
    assert status["OK"] and status["NODATA"] and status["SKIPDATA"]
    for r in flows:
        if r["log-status"] != "OK":
            assert r["srcaddr"] == r["dstaddr"] == r["srcport"] == r["protocol"] == r["packets"] == "-"
            assert r["action"] == "-"
        else:
            assert r["action"] in ("ACCEPT", "REJECT")
            assert int(r["start"]) <= int(r["end"])
    assert any(":" in r["srcaddr"] for r in flows)  # IPv6
    v5 = [r for r in flows if r["version"] == "5"]
    assert v5 and all(r["region"] == "eu-west-1" for r in v5)
    assert any(r.get("type") == "IPv6" for r in v5)
    rejected = [r for r in flows if r["action"] == "REJECT" and r["srcaddr"].startswith("198.1")]
    assert len({r["srcaddr"] for r in rejected}) > 50  # internet scanning noise from many sources


# ---- the attack -------------------------------------------------------------------------------------------
def test_attack_story(demo: tuple[Path, DemoManifest], events: list[dict], flows: list[dict]) -> None:
    _, m = demo
    t0 = m.attack_start.timestamp()
    key, ip = m.leaked_access_key_id, m.attacker_ip
    attacker = [e for e in events if e["sourceIPAddress"] == ip]
    assert attacker and all(_epoch(e["eventTime"]) >= t0 for e in attacker)

    # 1. the leaked CI key, from a never-seen IP with a new user agent
    first = attacker[0]
    assert first["userIdentity"]["accessKeyId"] == key and first["userIdentity"]["userName"] == m.compromised_user
    assert _epoch(first["eventTime"]) == t0
    normal = [e for e in events if e["userIdentity"].get("accessKeyId") == key and e["sourceIPAddress"] != ip]
    assert normal, "the CI key is used normally too"
    assert not {e["userAgent"] for e in attacker} & {e["userAgent"] for e in normal}
    assert not any(ip in orjson.dumps(e).decode() for e in events if _epoch(e["eventTime"]) < t0)

    # 2. reconnaissance: many refused calls within minutes
    denied = [e for e in attacker if e.get("errorCode") in ("AccessDenied", "Client.UnauthorizedOperation")]
    assert len(denied) >= 20
    assert {"AccessDenied", "Client.UnauthorizedOperation"} <= {e["errorCode"] for e in denied}
    assert len({e["eventSource"] for e in denied}) >= 5
    assert _epoch(denied[-1]["eventTime"]) - _epoch(denied[0]["eventTime"]) < 600

    # 3. StopLogging on the trail
    stop = [e for e in attacker if e["eventName"] == "StopLogging"]
    assert len(stop) == 1 and stop[0]["eventSource"] == "cloudtrail.amazonaws.com"
    assert stop[0]["requestParameters"]["name"] == m.trail_name
    assert stop[0]["eventTime"] > denied[-1]["eventTime"]

    # 4. port 22 opened to the world, then SSH accepted from the attacker
    sg = [e for e in attacker if e["eventName"] == "AuthorizeSecurityGroupIngress"]
    assert len(sg) == 1 and sg[0]["eventTime"] > stop[0]["eventTime"]
    params = sg[0]["requestParameters"]
    assert params["groupId"] == m.opened_security_group_id
    perm = params["ipPermissions"]["items"][0]
    assert (perm["ipProtocol"], perm["fromPort"], perm["toPort"]) == ("tcp", 22, 22)
    assert perm["ipRanges"]["items"][0]["cidrIp"] == "0.0.0.0/0"
    opened = _epoch(sg[0]["eventTime"])
    ssh = [r for r in flows if r["srcaddr"] == ip and r["dstport"] == "22"]
    accepted = [r for r in ssh if r["action"] == "ACCEPT"]
    assert accepted and all(int(r["start"]) > opened for r in accepted)
    assert all(r["dstaddr"] == m.facts["ssh_target_private_ip"] for r in accepted)
    assert all(int(r["start"]) < opened for r in ssh if r["action"] == "REJECT")

    # 5. hundreds of GetObject on the sensitive bucket
    gets = [e for e in attacker if e["eventName"] == "GetObject"]
    assert len(gets) >= 300 and len(gets) == m.facts["exfil_get_object_count"]
    assert all(e["requestParameters"]["bucketName"] == m.sensitive_bucket for e in gets)
    assert all(e["eventCategory"] == "Data" for e in gets)
    assert gets[0]["eventTime"] > sg[0]["eventTime"]


def test_logging_gap(demo: tuple[Path, DemoManifest], events: list[dict]) -> None:
    _, m = demo
    gap_start, gap_end = (t.timestamp() for t in m.facts["logging_gap"])
    inside = [e for e in events if gap_start < _epoch(e["eventTime"]) < gap_end]
    assert not inside
    restart = [e for e in events if e["eventName"] == "StartLogging"]
    assert len(restart) == 1 and restart[0]["userIdentity"]["type"] == "AssumedRole"


def test_port_scan(demo: tuple[Path, DemoManifest], flows: list[dict]) -> None:
    _, m = demo
    # in the second region's VPC (its v5 format has the region); in us-east-1 it only talks HTTPS to the ALB
    scan = [r for r in flows if r["srcaddr"] == m.scanner_ip and r.get("region") == "eu-west-1"]
    rejected_ports = {r["dstport"] for r in scan if r["action"] == "REJECT"}
    assert len(rejected_ports) >= 500
    assert {r["dstaddr"] for r in scan} == {m.facts["scan_target_ip"]}  # one source, one target, many ports


# ---- rhythm -----------------------------------------------------------------------------------------------
def test_day_night_rhythm(events: list[dict], flows: list[dict]) -> None:
    by_hour = Counter(e["eventTime"][11:13] for e in events)
    assert by_hour["14"] > 1.5 * by_hour["03"]
    flow_hours = Counter(dt.datetime.fromtimestamp(int(r["start"]), dt.UTC).hour for r in flows if r["start"] != "-")
    assert flow_hours[14] > 1.5 * flow_hours[3]
