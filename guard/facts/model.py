"""Host facts: a versioned, JSON-serialisable picture of one hypervisor.

Built from libvirt's own documents (see build.py) so the same model serves the local
collector, a remote pre-flight and tests on real documents. Records are immutable
structs (guard.records); sequences are tuples so that a HostFacts compares and
hashes by value. Loading validates every field's type: a facts file that says
`"memory_bytes": "lots"` is a one-line error naming the field.
"""
from ..errors import InputError
from ..records import BOOL, INT, NUMBER, REQUIRED, STR, derived, optional, record, seq, struct, tup

# A field added with a default keeps the version: an older cache loads with it unset (and the
# hook says what that cache lacks), an older guard ignores it. A changed or removed one raises it.
SCHEMA_VERSION = 1

OPT_STR = optional(STR)
STRS = seq(STR)


class HostCpu(record("HostCpu", (
        ("arch", OPT_STR, None),
        ("model", OPT_STR, None),
        ("vendor", OPT_STR, None),
        ("signature", OPT_STR, None),  # "family/model/stepping"
        ("microcode", OPT_STR, None),
        ("features", STRS, ()),
        ("page_sizes", seq(INT), ()),  # bytes, every page size the host offers
))):
    __slots__ = ()


class NumaCell(record("NumaCell", (
        ("id", INT, REQUIRED),
        ("memory_bytes", INT, REQUIRED),
        ("cpus", seq(INT), ()),
        ("pages", seq(tup(INT, INT)), ()),  # (page size in bytes, pages reserved)
))):
    __slots__ = ()

    def pages_of(self, size):
        return sum(count for page_size, count in self.pages if page_size == size)


Machine = record("Machine", (
    ("name", STR, REQUIRED),
    ("canonical", OPT_STR, None),  # set when name is an alias ("pc" -> "pc-i440fx-7.2")
))


class GuestSupport(record("GuestSupport", (
        ("arch", STR, REQUIRED),
        ("virt_type", STR, REQUIRED),
        ("emulator", OPT_STR, None),
        ("machines", seq(Machine.load), ()),
), doc="One <guest><arch> of virsh capabilities, per domain type.")):
    __slots__ = ()

    def machine_names(self):
        return {m.name for m in self.machines} | {m.canonical for m in self.machines if m.canonical}


CpuModel = record("CpuModel", (
    ("name", STR, REQUIRED),
    ("usable", OPT_STR, None),  # yes | no | unknown
    ("blockers", optional(STRS), None),  # None: this libvirt does not report blockers
))


def _models_by_name(caps):
    return {m.name: m for m in reversed(caps.cpu_models)}  # the first of a name wins, as the scan did


class DomainCaps(record("DomainCaps", (
        ("virt_type", STR, REQUIRED),
        ("arch", OPT_STR, None),
        ("machine", OPT_STR, None),
        ("emulator", OPT_STR, None),
        ("cpu_modes", seq(tup(STR, BOOL)), ()),
        ("host_model_required", STRS, ()),
        ("host_model_disabled", STRS, ()),
        ("cpu_models", seq(CpuModel.load), ()),
        ("firmware", optional(STRS), None),  # None: no <enum name='firmware'> at all
        ("loaders", STRS, ()),
        ("loader_secure", STRS, ()),
        ("sev", BOOL, False),
        ("launch_security", STRS, ()),
        ("hyperv", optional(STRS), None),  # <hyperv> enum 'features'; None: not reported (libvirt < 9.x)
        # <devices>: (device, enum name, values) for each enum of a supported device, and (device,
        # "supported", ()) for a device the destination does not support; None: not read.
        ("devices", optional(seq(tup(STR, STR, STRS))), None),
), doc="One virsh domcapabilities document: a (virt type, arch, machine) triple.")):
    __slots__ = ()

    def device_values(self, device, enum):
        """The values the destination offers for one device enum, () for a device it does not
        support at all, or None when its domcapabilities do not say."""
        unsupported, enums = derived(self, "device enums", _device_enums)
        return () if device in unsupported else enums.get((device, enum))

    def mode_supported(self, mode):
        for name, supported in self.cpu_modes:
            if name == mode:
                return supported
        return None

    def cpu_model(self, name):
        # Looked up by name for most guests, in a list of some sixty models.
        return derived(self, "cpu models", _models_by_name).get(name)


def _device_enums(caps):
    """(devices the destination does not support, {(device, enum): values})."""
    unsupported, enums = set(), {}
    for device, enum, values in caps.devices or ():
        if enum == "supported":
            unsupported.add(device)
        else:
            enums[(device, enum)] = tuple(values)
    return unsupported, enums


Bios = record("Bios", (
    ("vendor", OPT_STR, None),
    ("version", OPT_STR, None),
    ("date", OPT_STR, None),
))

Network = record("Network", (
    ("name", STR, REQUIRED),
    ("forward_mode", OPT_STR, None),
    ("active", optional(BOOL), None),  # None: not known (facts built from net-dumpxml alone)
    ("bridge", OPT_STR, None),
))

Pool = record("Pool", (
    ("name", STR, REQUIRED),
    ("active", optional(BOOL), None),
    ("target", OPT_STR, None),  # <target><path>: where copy-storage migrations create volumes
))

Mdev = record("Mdev", (
    ("uuid", STR, REQUIRED),
    ("type", OPT_STR, None),
))

# Mellanox's PCI vendor id and the variant driver RHEL 9.4 migrates CX-7 VFs with: named by
# the probe, the collector and the sriov rule alike (here, as the rule may not import the probe).
MELLANOX = "0x15b3"
MLX5_VFIO_PCI = "mlx5_vfio_pci"

