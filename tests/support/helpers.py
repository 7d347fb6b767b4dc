"""Shared test data: real host documents (this repo's Debian 12 capture and libvirt's corpus)."""
import datetime
import functools
import os
import time

import pytest

from guard.config import Config
from guard.decide.core import Inputs
from guard.decide.core import decide as core_decide
from guard.facts.build import build_facts
from guard.facts.fingerprint import fingerprint_of
from guard.guest.domain import parse_domain

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/
REPO = os.path.dirname(HERE)
DEBIAN12 = os.path.join(REPO, "examples", "hosts", "debian12-libvirt9.0")
NOW = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.timezone.utc).timestamp()


def corpus_root():
    return os.environ.get("MIGRATION_GUARD_CORPUS") or os.path.join(REPO, "..", "shared", "corpus")


def corpus_tests():
    path = os.path.join(corpus_root(), "libvirt-11.3.0", "tests")
    if not os.path.isdir(path):
        pytest.skip("libvirt test corpus not found at %s (set MIGRATION_GUARD_CORPUS to run these tests)" % path)
    return path


def corpus_file(*parts):
    return os.path.join(corpus_tests(), *parts)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def wait_until(condition, what, timeout=30.0, interval=0.01):
    """Poll condition() until it is true; fail naming `what` after `timeout` seconds. For
    waiting on another process: a fixed sleep is either too short on a loaded machine or
    wasted on an idle one."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("gave up after %gs waiting for %s" % (timeout, what))
        time.sleep(interval)


def corpus_domain_xml(name):
    return read(corpus_file("qemuxmlconfdata", name + ".xml")).decode()


@functools.lru_cache(maxsize=None)
def debian12_facts():
    """A real Debian 12 host (libvirt 9.0, QEMU 7.2, TCG only usable) as captured by virsh."""
    domcaps = [read(os.path.join(DEBIAN12, "domcapabilities-%s.xml" % v))
               for v in ("qemu-pc", "qemu-q35", "kvm-pc", "kvm-q35")]
    return build_facts(read(os.path.join(DEBIAN12, "capabilities.xml")), domcaps,
                       qemu_version="7.2.22", libvirt_version="9.0.0", kernel_release="6.1.0-40-amd64",
                       hostname="debian12")


@functools.lru_cache(maxsize=None)
def corpus_facts():
    """A 2-node Haswell KVM host from libvirt's corpus with QEMU 9.2 domain capabilities."""
    domcaps = [read(corpus_file("domaincapsdata", name)) for name in (
        "qemu_9.2.0.x86_64.xml", "qemu_9.2.0-q35.x86_64.xml", "qemu_9.2.0-tcg.x86_64.xml")]
    nodedevs = [read(corpus_file("nodedevschemadata", name)) for name in (
        "mdev_d069d019_36ea_4111_8f0a_8c9a70e21366.xml", "pci_0000_02_10_7_mdev_types.xml")]
    return build_facts(read(corpus_file("capabilityschemadata", "caps-qemu-kvm.xml")), domcaps,
                       read(corpus_file("sysinfodata", "x86sysinfo.expect")),
                       [read(corpus_file("networkxml2xmlin", "hostdev.xml"))], nodedevs,
                       qemu_version="9.2.0", libvirt_version="11.3.0", kernel_release="5.14.0-503.el9.x86_64",
                       hostname="corpus-kvm")


def source_like(facts, **changes):
    """The fingerprint of a source host that differs from `facts` as given."""
    return fingerprint_of(facts)._replace(**changes)


def decide(xml, dest, source=None, config=None, now=NOW, **kwargs):
    domain = parse_domain(xml) if isinstance(xml, (str, bytes)) else xml
    return core_decide(Inputs(domain, dest, config or Config(), now, source=source, **kwargs))


def codes(decision, action=None):
    return {f.code for f in decision.findings if action is None or f.action == action}


def minimal_guest(name="guest", virt_type="qemu", machine="pc", memory="64 MiB", extra="", cpu="",
                  os_extra="", vcpu="<vcpu>1</vcpu>", os_attrs="", metadata="", top=""):
    number, unit = memory.split()
    return """<domain type='%s'>
  <name>%s</name>
  <uuid>8f99e332-06c4-463a-9099-330fb244e1b3</uuid>%s
  <memory unit='%s'>%s</memory>
  %s%s
  <os%s><type arch='x86_64' machine='%s'>hvm</type>%s</os>%s
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='pty'/>
    <memballoon model='none'/>%s
  </devices>
</domain>
""" % (virt_type, name, metadata, unit, number, vcpu, top, os_attrs, machine, os_extra, cpu, extra)
