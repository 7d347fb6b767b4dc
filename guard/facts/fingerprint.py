"""The source fingerprint: the host facts that identity rules compare, carried by the VM.

The destination hook sees only the domain XML, so the source's facts travel inside it,
in <metadata> under the project's namespace, as compact JSON (guard.guest.metadata reads and
writes it). The same projection of destination facts is what the rules compare it with,
so `check --source-facts` and a stamped XML give the same verdict by construction.
"""
from ..errors import InputError
from ..records import BOOL, INT, NUMBER, STR, optional, record, seq, tup
from .model import OPT_STR, STRS

FINGERPRINT_VERSION = 1
LATER_FIELDS = ("vgpu_driver", "issued_at", "issued_by", "mlx5_vfs")

# Kernel parameters that change what the CPU exposes to guests or how it is mitigated.
CPU_CMDLINE_PARAMS = (
    "mitigations", "nosmt", "tsx", "spectre_v2", "spectre_v2_user", "spec_store_bypass_disable", "pti",
    "nopti", "l1tf", "mds", "tsx_async_abort", "mmio_stale_data", "retbleed", "srbds", "gather_data_sampling",
    "spec_rstack_overflow", "nospectre_v1", "nospectre_v2", "clearcpuid", "kvm.nx_huge_pages",
    "kvm_intel.nested", "kvm-intel.nested", "kvm_amd.nested", "kvm-amd.nested", "nosgx", "noxsave",
)


def cpu_cmdline(cmdline):
    """The CPU-relevant parameters of a kernel command line, sorted, as "name=value" or "name"."""
    if not cmdline:
        return ()
    keep = []
    for word in cmdline.split():
        name = word.split("=", 1)[0]
        if name in CPU_CMDLINE_PARAMS:
            keep.append(word)
    return tuple(sorted(keep))


class Fingerprint(record("Fingerprint", (
        ("version", INT, FINGERPRINT_VERSION),
        ("host", OPT_STR, None),
        ("host_uuid", OPT_STR, None),
        ("collected_at", optional(NUMBER), None),
        ("cpu_model", OPT_STR, None),
        ("cpu_vendor", OPT_STR, None),
        ("cpu_signature", OPT_STR, None),
        ("cpu_features", STRS, ()),
        ("microcode", OPT_STR, None),
        ("bios_vendor", OPT_STR, None),
        ("bios_version", OPT_STR, None),
        ("bios_date", OPT_STR, None),
        ("qemu_version", OPT_STR, None),
        ("libvirt_version", OPT_STR, None),
        ("kernel_release", OPT_STR, None),
        ("smt", OPT_STR, None),
        ("nested", optional(BOOL), None),
        ("boot_mode", OPT_STR, None),
        ("vulnerabilities", seq(tup(STR, STR)), ()),
        ("cpu_cmdline", STRS, ()),
        ("numa", seq(tup(INT, INT, INT)), ()),  # (cell id, CPU count, memory bytes)
        # Added after version 1 (LATER_FIELDS): left out of the JSON and the signature while None, so
        # every stamp without them verifies alike on guards with and without them; a signed stamp that
        # sets one verifies only on guards that know it (fingerprint_for sets vgpu_driver for mdev
        # guests alone).
        ("vgpu_driver", OPT_STR, None),  # the NVIDIA vGPU host driver (NVIDIA requires the same on both)
        # When the stamp was issued (whole epoch seconds) and by which host (its hostname): signed with
        # the rest, so that a signed stamp cannot be replayed beyond [fingerprint] max_age, and so that the
        # collector service can tell its own stamps from any other (guard.guest.metadata.authenticate).
        ("issued_at", optional(INT), None),
        ("issued_by", OPT_STR, None),
        # The Mellanox VFs the guest holds, as (VF address, its PF's PSID, the PF's firmware version),
        # and ("pool", PSID, firmware) for each kind of Mellanox PF a VF pool of the host may give
        # (RHEL migrates a ConnectX-7 VF only between PFs of the same PSID and firmware);
        # fingerprint_for keeps only the guest's.
        ("mlx5_vfs", optional(seq(tup(STR, STR, STR))), None),
        # "hmac-sha256:<hex>" over the rest and the guest's UUID, with the fleet key
        # ([fingerprint] key); guard.guest.metadata signs and verifies it.
        ("signature", OPT_STR, None),
))):
    __slots__ = ()

    def numa_shape(self):
        """Cells and CPUs per cell: what NUMA pinning depends on (memory sizes may differ)."""
        return tuple((cell, cpus) for cell, cpus, _memory in self.numa)


