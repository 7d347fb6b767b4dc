"""unverifiable: a check that lacked a fact says so. Passing and failing fixtures."""
import pytest
from support.helpers import corpus_facts, debian12_facts, minimal_guest
from support.rulecase import Case, corpus, minimal, run_case, same_source
from support.rulehosts import host

from guard.facts.model import Probe
from guard.rules.source_refusal import SourceState


def debian12(**changes):
    return lambda: debian12_facts()._replace(**changes)


def no_machine_types():
    facts = debian12_facts()
    return facts._replace(guests=tuple(g._replace(machines=()) for g in facts.guests))


def no_firmware_enum():
    facts = debian12_facts()
    return facts._replace(domcaps=tuple(d._replace(firmware=None) for d in facts.domcaps))


CASES = [
    Case("unverifiable", "an SELinux guest, facts that say neither capabilities' drivers nor qemu.conf's "
         "(corpus seclabel-dynamic)", corpus("seclabel-dynamic"), dest=debian12(security_models=None),
         expect="unverifiable[security-driver]", action="warn", message_has=("model='selinux'",)),
    Case("unverifiable", "an SELinux guest, facts with the capabilities' drivers (corpus seclabel-dynamic)",
         corpus("seclabel-dynamic"), dest=corpus_facts, near=("unverifiable[security-driver]",)),
    Case("unverifiable", "--tls, the destination's certificates not collected (minimal XML)", minimal(),
         dest=host(), expect="unverifiable[migration-flags]", action="warn",
         kwargs={"source_state": SourceState(flags=("tls",))}, message_has=("migration TLS certificates",)),
    Case("unverifiable", "--tls, the destination's certificates collected (minimal XML)", minimal(),
         dest=host(tls_certs=(("migrate", "/etc/pki/qemu", ()),)), near=("unverifiable[migration-flags]",),
         kwargs={"source_state": SourceState(flags=("tls",))}),
    Case("unverifiable", "a chardev file nobody looked at: no probe (minimal XML)",
         minimal(extra="<serial type='file'><source path='/var/log/guests/s.log'/><target port='1'/></serial>"),
         dest=host(), expect="unverifiable[host-resource]", action="warn", message_has=("/var/log/guests/s.log",)),
    Case("unverifiable", "a chardev file the probe saw (minimal XML)",
         minimal(extra="<serial type='file'><source path='/var/log/guests/s.log'/><target port='1'/></serial>"),
         dest=host(), near=("unverifiable[host-resource]",),
         kwargs={"probe": Probe(paths={"/var/log/guests": True}, guests=())}),
    Case("unverifiable", "no source fingerprint", minimal(), expect="unverifiable[source-fingerprint]", action="warn"),
    Case("unverifiable", "fingerprint present", minimal(), source=same_source(debian12_facts),
         near=("unverifiable[source-fingerprint]", "unverifiable[facts]")),
    Case("unverifiable", "no destination facts", minimal(), dest=lambda: None, expect="unverifiable[facts]",
         action="warn", kwargs={"facts_problem": "facts cache /x is missing"},
         message_has=("facts cache /x is missing", "numa-pinning")),
    Case("unverifiable", "no facts for the guest's virt type", lambda: minimal_guest(
        cpu="\n  <cpu mode='custom'><model>qemu64</model></cpu>").replace("type='qemu'", "type='kvm'", 1),
        dest=debian12(domcaps=()), expect="unverifiable[cpu-model]", action="warn"),
    Case("unverifiable", "pins on a host whose facts have no NUMA cells", minimal(vcpu="<vcpu cpuset='0'>1</vcpu>"),
         dest=debian12(cells=()), expect="unverifiable[numa-pinning]", action="warn"),
    Case("unverifiable", "facts that list no guest support", minimal(), dest=debian12(guests=()),
         expect="unverifiable[emulator]", action="warn"),
    Case("unverifiable", "facts that list no machine types", minimal(), dest=no_machine_types,
         expect="unverifiable[machine-type]", action="warn"),
    Case("unverifiable", "domcapabilities without a firmware list", minimal(os_attrs=" firmware='efi'"),
         dest=no_firmware_enum, expect="unverifiable[firmware]", action="warn"),
    Case("unverifiable", "facts without the host's memory", minimal(), dest=debian12(memory_bytes=None),
         expect="unverifiable[memory-size]", action="warn"),
    Case("unverifiable", "virtiofs with a libvirt-run virtiofsd on QEMU 9.2", corpus("vhost-user-fs-fd-memory"),
         dest=corpus_facts, expect="unverifiable[device-passthrough]", action="warn", message_has=("migrate-precopy",)),
    Case("unverifiable", "network named while the facts' network list is incomplete (minimal XML)",
         minimal(extra="<interface type='network'><source network='lab'/></interface>"),
         dest=lambda: host()()._replace(networks_complete=False), expect="unverifiable[network]", action="warn"),
    Case("unverifiable", "bridge on a host whose netdevs nobody read (minimal XML)",
         minimal(extra="<interface type='bridge'><source bridge='br0'/></interface>"),
         expect="unverifiable[network]", action="warn"),
    Case("unverifiable", "listen address on a host whose addresses nobody read", corpus("graphics-vnc"),
         expect="unverifiable[graphics-listen]", action="warn"),
    Case("unverifiable", "disk whose stat did not answer within the budget", corpus("hostdev-pci-address"),
         dest=host(), expect="unverifiable[storage]", action="warn",
         kwargs={"probe": Probe(paths={"/dev/HostVG/QEMUGuest2": None})}),
    Case("unverifiable", "disk checked by the probe", corpus("hostdev-pci-address"), dest=host(),
         near=("unverifiable[storage]", "unverifiable[network]", "unverifiable[graphics-listen]",
               "unverifiable[device-passthrough]"),
         kwargs={"probe": Probe(paths={"/dev/HostVG/QEMUGuest2": True})}),
    Case("unverifiable", "complete facts", minimal(cpu="\n  <cpu mode='custom'><model>qemu64</model></cpu>",
                                                   vcpu="<vcpu cpuset='0'>1</vcpu>", os_attrs=" firmware='efi'"),
         source=same_source(debian12_facts),
         near=("unverifiable[cpu-model]", "unverifiable[numa-pinning]", "unverifiable[emulator]",
               "unverifiable[machine-type]", "unverifiable[firmware]", "unverifiable[memory-size]")),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
