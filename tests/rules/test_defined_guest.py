"""defined-guest: passing and failing fixtures. The destination's guests come from a Probe, as
the hook reads them from the destination's own files; defined_guests reads a real host tree."""
import os

import pytest
from support.rulecase import Case, minimal, run_case
from support.rulehosts import host, probe

from guard.facts.probe import defined_guests

UUID = "8f99e332-06c4-463a-9099-330fb244e1b3"  # helpers.minimal_guest's
OTHER = "0b2a6e1c-2f8e-4e2c-9d55-7d2f5d1e7a10"
CODES = ("defined-guest[name]", "defined-guest[uuid]", "defined-guest[active]")

CASES = [
    Case("defined-guest", "another guest of the same name (minimal XML)", minimal(name="web01"), dest=host(),
         expect="defined-guest[name]", kwargs=probe(guests=(("web01", OTHER, False),)), message_has=(OTHER,)),
    Case("defined-guest", "this UUID under another name (minimal XML)", minimal(name="web01"), dest=host(),
         expect="defined-guest[uuid]", kwargs=probe(guests=(("web01-old", UUID, False),)), message_has=("web01-old",)),
    Case("defined-guest", "the same guest already running there (minimal XML)", minimal(name="web01"), dest=host(),
         expect="defined-guest[active]", kwargs=probe(guests=(("web01", UUID, True),))),
    Case("defined-guest", "the same guest defined there, shut off: its definition is replaced (minimal XML)",
         minimal(name="web01"), dest=host(), near=CODES, kwargs=probe(guests=(("web01", UUID, False),))),
    Case("defined-guest", "other guests only (minimal XML)", minimal(name="web01"), dest=host(), near=CODES,
         kwargs=probe(guests=(("db01", OTHER, True),))),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def test_defined_guests_reads_definitions_and_status_files(tmp_path):
    root = str(tmp_path)
    _write(root + "/etc/libvirt/qemu/web01.xml", "<domain type='kvm'>\n  <name>web01</name>\n  <uuid>%s</uuid>\n"
           "</domain>\n" % UUID.upper())
    _write(root + "/etc/libvirt/qemu/db01.xml", "<domain><name>db01</name><uuid>%s</uuid></domain>" % OTHER)
    _write(root + "/etc/libvirt/qemu/autostart/x", "")
    _write(root + "/run/libvirt/qemu/web01.xml", "<domstatus state='running'><domain id='3'><name>web01</name>"
           "<uuid>%s</uuid></domain></domstatus>" % UUID)
    _write(root + "/run/libvirt/qemu/web01.pid", "123")
    assert defined_guests(root) == (("db01", OTHER, False), ("web01", UUID, True))


def test_defined_guests_is_none_when_nothing_can_be_listed(tmp_path):
    assert defined_guests(str(tmp_path)) is None
