"""Failing fixtures for the qemu entries of the blocker catalogue (guard.blockers.qemu) that a
rule catches: entry id -> a Case that expects the entry's rule code. Real corpus guests where
libvirt's corpus has the device, minimal XML (helpers.minimal_guest) where not."""
import test_devices
import test_unmigratable
from support.helpers import corpus_facts, debian12_facts
from support.rulecase import Case, corpus, minimal, source_with, with_local

INVTSC = "<cpu mode='custom' match='exact'><model>Skylake-Client</model><feature policy='require' name='invtsc'/></cpu>"
PASSTHROUGH_CPU = "<cpu mode='host-passthrough'/>"
LOCAL = with_local(debian12_facts)
SNP = "\n  <launchSecurity type='sev-snp'><policy>0x00030000</policy></launchSecurity>"
S390_PV = "\n  <launchSecurity type='s390-pv'/>"


def _pci(bus, function=0):
    return ("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x%02x' "
            "slot='0x00' function='0x%x'/></source></hostdev>" % (bus, function))


def _mdev(model, uuid):
    return ("<hostdev mode='subsystem' type='mdev' model='%s'><source><address uuid='%s'/></source></hostdev>"
            % (model, uuid))


INTEL_IOMMU = "<iommu model='intel'/>"
VHOST_USER_GPU_3D = ("<video><driver name='vhostuser'/><model type='virtio' heads='1'>"
                     "<acceleration accel3d='yes'/></model></video>")
PEER_SHMEM = "<shmem name='peer0' role='peer'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>"

def unmigratable_failing(variant):
    """The unmigratable rule's own failing fixture for this code."""
    return next(c for c in test_unmigratable.CASES if c.expect == "unmigratable[%s]" % variant)


