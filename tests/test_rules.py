"""Every rule against its passing and failing fixtures, plus meta-tests on the registry."""
import pytest

from guard.rules import REGISTRY, all_codes
from helpers import decide
from rule_fixtures import CASES


@pytest.mark.parametrize("case", CASES, ids=lambda c: "%s: %s" % (c.rule, c.name))
def test_rule_fixture(case):
    source = case.source() if case.source else None
    decision = decide(case.xml(), case.dest(), source, **case.kwargs)
    found = [f for f in decision.findings if f.rule == case.rule]
    if case.expect is None:
        assert found == [], "expected no %s finding, got %s" % (case.rule, [f.message for f in found])
        return
    matching = [f for f in found if f.code == case.expect]
    assert matching, "expected %s, got %s" % (case.expect, [(f.code, f.message) for f in decision.findings])
    assert {f.action for f in matching} == {case.action}
    for text in case.message_has:
        assert any(text in f.message for f in matching), (text, [f.message for f in matching])
    for item in matching:
        assert item.remedy, "every finding tells the user what to do"
    assert decision.decision == ("deny" if case.action == "deny" else decision.decision)


def test_every_rule_has_passing_and_failing_fixtures():
    for rule in REGISTRY:
        cases = [c for c in CASES if c.rule == rule.id]
        assert any(c.expect for c in cases), "%s has no failing fixture" % rule.id
        assert any(c.expect is None for c in cases), "%s has no passing fixture" % rule.id


def test_rule_records_are_complete_and_unique():
    ids = [r.id for r in REGISTRY]
    assert len(ids) == len(set(ids))
    for rule in REGISTRY:
        assert rule.id == rule.id.lower() and " " not in rule.id
        assert rule.title and rule.limitation and rule.checks and rule.remedy
        assert rule.default and rule.strict == "deny"
        assert all(code == rule.id or code.startswith(rule.id + "[") for code in rule.codes)


def test_fixture_codes_are_declared_by_their_rule():
    declared = all_codes()
    for case in CASES:
        if case.expect and case.rule != "unverifiable":
            assert case.expect in declared, case.expect
