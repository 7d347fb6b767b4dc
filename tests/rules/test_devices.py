"""session-connection, device-passthrough, sriov, mediated-device: passing and failing fixtures."""
import pytest
from support.helpers import corpus_facts, debian12_facts, minimal_guest, source_like
from support.rulecase import Case, corpus, minimal, run_case

from guard.config import parse_config
from guard.facts.model import LocalFacts, Probe
from guard.facts.probe import PciFunction, VfPool, VfProbe
from guard.guest.metadata import stamp_xml

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
VGPU_DRIVER = "550.54.16"


def vgpu_host():
    """A QEMU 9.2 / libvirt 11.3 host (the corpus') whose mdev of MDEV_PRESENT's UUID is an NVIDIA
    vGPU, with the NVIDIA host driver loaded."""
    def build():
        facts = corpus_facts()
        return facts._replace(mdevs=tuple(m._replace(type="nvidia-63") for m in facts.mdevs),
                              local=LocalFacts(vgpu_driver=VGPU_DRIVER))
    return build


def vgpu_source(driver=VGPU_DRIVER, **changes):
    return lambda: source_like(vgpu_host()(), vgpu_driver=driver, **changes)


# No x86_64 corpus guest has a mode='capabilities' hostdev: minimal XML from libvirt's docs.
CAPS_STORAGE = "<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block></source></hostdev>"
PASSTHROUGH = ("device-passthrough[pci]", "device-passthrough[usb]", "device-passthrough[scsi]",
               "device-passthrough[scsi_host]", "device-passthrough[capabilities]", "device-passthrough[other]")

BACKED = ("device-passthrough[tpm-passthrough]", "device-passthrough[input-passthrough]",
          "device-passthrough[input-evdev]", "device-passthrough[shmem]", "device-passthrough[vhost-user-gpu]",
          "device-passthrough[vhost-user]", "device-passthrough[virtiofs]")