CASES = {
    "qemu-invtsc": Case("unmigratable", "invtsc required, no TSC frequency (minimal XML)", minimal(cpu=INVTSC),
                        expect="unmigratable[invtsc]"),
    "qemu-nested-state": Case("bios", "nested guest, destination kvm nested=0 (minimal XML)",
                              minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL,
                              source=source_with(LOCAL, nested=True), expect="bios[nested]"),
    "qemu-sev": Case("confidential-computing", "SEV guest", corpus("launch-security-sev-direct"),
                     expect="confidential-computing[sev]"),
    "qemu-sev-snp": Case("confidential-computing", "SEV-SNP guest (minimal XML)", minimal(top=SNP),
                         expect="confidential-computing[sev-snp]"),
    "qemu-vfio-no-migration": Case("device-passthrough", "PCI hostdev", corpus("hostdev-pci-address"),
                                   expect="device-passthrough[pci]"),
    "qemu-vfio-dirty-tracking": Case("device-passthrough", "a PCI VF (minimal XML)", minimal(extra=_pci(3)),
                                     expect="device-passthrough[pci]"),
    "qemu-vfio-multiple-devices": Case("device-passthrough", "two PCI hostdevs (minimal XML)",
                                       minimal(extra=_pci(3) + _pci(3, 1)), expect="device-passthrough[pci]",
                                       message_has=("2 <hostdev type='pci'>",)),
    "qemu-vfio-viommu": Case("device-passthrough", "PCI hostdev behind an intel IOMMU (minimal XML)",
                             minimal(machine="q35", extra=_pci(4) + INTEL_IOMMU), expect="device-passthrough[pci]"),
    "qemu-vfio-mdev": Case("mediated-device", "vGPU (vfio-pci mdev) the destination lacks",
                           corpus("hostdev-mdev-display"), expect="mediated-device[absent]"),
    "qemu-vfio-ccw": Case("mediated-device", "vfio-ccw mdev (minimal XML)",
                          minimal(extra=_mdev("vfio-ccw", "90c6c135-ad44-41d0-b1b7-bae47de48627")),
                          expect="mediated-device[absent]"),
    "qemu-vfio-ap": Case("mediated-device", "vfio-ap mdev (minimal XML)",
                         minimal(extra=_mdev("vfio-ap", "4b5e6e7f-3c94-4b22-9c5a-2d1a1f0e6a11")),
                         expect="mediated-device[absent]"),
    "qemu-vhost-vdpa-net": Case("sriov", "vDPA interface", corpus("net-vdpa"), expect="sriov[vdpa]"),
    "qemu-vhost-user-fs": Case("device-passthrough", "virtiofs to QEMU 7.2", corpus("vhost-user-fs-fd-memory"),
                               dest=debian12_facts, expect="device-passthrough[virtiofs]"),
    "qemu-virtio-input-host": Case("device-passthrough", "virtio-input-host", corpus("virtio-input-passthrough"),
                                   expect="device-passthrough[input-passthrough]"),
    "qemu-vhost-user-gpu-virgl": Case("device-passthrough", "vhost-user-gpu with 3D acceleration (minimal XML)",
                                      minimal(extra=VHOST_USER_GPU_3D), expect="device-passthrough[vhost-user-gpu]"),
    "qemu-vhost-user-gpu-state": Case("device-passthrough", "vhost-user-gpu without 3D acceleration",
                                      corpus("vhost-user-gpu-secondary"), expect="device-passthrough[vhost-user-gpu]"),
    "qemu-vhost-scsi": Case("device-passthrough", "vhost-scsi (scsi_host) hostdev",
                            corpus("hostdev-scsi-vhost-scsi-pcie"), expect="device-passthrough[scsi_host]"),
    "qemu-ivshmem-peer": Case("device-passthrough", "ivshmem-plain peer (minimal XML)", minimal(extra=PEER_SHMEM),
                              expect="device-passthrough[shmem]"),
    "qemu-tpm-passthrough": Case("device-passthrough", "TPM passthrough backend", corpus("tpm-passthrough"),
                                 expect="device-passthrough[tpm-passthrough]"),
    "qemu-usb-host": Case("device-passthrough", "USB hostdev", corpus("hostdev-usb-address"),
                          expect="device-passthrough[usb]"),
    "qemu-s390-pv": Case("confidential-computing", "s390 protected virtualization (minimal XML)",
                         minimal(top=S390_PV), expect="confidential-computing[s390-pv]"),
    "qemu-ram-alloc-host": Case("memory-size", "guest larger than the destination (minimal XML)",
                                minimal(memory="8 GiB"), expect="memory-size[host]"),
    "qemu-hostmem-bind-strict": Case("numa-pinning", "strict nodes too small (minimal XML)", minimal(
        memory="40 GiB", top="\n  <numatune><memory mode='strict' nodeset='0'/></numatune>"),
        dest=corpus_facts, expect="numa-pinning[memory]"),
    "qemu-hv-passthrough": unmigratable_failing("hyperv-passthrough"),
    "qemu-hv-reenlightenment": unmigratable_failing("reenlightenment"),
    "qemu-virtio-snd": unmigratable_failing("virtio-sound"),
    "qemu-virgl": unmigratable_failing("virgl"),
    "qemu-vdagent": unmigratable_failing("qemu-vdagent"),
    "qemu-vfio-mdev-nvidia": next(c for c in test_devices.CASES if c.expect == "mediated-device[nvidia-vgpu]"),
    "qemu-vfio-viommu-mdev": next(c for c in test_devices.CASES
                                  if c.expect == "mediated-device[vgpu-conditions]" and "vIOMMU" in c.name),
    "qemu-vfio-mlx5-vf": next(c for c in test_devices.CASES if c.expect == "sriov[mlx5-vf]" and c.action == "warn"),
    "qemu-vfio-viommu-mlx5": next(c for c in test_devices.CASES
                                  if c.expect == "sriov[mlx5-vf-conditions]" and "vIOMMU" in c.name),
}
