"""Assigned and host-backed devices: device-passthrough, sriov and mediated-device.

Sources: libvirt src/qemu/qemu_migration.c qemuMigrationSrcIsAllowedHostdev (every
hostdev but USB and a PCI one with <teaming type='transient'>; mode='capabilities'),
qemuMigrationSrcIsAllowed (shmem without role='master': "shmem device ... cannot be
migrated"; virtiofs: refused until libvirt 10.6, then allowed for an external daemon
(<source socket>) or a virtiofsd with migrate-precopy: "migration with this virtiofs
device is not supported"); QEMU's migration blockers: vhost-scsi (hw/scsi/vhost-scsi.c,
unless migratable=on), virtio-input-host (hw/input/virtio-input-host.c, vmstate
unmigratable), vhost-user-fs (migratable from QEMU 8.2). Two are the seed's limitation
("device passthrough") rather than a QEMU refusal (docs/blockers.md): a TPM passthrough
backend, which QEMU documents as not migratable (docs/specs/tpm.rst) but does not block, and
whose host TPM state cannot move; and vhost-user-gpu, which QEMU blocks only with 3D
acceleration (the virgl blocker, hw/display/virtio-gpu-base.c) and otherwise migrates without
the GPU's state, held by a host process.
"""
from ..facts.fingerprint import POOL
from ..facts.model import MELLANOX, MLX5_VFIO_PCI
from ..guest.domain import mdev_path
from ..records import derived, struct
from ..versions import compare_versions
from .base import DENY, WARN, Rule, codes, count, listing

PASSTHROUGH = "device-passthrough"
SRIOV = "sriov"
MDEV = "mediated-device"

# QEMU unplugs a VF with <teaming type='transient'> before migration and the guest
# fails over to its persistent virtio twin: the one assigned device that migrates.
TRANSIENT = "transient"
SUBSYSTEM_TYPES = ("pci", "usb", "scsi", "scsi_host")


_HOSTDEV_WHAT = {"capabilities": "<hostdev mode='capabilities'>"}
# Host-backed devices: kind (from the parser's fixed list) -> (code variant, why QEMU/libvirt refuse).
_BACKED = {
    "tpm-passthrough": ("tpm-passthrough", "the host TPM's state cannot move with the guest (QEMU documents the "
                                           "passthrough backend as not migratable)"),
    "input-passthrough": ("input-passthrough", "QEMU's virtio-input-host is unmigratable"),
    "shmem-peer": ("shmem", "libvirt migrates only <shmem role='master'>"),
    "vhost-user-gpu": ("vhost-user-gpu", "the GPU's state lives in a host process that does not migrate (QEMU "
                                         "refuses outright with 3D acceleration)"),
}
# The first versions that migrate virtiofs: the catalogue's qemu-vhost-user-fs and libvirt-virtiofs
# entries say when each lifted its refusal (tests/rules/test_blockers.py holds them together).
VIRTIOFS_QEMU = "8.2.0"
VIRTIOFS_LIBVIRT = "10.6.0"


def check_passthrough(ctx):
    groups = {}
    mellanox = {use.address for use in _mlx5_hostdevs(ctx, *_mellanox_by(ctx)[:2])}
    for dev in ctx.domain.hostdevs:
        if dev.type == "mdev":
            continue
        if dev.mode == "subsystem" and dev.type == "pci" and (dev.teaming == TRANSIENT or dev.source in mellanox):
            continue  # a failover VF QEMU unplugs; a Mellanox VF RHEL 9.4 may migrate (check_sriov)
        # Guest-controlled text: a subsystem type libvirt does not define is still a host device.
        if dev.mode != "subsystem":
            variant = "capabilities"
        else:
            variant = dev.type if dev.type in SUBSYSTEM_TYPES else "other"
        groups.setdefault(variant, []).append(dev)
    for variant, devs in groups.items():
        what = _HOSTDEV_WHAT.get(variant, "<hostdev type='%s'>" % "/".join(sorted({d.type for d in devs})))
        yield PASSTHROUGH_RULE.finding(variant,
                                       "%s assigned (%s); assigned host devices cannot be migrated"
                                       % (count(len(devs), what, what), listing(d.source for d in devs)),
                                       "detach them before migrating (`virsh detach-device --live`) and attach the destination's "
                                       "own devices after", devices=len(devs), sources=listing((d.source for d in devs), 8),
                                       device_type=devs[0].type)
    yield from _backed(ctx)