MASTER_SHMEM = "<shmem name='m0' role='master'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>"
EIGHT_PCI = "".join("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='%d' "
                    "slot='18' function='%d'/></source></hostdev>" % (6 + i // 4, i % 4) for i in range(8))

# RHEL 9.4's Mellanox ConnectX-7 VF migration. The VFs are the corpus guests' own addresses, the
# pool the corpus network networkxml2xmlin/hostdev.xml (corpus_facts' network 'hostdev'); what the
# destination's sysfs shows of them is a VfProbe, as guard.facts.probe reads it (tests/test_probe_vfs.py
# reads the same from a sysfs tree).
VF = "0000:06:12.5"  # corpus hostdev-pci-address: <hostdev type='pci' managed='yes'>
NET_VF = "0021:de:1f.1"  # corpus net-hostdev-vfio-multidomain: <interface type='hostdev' managed='yes'>
POOL_VFS = ("0000:03:00.1", "0000:03:00.2", "0000:03:00.3", "0000:03:00.4")
PSID, FIRMWARE = "MT_0000000834", "28.39.1002"
MLX5 = ("sriov[mlx5-vf]", "sriov[mlx5-vf-conditions]")


def cx7_vf(driver="mlx5_vfio_pci", firmware=FIRMWARE, pf="0000:06:00.0", device="0x101e", pf_device="0x1021",
           vendor="0x15b3", psid=PSID):
    """A VF as the destination's sysfs shows it: a ConnectX-7 VF on mlx5_vfio_pci by default."""
    return PciFunction(vendor, device, driver, pf, pf_device, psid, firmware, ("ens6f0np0",), 0)


def vfs_probe(functions, pools=None, installed=True):
    return {"probe": Probe(vfs=VfProbe(functions, pools or {}, installed))}


def mlx5_source(*vfs, firmware=FIRMWARE, **changes):
    """A source like the corpus host whose fingerprint names these VFs (or "pool") on CX-7 PFs."""
    return lambda: source_like(corpus_facts(), mlx5_vfs=tuple((vf, PSID, firmware) for vf in vfs), **changes)


def unmanaged(*addresses, extra=""):
    return minimal(virt_type="kvm", extra="".join(
        "<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='0x06' slot='0x12' "
        "function='0x%s'/></source></hostdev>" % address[-1] for address in addresses) + extra)


POOL_PROBE = {"hostdev": VfPool(True, None, POOL_VFS, POOL_VFS[1:])}  # the first VF held by another guest
ALL_POOL_VFS = {vf: cx7_vf(driver="mlx5_core") for vf in POOL_VFS}
FIVE = tuple("0000:06:12.%d" % n for n in range(5))

MELLANOX_CASES = [
    Case("sriov", "Mellanox CX-7 VF with every RHEL 9.4+ condition met (corpus hostdev-pci-address, QEMU 9.2 hosts)",
         corpus("hostdev-pci-address"), dest=corpus_facts, source=mlx5_source(VF), expect="sriov[mlx5-vf]",
         action="warn", near=("sriov[mlx5-vf-conditions]",), kwargs=vfs_probe({VF: cx7_vf()}),
         message_has=("PSID MT_0000000834 firmware 28.39.1002", "post-copy")),
    Case("device-passthrough", "a Mellanox VF is the sriov rule's to judge (corpus hostdev-pci-address)",
         corpus("hostdev-pci-address"), dest=corpus_facts, source=mlx5_source(VF), near=("device-passthrough[pci]",),
         kwargs=vfs_probe({VF: cx7_vf()})),
    Case("sriov", "Mellanox VF, the policy switch turns the exception off (corpus hostdev-pci-address)",
         corpus("hostdev-pci-address"), dest=corpus_facts, source=mlx5_source(VF), expect="sriov[mlx5-vf]",
         kwargs=dict(vfs_probe({VF: cx7_vf()}), config=parse_config('[rules."sriov[mlx5-vf]"]\naction = "deny"'))),
    Case("sriov", "Mellanox VF, another firmware on the source (corpus hostdev-pci-address)",
         corpus("hostdev-pci-address"), dest=corpus_facts, source=mlx5_source(VF, firmware="28.36.1010"),
         expect="sriov[mlx5-vf-conditions]", near=("sriov[mlx5-vf]",), kwargs=vfs_probe({VF: cx7_vf()}),
         message_has=("PSID MT_0000000834 firmware 28.39.1002 on the destination, PSID MT_0000000834 firmware "
                      "28.36.1010 on the source",)),
    Case("sriov", "managed Mellanox VF still on mlx5_core: libvirt binds mlx5_vfio_pci (corpus hostdev-pci-address)",
         corpus("hostdev-pci-address"), dest=corpus_facts, source=mlx5_source(VF), expect="sriov[mlx5-vf]",
         action="warn", kwargs=vfs_probe({VF: cx7_vf(driver="mlx5_core")})),
    Case("sriov", "managed Mellanox VF, mlx5_vfio_pci not installed (corpus hostdev-pci-address)",
         corpus("hostdev-pci-address"), dest=corpus_facts, source=mlx5_source(VF),
         expect="sriov[mlx5-vf-conditions]", kwargs=vfs_probe({VF: cx7_vf(driver="mlx5_core")}, installed=False),
         message_has=("neither loaded nor installed",)),
    Case("sriov", "unmanaged Mellanox VF left on mlx5_core (minimal XML)", unmanaged(VF), dest=corpus_facts,
         source=mlx5_source(VF), expect="sriov[mlx5-vf-conditions]", kwargs=vfs_probe({VF: cx7_vf(driver="mlx5_core")}),
         message_has=("managed='no'",)),
    Case("sriov", "unmanaged Mellanox VF bound to mlx5_vfio_pci beforehand (minimal XML)", unmanaged(VF),
         dest=corpus_facts, source=mlx5_source(VF), expect="sriov[mlx5-vf]", action="warn",
         kwargs=vfs_probe({VF: cx7_vf()})),
    Case("sriov", "Mellanox VF in a guest with a vIOMMU (minimal XML)", unmanaged(VF, extra="<iommu model='intel'/>"),
         dest=corpus_facts, source=mlx5_source(VF), expect="sriov[mlx5-vf-conditions]",
         kwargs=vfs_probe({VF: cx7_vf()}), message_has=("vIOMMU",)),
    Case("sriov", "Mellanox VF to a libvirt 9.0 / QEMU 7.2 destination (corpus hostdev-pci-address, Debian 12)",
         corpus("hostdev-pci-address"), dest=debian12_facts, source=mlx5_source(VF),
         expect="sriov[mlx5-vf-conditions]", kwargs=vfs_probe({VF: cx7_vf()}),
         message_has=("the destination runs libvirt 9.0.0 and QEMU 7.2.22",)),
    Case("sriov", "a ConnectX-6 Dx VF (corpus hostdev-pci-address)", corpus("hostdev-pci-address"), dest=corpus_facts,
         source=mlx5_source(VF), expect="sriov[mlx5-vf-conditions]", kwargs=vfs_probe({VF: cx7_vf(pf_device="0x101d")}),
         message_has=("not a ConnectX-7 VF",)),
    Case("sriov", "Mellanox VF named by the source's facts, no probe (a pre-flight without a destination shell) "
         "(corpus hostdev-pci-address)", corpus("hostdev-pci-address"), dest=corpus_facts, source=mlx5_source(VF),
         expect="sriov[mlx5-vf-conditions]", message_has=("VFs were not read",)),
    Case("sriov", "Mellanox VF whose metadata fingerprint claims every condition, no fleet key (minimal XML)",
         lambda: stamp_xml(unmanaged(VF)(), mlx5_source(VF)()), dest=corpus_facts, expect="sriov[mlx5-vf-conditions]",
         near=("sriov[mlx5-vf]",), kwargs=vfs_probe({VF: cx7_vf()}), message_has=("not signed with the fleet key",)),
    Case("sriov", "five Mellanox VFs of one PF (minimal XML)", unmanaged(*FIVE), dest=corpus_facts,
         source=mlx5_source(*FIVE), expect="sriov[mlx5-vf-conditions]",
         kwargs=vfs_probe({vf: cx7_vf() for vf in FIVE}), message_has=("at most 4 VFs of one CX-7 PF",)),
    Case("sriov", "Mellanox VF as <interface type='hostdev'> (corpus net-hostdev-vfio-multidomain)",
         corpus("net-hostdev-vfio-multidomain"), dest=corpus_facts, source=mlx5_source(NET_VF),
         expect="sriov[mlx5-vf]", action="warn", near=("sriov[hostdev]", "sriov[mlx5-vf-conditions]"),
         kwargs=vfs_probe({NET_VF: cx7_vf()})),
    Case("sriov", "a VF from a CX-7 pool: libvirt's first free VF qualifies (minimal XML, corpus network)",
         minimal(extra=NET_POOL), dest=corpus_facts, source=mlx5_source("pool"), expect="sriov[mlx5-vf]",
         action="warn", near=("sriov[network-pool]", "sriov[mlx5-vf-conditions]"),
         kwargs=vfs_probe(ALL_POOL_VFS, POOL_PROBE), message_has=("network='hostdev'",)),
    Case("sriov", "a VF from a CX-7 pool whose first free VF has other firmware (minimal XML, corpus network)",
         minimal(extra=NET_POOL), dest=corpus_facts, source=mlx5_source("pool"), expect="sriov[mlx5-vf-conditions]",
         kwargs=vfs_probe(dict(ALL_POOL_VFS, **{POOL_VFS[1]: cx7_vf(driver="mlx5_core", firmware="28.40.1000")}),
                          POOL_PROBE),
         message_has=("its first free VF, 0000:03:00.2", "firmware 28.40.1000 on the destination")),
    Case("sriov", "a VF from a CX-7 pool with none free (minimal XML, corpus network)", minimal(extra=NET_POOL),
         dest=corpus_facts, source=mlx5_source("pool"), expect="sriov[mlx5-vf-conditions]",
         kwargs=vfs_probe(ALL_POOL_VFS, {"hostdev": VfPool(True, None, POOL_VFS, ())}),
         message_has=("no free VF",)),
    Case("sriov", "an Intel VF is no Mellanox VF (corpus hostdev-pci-address)", corpus("hostdev-pci-address"),
         dest=corpus_facts, near=MLX5,
         kwargs=vfs_probe({VF: cx7_vf(vendor="0x8086", device="0x154c", pf_device="0x1572", driver="vfio-pci")})),
    Case("device-passthrough", "an Intel VF stays an assigned device (corpus hostdev-pci-address)",
         corpus("hostdev-pci-address"), dest=corpus_facts, expect="device-passthrough[pci]",
         kwargs=vfs_probe({VF: cx7_vf(vendor="0x8086", device="0x154c", pf_device="0x1572", driver="vfio-pci")})),
]

CASES = MELLANOX_CASES + [
    Case("session-connection", "destination is a session daemon", minimal(),
         expect="session-connection[destination]", kwargs={"connection": "session"}),
    Case("session-connection", "source URI is a session", minimal(), expect="session-connection[source]",
         kwargs={"connection": "system", "source_connection": "session"}),
    Case("session-connection", "system on both sides", minimal(),
         near=("session-connection[destination]", "session-connection[source]"),
         kwargs={"connection": "system", "source_connection": "system"}),
    Case("device-passthrough", "PCI hostdev", corpus("hostdev-pci-address"), expect="device-passthrough[pci]",
         message_has=("0000:06:12.5",)),
    Case("device-passthrough", "USB hostdev", corpus("hostdev-usb-address"), expect="device-passthrough[usb]"),
    Case("device-passthrough", "SCSI hostdev", corpus("hostdev-scsi-lsi"), expect="device-passthrough[scsi]"),
    Case("device-passthrough", "vhost-scsi (scsi_host) hostdev", corpus("hostdev-scsi-vhost-scsi-pcie"),
         expect="device-passthrough[scsi_host]"),
    Case("device-passthrough", "mode='capabilities' block device (minimal XML)", minimal(extra=CAPS_STORAGE),
         expect="device-passthrough[capabilities]"),
    Case("device-passthrough", "a subsystem type libvirt does not define (minimal XML)",
         minimal(extra="<hostdev mode='subsystem' type='floppy'><source/></hostdev>"),
         expect="device-passthrough[other]", message_has=("floppy",)),
    Case("device-passthrough", "VF with transient teaming migrates", minimal(extra=TEAMED_VF),
         near=("device-passthrough[pci]",)),
    Case("device-passthrough", "ordinary guest with disks and NICs", corpus("x86_64-pc-headless"), near=PASSTHROUGH),
    Case("device-passthrough", "an mdev is the mediated-device rule's", minimal(extra=MDEV_PRESENT), near=PASSTHROUGH),
    Case("device-passthrough", "8 PCI hostdevs in decimal notation: one finding, libvirt's hex form (minimal XML)",
         minimal(extra=EIGHT_PCI), expect="device-passthrough[pci]",
         message_has=("8 <hostdev type='pci'>", "0000:06:12.0", "and 4 more")),
    Case("device-passthrough", "TPM passthrough backend", corpus("tpm-passthrough"),
         expect="device-passthrough[tpm-passthrough]", message_has=("/dev/tpm0",)),
    Case("device-passthrough", "virtio-input-host", corpus("virtio-input-passthrough"),
         expect="device-passthrough[input-passthrough]", message_has=("/dev/input/event1234",)),
    Case("device-passthrough", "evdev input (input-linux)", corpus("input-linux"),
         expect="device-passthrough[input-evdev]", action="warn"),
    Case("device-passthrough", "ivshmem peers and a doorbell with a server", corpus("shmem-plain-doorbell"),
         expect="device-passthrough[shmem]", message_has=("shmem0", "role='master'")),
    Case("device-passthrough", "ivshmem master without a server (minimal XML)", minimal(extra=MASTER_SHMEM),
         near=BACKED),
    Case("device-passthrough", "vhost-user-gpu", corpus("vhost-user-gpu-secondary"),
         expect="device-passthrough[vhost-user-gpu]"),
    Case("device-passthrough", "vhost-user NIC whose backend socket the destination lacks", corpus("net-vhostuser"),
         expect="device-passthrough[vhost-user]", message_has=("/tmp/vhost1.sock",),
         kwargs={"probe": Probe(paths={"/tmp/vhost1.sock": False})}),
    Case("device-passthrough", "vhost-user NIC whose backend serves on the destination", corpus("net-vhostuser"),
         near=BACKED, kwargs={"probe": Probe(paths={"/tmp/vhost1.sock": True})}),
    Case("device-passthrough", "virtiofs to QEMU 7.2 (before vhost-user-fs migration)",
         corpus("vhost-user-fs-fd-memory"), dest=debian12_facts, expect="device-passthrough[virtiofs]",
         message_has=("7.2.22", "8.2.0")),
    Case("device-passthrough", "external virtiofsd socket present on a QEMU 9.2 destination",
         corpus("vhost-user-fs-sock"), dest=corpus_facts, near=BACKED,
         kwargs={"probe": Probe(paths={"/tmp/sock": True})}),
    Case("device-passthrough", "external virtiofsd socket, from a source on libvirt 10.6 (which migrates it)",
         corpus("vhost-user-fs-sock"), dest=corpus_facts, near=BACKED,
         source=lambda: source_like(corpus_facts(), libvirt_version="10.6.0"),
         kwargs={"probe": Probe(paths={"/tmp/sock": True})}),
    Case("device-passthrough", "ordinary guest has no host-backed device", corpus("x86_64-q35-headless"), near=BACKED),
    Case("sriov", "interface type=hostdev", corpus("net-hostdev-vfio-multidomain"), expect="sriov[hostdev]"),
    Case("sriov", "vDPA interface", corpus("net-vdpa"), expect="sriov[vdpa]"),
    Case("sriov", "network that is a hostdev pool", minimal(extra=NET_POOL), dest=corpus_facts,
         expect="sriov[network-pool]"),
    Case("sriov", "teamed hostdev interfaces", corpus("net-virtio-teaming"), near=("sriov[hostdev]",)),
    Case("sriov", "macvtap passthrough is not SR-IOV", minimal(extra=MACVTAP), near=("sriov[hostdev]", "sriov[vdpa]")),
    Case("sriov", "NAT network", minimal(extra=NET_NAT), dest=corpus_facts, near=("sriov[network-pool]",)),
    Case("mediated-device", "vGPU the destination lacks", corpus("hostdev-mdev-display"),
         expect="mediated-device[absent]"),
    Case("mediated-device", "Intel GVT-g vGPU the destination has: still denied by default", minimal(extra=MDEV_PRESENT),
         dest=corpus_facts, expect="mediated-device[present]", message_has=("i915-GVTg_V5_8",),
         near=("mediated-device[vgpu-conditions]", "mediated-device[nvidia-vgpu]")),
    Case("mediated-device", "NVIDIA vGPU with every RHEL 9.4+ condition met (minimal XML, QEMU 9.2 hosts)",
         minimal(virt_type="kvm", extra=MDEV_PRESENT), dest=vgpu_host(), source=vgpu_source(),
         expect="mediated-device[nvidia-vgpu]", action="warn", near=("mediated-device[present]",),
         message_has=("nvidia-63", "550.54.16")),
    Case("mediated-device", "NVIDIA vGPU, another vGPU driver on the source (minimal XML)",
         minimal(virt_type="kvm", extra=MDEV_PRESENT), dest=vgpu_host(), source=vgpu_source("535.104.06"),
         expect="mediated-device[vgpu-conditions]", near=("mediated-device[nvidia-vgpu]", "mediated-device[present]"),
         message_has=("535.104.06 on the source, 550.54.16 on the destination",)),
    Case("mediated-device", "NVIDIA vGPU in a guest with a vIOMMU (minimal XML)",
         minimal(virt_type="kvm", extra=MDEV_PRESENT + "<iommu model='intel'/>"), dest=vgpu_host(),
         source=vgpu_source(), expect="mediated-device[vgpu-conditions]", message_has=("vIOMMU",)),
    Case("mediated-device", "NVIDIA vGPU with no source fingerprint: the driver cannot be compared (minimal XML)",
         minimal(virt_type="kvm", extra=MDEV_PRESENT), dest=vgpu_host(), expect="mediated-device[vgpu-conditions]",
         message_has=("vGPU driver version of the source is not known",)),
    Case("mediated-device", "NVIDIA vGPU whose metadata fingerprint claims every condition, no fleet key: not "
         "trusted (minimal XML)", lambda: stamp_xml(minimal_guest(virt_type="kvm", extra=MDEV_PRESENT),
                                                    vgpu_source()()),
         dest=vgpu_host(), expect="mediated-device[vgpu-conditions]", near=("mediated-device[nvidia-vgpu]",),
         message_has=("not signed with the fleet key",)),
    Case("mediated-device", "NVIDIA vGPU from a RHEL 9.2-like source (libvirt 9.0, QEMU 7.2) (minimal XML)",
         minimal(virt_type="kvm", extra=MDEV_PRESENT), dest=vgpu_host(),
         source=vgpu_source(libvirt_version="9.0.0", qemu_version="7.2.0"), expect="mediated-device[vgpu-conditions]",
         message_has=("the source runs libvirt 9.0.0",)),
    Case("mediated-device", "NVIDIA vGPU defined on the destination but not started (the probe finds no "
         "/sys/bus/mdev/devices entry) (minimal XML)", minimal(virt_type="kvm", extra=MDEV_PRESENT),
         dest=vgpu_host(), source=vgpu_source(), expect="mediated-device[absent]", message_has=("no active mdev",),
         kwargs={"probe": Probe(paths={"/sys/bus/mdev/devices/d069d019-36ea-4111-8f0a-8c9a70e21366": False})}),
    Case("mediated-device", "no mdev", corpus("x86_64-pc-minimal"),
         near=("mediated-device[present]", "mediated-device[absent]")),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
