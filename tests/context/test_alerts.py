"""Alerts name the asset they are about, and rank higher on restricted assets, with stable ids."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from loglake.detect.rule import RuleError, rule_from_dict
from loglake.detect.rulebook import load_rulebook
from loglake.detect.run import detect
from loglake.detect.store import AlertStore
from loglake.ingest.pipeline import IngestOptions, ingest
from tests.context.estate import instance, snapshot, write_flow_lines

AT = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
RULE_ID = "aws.context.internet_reached_internal_asset"


def _rule():
    return next(r for r in load_rulebook(None).rules if r.id == RULE_ID)


def _lake_with_two_internal_hosts(tmp_path, lake):
    payments = {"Name": "prod-int-payments", "Classification": "restricted", "Exposure": "internal"}
    sandbox = {"Name": "dev-int-sandbox", "Classification": "public", "Exposure": "internal"}
    web = {"Name": "prod-ext-web", "Classification": "restricted", "Exposure": "internet"}
    snapshot(
        lake,
        AT,
        [
            instance("i-0aaa", "10.0.1.23", "eni-0aaa", payments),
            instance("i-0bbb", "10.0.1.24", "eni-0bbb", sandbox),
            instance("i-0ccc", "10.0.1.25", "eni-0ccc", web),
        ],
    )
    later = AT + dt.timedelta(hours=1)
    write_flow_lines(
        tmp_path / "raw",
        "x",
        [
            (later, "eni-0aaa", "198.51.100.7", "10.0.1.23", "ACCEPT"),
            (later, "eni-0bbb", "198.51.100.7", "10.0.1.24", "ACCEPT"),
            (later, "eni-0ccc", "198.51.100.7", "10.0.1.25", "ACCEPT"),  # internet-facing: as classified
            (later, "eni-0aaa", "198.51.100.8", "10.0.1.23", "REJECT"),
        ],
    )
    ingest(IngestOptions(sources=[str(tmp_path / "raw")], lake=lake, workers=1))


def test_internet_to_internal_assets_alerts_and_restricted_ones_rank_higher(tmp_path, lake):
    _lake_with_two_internal_hosts(tmp_path, lake)
    rule = _rule()
    first = detect(lake, [rule])
    assert not first.errors
    alerts = {a.asset_name: a for a in AlertStore(lake).alerts_of(RULE_ID)}
    assert set(alerts) == {"prod-int-payments", "dev-int-sandbox"}
    payments, sandbox = alerts["prod-int-payments"], alerts["dev-int-sandbox"]
    assert (payments.severity, payments.asset_sensitivity, payments.asset_reachability) == (
        "critical",
        "restricted",
        "internal",
    )
    assert payments.asset_type == "AWS::EC2::Instance" and payments.asset_level == "full"
    assert (sandbox.severity, sandbox.asset_sensitivity) == ("high", "public")

    # a re-run over the same rows (a backtest) keeps the same alerts: the raise does not make a second one
    again = detect(lake, [rule], since=AT - dt.timedelta(days=1))
    assert not again.errors and not again.new
    assert {a.alert_id: a.severity for a in AlertStore(lake).alerts_of(RULE_ID)} == {
        payments.alert_id: "critical",
        sandbox.alert_id: "high",
    }


def test_the_raise_is_configured_per_rule(tmp_path, lake):
    _lake_with_two_internal_hosts(tmp_path, lake)
    quiet = dataclasses.replace(_rule(), raise_severity_on=())
    detect(lake, [quiet])
    assert {a.asset_name: a.severity for a in AlertStore(lake).alerts_of(RULE_ID)} == {
        "prod-int-payments": "high",
        "dev-int-sandbox": "high",
    }


def test_rule_context_settings_parse():
    base = {"id": "x.y", "title": "t", "severity": "low", "tables": ["vpc_flow_logs"], "query": "SELECT 1"}
    assert rule_from_dict({**base, "context": True}).raise_severity_on == ("restricted",)
    both = rule_from_dict({**base, "context": {"raise_severity_on": ["restricted", "internal"]}})
    assert both.context and both.raise_severity_on == ("restricted", "internal")
    assert rule_from_dict(base).raise_severity_on == ("restricted",)  # every rule raises on restricted
    with pytest.raises(RuleError, match="raise_severity_on"):
        rule_from_dict({**base, "context": {"raise": "x"}})