def _backed(ctx):
    if not ctx.domain.backed and not ctx.domain.interfaces:
        return
    groups = {}
    for dev in ctx.domain.backed:
        if dev.kind in _BACKED:
            groups.setdefault(dev.kind, []).append(dev)
    for kind, devs in groups.items():
        variant, why = _BACKED[kind]
        yield PASSTHROUGH_RULE.finding(variant, "%s: %s" % (listing(d.what for d in devs), why),
                                       "remove the device from the guest (`virsh detach-device --live`) before migrating",
                                       devices=len(devs))
    evdev = [d for d in ctx.domain.backed if d.kind == "input-evdev"]
    if evdev:
        yield PASSTHROUGH_RULE.finding(
            "input-evdev", "%s: the guest reads this host's input device; on the destination QEMU opens the same path, "
                           "another device or none" % listing(d.what for d in evdev),
            "detach the evdev input before migrating and attach the destination's own after", devices=len(evdev))
    yield from _sockets(ctx)


def _sockets(ctx):
    """Devices whose backend must already serve a socket on the destination: vhost-user
    disks and client-mode NICs, an ivshmem server, an external virtiofsd."""
    needs = [(d.what, d.path, "vhost-user" if d.kind == "vhost-user" else "shmem") for d in ctx.domain.backed
             if d.path and d.kind in ("vhost-user", "shmem-server")]
    needs += [("<interface type='vhostuser'> %s" % i.socket[0], i.socket[0], "vhost-user")
              for i in ctx.domain.interfaces if i.socket and i.socket[1] == "client"]
    fs = [d for d in ctx.domain.backed if d.kind == "virtiofs"]
    qemu = ctx.dest.qemu_version if ctx.dest is not None else None
    source_libvirt = ctx.source.libvirt_version if ctx.source is not None else None
    if fs and source_libvirt and compare_versions(source_libvirt, VIRTIOFS_LIBVIRT) < 0:
        # Refused on the source before the destination is asked: the pre-flight's to say.
        yield PASSTHROUGH_RULE.finding(
            "virtiofs", "%s: libvirt %s on the source refuses to migrate virtiofs (\"migration with virtiofs device is "
                        "not supported\"; libvirt %s and later can)" % (listing(d.what for d in fs), source_libvirt,
                                                                         VIRTIOFS_LIBVIRT),
            "unmount and detach the filesystem before migrating, or upgrade libvirt on the source",
            devices=len(fs), source_libvirt=source_libvirt)
    elif fs and qemu and compare_versions(qemu, VIRTIOFS_QEMU) < 0:
        yield PASSTHROUGH_RULE.finding("virtiofs",
                                       "%s: QEMU %s on the destination cannot migrate vhost-user-fs (QEMU %s and later can)"
                                       % (listing(d.what for d in fs), qemu, VIRTIOFS_QEMU),
                                       "unmount and detach the filesystem before migrating, or upgrade QEMU on the destination",
                                       devices=len(fs), dest_qemu=qemu)
    elif fs:
        external = [d for d in fs if d.path]
        needs += [(d.what, d.path, "virtiofs") for d in external]
        if len(external) < len(fs):
            yield PASSTHROUGH_RULE.unverifiable("%s: migrates only if the destination's virtiofsd supports "
                                                "migrate-precopy, which the facts do not say"
                                                % listing(d.what for d in fs if not d.path),
                                                "check `virtiofsd --help` for --migration-mode on the destination")
    missing = {}
    undecided = []
    for what, path, variant in needs:
        state = ctx.path_exists(path)
        if state is False:
            missing.setdefault(variant, []).append(what)
        elif state is None:
            undecided.append(what)
    # The messages name the sockets' paths (for the audit record); the refusal counts them.
    for variant, whats in missing.items():
        text = "%s: no such socket on the destination; QEMU cannot connect to its backend there"
        yield PASSTHROUGH_RULE.finding(
            variant, text % listing(whats),
            "start the backend (vhost-user daemon, ivshmem-server, virtiofsd) on the destination first",
            text % _counted(len(whats)), devices=len(whats))
    if undecided:
        text = "backend socket of %s not checked on the destination"
        yield PASSTHROUGH_RULE.unverifiable(text % listing(undecided), "run the hook or `check --probe` on the destination",
                                            text % _counted(len(undecided)))


