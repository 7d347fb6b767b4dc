"""The guest model: what the rules need from a libvirt domain XML, and nothing else, as
immutable records (guard.records structs: the hook builds them for guests with thousands of
pins and devices, and imports them on every migration). guard.guest.domain parses the XML
into them. No policy lives here (nova's "no policy in the XML layer")."""
import posixpath

from ..records import struct

# One pinning of something to host CPUs. what: "vcpu cpuset", "vcpupin 3", "emulatorpin",
# "iothreadpin 1".
Pin = struct("Pin", "what cpuset cpus")

# A numatune <memory> or <memnode>: guest memory bound to host NUMA nodes. mode: strict |
# preferred | interleave | restrictive; cell: the guest cell of a <memnode>, else None.
NodeBinding = struct("NodeBinding", "what mode nodeset nodes cell", defaults=(None,))

# nodes: the guest NUMA cells this size backs, or None for all of them. size_bytes 0 is
# <hugepages/> without <page>: the host's default huge page size.
HugePage = struct("HugePage", "size_bytes nodeset nodes", defaults=(None, None))

GuestCell = struct("GuestCell", "id memory_bytes")

CpuFeature = struct("CpuFeature", "name policy")  # policy: force | require | optional | disable | forbid


class GuestCpu(struct("GuestCpu", "mode model vendor features", defaults=(None, None, ()))):
    """mode: custom | host-model | host-passthrough | maximum."""

    __slots__ = ()

    def features_with(self, *policies):
        return tuple(f.name for f in self.features if f.policy in policies)


class Firmware(struct("Firmware", "firmware features loader_path loader_type loader_secure nvram_template "
                                      "nvram_path", defaults=(None, (), None, None, None, None, None))):
    """firmware: <os firmware='efi|bios'>; features: (name, enabled) of <firmware><feature>."""

    __slots__ = ()

    def wants(self, feature):
        return any(name == feature and enabled for name, enabled in self.features)


# mode: subsystem | capabilities; type: pci | usb | scsi | scsi_host | mdev | storage | misc |
# net; source: a short description for messages; teaming: transient makes a VF failover-capable;
# managed: managed='yes' (libvirt binds the device's driver itself); driver_model: <driver model=...>,
# the VFIO variant driver a PCI device must be bound to (libvirt 10.0 and later).
HostDev = struct("HostDev", "mode type source teaming mdev_uuid model managed driver_model",
                 defaults=(None, None, None, False, None))

# type: network | bridge | hostdev | vdpa | direct | user | vhostuser | ...; socket: a vhost-user
# socket path and mode: (path, "client" | "server") of <source type='unix' path mode>; managed and
# driver_model: as HostDev's, for type='hostdev' (None otherwise).
Interface = struct("Interface", "type mac network source teaming socket managed driver_model",
                   defaults=(None, None, None, None, None, None, None))

# <devices><memory model='dimm|nvdimm|virtio-mem|virtio-pmem|sgx-epc'>: size; target_node: the
# *guest* NUMA cell it is plugged into (<target><node>); nodemask/nodes: host nodes of
# <source><nodemask>; page_bytes: <source><pagesize>; path: nvdimm/virtio-pmem backing file.
MemoryDevice = struct("MemoryDevice", "model size_bytes target_node nodemask nodes page_bytes path",
                          defaults=(None, None, None, None, None))

# A device backed by something of this host that is not a <hostdev>. kind is chosen by the
# parser from a fixed list (never guest text): tpm-passthrough, input-passthrough,
# input-evdev, shmem-peer, shmem-server, virtiofs, vhost-user-gpu, vhost-user; what: the
# element as the user wrote it, for messages; path: a host path it needs (or None).
HostBacked = struct("HostBacked", "kind what path", defaults=(None,))

# A local source the guest needs on the destination. kind: disk | cdrom | floppy | lun |
# filesystem; source: file | block | dir | volume; path, or pool/volume for
# type='volume'; optional: libvirt drops a missing source on an incoming migration (see _droppable);
# readonly: <readonly/>.
StoragePath = struct("StoragePath", "kind source path pool volume optional readonly",
                         defaults=(None, None, None, False, False))

# <graphics type='vnc|spice'> listen address (attribute or <listen type='address'>);
# network: <listen type='network' network=...>.
Listen = struct("Listen", "graphics address network", defaults=(None, None))


