"""Failing fixtures of the libvirt entries of the blocker catalogue (guard/blockers/libvirt.py):
one per entry with a rule, reporting exactly that rule code. Corpus guests where libvirt's test
suite has the case, minimal XML where not (the case's name says so)."""
import test_device_support
import test_devices
import test_network
import test_platform
import test_source_refusal
from support.helpers import corpus_domain_xml, corpus_facts, debian12_facts, minimal_guest, source_like
from support.rulecase import Case, corpus, minimal
from support.rulehosts import host, probe

from guard.guest.model import cgroup_path
from guard.rules.source_refusal import SourceDisk, SourceState

DISK = "<disk type='%s' device='disk'><source %s='%s'%s/><target dev='vdb' bus='virtio'/></disk>"
QEMU64 = "\n  <cpu mode='custom' match='exact'><model>qemu64</model>%s</cpu>"
VIRTIOFSD = "/usr/libexec/virtiofsd"  # corpus vhost-user-fs-readonly's <binary path>
NVRAM_TEMPLATE = {"/usr/share/edk2/ovmf/OVMF_CODE.fd": True, "/path/to/OVMF_VARS.fd": False}


def without_kvm():
    """The Debian 12 host as it would be without /dev/kvm: capabilities list no kvm domain."""
    facts = debian12_facts()
    return facts._replace(guests=tuple(g for g in facts.guests if g.virt_type != "kvm"))


def corpus_as_kvm(name):
    return lambda: corpus_domain_xml(name).replace("<domain type='qemu'>", "<domain type='kvm'>", 1)


def replaced(old, new, **parts):
    return lambda: minimal_guest(**parts).replace(old, new, 1)


def device_support_failing(device):
    """The device-support rule's own failing fixture for this device."""
    return next(c for c in test_device_support.CASES if c.expect == "device-support[%s]" % device)


def source(**state):
    return {"source_state": SourceState(**state)}


def failing(module, code, where):
    """The family's own failing fixture for this code whose name says where."""
    return next(c for c in module.CASES if c.expect == code and where in c.name)