def _counted(number):
    return "%s (named in the audit record)" % count(number, "device")


def check_sriov(ctx):
    uses = _mlx5_uses(ctx)
    mellanox = {use.address or use.network for use in uses}
    for iface in ctx.domain.interfaces:
        if iface.teaming == TRANSIENT:
            continue
        if iface.type == "hostdev" and iface.source in mellanox:
            continue  # judged below, with every condition of RHEL's Mellanox VF migration
        if iface.type == "hostdev":
            yield SRIOV_RULE.finding("hostdev",
                                     "interface %s is an SR-IOV VF assigned with <interface type='hostdev'> (%s)"
                                     % (iface.mac or "?", iface.source),
                                     "use a virtio NIC, or pair the VF with a virtio NIC using <teaming type='transient'>",
                                     mac=iface.mac, source=iface.source)
        elif iface.type == "vdpa":
            yield SRIOV_RULE.finding("vdpa",
                                     "interface %s is a vDPA device (%s), which libvirt cannot migrate"
                                     % (iface.mac or "?", iface.source),
                                     "use a virtio NIC on a bridge or network", mac=iface.mac, source=iface.source)
        elif iface.type == "network" and ctx.dest is not None and iface.network not in mellanox:
            network = ctx.dest.network(iface.network)
            if network is not None and network.forward_mode == "hostdev":
                yield SRIOV_RULE.finding("network-pool",
                                         "interface %s uses network '%s', an SR-IOV VF pool (<forward mode='hostdev'>)"
                                         % (iface.mac or "?", iface.network),
                                         "use a bridged or NAT network, or add <teaming type='transient'> with a virtio twin",
                                         mac=iface.mac, network=iface.network, dest_forward_mode=network.forward_mode)
    if uses:
        yield from _mlx5_exception(ctx, uses)


# RHEL 9.4 and later migrate a guest with an NVIDIA vGPU ("Live migrating a virtual machine
# with an attached NVIDIA vGPU"): RHEL 9.4's libvirt 10.0 and QEMU 8.2 on both hosts, the same
# vGPU host driver on both ("vGPU live migration fails if the vGPU driver version differs"),
# no vIOMMU in the guest, x86_64; and, as for any mdev, the destination has one with the same
# UUID. Each condition is checked; an unmet or unverified one names itself in the deny.
RHEL94_LIBVIRT, RHEL94_QEMU = "10.0.0", "8.2.0"
NVIDIA_VGPU = "nvidia-"


def _rhel94_conditions(ctx, feature, claims):
    """(the conditions RHEL 9.4's device migrations share that do not hold or cannot be
    verified: no vIOMMU, a source fingerprint that can be trusted, RHEL 9.4's libvirt and QEMU on
    both hosts; the source fingerprint to compare with, None when it cannot be trusted).
    feature: what migrates ("vGPU"); claims: what the source's fingerprint says of it."""
    unmet = []
    if ctx.domain.has_iommu:
        unmet.append("the guest has a vIOMMU (<iommu>), which %s migration does not support" % feature)
    source, dest = ctx.source, ctx.dest
    if source is not None and not ctx.source_trusted:
        # The tenant writes the guest's metadata: without a fleet key its fingerprint could claim
        # anything, and these exceptions let a migration through on its word.
        unmet.append("the source's fingerprint is not signed with the fleet key ([fingerprint] key), so its %s and "
                     "versions cannot be trusted" % claims)
        source = None
    for side, libvirt, qemu in (("destination", dest.libvirt_version if dest else None,
                                 dest.qemu_version if dest else None),
                                ("source", source.libvirt_version if source else None,
                                 source.qemu_version if source else None)):
        if not libvirt or not qemu:
            unmet.append("the %s's libvirt and QEMU versions are not known" % side)
        elif compare_versions(libvirt, RHEL94_LIBVIRT) < 0 or compare_versions(qemu, RHEL94_QEMU) < 0:
            unmet.append("the %s runs libvirt %s and QEMU %s (RHEL 9.4's %s and %s or later are needed)"
                         % (side, libvirt, qemu, RHEL94_LIBVIRT, RHEL94_QEMU))
    return unmet, source


