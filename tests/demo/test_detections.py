"""The built-in rules on the demo: every step of the attack story raises an alert; the quiet hours raise few."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loglake.demo import DemoManifest
from loglake.demo.assets import write_demo_assets
from loglake.demo.intel import write_intel_feed
from loglake.detect.intel import add_feed
from loglake.detect.rulebook import load_rulebook
from loglake.detect.run import detect
from loglake.ingest.pipeline import IngestOptions, ingest

# A timeline entry of the story (by a phrase in it) -> the rules, any of which must alert around its time.
STEPS = {
    "port scan of": {"aws.vpc.port_scan", "aws.vpc.rejected_connection_burst"},
    "brute-forces paths": {"aws.web.high_4xx_rate", "aws.web.sensitive_path_probe", "aws.waf.rate_based_rule_match"},
    "probes the web app": {"aws.web.sqli_attempt", "aws.web.path_traversal", "aws.web.xss_attempt"},
    "leaked key": {"aws.iam.principal_new_source_ip", "aws.iam.access_denied_burst"},
    "reconnaissance": {"aws.iam.access_denied_burst"},
    "StopLogging": {"aws.cloudtrail.logging_stopped"},
    "opened to 0.0.0.0/0": {"aws.ec2.security_group_open_to_internet"},
    "SSH from": {"aws.vpc.ssh_rdp_from_internet"},
    "resolves known-bad": {"intel.indicator_match", "aws.dns.firewall_alert"},
    "GetObject calls": {"aws.s3.bulk_object_download", "aws.s3access.mass_get_object"},
}
NOT_ATTACKS = ("restarts logging",)  # the defender's own step
NEAR = dt.timedelta(minutes=15)


@pytest.fixture(scope="module")
def demo_alerts(demo: tuple[Path, DemoManifest], tmp_path_factory: pytest.TempPathFactory):
    raw, manifest = demo
    work = tmp_path_factory.mktemp("demo-detect")
    lake = work / "lake"
    write_demo_assets(lake, manifest.seed, manifest.start)  # before the logs, as `loglake demo` does
    ingest(IngestOptions(sources=[str(raw)], lake=lake, workers=2))
    add_feed(lake, write_intel_feed(work, manifest))
    result = detect(lake, load_rulebook(None).rules)
    assert not result.errors, [r.error for r in result.errors]
    return manifest, result.new


def test_every_attack_step_raises_an_alert(demo_alerts) -> None:
    manifest, alerts = demo_alerts
    missed = []
    for when, what in manifest.timeline:
        if any(phrase in what for phrase in NOT_ATTACKS):
            continue
        rules = next(rules for phrase, rules in STEPS.items() if phrase in what)
        near = [a for a in alerts if a.rule_id in rules and a.first_seen - NEAR <= when <= a.last_seen + NEAR]
        if not near:
            missed.append(what)
    assert not missed


def test_the_quiet_hours_raise_few_alerts(demo_alerts) -> None:
    manifest, alerts = demo_alerts
    story = [when for when, _ in manifest.timeline]
    quiet = [a for a in alerts if not any(a.first_seen - NEAR <= t <= a.last_seen + NEAR for t in story)]
    assert len(quiet) <= 10, sorted({a.rule_id for a in quiet})


def test_the_exfiltration_alert_names_the_bucket_and_the_attacker(demo_alerts) -> None:
    manifest, alerts = demo_alerts
    burst = [a for a in alerts if a.rule_id == "aws.s3access.mass_get_object"]
    assert [(a.resource, a.ip) for a in burst] == [(manifest.sensitive_bucket, manifest.attacker_ip)]
    assert all(ref["lake_file"] and ref["lake_row"] for ref in burst[0].refs)
    # the bucket is classified restricted (its pci tag) and the alert says so, one step above the rule's high
    assert (burst[0].asset_name, burst[0].asset_sensitivity, burst[0].asset_level) == (
        manifest.sensitive_bucket,
        "restricted",
        "full",
    )
    assert burst[0].severity == "critical"


def test_threat_intel_matches_only_the_c2(demo_alerts) -> None:
    manifest, alerts = demo_alerts
    matched = {a.resource for a in alerts if a.rule_id == "intel.indicator_match"}
    assert matched and matched <= {manifest.bad_domain, manifest.facts["bad_domain_ip"]}
