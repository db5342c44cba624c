"""The attack hidden in the demo logs, on the last day of the window.

1. The CI user's long-lived access key, leaked, is used from an address never seen before (203.0.113.0/24)
   with a different user agent: first a `GetCallerIdentity`.
2. Reconnaissance: a burst of List/Describe/Get calls across services and both regions in a few minutes,
   many refused (`AccessDenied`, EC2's `Client.UnauthorizedOperation`): the CI policy is narrow but not
   narrow enough.
3. `StopLogging` on the trail. An EventBridge rule runs the `cloudtrail-guard` Lambda, which turns logging
   back on (`StartLogging`) about 90 s later; background events in between are missing from the trail.
4. `AuthorizeSecurityGroupIngress` opening port 22 to 0.0.0.0/0 on the legacy web server's group, then SSH
   from the attacker to that server: REJECTed before the change, ACCEPTed after it (VPC flow logs).
5. Several hundred S3 `GetObject` calls on the payments bucket from the attacker's address (in the CloudTrail
   data events and, with the same request ids, in the bucket's server access logs).
6. Meanwhile, on the server it got into, the attacker fetches a payload and starts a beacon: Route 53 Resolver
   logs the server's queries for a known-bad domain (DNS Firewall in ALERT mode flags them), VPC flow logs
   its connections to the address it resolves to.
Earlier that day the attacker probes the public web app (path traversal, SQL injection, ...; WAF blocks it,
see `story_web.py`), and another internet address port-scans the public web server of the second region
(one source, ~1100 destination ports, REJECTed except the open web ports), then brute-forces paths on the
ALB until WAF's rate-based rule blocks it.
"""

from __future__ import annotations

import random
from typing import Any

from loglake.demo import cloudtrail_events as ev
from loglake.demo.base import StoryPlan
from loglake.demo.cloudtrail_events import Caller, Event, EventBuilder
from loglake.demo.estate import SENSITIVE_BUCKET, Eni, Estate
from loglake.demo.rand import alnum, derive, hex_id, uuid4
from loglake.demo.resolver import Query
from loglake.demo.story_web import plan_web
from loglake.demo.vpcflow import WINDOW, interface_fields, record

UA_ATTACKER_CLI = "aws-cli/2.9.1 Python/3.9.11 Linux/6.1.0-kali7-amd64 exe/x86_64.kali.2023 prompt/off command/{}"
UA_ATTACKER_SCRIPT = "Boto3/1.26.160 Python/3.11.4 Linux/6.1.0-kali7-amd64 Botocore/1.29.160 Resource"
SSH_TARGET = "legacy-web-1"
# service ports above 1024 that scanners add to the well-known range
_DATA_PORTS = (1433, 1521, 2049, 3306, 5432, 6379, 9200, 9300, 11211, 27017)  # databases, caches, NFS
_ADMIN_PORTS = (2375, 3389, 5900, 5985, 7001, 10000, 50000)  # Docker, RDP, VNC, WinRM, WebLogic, Webmin, ...
_WEB_PORTS = (3000, 5000, 8000, 8008, 8080, 8081, 8443, 8888, 9000, 9090)
SCAN_TARGET = "eu-web-1"
BAD_DOMAIN = "c2.kworker-update.example"  # on the threat list of the DNS Firewall rule
BAD_IP = "203.0.113.147"