def _vgpu_conditions(ctx, mdev_type):
    """The conditions of RHEL's NVIDIA vGPU migration that do not hold or cannot be verified."""
    unmet, source = _rhel94_conditions(ctx, "vGPU", "vGPU driver")
    dest = ctx.dest
    host_arch = dest.cpu.arch
    if host_arch not in ("x86_64", None):
        unmet.append("vGPU migration is for Intel 64 and AMD64 hosts (the destination is %s)" % host_arch)
    here = dest.local.vgpu_driver if dest.local is not None else None
    there = source.vgpu_driver if source is not None else None
    if not here or not there:
        unmet.append("the vGPU driver version of the %s is not known" % (
            "source and the destination" if not here and not there else "destination" if not here else "source"))
    elif here != there:
        unmet.append("the vGPU driver differs: %s on the source, %s on the destination" % (there, here))
    return unmet


def _mdev_present(ctx, dev):
    """The destination's Mdev of this guest's UUID, or None: the collector's list says which exist
    and their type; the probe, when it looked, whether it is active now (a defined mdev that was
    never started has no /sys/bus/mdev/devices/UUID, and QEMU cannot open it)."""
    if ctx.dest is None:
        return None
    found = next((m for m in ctx.dest.mdevs if m.uuid == dev.mdev_uuid), None)
    if found is not None and ctx.path_exists(mdev_path(dev.mdev_uuid)) is False:
        return None
    return found


def check_mdev(ctx):
    for dev in ctx.domain.hostdevs:
        if dev.type != "mdev":
            continue
        present = _mdev_present(ctx, dev)
        if present is None:
            yield MDEV_RULE.finding("absent",
                                    "guest has mediated device %s (%s) assigned; the destination has no active mdev %s"
                                    % (dev.mdev_uuid, dev.model or "mdev", dev.mdev_uuid),
                                    "create and start the mdev with the same UUID and type on the destination (`virsh "
                                    "nodedev-define`, `virsh nodedev-start`), or detach it before migrating",
                                    mdev_uuid=dev.mdev_uuid)
            continue
        if not (present.type or "").startswith(NVIDIA_VGPU):
            yield MDEV_RULE.finding("present",
                                    "guest has mediated device %s (%s) assigned; the destination has it (type %s), but RHEL "
                                    "supports migrating only NVIDIA vGPUs" % (dev.mdev_uuid, dev.model or "mdev", present.type),
                                    "detach the mdev before migrating, or, if its vendor supports migrating it, opt in with "
                                    "[rules.\"mediated-device[present]\"] action = \"warn\"",
                                    mdev_uuid=dev.mdev_uuid, dest_mdev_type=present.type)
            continue
        unmet = _vgpu_conditions(ctx, present.type)
        if unmet:
            yield MDEV_RULE.finding("vgpu-conditions",
                                    "NVIDIA vGPU %s (type %s on the destination): RHEL 9.4+ migrates it only when every "
                                    "condition holds, and %s" % (dev.mdev_uuid, present.type, "; ".join(unmet)),
                                    "meet the conditions named (RHEL's \"Live migrating a virtual machine with an attached "
                                    "NVIDIA vGPU\"), or detach the vGPU before migrating",
                                    mdev_uuid=dev.mdev_uuid, dest_mdev_type=present.type, unmet=unmet)
            continue
        yield MDEV_RULE.finding("nvidia-vgpu",
                                "NVIDIA vGPU %s: every condition RHEL 9.4+ sets for its live migration that the guard can see "
                                "holds (an active mdev of that UUID on the destination, type %s, which must be the source's; "
                                "RHEL 9.4+ libvirt and QEMU on both hosts; the same vGPU driver %s; no vIOMMU); do not use "
                                "post-copy" % (dev.mdev_uuid, present.type, ctx.dest.local.vgpu_driver),
                                "nothing to do; to refuse vGPU migrations all the same, set "
                                "[rules.\"mediated-device[nvidia-vgpu]\"] action = \"deny\"",
                                mdev_uuid=dev.mdev_uuid, dest_mdev_type=present.type)