LocalFacts = record("LocalFacts", (
    ("kernel_cmdline", OPT_STR, None),
    ("microcode", OPT_STR, None),
    ("smt", OPT_STR, None),  # on | off | forceoff | notsupported
    ("nested", optional(BOOL), None),
    ("vulnerabilities", seq(tup(STR, STR)), ()),
    ("boot_mode", OPT_STR, None),  # uefi | legacy
    ("firmware_files", STRS, ()),
    # None in each of the following: not read (an older collector, a remote host).
    ("guest_cpus", optional(seq(INT)), None),  # the cpuset guests may use (machine.slice / machine)
    ("netdevs", optional(STRS), None),  # /sys/class/net
    ("bridges", optional(STRS), None),  # the netdevs that are bridges
    ("addresses", optional(STRS), None),  # the host's IPv4 and IPv6 addresses
    ("hugetlbfs", optional(seq(INT)), None),  # page sizes with a hugetlbfs mount
    ("free_pages", optional(seq(tup(INT, INT, INT))), None),  # (node, page size, free pages)
    ("default_hugepage_bytes", optional(INT), None),  # /proc/meminfo Hugepagesize
    ("vgpu_driver", OPT_STR, None),  # the NVIDIA host driver's version (/sys/module/nvidia/version), if loaded
    # /etc/libvirt/qemu.conf (guard.facts.qemu_conf): None when it could not be read.
    ("spice_tls", optional(BOOL), None),
    ("vnc_tls", optional(BOOL), None),
    ("migrate_tls_force", optional(BOOL), None),
    # The host's Mellanox PFs as (PF address, PCI device id, PSID, firmware version, VF addresses)
    # (guard.facts.probe.mellanox_pfs); None: /sys/bus/pci not read.
    ("mlx5_pfs", optional(seq(tup(STR, STR, STR, STR, STRS))), None),
    # Per TLS service of qemu.conf ("migrate", "vnc", "spice"): the certificate folder libvirt gives
    # QEMU and the server files QEMU needs that it lacks (guard.facts.qemu_conf.tls_certificates).
    ("tls_certs", optional(seq(tup(STR, STR, STRS))), None),
    # qemu.conf's security_driver, () when unset (libvirt then loads the first security driver the
    # host enables: guard.facts.qemu_conf).
    ("security_driver", optional(STRS), None),
    # qemu.conf's security_require_confined (0 when unset); None when qemu.conf was not read.
    ("security_require_confined", optional(BOOL), None),
), doc="What the collector reads from the host itself, beyond libvirt's documents.")


class Probe(struct("Probe", "paths netdevs addresses free_pages hugetlbfs default_hugepage_bytes budget_s guests "
                           "vfs", defaults=(None, None, None, None, None, None, None, None, None))):
    """What only the destination can say at decision time (guard.facts.probe gathers it in the
    hook, `check --probe` on the host itself). paths: {path: True | False | None} (None:
    the stat did not answer within the budget); netdevs: {name: "bridge" | "device" |
    None}; guests: ((name, uuid, active), ...) of the guests the destination's libvirt already
    has (guard.facts.probe.defined_guests); vfs: the PCI functions the guest's assigned VFs and VF pools
    name (guard.facts.probe.VfProbe); the rest as in LocalFacts. Any field None: not looked at."""

    __slots__ = ()


class HostFacts(record("HostFacts", (
        ("schema", INT, SCHEMA_VERSION),
        ("hostname", OPT_STR, None),
        ("host_uuid", OPT_STR, None),
        ("collected_at", optional(NUMBER), None),  # seconds since the epoch
        # When it was collected by a clock no one steps: the boot (/proc/sys/kernel/random/boot_id)
        # and that boot's clock ("boottime": CLOCK_BOOTTIME, which counts suspend; else
        # "monotonic") with its reading then. The hook judges the facts' age by these
        # (guard.facts.cache.staleness); None: not recorded (a collector before issue 21).
        ("boot_id", OPT_STR, None),
        ("boot_clock", OPT_STR, None),
        ("collected_boot_s", optional(NUMBER), None),
        ("libvirt_version", OPT_STR, None),
        ("qemu_version", OPT_STR, None),
        ("kernel_release", OPT_STR, None),
        ("cpu", HostCpu.load, HostCpu()),
        ("cells", seq(NumaCell.load), ()),
        ("memory_bytes", optional(INT), None),
        ("guests", seq(GuestSupport.load), ()),
        ("domcaps", seq(DomainCaps.load), ()),
        ("bios", optional(Bios.load), None),
        ("networks", seq(Network.load), ()),
        ("networks_complete", optional(BOOL), None),  # the list is all the host has; None: unknown
        ("pools", optional(seq(Pool.load)), None),  # storage pools; None: not listed
        ("mdevs", seq(Mdev.load), ()),
        ("local", optional(LocalFacts.load), None),
        # The security drivers the daemon loaded (capabilities <host><secmodel><model>); None: not read.
        ("security_models", optional(STRS), None),
))):
    __slots__ = ()

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise InputError("not a JSON object")
        if data.get("schema") != SCHEMA_VERSION:
            raise InputError("schema version %r, this guard reads %d (re-run the collector)"
                             % (data.get("schema"), SCHEMA_VERSION))
        return cls.load(data, "")

    def cpu_ids(self):
        return {cpu for cell in self.cells for cpu in cell.cpus}

    def cell(self, node):
        for cell in self.cells:
            if cell.id == node:
                return cell
        return None

    def guest_support(self, arch, virt_type):
        return [g for g in self.guests if g.arch == arch and g.virt_type == virt_type]

    def network(self, name):
        for network in self.networks:
            if network.name == name:
                return network
        return None

    @property
    def microcode(self):
        if self.local is not None and self.local.microcode:
            return self.local.microcode
        return self.cpu.microcode