# (service, eventName, allowed for the CI user?, requestParameters, regional?)
_RECON: list[tuple[str, str, bool, Any, bool]] = [
    ("iam.amazonaws.com", "GetUser", False, None, False),
    ("iam.amazonaws.com", "ListAttachedUserPolicies", False, {"userName": "ci-deploy"}, False),
    ("iam.amazonaws.com", "ListUserPolicies", False, {"userName": "ci-deploy"}, False),
    ("iam.amazonaws.com", "ListUsers", False, None, False),
    ("iam.amazonaws.com", "ListRoles", False, None, False),
    ("iam.amazonaws.com", "GetAccountAuthorizationDetails", False, None, False),
    ("iam.amazonaws.com", "ListAccessKeys", False, {"userName": "ci-deploy"}, False),
    ("s3.amazonaws.com", "ListBuckets", True, {"Host": "s3.amazonaws.com"}, False),
    ("organizations.amazonaws.com", "DescribeOrganization", False, None, False),
    ("ec2.amazonaws.com", "DescribeInstances", True, {"instancesSet": {}, "filterSet": {}}, True),
    (
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        True,
        {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}},
        True,
    ),
    ("ec2.amazonaws.com", "DescribeVpcs", True, {"vpcSet": {}, "filterSet": {}}, True),
    (
        "ec2.amazonaws.com",
        "DescribeSnapshots",
        False,
        {"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}},
        True,
    ),
    ("ec2.amazonaws.com", "DescribeVolumes", False, {"volumeSet": {}, "filterSet": {}}, True),
    ("ec2.amazonaws.com", "DescribeKeyPairs", False, {"keySet": {}, "filterSet": {}}, True),
    (
        "ec2.amazonaws.com",
        "DescribeImages",
        False,
        {"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}},
        True,
    ),
    ("secretsmanager.amazonaws.com", "ListSecrets", False, None, True),
    ("kms.amazonaws.com", "ListKeys", False, None, True),
    ("kms.amazonaws.com", "ListAliases", False, None, True),
    ("rds.amazonaws.com", "DescribeDBInstances", False, None, True),
    ("rds.amazonaws.com", "DescribeDBSnapshots", False, None, True),
    ("lambda.amazonaws.com", "ListFunctions20150331", True, None, True),
    ("dynamodb.amazonaws.com", "ListTables", False, None, True),
    ("guardduty.amazonaws.com", "ListDetectors", False, None, True),
    ("ssm.amazonaws.com", "DescribeParameters", False, None, True),
    ("logs.amazonaws.com", "DescribeLogGroups", False, None, True),
    ("sns.amazonaws.com", "ListTopics", False, None, True),
    ("ecr.amazonaws.com", "DescribeRepositories", True, None, True),
    ("cloudtrail.amazonaws.com", "DescribeTrails", True, {"includeShadowTrails": True}, True),
]


def plan_story(estate: Estate, seed: int, start: int, end: int) -> StoryPlan:
    """The attack's CloudTrail events and flow records, and the facts tests and the demo summary use."""
    rng = derive(seed, "story")
    day0 = max(start, end - 86400)
    t0 = day0 + 13 * 3600 + int(rng.random() * 3600)  # early afternoon UTC: the attacker hides in office hours
    story = _Story(estate, seed, rng)
    story.attack(t0)
    scan_at = t0 - 3 * 3600 + int(rng.random() * 1800)
    story.port_scan(scan_at)
    plan_web(story.plan, estate, seed, probe_at=t0 - 50 * 60, scan_at=scan_at + 15 * 60)
    return story.plan


class _Story:
    def __init__(self, estate: Estate, seed: int, rng: random.Random) -> None:
        self.e = estate
        self.seed = seed
        self.rng = rng
        self.b = EventBuilder(estate, seed, rng)
        self.ci = estate.users["ci-deploy"]
        self.ident = self.b.user(self.ci)
        self.ip = estate.attacker_ip
        regions = estate.regions
        self.plan = StoryPlan(cloudtrail={r: [] for r in regions}, vpcflow={r: [] for r in regions}, dns={})

    def emit(self, t: int, event: Event) -> None:
        self.plan.cloudtrail[event["awsRegion"]].append((t, event))

    def note(self, t: int, what: str) -> None:
        self.plan.timeline.append((t, what))

    def call(self, t: int, region: str, who: Caller, source: str, name: str, **fields: Any) -> None:
        self.emit(t, self.b.call(t, region, who, source, name, **fields))

    def attacker(self, ua: str) -> Caller:
        return Caller(self.ident, self.ip, ua)

    def api(self, t: int, region: str, source: str, name: str, *, allowed: bool = True, **fields: Any) -> None:
        """An attacker's CLI call with the leaked key; a refused one gets the service's access-denied error."""
        error = None if allowed else ev.denied(self.ci.arn, source, name)
        ua = UA_ATTACKER_CLI.format(fields.pop("command", None) or _command(source, name))
        self.call(t, region, self.attacker(ua), source, name, error=error, **fields)

    # ---- the attack ---------------------------------------------------------------------------------------
    def attack(self, t0: int) -> None:
        e = self.e
        self.plan.facts.update(
            attack_start=t0,
            attacker_ip=self.ip,
            leaked_access_key_id=self.ci.access_key_id,
            compromised_user=self.ci.name,
            trail_name=e.trail_name,
            sensitive_bucket=SENSITIVE_BUCKET,
        )
        self.api(t0, e.home_region, "sts.amazonaws.com", "GetCallerIdentity", command="sts.get-caller-identity")
        self.note(t0, f"leaked key {self.ci.access_key_id} of {self.ci.name} used from new IP {self.ip}")
        t = self.recon(t0 + 25)
        t = self.stop_logging(t + 60)
        t = self.open_ssh(t + 120)
        self.beacon(t + 40 + 150 + 75)
        self.exfiltrate(t + 300)

    def recon(self, t: int) -> int:
        rng = self.rng
        calls = [(r, c) for c in _RECON for r in (self.e.regions if c[4] else (self.e.home_region,))]
        rng.shuffle(calls)
        first, denied = t, 0
        for region, (source, name, allowed, req, _) in calls:
            self.api(t, region, source, name, allowed=allowed, req=req)
            denied += not allowed
            t += 1 + int(rng.random() * 7)
        self.plan.facts.update(recon_calls=len(calls), recon_denied=denied)
        self.note(first, f"reconnaissance: {len(calls)} calls in {(t - first) // 60} min, {denied} denied")
        return t

    def stop_logging(self, t: int) -> int:
        e = self.e
        home = e.home_region
        self.api(t, home, "cloudtrail.amazonaws.com", "GetTrailStatus", req={"name": e.trail_arn})
        t += 20
        self.api(t, home, "cloudtrail.amazonaws.com", "StopLogging", req={"name": e.trail_name}, ro=False)
        self.note(t, f"StopLogging on trail {e.trail_name}")
        # An EventBridge rule on StopLogging runs the guard Lambda, which turns logging back on. Its AssumeRole
        # happened while the trail was stopped, so that is not in the logs.
        fn = e.lambdas["cloudtrail-guard"]
        back = t + 85 + int(self.rng.random() * 20)
        guard = Caller(self.b.role(fn.role, fn.name, back, period=3600, offset=0), e.lambda_ips[0], ev.UA_LAMBDA_PY)
        self.call(back, home, guard, "cloudtrail.amazonaws.com", "StartLogging", req={"name": e.trail_arn}, ro=False)
        self.plan.cloudtrail_gap = (t, back)
        self.plan.facts["logging_gap"] = (t, back)
        self.note(back, "cloudtrail-guard Lambda restarts logging (StartLogging)")
        return back

    def open_ssh(self, t: int) -> int:
        e = self.e
        region = e.home_region
        target = e.eni(region, SSH_TARGET)
        sg = e.vpcs[region].security_groups["legacy-web-sg"]
        self.plan.facts.update(
            opened_security_group_id=sg,
            ssh_target_instance_id=target.instance_id,
            ssh_target_private_ip=target.private_ip,
            ssh_target_public_ip=target.public_ip,
        )
        self.ssh(target, t - 50, 6, accepted=False)  # the attacker tries first: the security group drops it
        groups = {"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": sg}]}, "filterSet": {}}
        self.api(t, region, "ec2.amazonaws.com", "DescribeSecurityGroups", req=groups)
        t += 35
        self.authorize_ssh(t, region, sg)
        self.note(t, f"port 22 opened to 0.0.0.0/0 on {sg}")
        self.ssh(target, t + 40, 25, accepted=True)
        self.ssh(target, t + 150, 30 * 60, accepted=True)
        self.note(t + 40, f"SSH from {self.ip} to {target.name} ({target.private_ip}) accepted")
        return t

    def authorize_ssh(self, t: int, region: str, sg: str) -> None:
        """`AuthorizeSecurityGroupIngress` as the CLI's `--ip-permissions` form records it."""
        perm = {
            "ipProtocol": "tcp",
            "fromPort": 22,
            "toPort": 22,
            "groups": {},
            "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
            "ipv6Ranges": {},
            "prefixListIds": {},
        }
        rule = {
            "groupOwnerId": self.e.account,
            "groupId": sg,
            "securityGroupRuleId": hex_id(self.rng, "sgr-"),
            "isEgress": False,
            "ipProtocol": "tcp",
            "fromPort": 22,
            "toPort": 22,
            "cidrIpv4": "0.0.0.0/0",
        }
        request_id = uuid4(self.rng)
        resp = {"requestId": request_id, "_return": True, "securityGroupRuleSet": {"items": [rule]}}
        req = {"groupId": sg, "ipPermissions": {"items": [perm]}}
        ua = UA_ATTACKER_CLI.format("ec2.authorize-security-group-ingress")
        self.call(
            t,
            region,
            self.attacker(ua),
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            req=req,
            resp=resp,
            ro=False,
            request_id=request_id,
        )

    def ssh(self, target: Eni, t: int, duration: int, *, accepted: bool) -> None:
        """An SSH connection in flow records, split over the aggregation windows it spans."""
        iface = interface_fields(target, self.e.account)
        sport = 40000 + int(self.rng.random() * 20000)
        out = self.plan.vpcflow[target.region]
        me, it = self.ip, target.private_ip
        if not accepted:
            for i in range(2):  # a SYN and a retry, REJECTed
                st = t + 3 * i
                out.append(record(iface, me, it, sport + i, 22, 6, 2, 120, st, st + 2, "REJECT", 2, False))
            return
        end = t + duration
        first = True
        while t < end:
            stop = min(end, (t // WINDOW + 1) * WINDOW - 1)
            secs = max(1, stop - t)
            last = stop == end
            pk_in, pk_out = 20 + secs * 3, 18 + secs * 5
            flags_in = (2 if first else 0) | (1 if last else 0)  # SYN in the first window, FIN in the last
            flags_out = (18 if first else 0) | (1 if last else 0)
            out.append(record(iface, me, it, sport, 22, 6, pk_in, pk_in * 90, t, stop, "ACCEPT", flags_in, False))
            out.append(
                record(iface, it, me, 22, sport, 6, pk_out, pk_out * 310, t, stop, "ACCEPT", flags_out, True, "8")
            )
            t, first = stop + 1, False

    def exfiltrate(self, t: int) -> None:
        rng = self.rng
        bucket = self.e.buckets[SENSITIVE_BUCKET]
        region = bucket.region
        self.api(t, region, "s3.amazonaws.com", "ListBuckets", req={"Host": "s3.amazonaws.com"}, command="s3.ls")
        t += 15
        host = f"{bucket.name}.s3.{region}.amazonaws.com"
        resources = [{"accountId": self.e.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket.name}"}]
        lister = self.attacker(f"[{UA_ATTACKER_CLI.format('s3.ls')}]")
        for prefix in ("settlements/", "exports/", "chargebacks/"):
            for _ in range(2):
                req = {
                    "list-type": "2",
                    "bucketName": bucket.name,
                    "Host": host,
                    "prefix": prefix,
                    "encoding-type": "url",
                }
                request_id = alnum(rng, 16).upper()
                self.call(
                    t,
                    region,
                    lister,
                    "s3.amazonaws.com",
                    "ListObjects",
                    req=req,
                    resources=resources,
                    data=True,
                    tls=host,
                    request_id=request_id,
                )
                t += 2 + int(rng.random() * 5)
        first, n = t + 20, 400 + int(rng.random() * 80)
        t = first
        keys = [
            f"settlements/2024/{m:02d}/{d:02d}/batch-{i:06d}.csv.gz"
            for m in range(1, 13)
            for d in (1, 15)
            for i in range(20)
        ]
        rng.shuffle(keys)
        script = self.attacker(f"[{UA_ATTACKER_SCRIPT}]")
        context = {"aws:s3:arn": f"arn:aws:s3:::{bucket.name}"}
        for i in range(n):
            key = keys[i] if i < len(keys) else f"exports/merchant={i}/cards-2024.parquet"
            size = int(rng.lognormvariate(13, 1))
            self.emit(
                t,
                self.b.s3_object(
                    t, region, script, op="GetObject", bucket=bucket.name, key=key, kms=bucket.kms, size=size
                ),
            )
            if rng.random() < 0.3:
                self.emit(
                    t, self.b.kms_for_service(t, region, self.ident, "s3.amazonaws.com", "Decrypt", context=context)
                )
            t += int(rng.random() * 3)
        self.plan.facts.update(exfil_get_object_count=n)
        self.note(first, f"{n} GetObject calls on s3://{bucket.name} from {self.ip}")

    def beacon(self, t: int) -> None:
        """On the server it got into, the attacker fetches a payload from a known-bad domain, which then beacons
        every 5 minutes: A (and a first AAAA) queries in the Resolver logs, connections in the flow logs."""
        e = self.e
        region = e.home_region
        target = e.eni(region, SSH_TARGET)
        rng = derive(self.seed, "story", "dns")
        name = BAD_DOMAIN + "."
        iface = interface_fields(target, e.account)
        flows = self.plan.vpcflow[region]
        queries = []
        times = [t, t + 6] + [t + 300 * i + int(rng.random() * 20) for i in range(1, 6)]
        for i, tq in enumerate(times):
            port = 1024 + int(rng.random() * 64000)
            ms = tq * 1000 + int(rng.random() * 1000)
            queries.append(Query(ms, target, name, "A", "NOERROR", ((BAD_IP, "A"),), port, True))
            if i == 0:
                queries.append(Query(ms, target, name, "AAAA", "NOERROR", (), port, True))
            sport = 32768 + int(rng.random() * 28000)
            down = 2_600_000 + int(rng.random() * 200_000) if i == 0 else 300 + int(rng.random() * 900)
            up = 900 + int(rng.random() * 600)
            st, en = tq + 1, tq + (9 if i == 0 else 2)
            pk_up, pk_down = 6 + up // 500, 4 + down // 1400
            me = target.private_ip
            flows.append(record(iface, me, BAD_IP, sport, 443, 6, pk_up, up, st, en, "ACCEPT", 3, True, "8"))
            flows.append(record(iface, BAD_IP, me, 443, sport, 6, pk_down, down, st, en, "ACCEPT", 19, False))
        self.plan.dns[region] = queries
        self.plan.facts.update(
            bad_domain=BAD_DOMAIN,
            bad_domain_ip=BAD_IP,
            bad_domain_queries=len(queries),
            resolver_query_instance_id=target.instance_id,
        )
        self.note(t, f"{target.name} ({target.instance_id}) resolves known-bad {BAD_DOMAIN} and downloads from it")

    # ---- the port scan ------------------------------------------------------------------------------------
    def port_scan(self, t: int) -> None:
        """One address SYN-scans the well-known ports and common high ports of a public server."""
        e = self.e
        target = e.eni(e.regions[-1], SCAN_TARGET)
        iface = interface_fields(target, e.account)
        src, dst = e.scanner_ip, target.private_ip
        ports = [*range(1, 1025), *_DATA_PORTS, *_ADMIN_PORTS, *_WEB_PORTS]
        self.rng.shuffle(ports)
        out = self.plan.vpcflow[target.region]
        sport = 40000 + int(self.rng.random() * 20000)
        for i, port in enumerate(ports):
            st = t + i // 5  # ~5 probes a second
            if port in (80, 443):  # open: SYN in, SYN-ACK out
                out.append(record(iface, src, dst, sport, port, 6, 2, 84, st, st + 1, "ACCEPT", 6, False))
                out.append(record(iface, dst, src, port, sport, 6, 1, 44, st, st + 1, "ACCEPT", 18, True, "8"))
            else:
                out.append(record(iface, src, dst, sport, port, 6, 1, 44, st, st, "REJECT", 2, False))
        self.plan.facts.update(scanner_ip=src, scan_target_ip=dst, scan_ports=len(ports))
        self.note(t, f"port scan of {target.name} from {src}: {len(ports)} ports")


def _command(source: str, name: str) -> str:
    """`iam.amazonaws.com` + `ListUsers` -> `iam.list-users`, as the CLI's user agent names it."""
    svc = source.split(".", 1)[0]
    words = "".join("-" + c.lower() if c.isupper() else c for c in name.rstrip("0123456789v")).lstrip("-")
    return f"{svc}.{words}"