CASES = {
    "libvirt-dst-security-model": failing(test_platform, "security-driver[model]", "seclabel-dynamic,"),
    "libvirt-dst-unconfined": failing(test_platform, "security-driver[unconfined]", "corpus seclabel-none)"),
    "libvirt-migration-tls-certs": failing(test_source_refusal, "migration-flags[tls-certs]", "--tls"),
    "libvirt-dst-vnc-tls-certs": failing(test_network, "graphics-listen[tls-certs]", "VNC"),
    "libvirt-dst-spice-tls-certs": failing(test_network, "graphics-listen[tls-certs]", "SPICE tlsPort"),
    "libvirt-vfio-variant-driver": next(c for c in test_devices.CASES
                                        if c.expect == "sriov[mlx5-vf-conditions]" and "left on mlx5_core" in c.name),
    "libvirt-tls-force": Case("migration-flags", "destination's qemu.conf forces TLS, no --tls (minimal XML)",
                              minimal(), dest=host(migrate_tls_force=True), expect="migration-flags[tls-required]",
                              kwargs=source()),
    "libvirt-dst-spice-tls": Case("graphics-listen", "SPICE with a fixed tlsPort, spice_tls off (corpus graphics-spice)",
                                  corpus("graphics-spice"), dest=host(spice_tls=False),
                                  expect="graphics-listen[spice-tls]"),
    # refused on the source: the pre-flight, run there, knows the source's state
    "libvirt-snapshots": Case("source-refusal", "snapshot metadata on the source (minimal XML)", minimal(),
                              expect="source-refusal[snapshots]", kwargs=source(snapshots=1)),
    "libvirt-unsafe-storage": Case(
        "source-refusal", "a disk on the source's local ext4, no --copy-storage-all (minimal XML)", minimal(),
        expect="source-refusal[unsafe-storage]",
        kwargs=source(disks=(SourceDisk("vda", "/var/lib/libvirt/images/a.qcow2", "local", "ext4"),))),
    # the source's refusals that a rule also catches in the same XML on the destination
    "libvirt-hostdev-capabilities": Case(
        "device-passthrough", "mode='capabilities' block device (minimal XML)",
        minimal(extra="<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block></source></hostdev>"),
        expect="device-passthrough[capabilities]"),
    "libvirt-hostdev-scsi": Case("device-passthrough", "SCSI hostdev", corpus("hostdev-scsi-lsi"),
                                 expect="device-passthrough[scsi]"),
    "libvirt-hostdev-scsi-host": Case("device-passthrough", "vhost-scsi hostdev", corpus("hostdev-scsi-vhost-scsi-pcie"),
                                      expect="device-passthrough[scsi_host]"),
    "libvirt-hostdev-mdev": Case("mediated-device", "vGPU the destination lacks", corpus("hostdev-mdev-display"),
                                 expect="mediated-device[absent]"),
    "libvirt-hostdev-mdev-present": Case(
        "mediated-device", "vGPU the destination has too (minimal XML)",
        minimal(extra="<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
                      "<address uuid='d069d019-36ea-4111-8f0a-8c9a70e21366'/></source></hostdev>"),
        dest=corpus_facts, expect="mediated-device[present]"),
    "libvirt-hostdev-pci": Case("device-passthrough", "PCI hostdev", corpus("hostdev-pci-address"),
                                expect="device-passthrough[pci]"),
    "libvirt-interface-hostdev": Case("sriov", "interface type=hostdev", corpus("net-hostdev-vfio-multidomain"),
                                      expect="sriov[hostdev]"),
    "libvirt-network-hostdev-pool": Case(
        "sriov", "network that is a hostdev pool (minimal XML)",
        minimal(extra="<interface type='network'><source network='hostdev'/><mac address='52:54:00:00:00:01'/>"
                      "</interface>"), dest=corpus_facts, expect="sriov[network-pool]"),
    "libvirt-vdpa": Case("sriov", "vDPA interface", corpus("net-vdpa"), expect="sriov[vdpa]"),
    "libvirt-invtsc": Case(
        "unmigratable", "invtsc required, no TSC frequency (minimal XML)",
        minimal(cpu="<cpu mode='custom' match='exact'><model>Skylake-Client</model>"
                    "<feature policy='require' name='invtsc'/></cpu>"), expect="unmigratable[invtsc]"),
    "libvirt-shmem-peer": Case("device-passthrough", "ivshmem peers", corpus("shmem-plain-doorbell"),
                               expect="device-passthrough[shmem]"),
    "libvirt-transient-disk": Case(
        "unmigratable", "transient disk (minimal XML)",
        minimal(extra="<disk type='file' device='disk'><source file='/var/lib/libvirt/images/t.qcow2'/>"
                      "<target dev='vda'/><transient/></disk>"), expect="unmigratable[transient-disk]"),
    # the destination's prepare
    "libvirt-dst-emulator-missing": Case(
        "emulator", "emulator binary gone from the destination (minimal XML)", minimal(), expect="emulator[binary]",
        kwargs=probe(paths={"/usr/bin/qemu-system-x86_64": False})),
    "libvirt-dst-os-type": Case("emulator", "a Xen PV guest (minimal XML)", replaced(">hvm<", ">linux<"),
                                expect="emulator[os-type]"),
    "libvirt-dst-arch": Case("emulator", "aarch64 guest on an x86_64-only host (minimal XML)",
                             replaced("arch='x86_64'", "arch='aarch64'"), expect="emulator[domain-type]"),
    "libvirt-dst-virt-type": Case("emulator", "KVM guest, destination QEMU without KVM (minimal XML)",
                                  minimal(virt_type="kvm"), dest=without_kvm, expect="emulator[domain-type]"),
    "libvirt-dst-no-kvm": Case("emulator", "KVM guest, destination without /dev/kvm (minimal XML)",
                               minimal(virt_type="kvm"), dest=without_kvm, expect="emulator[domain-type]"),
    "libvirt-dst-machine-type": Case("machine-type", "RHEL machine type on a Debian QEMU (minimal XML)",
                                     minimal(machine="pc-q35-rhel9.4.0"), expect="machine-type"),
    "libvirt-dst-hostdev-type-unknown": Case(
        "device-passthrough", "a subsystem type libvirt does not define (minimal XML)",
        minimal(extra="<hostdev mode='subsystem' type='floppy'><source/></hostdev>"), expect="device-passthrough[other]"),
    "libvirt-dst-launch-security-unknown": Case(
        "confidential-computing", "a launchSecurity type this libvirt does not know (minimal XML)",
        minimal(top="\n  <launchSecurity type='cca'/>"), expect="confidential-computing[unknown]"),
    "libvirt-dst-tdx": Case(
        "confidential-computing", "TDX guest (minimal XML)",
        minimal(top="\n  <launchSecurity type='tdx'><policy>0x10000000</policy></launchSecurity>"),
        expect="confidential-computing[tdx]"),
    "libvirt-dst-name-taken": Case(
        "defined-guest", "another guest of the same name (minimal XML)", minimal(name="web01"), dest=host(),
        expect="defined-guest[name]", kwargs=probe(guests=(("web01", "0b2a6e1c-2f8e-4e2c-9d55-7d2f5d1e7a10", False),))),
    "libvirt-dst-uuid-taken": Case(
        "defined-guest", "this UUID under another name (minimal XML)", minimal(name="web01"), dest=host(),
        expect="defined-guest[uuid]", kwargs=probe(guests=(("web01-old", "8f99e332-06c4-463a-9099-330fb244e1b3", False),))),
    "libvirt-dst-already-active": Case(
        "defined-guest", "the same guest already running there (minimal XML)", minimal(name="web01"), dest=host(),
        expect="defined-guest[active]", kwargs=probe(guests=(("web01", "8f99e332-06c4-463a-9099-330fb244e1b3", True),))),
    "libvirt-precreate-no-pool": Case(
        "storage", "file disk missing outside any pool (minimal XML)",
        minimal(extra=DISK % ("file", "file", "/data/vm/g.qcow2", "")), dest=host(), expect="storage[pool]",
        kwargs=probe(paths={"/data/vm/g.qcow2": False})),
    "libvirt-precreate-type": Case(
        "storage", "block device disk missing (minimal XML)",
        minimal(extra=DISK % ("block", "dev", "/dev/vg0/guest", "")), dest=host(), expect="storage[uncopyable]",
        kwargs=probe(paths={"/dev/vg0/guest": False})),
    # the destination's start: CPU
    "libvirt-dst-cpu-mode": Case("cpu-model", "host-passthrough under TCG", corpus("cpu-host-passthrough", to_qemu=True),
                                 expect="cpu-model[mode]"),
    "libvirt-dst-cpu-model-unknown": Case(
        "cpu-model", "model unknown to the destination (minimal XML)",
        minimal(cpu="\n  <cpu mode='custom' match='exact'><model>NoSuchCPU-v9</model></cpu>"),
        expect="cpu-model[unknown-model]"),
    "libvirt-dst-cpu-forbidden": Case(
        "cpu-model", "forbids hypervisor, which the destination has (minimal XML)",
        minimal(cpu=QEMU64 % "<feature policy='forbid' name='hypervisor'/>"), expect="cpu-model[feature-forbidden]"),
    "libvirt-dst-cpu-full-check": Case("cpu-model", "Haswell under TCG (QEMU 9.2)", corpus("cpu-Haswell", to_qemu=True),
                                       dest=corpus_facts, expect="cpu-model[unusable]"),
    "libvirt-dst-cpu-feature-missing": Case(
        "cpu-model", "requires vme, which TCG's host-model disables (minimal XML)",
        minimal(cpu=QEMU64 % "<feature policy='require' name='vme'/>"), expect="cpu-model[feature-missing]"),
    "libvirt-dst-cpu-check-none": Case(
        "cpu-model", "check='none' Haswell, not usable on the destination (minimal XML)",
        minimal(cpu="\n  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>Haswell</model></cpu>"),
        expect="cpu-model[unusable]"),
    "libvirt-dst-cpu-vendor": Case(
        "cpu-model", "AMD vendor on an Intel KVM host (minimal XML)",
        minimal(virt_type="kvm", cpu=QEMU64 % "<vendor>AMD</vendor>"), dest=corpus_facts, expect="cpu-model[vendor]"),
    "libvirt-dst-hyperv": Case("cpu-model", "KVM guest with evmcs, which the destination's QEMU 9.2 does not offer",
                               corpus_as_kvm("hyperv"), dest=corpus_facts, expect="cpu-model[hyperv]"),
    "libvirt-dst-sev": Case("confidential-computing", "SEV guest", corpus("launch-security-sev-direct"),
                            expect="confidential-computing[sev]"),
    "libvirt-dst-s390-pv": Case("confidential-computing", "s390 protected virtualization (minimal XML)",
                                minimal(top="\n  <launchSecurity type='s390-pv'/>"),
                                expect="confidential-computing[s390-pv]"),
    # the destination's start: devices, graphics, networks
    "libvirt-dst-tpm-passthrough": Case("device-passthrough", "TPM passthrough backend", corpus("tpm-passthrough"),
                                        expect="device-passthrough[tpm-passthrough]"),
    "libvirt-dst-graphics-listen": Case(
        "graphics-listen", "VNC on an address the destination lacks (minimal XML)",
        minimal(extra="<graphics type='vnc' port='-1' autoport='yes' listen='198.51.100.7'/>"), dest=host(),
        expect="graphics-listen[address]"),
    "libvirt-dst-network-absent": Case(
        "network", "network the destination does not define (minimal XML)",
        minimal(extra="<interface type='network'><source network='nosuch'/></interface>"), dest=host(),
        expect="network[absent]"),
    "libvirt-dst-network-inactive": Case(
        "network", "network defined but not active (minimal XML)",
        minimal(extra="<interface type='network'><source network='backup'/></interface>"), dest=host(),
        expect="network[inactive]"),
    "libvirt-dst-bridge-missing": Case(
        "network", "bridge the destination lacks (minimal XML)",
        minimal(extra="<interface type='bridge'><source bridge='br9'/><model type='virtio'/></interface>"), dest=host(),
        expect="network[bridge]"),
    "libvirt-dst-direct-dev-missing": Case(
        "network", "macvtap on a device the destination lacks (minimal XML)",
        minimal(extra="<interface type='direct'><source dev='eth9' mode='bridge'/><model type='virtio'/></interface>"),
        dest=host(), expect="network[direct]"),
    "libvirt-dst-unmanaged-tap": Case(
        "host-resource", "unmanaged tap the destination lacks (minimal XML)",
        minimal(extra="<interface type='ethernet'><target dev='tap0' managed='no'/><model type='virtio'/></interface>"),
        dest=host(), expect="host-resource[netdev]", kwargs=probe(netdevs={"tap0": None})),
    "libvirt-dst-usb-hostdev": Case("device-passthrough", "USB hostdev", corpus("hostdev-usb-address"),
                                    expect="device-passthrough[usb]"),
    # the destination's start: host resources and helpers
    "libvirt-dst-virtiofsd-binary": Case(
        "host-resource", "virtiofsd binary the destination lacks", corpus("vhost-user-fs-readonly"), dest=corpus_facts,
        expect="host-resource[binary]", kwargs=probe(paths={VIRTIOFSD: False, "/path": True})),
    "libvirt-dst-virtiofs-source": Case(
        "host-resource", "virtiofs export directory the destination lacks", corpus("vhost-user-fs-readonly"),
        dest=corpus_facts, expect="host-resource[file]",
        kwargs=probe(paths={VIRTIOFSD: True, "/path": False})),
    "libvirt-dst-hugepages": Case("numa-pinning", "huge pages not reserved", corpus("hugepages-default-2M"),
                                  expect="numa-pinning[hugepages]"),
    "libvirt-dst-numa-nodes": Case("numa-pinning", "numatune nodes the host lacks", corpus("numatune-memnode"),
                                   dest=corpus_facts, expect="numa-pinning[nodes]"),
    "libvirt-dst-cpu-pins": Case("numa-pinning", "emulatorpin to CPUs the host lacks", corpus("cputune-numatune"),
                                 expect="numa-pinning[cpus]"),
    "libvirt-dst-cgroup-partition": Case(
        "host-resource", "resource partition whose cgroup the destination lacks (minimal XML)",
        minimal(top="\n  <resource><partition>/machine/foo</partition></resource>"), dest=host(),
        expect="host-resource[cgroup]",
        kwargs=probe(paths={"/sys/fs/cgroup" + cgroup_path("/machine/foo"): False})),
    "libvirt-dst-chardev-file-dir": Case(
        "host-resource", "serial log file in a directory the destination lacks (minimal XML)",
        minimal(extra="<serial type='file'><source path='/var/log/guests/serial1.log'/><target port='1'/></serial>"),
        dest=host(), expect="host-resource[directory]", kwargs=probe(paths={"/var/log/guests": False})),
    # the destination's start: firmware and storage
    "libvirt-dst-firmware-autoselect": Case(
        "firmware", "efi on a host without firmware descriptors", corpus("firmware-auto-efi-enrolled-keys-no-secboot"),
        expect="firmware[type]"),
    "libvirt-dst-firmware-secure-boot": Case(
        "firmware", "secure boot where the host has no secure firmware (minimal XML)",
        minimal(machine="q35", os_attrs=" firmware='efi'",
                os_extra="<firmware><feature enabled='yes' name='secure-boot'/></firmware>"),
        dest=corpus_facts, expect="firmware[secure-boot]"),
    "libvirt-dst-nvram-template": Case(
        "firmware", "NVRAM template the destination lacks", corpus("firmware-manual-efi-nvram-template-nonstandard"),
        dest=corpus_facts, expect="firmware[file]", kwargs=probe(paths=NVRAM_TEMPLATE)),
    "libvirt-dst-disk-missing": Case(
        "storage", "file disk missing in a pool's directory (minimal XML)",
        minimal(extra=DISK % ("file", "file", "/var/lib/libvirt/images/g.qcow2", "")), dest=host(),
        expect="storage[missing]", action="warn", kwargs=probe(paths={"/var/lib/libvirt/images/g.qcow2": False})),
    "libvirt-dst-optional-disk": Case(
        "storage", "startupPolicy='optional' hard disk missing: not dropped on migration (minimal XML)",
        minimal(extra=DISK % ("file", "file", "/var/lib/libvirt/images/o.img", " startupPolicy='optional'")),
        dest=host(), expect="storage[missing]", action="warn",
        kwargs=probe(paths={"/var/lib/libvirt/images/o.img": False})),
    "libvirt-dst-volume-pool": Case(
        "storage", "volume in an inactive pool (minimal XML)",
        minimal(extra="<disk type='volume' device='disk'><source pool='stopped' volume='v1'/><target dev='vda'/></disk>"),
        dest=host(), expect="storage[pool]"),
    "libvirt-dst-graphics-type": device_support_failing("graphics"),
    "libvirt-dst-video-model": device_support_failing("video"),
    "libvirt-dst-tpm-model": device_support_failing("tpm"),
    "libvirt-dst-swtpm-missing": Case(
        "host-resource", "TPM emulator on a destination without /usr/bin/swtpm (minimal XML)",
        minimal(extra="<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"), dest=host(),
        expect="host-resource[binary]", kwargs=probe(paths={"/usr/bin/swtpm": False})),
    "libvirt-dst-disk-bus": device_support_failing("disk"),
    "libvirt-dst-rng-model": device_support_failing("rng"),
    "libvirt-dst-fs-driver": device_support_failing("filesystem"),
    "libvirt-dst-redirdev-bus": device_support_failing("redirdev"),
    "libvirt-virtiofs": Case(
        "device-passthrough", "virtiofs from a source on libvirt 9.0 (corpus vhost-user-fs-sock, QEMU 9.2 destination)",
        corpus("vhost-user-fs-sock"), dest=corpus_facts,
        source=lambda: source_like(corpus_facts(), libvirt_version="9.0.0"), expect="device-passthrough[virtiofs]"),
}