# RHEL 9.4 and later migrate a guest with a Mellanox ConnectX-7 VF ("Live migrating a virtual
# machine with an attached Mellanox virtual function", in the guide's chapter on migrating virtual
# machines): the VF on the mlx5_vfio_pci variant driver, whose VFIO migration QEMU uses
# (hw/vfio/migration.c vfio_migration_realize adds no migration blocker for it); "a CX-7 device
# with the same Parameter-Set Identification (PSID) and the same firmware version" on both hosts;
# no vIOMMU; "at maximum 4 VFs" of one PF migrating at the same time; no post-copy. libvirt binds
# the variant driver to a managed VF itself from 10.0 (src/util/virpci.c virPCIDeviceBindToStub ->
# virPCIDeviceFindBestVFIOVariant; NEWS 10.0.0 "automatic selection/binding of VFIO variant
# drivers"), which RHEL 9.4's libvirt is (RHEL94_LIBVIRT); an unmanaged one keeps the driver it has.
MLX5, MLX5_CONDITIONS = "mlx5-vf", "mlx5-vf-conditions"
# The ConnectX family VF (15b3:101e, the one id drivers/vfio/pci/mlx5/main.c's mlx5vf_pci_table
# binds) on a ConnectX-7 PF (MT2910, 15b3:1021): the only VF RHEL supports migrating.
CX_VF, CX7_PF = "0x101e", "0x1021"
MAX_VFS_PER_PF = 4

# One VF the exception judges: what the XML says (for messages), the address it names, or the
# VF pool (network) libvirt takes one from, and how libvirt binds its driver.
VfUse = struct("VfUse", "what address network managed driver_model")


def _mellanox_vf(function):
    return function is not None and function.vendor == MELLANOX and function.pf is not None


def _mellanox_by(ctx):
    """(the VF addresses the source's fingerprint names, the destination's PCI functions the
    probe read, the probe's VfProbe or None)."""
    vfs = ctx.probe.vfs if ctx.probe is not None else None
    entries = ctx.source.mlx5_vfs or () if ctx.source is not None else ()
    return {entry[0] for entry in entries}, vfs.functions if vfs is not None else {}, vfs


def _mlx5_hostdevs(ctx, known, functions):
    """The guest's PCI <hostdev>s that are Mellanox VFs (by the source's fingerprint or the
    destination's sysfs), as VfUse: device-passthrough leaves them to the exception."""
    return [VfUse("<hostdev type='pci'> %s" % dev.source, dev.source, None, dev.managed, dev.driver_model)
            for dev in ctx.domain.hostdevs
            if dev.mode == "subsystem" and dev.type == "pci" and dev.teaming != TRANSIENT
            and (dev.source in known or _mellanox_vf(functions.get(dev.source)))]


def _vf_pools(facts):
    return frozenset(n.name for n in facts.networks if n.forward_mode == "hostdev")


