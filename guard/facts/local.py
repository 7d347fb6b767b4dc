"""Facts the host itself shows beyond libvirt's documents: /proc and /sys, read under a
root folder so tests can point it at a fixture tree."""
import glob
import os

from . import probe
from .model import Bios, LocalFacts
from .qemu_conf import read_qemu_conf, security_drivers, tls_certificates

FIRMWARE_GLOBS = ("usr/share/OVMF/*", "usr/share/edk2/*/*", "usr/share/edk2/*", "usr/share/qemu/*.fd",
                  "usr/share/qemu/*.bin", "usr/share/seabios/*")


def _read(root, path):
    try:
        with open(os.path.join(root, path), "r", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def microcode_from_cpuinfo(text):
    for line in (text or "").splitlines():
        key, _sep, value = line.partition(":")
        if key.strip() == "microcode":
            return value.strip()
    return None


def _nested(root):
    for module in ("kvm_intel", "kvm_amd"):
        value = _read(root, "sys/module/%s/parameters/nested" % module)
        if value is not None:
            return value in ("1", "Y", "y")
    return None


def read_local(root="/"):
    vulnerabilities = []
    for path in sorted(glob.glob(os.path.join(root, "sys/devices/system/cpu/vulnerabilities/*"))):
        value = _read(root, os.path.relpath(path, root))
        if value is not None:
            vulnerabilities.append((os.path.basename(path), value))
    firmware = set()
    for pattern in FIRMWARE_GLOBS:
        for path in glob.glob(os.path.join(root, pattern)):
            if os.path.isfile(path):
                firmware.add("/" + os.path.relpath(path, root))
    netdevs, bridges = probe.list_netdevs(root)
    conf = read_qemu_conf(root)  # root-only (0600): the collector runs as root
    default_page = probe.default_hugepage_bytes(root)
    return LocalFacts(
        kernel_cmdline=_read(root, "proc/cmdline"),
        microcode=microcode_from_cpuinfo(_read(root, "proc/cpuinfo")),
        smt=_read(root, "sys/devices/system/cpu/smt/control"),
        nested=_nested(root),
        vulnerabilities=tuple(vulnerabilities),
        boot_mode="uefi" if os.path.isdir(os.path.join(root, "sys/firmware/efi")) else "legacy",
        firmware_files=tuple(sorted(firmware)),
        guest_cpus=probe.guest_cpus(root),
        netdevs=netdevs,
        bridges=bridges,
        addresses=probe.host_addresses(root),
        hugetlbfs=probe.hugetlbfs_sizes(root, default_page),
        free_pages=probe.free_pages(root),
        default_hugepage_bytes=default_page,
        vgpu_driver=_read(root, "sys/module/nvidia/version"),
        spice_tls=bool(conf.get("spice_tls", 0)) if conf is not None else None,
        vnc_tls=bool(conf.get("vnc_tls", 0)) if conf is not None else None,
        migrate_tls_force=bool(conf.get("migrate_tls_force", 0)) if conf is not None else None,
        mlx5_pfs=probe.mellanox_pfs(root),
        tls_certs=tls_certificates(conf, root) if conf is not None else None,
        security_driver=security_drivers(conf) if conf is not None else None,
        security_require_confined=bool(conf.get("security_require_confined")) if conf is not None else None,
    )


def bios_from_dmi(root="/"):
    """SMBIOS BIOS facts from /sys/class/dmi/id, for hosts where virsh sysinfo has none."""
    values = {key: _read(root, "sys/class/dmi/id/" + name) for key, name in (
        ("vendor", "bios_vendor"), ("version", "bios_version"), ("date", "bios_date"))}
    if not any(values.values()):
        return None
    return Bios(**values)
