"""Passing and failing fixtures for every rule; test_rules.py runs them and a meta-test
checks that every registered rule has both. Real corpus guests and host documents where
the corpus has the case; minimal XML (helpers.minimal_guest) only where it does not."""
from dataclasses import dataclass, field
from typing import Callable, Optional

from helpers import corpus_domain_xml, corpus_facts, debian12_facts, minimal_guest, source_like


@dataclass
class Case:
    rule: str
    name: str
    xml: Callable[[], str]
    dest: Callable = debian12_facts
    source: Optional[Callable] = None  # () -> Fingerprint
    expect: Optional[str] = None  # a code that must be found; None: the rule finds nothing
    action: str = "deny"
    message_has: tuple = ()
    kwargs: dict = field(default_factory=dict)


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


TEAMED_VF = """
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source>
      <teaming type='transient' persistent='ua-backup0'/>
    </hostdev>"""
NET_POOL = "<interface type='network'><source network='hostdev'/><mac address='52:54:00:00:00:01'/></interface>"
NET_NAT = "<interface type='network'><source network='default'/><mac address='52:54:00:00:00:02'/></interface>"
MACVTAP = ("<interface type='direct'><source dev='eth0' mode='passthrough'/>"
           "<mac address='52:54:00:00:00:03'/></interface>")
MDEV_PRESENT = ("<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
                "<address uuid='d069d019-36ea-4111-8f0a-8c9a70e21366'/></source></hostdev>")
PASSTHROUGH_CPU = "<cpu mode='host-passthrough'/>"