def _mlx5_uses(ctx):
    """The guest's VFs that are Mellanox VFs by the destination's sysfs (the probe) or the
    source's fingerprint: the ones RHEL's exception may let through. A VF teamed for failover
    is unplugged for migration and is not among them."""
    known, functions, vfs = _mellanox_by(ctx)
    if not known and not functions:
        return []  # neither host says it has a VF for this guest: most guests, no pass over their NICs
    uses = _mlx5_hostdevs(ctx, known, functions)
    pools = derived(ctx.dest, "vf pools", _vf_pools) if ctx.dest is not None else frozenset()
    for iface in ctx.domain.interfaces:
        if iface.teaming == TRANSIENT:
            continue
        if iface.type == "hostdev" and (iface.source in known or _mellanox_vf(functions.get(iface.source))):
            uses.append(VfUse("<interface type='hostdev'> %s" % iface.source, iface.source, None, iface.managed,
                              iface.driver_model))
        elif iface.type == "network" and iface.network in pools:
            pool = vfs.pools.get(iface.network) if vfs is not None else None
            if POOL in known or pool is not None and any(_mellanox_vf(functions.get(a)) for a in pool.vfs):
                uses.append(VfUse("<interface type='network'> network='%s'" % iface.network, None, iface.network,
                                  None, None))
    return uses


def _driver_unmet(ctx, function, managed, driver_model, vfs):
    """Why this VF will not be on mlx5_vfio_pci when QEMU opens it, or None."""
    if driver_model and driver_model != MLX5_VFIO_PCI:
        return "its <driver model='%s'> binds another driver than %s" % (driver_model[:64], MLX5_VFIO_PCI)
    if function.driver == MLX5_VFIO_PCI:
        return None
    if not managed:
        return ("it is bound to %s, and libvirt does not rebind an unmanaged VF (managed='no'): bind it to %s first"
                % (function.driver or "no driver", MLX5_VFIO_PCI))
    libvirt = ctx.dest.libvirt_version if ctx.dest is not None else None
    if libvirt and compare_versions(libvirt, RHEL94_LIBVIRT) < 0:
        return ("libvirt %s binds a managed VF to vfio-pci, which has no migration support; libvirt %s and later "
                "bind %s" % (libvirt, RHEL94_LIBVIRT, MLX5_VFIO_PCI))
    if not vfs.mlx5_vfio_pci:
        return "the %s driver is neither loaded nor installed on the destination" % MLX5_VFIO_PCI
    return None  # libvirt binds mlx5_vfio_pci when it starts the guest


def _vf_unmet(ctx, function, managed, driver_model, vfs, source_pairs, where):
    """The conditions one destination VF does not meet; source_pairs: the (PSID, firmware)
    the source's VF may have, None when not known."""
    if function is None:
        return ["%s: the destination has no such PCI device" % where]
    if not _mellanox_vf(function) or function.device != CX_VF or function.pf_device != CX7_PF:
        return ["%s: not a ConnectX-7 VF on the destination (vendor %s, device %s, PF device %s)"
                % (where, function.vendor, function.device, function.pf_device or "none: not a VF")]
    unmet = []
    driver = _driver_unmet(ctx, function, managed, driver_model, vfs)
    if driver:
        unmet.append("%s: %s" % (where, driver))
    if not function.psid or not function.firmware:
        unmet.append("%s: its PF's PSID and firmware are not known on the destination (no infiniband device: is "
                     "mlx5_ib loaded?)" % where)
    elif source_pairs is not None and (function.psid, function.firmware) not in source_pairs:
        unmet.append("%s: PSID %s firmware %s on the destination, %s on the source" % (
            where, function.psid, function.firmware,
            " or ".join("PSID %s firmware %s" % pair for pair in sorted(source_pairs))))
    return unmet