# What some refusals of QEMU or libvirt look at beyond the devices: tsc_frequency: <clock><timer
# name='tsc' frequency> in Hz, or None; cpu_migratable: <cpu migratable='on|off'> of a
# host-passthrough or maximum CPU, or None; transient_disks: targets of disks with <transient/>;
# unmigratable: (kind, element) of devices QEMU cannot migrate, kind from a fixed list (virgl,
# virtio-sound, qemu-vdagent), element as the XML has it; iommu: the guest has a vIOMMU;
# spice_tls: a SPICE display that needs a TLS port wherever it starts; spice_tls_port: one that
# takes a TLS port (and so loads the certificates) where qemu.conf sets spice_tls = 1.
Platform = struct("Platform", "tsc_frequency cpu_migratable transient_disks unmigratable iommu spice_tls "
                              "spice_tls_port", defaults=(None, None, (), (), False, False, False))
NO_PLATFORM = Platform()


class HostResource(struct("HostResource", "resource access value element code", defaults=(None,))):
    """A host resource the guest names, found by the blocker catalogue's libvirt-schema entries
    (guard.blockers.schema) that the host-resource rule checks: resource and access as there;
    value: the path, address, device or partition; element: the device as the XML has it, for
    messages ("<serial type='file'>"); code: the host-resource code the entry names
    ("directory" for host-resource[directory])."""

    __slots__ = ()

    @property
    def checked_path(self):
        """The path the destination must have for this access, or None when it is not a path:
        the file itself for what libvirt reads, connects to or runs; its directory for what
        libvirt creates or binds there; the cgroup v2 directory of a partition (libvirt's
        names; v1 hosts are found by the probe under the cpu controller)."""
        if self.resource in ("address", "netdev"):
            return None
        if self.resource == "cgroup":
            return "/sys/fs/cgroup" + cgroup_path(self.value)
        if self.resource == "binary" and not self.value.startswith("/"):
            # A program libvirt looks up in $PATH (virFindFileInPath), named by the backend's
            # type: RHEL 9 installs it in /usr/bin.
            return "/usr/bin/" + HELPER_PROGRAMS.get(self.value, self.value)
        if self.access in ("create", "bind"):
            return posixpath.dirname(self.value.rstrip("/")) or "/"
        return self.value


# The helper program libvirt runs for a backend type the schema names (src/util/virtpm.c
# virTPMEmulatorInit: swtpm, with swtpm_setup and swtpm_ioctl beside it).
HELPER_PROGRAMS = {"emulator": "swtpm"}


def _escaped(component):
    """virCgroupPartitionEscape: "_" before a component that starts with "_", "." or "cgroup.".
    libvirt also means to escape one that starts with a controller's name and a dot
    (virCgroupPartitionNeedsEscaping), but reads the names from /proc/cgroups by cutting each
    line at its first space, and the kernel separates them with tabs: no name ever matches, so
    /machine/cpu is /machine/cpu.partition, as libvirt really names it."""
    if component.startswith(("_", ".", "cgroup.")):
        return "_" + component
    return component


def cgroup_path(partition):
    """The cgroup directory of a <resource><partition> below a hierarchy's root, as libvirt
    names it without systemd (src/util/vircgroup.c virCgroupSetPartitionSuffix): a top-level
    machine, system or user stays, every other component without a dot gets ".partition",
    then each is escaped (_escaped)."""
    parts = [p for p in partition.split("/") if p]
    named = [p if i == 0 and p in ("machine", "system", "user") else _escaped(p if "." in p else p + ".partition")
             for i, p in enumerate(parts)]
    return "/" + "/".join(named)


class Domain(struct("Domain", (
        "name uuid virt_type arch machine emulator memory_bytes pins node_bindings hugepages cells cpu firmware "
        "hostdevs interfaces launch_security fingerprint fingerprint_problem exemptions os_type memory_devices "
        "hyperv backed storage listens resources platform device_values fingerprint_check waivers security_models "
        "unconfined"),
        defaults=((), (), (), (), None, Firmware(), (), (), None, None, None, (), "hvm", (), None, (), (), (),
                  (), NO_PLATFORM, (), None, (), (), ()))):
    """fingerprint: the source Fingerprint the guest carries (or None, with
    fingerprint_problem saying why when it carries an unusable one); fingerprint_check: with
    a fleet key configured, what kept its fingerprint from being trusted (missing, unsigned,
    signature, expired, key: guard.guest.metadata.verify_domain), else None; exemptions: the
    guest's own (guard.guest.metadata.Exemption), honoured only when the config opts in; waivers:
    guard.guest.waiver.Waiver, honoured only once verified with the fleet key (guard.runtime.trusted).
    arch: None when <type> has no arch attribute (libvirt then uses the host's arch);
    hyperv: (mode, features switched on) of <features><hyperv>, or None; security_models:
    ((model, element), ...) of the seclabels that name a security driver (_security_models);
    unconfined: the models ("" for none named) of the domain's own <seclabel type='none'>."""

    __slots__ = ()

    @property
    def cpu_mode(self):
        return self.cpu.mode if self.cpu else None

    @property
    def has_iommu(self):
        return self.platform.iommu
