"""The built-in rule pack: every rule loads, is documented, and passes its own inline tests (through real parsers)."""

from __future__ import annotations

import pytest

from loglake.detect import ruletest
from loglake.detect.rule import SEVERITIES
from loglake.detect.rulebook import load_rulebook

PACK = load_rulebook(None).rules


def test_the_pack_is_large_and_ids_are_unique() -> None:
    assert len(PACK) >= 40
    assert len({r.id for r in PACK}) == len(PACK)


@pytest.mark.parametrize("rule", PACK, ids=lambda r: r.id)
def test_rule_is_documented_and_tested(rule) -> None:
    assert rule.severity in SEVERITIES
    assert rule.description, "say what the rule finds and why it matters"
    assert any(t.startswith("attack.") for t in rule.tags), "tag the MITRE ATT&CK tactic or technique"
    assert any(t.expect > 0 for t in rule.tests), "a positive case"
    assert any(t.expect == 0 for t in rule.tests), "a negative case"


@pytest.mark.parametrize("rule", PACK, ids=lambda r: r.id)
def test_rule_passes_its_inline_tests(rule) -> None:
    outcomes = ruletest.run_tests(rule)
    failed = [
        f"{o.name}: expected {o.expected} alerts, got {o.alerts} {o.error or ''}" for o in outcomes if not o.passed
    ]
    assert not failed, "\n".join(failed)