def _mlx5_conditions(ctx, uses):
    """The conditions of RHEL's Mellanox VF migration that do not hold or cannot be verified,
    and the destination's (PSID, firmware) of the VFs when they all hold."""
    unmet, source = _rhel94_conditions(ctx, "Mellanox VF", "PSID, firmware")
    entries = source.mlx5_vfs or () if source is not None else ()
    by_address = {vf: (psid, firmware) for vf, psid, firmware in entries if vf != POOL}
    if ctx.source is None:
        unmet.append("the source's PSID and firmware are not known (no source fingerprint)")
    vfs = ctx.probe.vfs if ctx.probe is not None else None
    if vfs is None:
        return unmet + ["the destination's VFs were not read (the hook reads them; so does `migration-guard check "
                        "--probe` run there)"], ()
    per_pf, pairs = {}, set()
    for use in uses:
        if use.address is not None:
            if use.address not in vfs.functions:
                unmet.append("%s: not read on the destination within the probe's time" % use.address)
                continue
            function = vfs.functions[use.address]
            known = {by_address[use.address]} if use.address in by_address else None
            if source is not None and known is None:
                unmet.append("%s: the source's fingerprint does not name it as a Mellanox VF, so its PSID and "
                             "firmware there are not known" % use.address)
            where = use.address
            managed, driver_model = use.managed, use.driver_model
        else:
            pool = vfs.pools.get(use.network)
            if pool is None:
                unmet.append("network '%s': not a running VF pool whose state the destination shows" % use.network)
                continue
            if not pool.free:
                unmet.append("network '%s': no free VF in the pool on the destination" % use.network)
                continue
            where = "network '%s' (its first free VF, %s, which libvirt gives the guest)" % (use.network, pool.free[0])
            function = vfs.functions.get(pool.free[0])
            known = {(psid, firmware) for _vf, psid, firmware in entries}
            if source is not None and len(known) != 1:
                unmet.append("network '%s': the source's Mellanox PFs %s, so the PSID and firmware of the VF its "
                             "pool gave the guest are not known" % (
                                 use.network, "differ in PSID or firmware" if known else "are not in its fingerprint"))
                known = None
            managed, driver_model = pool.managed, pool.driver_model
        unmet += _vf_unmet(ctx, function, managed, driver_model, vfs, known, where)
        if function is not None:
            per_pf.setdefault(function.pf, []).append(where)
            pairs.add((function.psid, function.firmware))
    for pf, held in sorted((pf, held) for pf, held in per_pf.items() if pf and len(held) > MAX_VFS_PER_PF):
        unmet.append("%d of the guest's VFs are on PF %s: RHEL migrates at most %d VFs of one CX-7 PF at a time"
                     % (len(held), pf, MAX_VFS_PER_PF))
    return unmet, tuple(sorted(p for p in pairs if p[0] and p[1]))


def _mlx5_exception(ctx, uses):
    what = listing(u.what for u in uses)
    unmet, pairs = _mlx5_conditions(ctx, uses)
    if unmet:
        yield SRIOV_RULE.finding(MLX5_CONDITIONS,
                                 "Mellanox VF %s: RHEL 9.4+ migrates a ConnectX-7 VF only when every condition holds, and %s"
                                 % (what, "; ".join(unmet)),
                                 "meet the conditions named (RHEL's \"Live migrating a virtual machine with an attached Mellanox "
                                 "virtual function\"), or detach the VF before migrating",
                                 devices=len(uses), unmet=unmet)
        return
    yield SRIOV_RULE.finding(
        MLX5,
        "Mellanox VF %s: every condition RHEL 9.4+ sets for its live migration that the guard can see holds "
        "(a ConnectX-7 VF on %s, or one libvirt binds to it; the source's PSID and firmware, %s; RHEL 9.4+ "
        "libvirt and QEMU on both hosts; no vIOMMU; at most %d VFs of one PF); do not use post-copy, migrate "
        "at most %d VFs of one PF at a time, and expect `virsh domjobinfo` and `domdirtyrate-calc` to leave "
        "the VF's state out" % (what, MLX5_VFIO_PCI, ", ".join("PSID %s firmware %s" % p for p in pairs),
                                MAX_VFS_PER_PF, MAX_VFS_PER_PF),
        "nothing to do; to refuse Mellanox VF migrations all the same, set "
        "[rules.\"sriov[mlx5-vf]\"] action = \"deny\"", devices=len(uses))


