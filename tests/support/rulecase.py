"""The fixture record every rule family's tests use, and the runner.

A Case is a guest, a destination and (optionally) a source fingerprint. `expect` names a
code that must be found, with its action; `near` names codes that must NOT be found: the
passing fixture for those codes (a near miss, or the ordinary case). The meta-test in
test_meta.py requires both for every code a rule declares. Real corpus guests and host
documents where the corpus has the case; minimal XML (helpers.minimal_guest) where not,
and the case's name says so."""
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from guard.facts.model import LocalFacts
from support.helpers import corpus_domain_xml, debian12_facts, decide, minimal_guest, source_like


@dataclass
class Case:
    rule: str
    name: str
    xml: Callable[[], str]
    dest: Callable = debian12_facts
    source: Optional[Callable] = None  # () -> Fingerprint
    expect: Optional[str] = None  # a code that must be found
    near: Tuple[str, ...] = ()  # codes that must not be found
    action: str = "deny"
    message_has: tuple = ()
    kwargs: dict = field(default_factory=dict)

    def __str__(self):
        return "%s: %s" % (self.rule, self.name)


def corpus(name, to_qemu=False):
    def load():
        xml = corpus_domain_xml(name)
        return xml.replace("<domain type='kvm'>", "<domain type='qemu'>", 1) if to_qemu else xml
    return load


def minimal(**parts):
    return lambda: minimal_guest(**parts)


def same_source(facts_fn):
    return lambda: source_like(facts_fn())


def source_with(facts_fn, **changes):
    return lambda: source_like(facts_fn(), **changes)


def with_local(facts_fn, **local):
    """A host whose collector also read /proc and /sys (settings libvirt does not show)."""
    values = dict(kernel_cmdline="BOOT_IMAGE=/vmlinuz mitigations=auto", smt="on", nested=False,
                  vulnerabilities=(("meltdown", "Not affected"), ("spectre_v2", "Mitigation: Enhanced IBRS")),
                  boot_mode="uefi", firmware_files=("/usr/share/OVMF/OVMF_CODE.fd",))
    values.update(local)
    return lambda: facts_fn()._replace(local=LocalFacts(**values))


def run_case(case):
    source = case.source() if case.source else None
    outcome = decide(case.xml(), case.dest(), source, **case.kwargs)
    found = [f for f in outcome.findings if f.rule == case.rule]
    for code in case.near:
        assert code not in {f.code for f in found}, "%s found in a passing fixture: %s" % (
            code, [f.message for f in found if f.code == code])
    if case.expect is None:
        return
    matching = [f for f in found if f.code == case.expect]
    assert matching, "expected %s, got %s" % (case.expect, [(f.code, f.message) for f in outcome.findings])
    assert {f.action for f in matching} == {case.action}
    for text in case.message_has:
        assert any(text in f.message for f in matching), (text, [f.message for f in matching])
    for item in matching:
        assert item.remedy, "every finding tells the user what to do"
    if case.action == "deny":
        assert outcome.decision == "deny"
