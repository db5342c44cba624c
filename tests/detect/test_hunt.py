"""Hunting over a real ingested lake: IP, principal and access-key timelines across tables; saved hunts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import orjson
import pytest

from loglake.cli import main
from loglake.detect import hunt
from loglake.detect.connection import open_connection
from loglake.query import engine

ACCOUNT = "111122223333"
ATTACKER = "203.0.113.50"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ALICE_KEY = "AKIAIOSFODNN7EXAMPLE"
NEW_KEY = "AKIAI44QH8DHBEXAMPLE"
BUCKET = "examplebucket"
DAY = "2026-03-02"


def cloudtrail_event(minute: int, name: str, identity: dict, ip: str, **extra) -> dict:
    return {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": f"{DAY}T10:{minute:02d}:00Z",
        "eventSource": extra.pop("eventSource", "iam.amazonaws.com"),
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0",
        "eventID": f"evt-{minute:02d}",
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCOUNT,
        **extra,
    }


ALICE_IDENTITY = {
    "type": "IAMUser",
    "principalId": "AIDAEXAMPLEALICE",
    "arn": ALICE,
    "accountId": ACCOUNT,
    "accessKeyId": ALICE_KEY,
    "userName": "alice",
}
DEPLOY_SESSION = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:alice-session",
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/alice-session",
    "accountId": ACCOUNT,
    "accessKeyId": "ASIAEXAMPLESESSION01",
    "sessionContext": {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAEXAMPLE",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/deploy",
            "accountId": ACCOUNT,
            "userName": "deploy",
        },
        "attributes": {"creationDate": f"{DAY}T09:00:00Z", "mfaAuthenticated": "false"},
    },
}
BOB_IDENTITY = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob", "accountId": ACCOUNT, "userName": "bob"}


def write_logs(root: Path) -> None:
    """An attacker's morning in every source: a scan, a web request, a WAF block, API calls with a stolen key, a
    new key, reads from a bucket; and ordinary activity of others around it."""
    trail = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "03" / "02"
    trail.mkdir(parents=True)
    records = [
        cloudtrail_event(4, "ListBuckets", ALICE_IDENTITY, ATTACKER, eventSource="s3.amazonaws.com"),
        cloudtrail_event(
            5,
            "CreateAccessKey",
            ALICE_IDENTITY,
            ATTACKER,
            requestParameters={"userName": "alice"},
            responseElements={"accessKey": {"accessKeyId": NEW_KEY, "status": "Active", "userName": "alice"}},
        ),
        cloudtrail_event(
            6,
            "GetObject",
            DEPLOY_SESSION,
            "198.51.100.23",
            eventSource="s3.amazonaws.com",
            requestParameters={"bucketName": BUCKET, "key": "exports/customers.csv"},
            resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{BUCKET}/exports/customers.csv"}],
        ),
        cloudtrail_event(20, "DescribeInstances", BOB_IDENTITY, "192.0.2.44", eventSource="ec2.amazonaws.com"),
        cloudtrail_event(
            25, "AttachUserPolicy", ALICE_IDENTITY | {"accessKeyId": NEW_KEY}, ATTACKER, errorCode="AccessDenied"
        ),
    ]
    (trail / f"{ACCOUNT}_CloudTrail_us-east-1_20260302T1030Z_a1.json").write_bytes(orjson.dumps({"Records": records}))

    start = int(dt.datetime.fromisoformat(f"{DAY}T09:58:00+00:00").timestamp())
    flows = [
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action"
        " log-status",
        f"2 {ACCOUNT} eni-0a1 {ATTACKER} 10.0.1.15 51000 22 6 3 180 {start} {start + 30} REJECT OK",
        f"2 {ACCOUNT} eni-0a1 10.0.1.15 198.51.100.77 43210 443 6 40 52000 {start + 60} {start + 120} ACCEPT OK",
        f"2 {ACCOUNT} eni-0a1 {ATTACKER} 10.0.1.15 51001 443 6 12 4800 {start + 120} {start + 180} ACCEPT OK",
        f"2 {ACCOUNT} eni-0a1 10.0.1.15 {ATTACKER} 443 51001 6 10 90000 {start + 120} {start + 180} ACCEPT OK",
    ]
    (root / "flows.log").write_text("\n".join(flows) + "\n")

    alb = (
        f"https {DAY}T10:02:00.186641Z app/web/50dc6c495c0c9188 {ATTACKER}:40000 10.0.1.15:443 0.000 0.010 0.000 "
        '200 200 120 4100 "GET https://shop.example.com:443/admin HTTP/1.1" "python-requests/2.31" '
        "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
        f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web/73e2d6bc24d8a067 "
        '"Root=1-58337262-36d228ad5d99923122bbe354" "shop.example.com" "-" 0 '
        f'{DAY}T10:02:00.170000Z "forward" "-" "-" "10.0.1.15:443" "200" "-" "-"'
    )
    (root / "alb.log").write_text(alb + "\n")

    s3 = (
        f"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {BUCKET} [02/Mar/2026:10:07:00 +0000] "
        f"{ATTACKER} {ALICE} 3E57427F3EXAMPLE REST.GET.OBJECT exports/customers.csv "
        f'"GET /{BUCKET}/exports/customers.csv HTTP/1.1" 200 - 2662992 3462992 70 10 "-" "aws-cli/2.15.0" - '
        "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 "
        f"ECDHE-RSA-AES128-GCM-SHA256 AuthHeader {BUCKET}.s3.us-east-1.amazonaws.com TLSV1.2 - -"
    )
    (root / "s3access.log").write_text(s3 + "\n")

    waf = {
        "timestamp": int(dt.datetime.fromisoformat(f"{DAY}T10:03:00+00:00").timestamp() * 1000),
        "formatVersion": 1,
        "webaclId": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:regional/webacl/shop/1EXAMPLE",
        "terminatingRuleId": "AWS-AWSManagedRulesSQLiRuleSet",
        "terminatingRuleType": "MANAGED_RULE_GROUP",
        "action": "BLOCK",
        "httpSourceName": "ALB",
        "httpSourceId": f"{ACCOUNT}-app/web/50dc6c495c0c9188",
        "ruleGroupList": [],
        "rateBasedRuleList": [],
        "nonTerminatingMatchingRules": [],
        "httpRequest": {
            "clientIp": ATTACKER,
            "country": "NL",
            "headers": [{"name": "Host", "value": "shop.example.com"}],
            "uri": "/search",
            "args": "q=1%27%20OR%201=1",
            "httpVersion": "HTTP/1.1",
            "httpMethod": "GET",
            "requestId": "waf-req-1",
        },
    }
    (root / "waf.log").write_bytes(orjson.dumps(waf) + b"\n")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hunt")
    write_logs(root / "logs")
    assert main(["ingest", str(root / "logs"), "--lake", str(root / "lake"), "--workers", "1"]) == 0
    return root / "lake"


@pytest.fixture(scope="module")
def con(lake: Path) -> duckdb.DuckDBPyConnection:
    return engine.connect(lake)


def test_ip_timeline_spans_tables_in_time_order(con: duckdb.DuckDBPyConnection) -> None:
    rows = hunt.ip_timeline(con, ATTACKER).rows.to_pylist()
    tables = [r["lake_table"] for r in rows]
    assert {"cloudtrail_logs", "vpc_flow_logs", "alb_access_logs", "s3_access_logs", "waf_logs"} <= set(tables)
    times = [r["lake_time"] for r in rows]
    assert times == sorted(times)
    actions = {r["lake_table"]: r["action"] for r in rows}
    assert actions["alb_access_logs"] == "GET https://shop.example.com:443/admin 200"
    assert actions["waf_logs"] == "BLOCK GET /search AWS-AWSManagedRulesSQLiRuleSet"
    assert actions["s3_access_logs"] == f"REST.GET.OBJECT {BUCKET}/exports/customers.csv 200"
    assert f"{ATTACKER}:51000 -> 10.0.1.15:22 tcp REJECT OK" in [r["action"] for r in rows]
    assert "iam.amazonaws.com AttachUserPolicy AccessDenied" in [r["action"] for r in rows]
    # lineage: every row leads back to its raw line
    assert all(r["lake_file"] and r["lake_row"] >= 1 for r in rows)
    # the other peers' rows are not there
    assert not any(r["ip"] == "192.0.2.44" for r in rows)


def test_ip_timeline_window_and_limit(con: duckdb.DuckDBPyConnection) -> None:
    since = dt.datetime.fromisoformat(f"{DAY}T10:03:00+00:00")
    until = dt.datetime.fromisoformat(f"{DAY}T10:06:00+00:00")
    rows = hunt.ip_timeline(con, ATTACKER, hunt.Window(since, until)).rows.to_pylist()
    assert rows and all(since <= r["lake_time"] < until for r in rows)
    assert {r["lake_table"] for r in rows} == {"waf_logs", "cloudtrail_logs"}
    limited = hunt.ip_timeline(con, ATTACKER, limit=2)
    assert limited.rows.num_rows == 2 and limited.truncated


def test_principal_by_arn_and_by_name(con: duckdb.DuckDBPyConnection) -> None:
    by_arn = hunt.principal_timeline(con, ALICE).rows.to_pylist()
    by_name = hunt.principal_timeline(con, "alice").rows.to_pylist()
    trail = [r["action"] for r in by_arn if r["lake_table"] == "cloudtrail_logs"]
    assert trail == [
        "s3.amazonaws.com ListBuckets",
        "iam.amazonaws.com CreateAccessKey",
        "iam.amazonaws.com AttachUserPolicy AccessDenied",
    ]
    assert {r["lake_table"] for r in by_arn} == {"cloudtrail_logs", "s3_access_logs"}  # the S3 requester too
    assert [(r["lake_table"], r["lake_row"]) for r in by_name] == [(r["lake_table"], r["lake_row"]) for r in by_arn]
    # a role's name finds the sessions it issued; the session's own name is no user called alice
    role = hunt.principal_timeline(con, "deploy").rows.to_pylist()
    assert [r["action"] for r in role] == ["s3.amazonaws.com GetObject"]
    assert role[0]["principal"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deploy/alice-session"
    assert hunt.principal_timeline(con, "ali").rows.num_rows == 0


def test_key_timeline_follows_the_key_from_its_creation(con: duckdb.DuckDBPyConnection) -> None:
    rows = hunt.key_timeline(con, NEW_KEY).rows.to_pylist()
    assert [r["action"] for r in rows] == [
        "iam.amazonaws.com CreateAccessKey",  # named in the response
        "iam.amazonaws.com AttachUserPolicy AccessDenied",  # used
    ]
    assert hunt.principal_timeline(con, NEW_KEY).rows.num_rows == 2
    with pytest.raises(hunt.HuntError, match="not an access key id"):
        hunt.key_timeline(con, "alice")


def test_saved_hunts_run_with_their_parameters(lake: Path) -> None:
    con = open_connection(lake)
    names = {h.name: h for h in hunt.shipped_hunts()}
    assert set(names) >= {"access_key_activity", "bucket_activity", "top_talkers"}
    assert all(h.description and h.parameters for h in names.values())
    used = hunt.run_hunt(con, names["access_key_activity"], {"key_id": ALICE_KEY}).to_pylist()
    assert [(r["eventname"], r["role_of_key"]) for r in used] == [("ListBuckets", "used"), ("CreateAccessKey", "used")]
    bucket = hunt.run_hunt(con, names["bucket_activity"], {"bucket": BUCKET}).to_pylist()
    assert [(r["lake_table"], r["operation"]) for r in bucket] == [
        ("cloudtrail_logs", "GetObject"),
        ("s3_access_logs", "REST.GET.OBJECT"),
    ]
    talkers = hunt.run_hunt(con, names["top_talkers"], {"ip": "10.0.1.15"}).to_pylist()
    assert talkers[0]["peer"] == ATTACKER and talkers[0]["direction"] == "to peer" and talkers[0]["bytes"] == 90000
    assert {r["peer"] for r in talkers} == {ATTACKER, "198.51.100.77"}


def test_hunt_parameters_ignore_strings_and_comments() -> None:
    sql = "-- uses $nothing\nSELECT '$.key', \"$col\", $a, $b_2, $a /* $c */ FROM t WHERE x = $$literal$$"
    assert hunt.hunt_parameters(sql) == ("a", "b_2")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_ip_timeline_as_json(lake: Path, capsys) -> None:
    code, out, _ = run(capsys, "hunt", "ip", ATTACKER, "--lake", str(lake), "--format", "json", "--since", DAY)
    assert code == 0
    rows = json.loads(out)
    assert list(rows[0]) == [f.name for f in hunt.TIMELINE_SCHEMA]
    assert len({r["lake_table"] for r in rows}) >= 3
    code, out, _ = run(capsys, "hunt", "ip", ATTACKER, "--lake", str(lake), "--format", "json", "--until", DAY)
    assert code == 0 and json.loads(out) == []


def test_cli_saved_hunt_by_name_and_file(lake: Path, capsys, tmp_path: Path) -> None:
    code, out, _ = run(
        capsys, "hunt", "run", "bucket_activity", "--param", f"bucket={BUCKET}", "--lake", str(lake), "-f", "jsonl"
    )
    assert code == 0 and len(out.splitlines()) == 2
    own = tmp_path / "denied.sql"
    own.write_text("-- Denied calls of one principal\nSELECT eventname FROM cloudtrail_logs WHERE errorcode = $code\n")
    code, out, _ = run(capsys, "hunt", "run", str(own), "-p", "code=AccessDenied", "--lake", str(lake), "-f", "csv")
    assert code == 0 and out.splitlines() == ["eventname", "AttachUserPolicy"]
    code, out, _ = run(capsys, "hunt", "list", "--format", "json")
    assert code == 0 and {h["name"] for h in json.loads(out)} >= {"top_talkers"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["hunt", "run", "top_talkers"],
            "hunt top_talkers needs parameter 'ip': loglake hunt run top_talkers --param ip=...",
        ),
        (["hunt", "run", "top_talkers", "-p", "ip=10.0.1.15", "-p", "port=22"], "has no parameter 'port'"),
        (["hunt", "run", "no_such_hunt"], "no saved hunt 'no_such_hunt'"),
        (["hunt", "run", "top_talkers", "-p", "ip"], "--param 'ip': write name=value"),
        (["hunt", "ip", "not-an-ip"], "'not-an-ip' is not an IP address"),
        (["hunt", "ip", ATTACKER, "--since", "yesterday"], "'yesterday' is not a time"),
    ],
)
def test_cli_user_errors_are_one_line(lake: Path, capsys, args: list[str], message: str) -> None:
    code, _, err = run(capsys, *args, "--lake", str(lake))
    assert code == 1
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
