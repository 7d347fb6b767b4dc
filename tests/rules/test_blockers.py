"""The blocker catalogue (guard.blockers) and the rules, held together.

- every entry is complete: where (file: function), trigger, and a rule code or a reason;
- every entry caught by a rule code has a failing fixture (tests/rules/blockers_*.py) that
  reports exactly that code, and the fixture passes;
- every rule code that a domain XML can trigger has an entry: a rule added without a source
  to tie it to, or an entry dropped, fails here;
- every libvirt-schema entry's xpath compiles and finds the resource in its fixture's XML.
"""
import re

import blockers_libvirt
import blockers_qemu
import blockers_schema
import pytest
from lxml import etree
from support.rulecase import run_case

from guard.blockers import ACCESSES, COMPONENTS, RESOURCES, catalogue
from guard.rules import all_codes
from guard.xmlsafe import domain_element

ENTRIES = catalogue()
FIXTURES = {}
for _module in (blockers_qemu, blockers_libvirt, blockers_schema):
    for _id, _case in _module.CASES.items():
        assert _id not in FIXTURES, "two fixtures for %s" % _id
        FIXTURES[_id] = _case

# The codes no domain XML sets off: they compare hosts, report missing facts, or need a
# measurement. Each says why it has no catalogue entry.
NO_XML_TRIGGER = {
    "session-connection[destination]": "the daemon that runs the hook is a session daemon",
    "session-connection[source]": "a pre-flight URI names /session",
    "host-cpu[vendor]": "compares the source host with the destination",
    "host-cpu[model]": "compares the source host with the destination",
    "host-cpu[signature]": "compares the source host with the destination",
    "host-cpu[features]": "compares the source host with the destination",
    "microcode": "compares the source host with the destination",
    "qemu-version[older]": "compares the source host with the destination",
    "qemu-version[newer]": "compares the source host with the destination",
    "kernel-version[older]": "compares the source host with the destination",
    "kernel-version[newer]": "compares the source host with the destination",
    "numa-pinning[shape]": "compares the source host's NUMA shape with the destination's",
    "memory-size[convergence]": "a prediction from a measured dirty rate and the configured bandwidth",
    "memory-size[limit]": "the seed's limitation (RHEL 9: more than 1 TB), not a refusal in QEMU's or libvirt's source",
}
NO_XML_TRIGGER.update({code: "compares the source host with the destination" for code in all_codes()
                       if code.startswith("bios[")})
NO_XML_TRIGGER.update({code: "reports a fact a rule lacked, not a blocker" for code in all_codes()
                       if code.startswith("unverifiable")})
NO_XML_TRIGGER.update({code: "the source fingerprint's signature and age under a fleet key, not a blocker"
                       for code in all_codes() if code.startswith("source-fingerprint[")})


def test_catalogue_holds_at_least_the_issues_floor():
    from_sources = [e for e in ENTRIES if e.component in ("qemu", "libvirt")]
    assert len(from_sources) >= 60, len(from_sources)
    assert sum(1 for e in from_sources if e.rule) >= 40


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_is_complete(entry):
    assert re.fullmatch(r"(qemu|libvirt|schema)-[a-z0-9]+(-[a-z0-9]+)*", entry.id)
    assert entry.component in COMPONENTS
    assert entry.id.split("-")[0] == {"qemu": "qemu", "libvirt": "libvirt", "libvirt-schema": "schema"}[entry.component]
    assert re.match(r"[\w./-]+: \S", entry.where), "where is 'file: function': %r" % entry.where
    assert entry.trigger
    assert bool(entry.rule) != bool(entry.reason), "a rule code or a reason, not both: %s" % entry.id
    assert entry.rule is None or entry.rule in all_codes(), "%s names an undeclared code %s" % (entry.id, entry.rule)
    for version in (entry.since, entry.lifted):
        assert version is None or re.fullmatch(r"\d+\.\d+(\.\d+)?", version), version
    if entry.component == "libvirt-schema":
        assert entry.resource in RESOURCES and entry.access in ACCESSES and entry.xpath
        etree.XPath(entry.xpath)  # compiles, or raises
    else:
        assert entry.resource is None and entry.access is None and entry.xpath is None


def test_ids_are_unique():
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_fixture_belongs_to_an_entry_with_a_rule():
    caught = {e.id for e in ENTRIES if e.rule}
    assert set(FIXTURES) <= caught, sorted(set(FIXTURES) - caught)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.rule], ids=lambda e: e.id)
def test_entry_with_a_rule_has_a_failing_fixture_reporting_it(entry):
    case = FIXTURES.get(entry.id)
    assert case is not None, "%s (%s) has no failing fixture in tests/rules/blockers_*.py" % (entry.id, entry.rule)
    assert case.expect == entry.rule, "%s's fixture expects %s, the entry says %s" % (entry.id, case.expect, entry.rule)
    run_case(case)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.component == "libvirt-schema" and e.rule],
                         ids=lambda e: e.id)
def test_schema_entry_finds_its_resource_in_its_fixture(entry):
    root = domain_element(etree.fromstring(FIXTURES[entry.id].xml().encode()))
    assert [str(v).strip() for v in root.xpath(entry.xpath) if str(v).strip()], entry.xpath


def test_every_rule_code_a_domain_xml_triggers_has_an_entry():
    covered = {e.rule for e in ENTRIES if e.rule}
    assert set(NO_XML_TRIGGER) <= all_codes(), sorted(set(NO_XML_TRIGGER) - all_codes())
    uncovered = sorted(all_codes() - covered - set(NO_XML_TRIGGER))
    assert not uncovered, "rule codes with an XML trigger but no catalogue entry: %s" % uncovered


def test_the_rules_version_gates_are_the_catalogues():
    """A rule that lets a blocker go from some version on uses the version the catalogue read
    from the source, not one of its own."""
    from guard.rules import devices
    lifted = {e.id: e.lifted for e in ENTRIES}
    assert devices.VIRTIOFS_QEMU.startswith(lifted["qemu-vhost-user-fs"] + ".")
    assert devices.VIRTIOFS_LIBVIRT.startswith(lifted["libvirt-virtiofs"] + ".")


def test_schema_xpaths_have_no_union_inside_a_predicate():
    """guard.guest.domain runs each top-level branch of an xpath on its own (a union of two large node
    sets costs their product in libxml2), which needs every "|" to be at the top level."""
    for entry in ENTRIES:
        depth = 0
        for char in entry.xpath or "":
            depth += {"[": 1, "]": -1}.get(char, 0)
            assert not (char == "|" and depth), entry.id


def test_host_resource_entries_name_a_code_the_rule_reports_for_their_kind():
    """The rule reports a schema entry's own code (guard.guest.domain.HostResource.code): addresses are
    judged apart, everything else by presence, so an address code goes with address resources only."""
    from guard.rules.host_resource import _MISSING
    for entry in ENTRIES:
        if (entry.rule or "").startswith("host-resource["):
            code = entry.rule[len("host-resource["):-1]
            assert (code == "address") == (entry.resource == "address"), entry.id
            assert code == "address" or code in _MISSING, entry.id