def fingerprint_of(facts):
    """The identity projection of a host's facts."""
    bios = facts.bios
    local = facts.local
    return Fingerprint(
        host=facts.hostname,
        host_uuid=facts.host_uuid,
        collected_at=facts.collected_at,
        cpu_model=facts.cpu.model,
        cpu_vendor=facts.cpu.vendor,
        cpu_signature=facts.cpu.signature,
        cpu_features=facts.cpu.features,
        microcode=facts.microcode,
        bios_vendor=bios.vendor if bios else None,
        bios_version=bios.version if bios else None,
        bios_date=bios.date if bios else None,
        qemu_version=facts.qemu_version,
        libvirt_version=facts.libvirt_version,
        kernel_release=facts.kernel_release,
        smt=local.smt if local else None,
        nested=local.nested if local else None,
        boot_mode=local.boot_mode if local else None,
        vulnerabilities=local.vulnerabilities if local else (),
        cpu_cmdline=cpu_cmdline(local.kernel_cmdline) if local else (),
        numa=tuple((c.id, len(c.cpus), c.memory_bytes) for c in facts.cells),
        vgpu_driver=local.vgpu_driver if local else None,
        mlx5_vfs=tuple((vf, psid, firmware) for _pf, _device, psid, firmware, vfs in local.mlx5_pfs
                       for vf in vfs) or None if local and local.mlx5_pfs else None,
    )


POOL = "pool"


def fingerprint_for(facts, domain):
    """The fingerprint a guest carries from this host: fingerprint_of(facts), with the vGPU
    driver only for a guest that has an mdev, and of the Mellanox VFs only those the guest holds
    (a stamp without them keeps the form that guards from before the fields verify,
    LATER_FIELDS). domain: a guard.guest.domain.Domain, or None (unknown)."""
    fingerprint = fingerprint_of(facts)
    if fingerprint.vgpu_driver and not (domain is not None and any(h.type == "mdev" for h in domain.hostdevs)):
        fingerprint = fingerprint._replace(vgpu_driver=None)
    if fingerprint.mlx5_vfs:
        fingerprint = fingerprint._replace(mlx5_vfs=_guest_vfs(fingerprint.mlx5_vfs, facts, domain))
    return fingerprint


def _guest_vfs(host_vfs, facts, domain):
    """The entries of host_vfs for the VFs the guest names, and a pool entry per (PSID, firmware)
    of the host when the guest draws a VF from one of its pools (its XML names none: libvirt picks
    it at start)."""
    if domain is None:
        return None
    named = {h.source for h in domain.hostdevs if h.type == "pci"}
    named |= {i.source for i in domain.interfaces if i.type == "hostdev"}
    kept = [entry for entry in host_vfs if entry[0] in named]
    pools = {n.name for n in facts.networks if n.forward_mode == "hostdev"}
    if any(i.type == "network" and i.network in pools for i in domain.interfaces):
        kept += [(POOL, psid, firmware) for psid, firmware in sorted({(p, f) for _vf, p, f in host_vfs})]
    return tuple(kept) or None


def canonical_dict(fingerprint):
    """The fingerprint as JSON data, without its signature and without the LATER_FIELDS that
    are None: what is written into <metadata> and what the signature covers."""
    data = fingerprint.to_dict()
    data.pop("signature", None)
    for name in LATER_FIELDS:
        if data.get(name) is None:
            data.pop(name, None)
    return data


def fingerprint_from_data(data):
    """A Fingerprint from the JSON value found in a domain's metadata (guest-controlled:
    every field is type-checked); InputError says what is wrong."""
    if not isinstance(data, dict):
        raise InputError("it is not a JSON object")
    if data.get("version") != FINGERPRINT_VERSION:
        raise InputError("its version is %r, this guard reads %d" % (data.get("version"), FINGERPRINT_VERSION))
    return Fingerprint.load(data, "")