CASES = [
    # session-connection
    Case("session-connection", "destination is a session daemon", minimal(), expect="session-connection[destination]",
         kwargs={"connection": "session"}),
    Case("session-connection", "source URI is a session", minimal(), expect="session-connection[source]",
         kwargs={"connection": "system", "source_connection": "session"}),
    Case("session-connection", "system on both sides", minimal(), kwargs={"connection": "system"}),
    # device-passthrough
    Case("device-passthrough", "PCI hostdev", corpus("hostdev-pci-address"), expect="device-passthrough[pci]",
         message_has=("0000:06:12.5",)),
    Case("device-passthrough", "USB hostdev", corpus("hostdev-usb-address"), expect="device-passthrough[usb]"),
    Case("device-passthrough", "SCSI hostdev", corpus("hostdev-scsi-lsi"), expect="device-passthrough[scsi]"),
    Case("device-passthrough", "VF with transient teaming migrates", minimal(extra=TEAMED_VF)),
    Case("device-passthrough", "ordinary guest with disks and NICs", corpus("x86_64-pc-headless")),
    # sriov
    Case("sriov", "interface type=hostdev", corpus("net-hostdev-vfio-multidomain"), expect="sriov[hostdev]"),
    Case("sriov", "vDPA interface", corpus("net-vdpa"), expect="sriov[vdpa]"),
    Case("sriov", "network that is a hostdev pool", minimal(extra=NET_POOL), dest=corpus_facts,
         expect="sriov[network-pool]"),
    Case("sriov", "teamed hostdev interfaces", corpus("net-virtio-teaming")),
    Case("sriov", "macvtap passthrough is not SR-IOV", minimal(extra=MACVTAP)),
    Case("sriov", "NAT network", minimal(extra=NET_NAT), dest=corpus_facts),
    # mediated-device
    Case("mediated-device", "vGPU the destination lacks", corpus("hostdev-mdev-display"),
         expect="mediated-device[absent]"),
    Case("mediated-device", "vGPU the destination has: still denied by default", minimal(extra=MDEV_PRESENT),
         dest=corpus_facts, expect="mediated-device[present]", message_has=("i915-GVTg_V5_8",)),
    Case("mediated-device", "no mdev", corpus("x86_64-pc-minimal")),
    # numa-pinning
    Case("numa-pinning", "emulatorpin to CPUs the host lacks", corpus("cputune-numatune"),
         expect="numa-pinning[cpus]", message_has=("2-3",)),
    Case("numa-pinning", "numatune nodes the host lacks", corpus("numatune-memnode"), dest=corpus_facts,
         expect="numa-pinning[nodes]", message_has=("2-3",)),
    Case("numa-pinning", "strict nodes too small", minimal(
        memory="40 GiB", top="\n  <numatune><memory mode='strict' nodeset='0'/></numatune>"),
        dest=corpus_facts, expect="numa-pinning[memory]"),
    Case("numa-pinning", "huge pages not reserved", corpus("hugepages-default-2M"), expect="numa-pinning[hugepages]"),
    Case("numa-pinning", "pinned guest between hosts of different shape",
         minimal(vcpu="<vcpu cpuset='0'>1</vcpu>"),
         source=source_with(debian12_facts, numa=((0, 2, 1 << 32), (1, 2, 1 << 32))),
         expect="numa-pinning[shape]", action="warn"),
    Case("numa-pinning", "pins inside the host's CPUs", minimal(vcpu="<vcpu cpuset='0-1,^1'>1</vcpu>")),
    Case("numa-pinning", "placement auto is not pinning", corpus("numad-auto-vcpu-no-numatune")),
    # cpu-model
    Case("cpu-model", "Haswell under TCG, blockers named (QEMU 9.2)", corpus("cpu-Haswell", to_qemu=True),
         dest=corpus_facts, expect="cpu-model[unusable]", message_has=("Haswell", "hle", "rtm")),
    Case("cpu-model", "Haswell under TCG on libvirt 9.0 (no blockers listed)", corpus("cpu-Haswell", to_qemu=True),
         expect="cpu-model[unusable]", message_has=("usable='no'",)),
    Case("cpu-model", "host-passthrough under TCG", corpus("cpu-host-passthrough", to_qemu=True),
         expect="cpu-model[mode]", message_has=("host-passthrough",)),
    Case("cpu-model", "check='none' is still a custom model", minimal(
        cpu="\n  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>Haswell</model></cpu>"),
        expect="cpu-model[unusable]"),
    Case("cpu-model", "model unknown to the destination", minimal(
        cpu="\n  <cpu mode='custom' match='exact'><model>NoSuchCPU-v9</model></cpu>"), expect="cpu-model[unknown-model]"),
    Case("cpu-model", "usable qemu64 under TCG", minimal(
        cpu="\n  <cpu mode='custom' match='exact'><model>qemu64</model></cpu>")),
    Case("cpu-model", "host-passthrough under KVM", corpus("cpu-host-passthrough"), dest=corpus_facts),
    # host-cpu
    Case("host-cpu", "passthrough guest, different host CPU model", minimal(cpu=PASSTHROUGH_CPU),
         source=source_with(debian12_facts, cpu_model="Skylake-Server"), expect="host-cpu[model]"),
    Case("host-cpu", "named-model guest, different host CPU: warn", minimal(),
         source=source_with(debian12_facts, cpu_model="Skylake-Server"), expect="host-cpu[model]", action="warn"),
    Case("host-cpu", "identical hosts", minimal(cpu=PASSTHROUGH_CPU), source=same_source(debian12_facts)),
    # microcode
    Case("microcode", "passthrough guest, different microcode", minimal(cpu=PASSTHROUGH_CPU),
         source=source_with(debian12_facts, microcode="0x2b000603"), expect="microcode", message_has=("0x2b000603",)),
    Case("microcode", "same microcode", minimal(cpu=PASSTHROUGH_CPU), source=same_source(debian12_facts)),
    # bios
    Case("bios", "different BIOS version", minimal(cpu=PASSTHROUGH_CPU), dest=corpus_facts,
         source=source_with(corpus_facts, bios_version="6DET70WW (3.20 )"), expect="bios[version]"),
    Case("bios", "different SMT setting", minimal(cpu=PASSTHROUGH_CPU), dest=corpus_facts,
         source=source_with(corpus_facts, smt="off"),
         expect=None),  # the corpus destination has no local facts: settings are not compared
    Case("bios", "same BIOS", minimal(cpu=PASSTHROUGH_CPU), dest=corpus_facts, source=same_source(corpus_facts)),
    # qemu-version
    Case("qemu-version", "destination QEMU older", minimal(), source=source_with(debian12_facts, qemu_version="8.2.0"),
         expect="qemu-version[older]", message_has=("7.2.22", "8.2.0")),
    Case("qemu-version", "destination QEMU newer: warn", minimal(),
         source=source_with(debian12_facts, qemu_version="7.2.0"), expect="qemu-version[newer]", action="warn"),
    Case("qemu-version", "same QEMU", minimal(), source=same_source(debian12_facts)),
    # kernel-version
    Case("kernel-version", "destination kernel older", minimal(),
         source=source_with(debian12_facts, kernel_release="6.1.0-41-amd64"), expect="kernel-version[older]"),
    Case("kernel-version", "RHEL release ordering", minimal(), dest=corpus_facts,
         source=source_with(corpus_facts, kernel_release="5.14.0-70.13.1.el9_0.x86_64"),
         expect="kernel-version[newer]", action="warn"),
    Case("kernel-version", "same kernel", minimal(), source=same_source(debian12_facts)),
    # emulator
    Case("emulator", "RHEL's /usr/libexec/qemu-kvm on a Debian host", lambda: minimal_guest().replace(
        "/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm"), expect="emulator[binary]"),
    Case("emulator", "domain type the host does not offer", lambda: minimal_guest().replace(
        "type='qemu'", "type='xen'", 1), expect="emulator[domain-type]"),
    Case("emulator", "ordinary guest", minimal()),
    # machine-type
    Case("machine-type", "RHEL machine type on a Debian QEMU", minimal(machine="pc-q35-rhel9.4.0"),
         expect="machine-type", message_has=("pc-q35-rhel9.4.0",)),
    Case("machine-type", "machine the corpus QEMU 2.x lacks", corpus("x86_64-q35-minimal"), dest=corpus_facts,
         expect="machine-type"),
    Case("machine-type", "alias pc", corpus("x86_64-pc-minimal")),
    Case("machine-type", "versioned machine", minimal(machine="pc-i440fx-7.2")),
    # firmware
    Case("firmware", "efi on a host without firmware descriptors", corpus("firmware-auto-efi-enrolled-keys-no-secboot"),
         expect="firmware[type]"),
    Case("firmware", "even bios on a host with an empty firmware list", minimal(os_attrs=" firmware='bios'"),
         expect="firmware[type]"),
    Case("firmware", "secure boot where the host has no secure firmware", minimal(
        machine="q35", os_attrs=" firmware='efi'",
        os_extra="<firmware><feature enabled='yes' name='secure-boot'/></firmware>"),
        dest=corpus_facts, expect="firmware[secure-boot]"),
    Case("firmware", "efi where the host offers it", minimal(machine="q35", os_attrs=" firmware='efi'"),
         dest=corpus_facts),
    # memory-size
    Case("memory-size", "2 TiB guest", minimal(memory="2 TiB"), dest=corpus_facts, expect="memory-size[limit]"),
    Case("memory-size", "guest larger than the destination", minimal(memory="8 GiB"), expect="memory-size[host]"),
    Case("memory-size", "small guest", minimal()),
    # confidential-computing
    Case("confidential-computing", "SEV guest", corpus("launch-security-sev-direct"), expect="confidential-computing[sev]"),
    Case("confidential-computing", "ordinary guest", corpus("x86_64-q35-headless")),
    # unverifiable
    Case("unverifiable", "no source fingerprint", minimal(), expect="unverifiable[source-fingerprint]", action="warn"),
    Case("unverifiable", "no facts for the guest's virt type", lambda: minimal_guest(
        cpu="\n  <cpu mode='custom'><model>qemu64</model></cpu>").replace("type='qemu'", "type='kvm'", 1),
        dest=lambda: __import__("dataclasses").replace(debian12_facts(), domcaps=()),
        expect="unverifiable[cpu-model]", action="warn"),
    Case("unverifiable", "fingerprint present", minimal(), source=same_source(debian12_facts)),
]
