"""Meta-tests on the registry: every declared code has a failing and a passing fixture
in its family's tests, and a rule can report only what it declares."""
import pytest
import test_cpu
import test_defined_guest
import test_device_support
import test_devices
import test_host_identity
import test_host_resource
import test_memory
import test_network
import test_numa
import test_platform
import test_source_fingerprint
import test_source_refusal
import test_storage
import test_unmigratable
import test_unverifiable

from guard.rules import REGISTRY, all_codes
from guard.rules.findings import UndeclaredCode, finding

CASES = [case for module in (test_devices, test_numa, test_cpu, test_host_identity, test_platform, test_memory,
                             test_network, test_storage, test_unverifiable,
                             test_defined_guest, test_unmigratable, test_host_resource,
                             test_device_support, test_source_refusal, test_source_fingerprint)
         for case in module.CASES]


@pytest.mark.parametrize("code", sorted(all_codes()))
def test_every_declared_code_has_a_failing_and_a_passing_fixture(code):
    assert any(c.expect == code for c in CASES), "%s has no failing fixture" % code
    assert any(code in c.near for c in CASES), "%s has no passing fixture (a Case with near=(%r,))" % (code, code)


def test_fixtures_name_only_declared_codes():
    declared = all_codes()
    for case in CASES:
        assert case.expect is None or case.expect in declared, case
        assert set(case.near) <= declared, case
        assert all(code == case.rule or code.startswith(case.rule + "[") for code in case.near + (case.expect or "",)
                   if code), case


def test_an_undeclared_code_or_action_cannot_be_reported():
    with pytest.raises(UndeclaredCode):
        finding("device-passthrough", "floppy", "deny", "m", "r")
    with pytest.raises(UndeclaredCode):
        finding("memory-size", "limit", "warn", "m", "r")  # declared deny
    assert finding("host-cpu", "model", "warn", "m", "r").strict == "deny"


def test_rule_records_are_complete_and_unique():
    ids = [r.id for r in REGISTRY]
    assert len(ids) == len(set(ids))
    for rule in REGISTRY:
        assert rule.id == rule.id.lower() and " " not in rule.id
        assert rule.title and rule.limitation and rule.checks and rule.remedy and rule.codes
        assert {c.strict for c in rule.codes} == {"deny"}
        assert all(c.code == rule.id or c.code.startswith(rule.id + "[") for c in rule.codes)