PASSTHROUGH_RULE = Rule(
    id=PASSTHROUGH, title="Device passthrough", limitation="Device passthrough",
    checks="<hostdev> of type pci, usb, scsi, scsi_host (vhost-scsi) and mode='capabilities' "
           "(qemuMigrationSrcIsAllowedHostdev; a PCI hostdev with <teaming type='transient'>, a failover VF "
           "that QEMU unplugs, is allowed); host-backed devices QEMU or libvirt cannot migrate: <tpm> with "
           "<backend type='passthrough'>, <input type='passthrough'> (virtio-input-host), <shmem> without "
           "role='master', <video><driver name='vhostuser'>; virtiofs on a destination QEMU older than 8.2 "
           "(else unverifiable: virtiofsd's migrate-precopy is not in the facts); vhost-user, ivshmem-server "
           "and external virtiofsd sockets that do not exist on the destination; <input type='evdev'> warns.",
    remedy="Detach the device before migrating and re-attach it on the destination.",
    codes=codes(PASSTHROUGH, DENY, *SUBSYSTEM_TYPES + ("capabilities", "other", "tpm-passthrough",
                                                       "input-passthrough", "shmem", "vhost-user-gpu",
                                                       "vhost-user", "virtiofs"))
    + codes(PASSTHROUGH, WARN, "input-evdev"),
    check=check_passthrough,
    may_be_unverifiable=True,
)

SRIOV_RULE = Rule(
    id=SRIOV, title="SR-IOV device assignment", limitation="SR-IOV device assignment",
    checks="<interface type='hostdev'> (unless transient teaming), <interface type='network'> on a "
           "<forward mode='hostdev'> pool of the destination, <interface type='vdpa'>. "
           "<interface type='direct' mode='passthrough'> is macvtap and is not SR-IOV. RHEL 9.4+ migrates a "
           "Mellanox ConnectX-7 VF (a PCI <hostdev>, an <interface type='hostdev'>, or the VF a pool gives: "
           "the first free one, bridge_driver.c networkAllocatePort) when every condition it sets holds, each "
           "checked on the destination's sysfs at decision time: a ConnectX-7 VF (15b3:101e on a 15b3:1021 "
           "PF) bound to mlx5_vfio_pci, or managed and bound to it by libvirt 10.0+ (virpci.c "
           "virPCIDeviceBindToStub, virPCIDeviceFindBestVFIOVariant) with the driver present; its PF's PSID "
           "and firmware (infiniband board_id, fw_ver) the same as the source's, which its fingerprint carries "
           "(given or signed with the fleet key); RHEL 9.4's libvirt 10.0 and QEMU 8.2 or later on both "
           "hosts; no vIOMMU (hw/vfio/migration.c vfio_migration_realize); at most 4 VFs of one PF "
           "(`mlx5-vf`, a warning; action deny turns the exception off). An unmet or unverified one is "
           "`mlx5-vf-conditions` and names itself.",
    remedy="Use virtio NICs, or a VF teamed with a virtio NIC (<teaming type='transient'>), or meet RHEL's "
           "conditions for Mellanox VF migration.",
    codes=codes(SRIOV, DENY, "hostdev", "network-pool", "vdpa", MLX5_CONDITIONS) + codes(SRIOV, WARN, MLX5),
    check=check_sriov,
)

MDEV_RULE = Rule(
    id=MDEV, title="Mediated devices", limitation="Mediated devices, such as vGPUs",
    checks="<hostdev type='mdev'>: the destination must have an active mdev of the same UUID (`absent` if "
           "not; the probe checks /sys/bus/mdev/devices). RHEL 9.4+ migrates an NVIDIA vGPU when every "
           "condition it sets holds, each checked: RHEL 9.4's libvirt 10.0 and QEMU 8.2 or later on both "
           "hosts, the same vGPU host driver on both (the source's from its fingerprint, which must be given "
           "or signed with the fleet key), no vIOMMU, an Intel 64 or AMD64 host (`nvidia-vgpu`, a warning; "
           "action deny turns the exception off); an unmet or unverified one is `vgpu-conditions` and names "
           "itself. Another vendor's mdev is `present`, which an administrator may opt in to allow.",
    remedy="Detach the mediated device before migrating, or meet RHEL's conditions for NVIDIA vGPU migration.",
    codes=codes(MDEV, DENY, "present", "absent", "vgpu-conditions") + codes(MDEV, WARN, "nvidia-vgpu"),
    check=check_mdev,
)

RULES = (PASSTHROUGH_RULE, SRIOV_RULE, MDEV_RULE)
