"""libvirt-schema entries of the blocker catalogue (guard.blockers): every element or attribute of libvirt's
domain schema (src/conf/schemas/domaincommon.rng in libvirt 9.x-10.x, docs/schemas/domaincommon.rng in 8.x;
read in 8.1, 9.8 and 10.7, features of 10.8-10.10 from NEWS.rst) that names a host resource, each
followed into the code that uses it on the destination when an incoming migration starts QEMU there:
the qemu driver's start path (qemuProcessPrepareHost and its helpers in src/qemu/qemu_process.c, the
command line of src/qemu/qemu_command.c, qemu_cgroup.c, qemu_tpm.c, qemu_virtiofs.c, qemu_passt.c), the
DAC security driver that stats and chowns each path before QEMU runs (src/security/security_dac.c
virSecurityDACSetAllLabel), virtlogd for chardev files (src/util/virrotatingfile.c), and where QEMU
opens the resource itself, QEMU's socket and chardev code. `access` is what that code does: reads an
existing file or device, creates a file in an existing directory, binds a unix socket (libvirt unlinks
and binds it: the directory must exist) or an address, connects to a socket something else serves,
opens a network device or cgroup, runs a helper. What libvirt makes itself under its own state
directories (guest agent sockets, graphics sockets, virtiofsd and passt sockets, swtpm state) is left
out of the migratable XML (qemuDomainChrDefDropDefaultPath, virDomainGraphicsListenDefFormat) and so
out of the hook's sight. Each xpath is relative to <domain> and selects exactly the variant with that
access; the entries whose rule is host-resource[...] are the resources guard.rules.host_resource
checks (guard.guest.domain reads them with these xpaths)."""
from .base import Blocker

# Devices whose <source> is a character device backend (virDomainChrSourceDef): the chardev
# devices proper, usb redirection, smartcard passthrough; the egd RNG backend is one too, with
# the type on <backend> (qemuDomainDeviceBackendChardevForeach).
_CHR = "devices/*[self::serial or self::parallel or self::console or self::channel or self::redirdev or self::smartcard]"
_EGD = "devices/rng/backend[@model='egd']"


def _chr(kind, tail):
    """The xpath of `tail` below every chardev backend of type `kind`."""
    return "%s[@type='%s']/%s | %s[@type='%s']/%s" % (_CHR, kind, tail, _EGD, kind, tail)


# Disk sources at any depth of the backing chain and data stores: one descendant scan from
# <devices>. libxml2 merges the results a descendant step finds from each of several context
# nodes with a duplicate check, in time quadratic in their number: "devices/disk//x" and
# "devices/disk/descendant::x" took 1 s for 20,000 disks, this form 60 ms. <mirror> (a block copy
# job's target) is not the guest's storage, and a guest with a job does not migrate.
_DISK_SRC = "devices/descendant::source[ancestor::disk][not(ancestor::mirror)]"
_PASST = "devices/interface[@type='user'][backend/@type='passt']"
# startupPolicy that makes libvirt drop a missing source on an incoming migration
# (qemuDomainCheckDiskStartupPolicy with cold_boot false).
_KEPT = ("[not(source/@startupPolicy='requisite')]"
         "[not(source/@startupPolicy='optional' and (@device='cdrom' or @device='floppy'))]")
_VIRTIOFS = "devices/filesystem[driver/@type='virtiofs']"

BLOCKERS = (
    # ---- resources other rules check ------------------------------------------------------------------
    Blocker(id="schema-disk-file", component="libvirt-schema",
            where="src/qemu/qemu_domain.c: qemuDomainDetermineDiskChain",
            trigger="<disk type='file'> whose <source file> is missing on the destination (writable, not dropped by "
                    "startupPolicy); --copy-storage-all creates it in an active pool targeting its directory",
            rule="storage[missing]", since="8.0", resource="file", access="read",
            xpath="devices/disk[not(@type) or @type='file'][not(readonly)]%s/source/@file" % _KEPT),
    Blocker(id="schema-disk-readonly", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationAnyCopyDisk",
            trigger="<disk type='file'> with <readonly/> (CD-ROM images) whose <source file> is missing on the "
                    "destination: no migration copies a read-only disk",
            rule="storage[uncopyable]", since="8.0", resource="file", access="read",
            xpath="devices/disk[not(@type) or @type='file'][readonly]%s/source/@file" % _KEPT),
    Blocker(id="schema-disk-block", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationDstPrecreateDisk",
            trigger="<disk type='block'><source dev> missing on the destination: block devices are never created",
            rule="storage[uncopyable]", since="8.0", resource="device", access="read",
            xpath="devices/disk[@type='block']%s/source/@dev" % _KEPT),
    Blocker(id="schema-disk-dir", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationDstPrecreateDisk",
            trigger="<disk type='dir'><source dir> (a vvfat view of a host directory) missing on the destination",
            rule="storage[uncopyable]", since="8.0", resource="directory", access="read",
            xpath="devices/disk[@type='dir']%s/source/@dir" % _KEPT),
    Blocker(id="schema-disk-volume", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationDstPrecreateDisk",
            trigger="<disk type='volume'><source pool volume> in a storage pool the destination lacks or has "
                    "inactive",
            rule="storage[pool]", since="8.0", resource="file", access="read",
            xpath="devices/disk[@type='volume']%s/source/@volume" % _KEPT),
    Blocker(id="schema-filesystem-mount", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildFilesystemCommandLine",
            trigger="<filesystem type='mount'> shared over 9p (or usb-mtp) whose <source dir> is missing on the "
                    "destination",
            rule="storage[uncopyable]", since="8.0", resource="directory", access="read",
            xpath="devices/filesystem[not(@type) or @type='mount'][not(driver/@type='virtiofs')]"
                  "[not(source/@socket)]/source/@dir"),
    Blocker(id="schema-os-loader", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildDomainLoaderCommandLine",
            trigger="<os><loader> firmware file missing on the destination",
            rule="firmware[file]", since="8.0", resource="file", access="read",
            xpath="os/loader/text()"),
    Blocker(id="schema-nvram-template", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuPrepareNVRAM",
            trigger="<os><nvram template> missing on the destination when the NVRAM file must be created from it "
                    "(\"Failed to open file\")",
            rule="firmware[file]", since="8.0", resource="file", access="read",
            xpath="os/nvram/@template"),
    Blocker(id="schema-emulator", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuProcessStartValidate",
            trigger="<devices><emulator> binary missing on the destination",
            rule="emulator[binary]", since="8.0", resource="binary", access="exec",
            xpath="devices/emulator/text()"),
    Blocker(id="schema-graphics-listen-address", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuProcessGraphicsSetupListen",
            trigger="VNC/SPICE <graphics listen> or <listen type='address' address> that is not one of the "
                    "destination's addresses (nor a wildcard or loopback); QEMU cannot bind it",
            rule="graphics-listen[address]", since="8.0", resource="address", access="bind",
            xpath="devices/graphics[@type='vnc' or @type='spice']/@listen | "
                  "devices/graphics[@type='vnc' or @type='spice']/listen[@type='address']/@address"),
    Blocker(id="schema-interface-bridge", component="libvirt-schema",
            where="src/util/virnetdevtap.c: virNetDevTapCreateInBridgePort",
            trigger="<interface type='bridge'><source bridge> missing on the destination",
            rule="network[bridge]", since="8.0", resource="netdev", access="open",
            xpath="devices/interface[@type='bridge']/source/@bridge"),
    Blocker(id="schema-interface-direct", component="libvirt-schema",
            where="src/util/virnetdevmacvlan.c: virNetDevMacVLanCreateWithVPortProfile",
            trigger="<interface type='direct'><source dev> (the macvtap parent) missing on the destination",
            rule="network[direct]", since="8.0", resource="netdev", access="open",
            xpath="devices/interface[@type='direct']/source/@dev"),
    Blocker(id="schema-vhostuser-net-client", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildInterfaceConnect",
            trigger="<interface type='vhostuser'><source type='unix' mode='client' path>: QEMU connects to the "
                    "vhost-user backend's socket, missing on the destination",
            rule="device-passthrough[vhost-user]", since="8.0", resource="socket", access="connect",
            xpath="devices/interface[@type='vhostuser']/source[not(@mode='server')]/@path"),
    Blocker(id="schema-vhostuser-disk", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildChardevCommand",
            trigger="<disk type='vhostuser'><source type='unix' path>: QEMU connects to the vhost-user-blk "
                    "backend's socket, missing on the destination",
            rule="device-passthrough[vhost-user]", since="8.0", resource="socket", access="connect",
            xpath="devices/disk[@type='vhostuser']/source/@path"),
    Blocker(id="schema-virtiofs-socket", component="libvirt-schema",
            where="src/qemu/qemu_virtiofs.c: qemuVirtioFSPrepareDomain",
            trigger="<filesystem><driver type='virtiofs'/><source socket>: an externally started virtiofsd whose "
                    "socket is missing on the destination",
            rule="device-passthrough[virtiofs]", since="8.0", resource="socket", access="connect",
            xpath="%s/source/@socket" % _VIRTIOFS),
    Blocker(id="schema-shmem-server", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildShmemCommandLine",
            trigger="<shmem><server path>: ivshmem-doorbell connects to an ivshmem-server socket missing on the "
                    "destination",
            rule="device-passthrough[shmem]", since="8.0", resource="socket", access="connect",
            xpath="devices/shmem/server/@path"),
    Blocker(id="schema-hostdev-pci", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='subsystem' type='pci'> without <teaming type='transient'>: the PCI device at "
                    "<source><address> (xpath: its slot)",
            rule="device-passthrough[pci]", since="8.0", resource="device", access="read",
            xpath="devices/hostdev[not(@mode) or @mode='subsystem'][@type='pci'][not(teaming/@type='transient')]"
                  "/source/address/@slot"),
    Blocker(id="schema-hostdev-usb", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev type='usb'>: a host USB device by <vendor>/<product> or bus/device address",
            rule="device-passthrough[usb]", since="8.0", resource="device", access="read",
            xpath="devices/hostdev[@type='usb']/source/vendor/@id | devices/hostdev[@type='usb']/source/address/@bus"),
    Blocker(id="schema-hostdev-scsi", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev type='scsi'>: a host SCSI device (<adapter name>) or an iSCSI LUN",
            rule="device-passthrough[scsi]", since="8.0", resource="device", access="read",
            xpath="devices/hostdev[@type='scsi']/source/adapter/@name | devices/hostdev[@type='scsi']/source/@name"),
    Blocker(id="schema-hostdev-scsi-host", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev type='scsi_host'><source protocol='vhost' wwpn>: a vhost-scsi target of this host",
            rule="device-passthrough[scsi_host]", since="8.0", resource="device", access="read",
            xpath="devices/hostdev[@type='scsi_host']/source/@wwpn"),
    Blocker(id="schema-hostdev-mdev", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev type='mdev'><source><address uuid>: a mediated device (vGPU) of this host",
            rule="mediated-device[absent]", since="8.0", resource="device", access="read",
            xpath="devices/hostdev[@type='mdev']/source/address/@uuid"),
    Blocker(id="schema-hostdev-capabilities", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='capabilities'> with <source><block> or <char>: a host block or character device",
            rule="device-passthrough[capabilities]", since="8.0", resource="device", access="read",
            xpath="devices/hostdev[@mode='capabilities']/source/block/text() | "
                  "devices/hostdev[@mode='capabilities']/source/char/text()"),
    Blocker(id="schema-interface-hostdev", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowedHostdev",
            trigger="<interface type='hostdev'> without <teaming type='transient'>: an SR-IOV VF at <source><address> "
                    "(xpath: its slot)",
            rule="sriov[hostdev]", since="8.0", resource="device", access="read",
            xpath="devices/interface[@type='hostdev'][not(teaming/@type='transient')]/source/address/@slot"),
    Blocker(id="schema-interface-vdpa", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsAllowed",
            trigger="<interface type='vdpa'><source dev>: a vhost-vdpa character device of this host",
            rule="sriov[vdpa]", since="8.0", resource="device", access="read",
            xpath="devices/interface[@type='vdpa']/source/@dev"),
    Blocker(id="schema-tpm-passthrough", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildTPMCommandLine",
            trigger="<tpm><backend type='passthrough'><device path>: the host's TPM",
            rule="device-passthrough[tpm-passthrough]", since="8.0", resource="device", access="read",
            xpath="devices/tpm/backend[@type='passthrough']/device/@path"),
    Blocker(id="schema-input-passthrough", component="libvirt-schema",
            where="src/qemu/qemu_cgroup.c: qemuSetupInputCgroup",
            trigger="<input type='passthrough'><source evdev>: a host input device given to virtio-input-host",
            rule="device-passthrough[input-passthrough]", since="8.0", resource="device", access="read",
            xpath="devices/input[@type='passthrough']/source/@evdev"),
    Blocker(id="schema-input-evdev", component="libvirt-schema",
            where="src/qemu/qemu_cgroup.c: qemuSetupInputCgroup",
            trigger="<input type='evdev'><source dev>: a host input device QEMU reads (input-linux)",
            rule="device-passthrough[input-evdev]", since="8.0", resource="device", access="read",
            xpath="devices/input[@type='evdev']/source/@dev"),
    Blocker(id="schema-video-vhostuser", component="libvirt-schema",
            where="src/qemu/qemu_vhost_user_gpu.c: qemuExtVhostUserGPUStart",
            trigger="<video><driver name='vhostuser'/>: libvirt runs the vhost-user-gpu helper named by the "
                    "host's vhost-user descriptors",
            rule="device-passthrough[vhost-user-gpu]", since="8.0", resource="binary", access="exec",
            xpath="devices/video/driver[@name='vhostuser']/@name"),

    # ---- character device backends --------------------------------------------------------------------
    Blocker(id="schema-chardev-file", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuProcessPrepareHostBackendChardevFileHelper",
            trigger="<serial|console|parallel|channel type='file'><source path>: libvirt (or virtlogd) creates the "
                    "file (O_CREAT) but not its directory, missing on the destination",
            rule="host-resource[directory]", since="8.0", resource="file", access="create",
            xpath=_chr("file", "source/@path")),
    Blocker(id="schema-chardev-log", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuProcessPrepareHostBackendChardevFileHelper",
            trigger="<log file> of a chardev: created like a file backend; its directory missing on the destination",
            rule="host-resource[directory]", since="8.0", resource="file", access="create",
            xpath="%s/log/@file | %s/log/@file" % (_CHR, _EGD)),
    Blocker(id="schema-chardev-dev", component="libvirt-schema",
            where="src/qemu/qemu_cgroup.c: qemuSetupChardevCgroupCB",
            trigger="<serial|parallel|channel type='dev'><source path>: a host tty or parallel port missing on the "
                    "destination",
            rule="host-resource[file]", since="8.0", resource="device", access="read",
            xpath=_chr("dev", "source/@path")),
    Blocker(id="schema-chardev-pipe", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetChardevLabelHelper",
            trigger="<serial|channel type='pipe'><source path>: QEMU opens PATH.in and PATH.out, or PATH when those "
                    "do not both exist; none exists on the destination",
            reason="not caught yet: the resource is PATH.in plus PATH.out or else PATH; a rule would have to stat "
                   "the two forms and accept either",
            since="8.0", resource="file", access="read",
            xpath=_chr("pipe", "source/@path")),
    Blocker(id="schema-chardev-unix-bind", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuOpenChrChardevUNIXSocket",
            trigger="chardev <source type='unix' mode='bind' path>: libvirt unlinks and binds the socket itself "
                    "(\"Unable to bind to UNIX socket path\"); its directory is missing on the destination",
            rule="host-resource[directory]", since="8.0", resource="socket", access="bind",
            xpath=_chr("unix", "source[@mode='bind']/@path")),
    Blocker(id="schema-chardev-unix-connect", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetChardevLabelHelper",
            trigger="chardev <source type='unix' mode='connect' path> (connect is the default mode), with or without "
                    "<reconnect enabled='yes'>: libvirt's DAC driver labels the socket before QEMU starts (\"unable to "
                    "stat: PATH\", dynamic_ownership = 1, the default); without dynamic ownership QEMU connects at "
                    "start (\"Failed to connect to\"), unless it reconnects in the background",
            rule="host-resource[socket]", since="8.0", resource="socket", access="connect",
            xpath=_chr("unix", "source[not(@mode='bind')]/@path")),
    Blocker(id="schema-chardev-tcp-bind", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildChardevStr",
            trigger="chardev <source type='tcp' mode='bind' host>: QEMU listens on an address that is not the "
                    "destination's (\"Failed to bind socket: Cannot assign requested address\")",
            rule="host-resource[address]", since="8.0", resource="address", access="bind",
            xpath=_chr("tcp", "source[@mode='bind']/@host")),
    Blocker(id="schema-chardev-tcp-connect", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildChardevStr",
            trigger="chardev <source type='tcp|udp' mode='connect' host>: a remote endpoint",
            reason="not caught yet: the peer is another host; a rule would need to know whether the destination can "
                   "reach it (without <reconnect enabled='yes'> QEMU fails the start when it cannot)",
            since="8.0", resource="address", access="connect",
            xpath=_chr("tcp", "source[not(@mode='bind')]/@host") + " | " + _chr("udp", "source[not(@mode='bind')]/@host")),
    Blocker(id="schema-chardev-udp-bind", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildChardevStr",
            trigger="chardev <source type='udp' mode='bind' host>: QEMU binds a local address that is not the "
                    "destination's",
            rule="host-resource[address]", since="8.0", resource="address", access="bind",
            xpath=_chr("udp", "source[@mode='bind']/@host")),
    Blocker(id="schema-rng-random", component="libvirt-schema",
            where="src/qemu/qemu_cgroup.c: qemuSetupRNGCgroup",
            trigger="<rng><backend model='random'>PATH</backend> (e.g. /dev/hwrng) missing on the destination "
                    "(\"Path '...' is not accessible\")",
            rule="host-resource[file]", since="8.0", resource="device", access="read",
            xpath="devices/rng/backend[@model='random']/text()"),

    # ---- boot, firmware and platform files --------------------------------------------------------------
    Blocker(id="schema-os-kernel", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetAllLabel",
            trigger="<os><kernel> (direct kernel boot) missing on the destination (\"unable to stat\")",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="os/kernel/text()"),
    Blocker(id="schema-os-initrd", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetAllLabel",
            trigger="<os><initrd> missing on the destination",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="os/initrd/text()"),
    Blocker(id="schema-os-dtb", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetAllLabel",
            trigger="<os><dtb> device tree blob (aarch64) missing on the destination",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="os/dtb/text()"),
    Blocker(id="schema-os-acpi-table", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetAllLabel",
            trigger="<os><acpi><table type='slic'> file missing on the destination",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="os/acpi/table/text()"),
    Blocker(id="schema-sysinfo-fwcfg", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetSysinfoLabel",
            trigger="<sysinfo type='fwcfg'><entry file>: a blob (e.g. an Ignition config) missing on the destination",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="sysinfo[@type='fwcfg']/entry/@file"),
    Blocker(id="schema-rom-file", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildRomProps",
            trigger="<rom file> of an <interface> or <hostdev> (an option ROM) missing on the destination",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="devices/*/rom[not(@enabled='no')]/@file"),
    Blocker(id="schema-nvram-file", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuPrepareNVRAM",
            trigger="<os><nvram> file: libvirt creates a missing one from the template (virFileRewrite writes "
                    "PATH.new, \"Failed to create file\") but not its directory, missing on the destination",
            rule="host-resource[directory]", since="8.0", resource="file", access="create",
            xpath="os/nvram[not(@type) or @type='file']/text() | os/nvram[@type='file']/source/@file"),
    Blocker(id="schema-memory-backing-path", component="libvirt-schema",
            where="src/security/security_dac.c: virSecurityDACSetMemoryLabel",
            trigger="<memory model='nvdimm|virtio-pmem'><source><path> missing on the destination: libvirt stats and "
                    "chowns it before QEMU would create it (\"unable to stat\")",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="devices/memory[@model='nvdimm' or @model='virtio-pmem']/source/path/text()"),
    Blocker(id="schema-pstore", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuProcessPreparePstore",
            trigger="<pstore backend='acpi-erst'><path>: libvirt creates the file (\"cannot create file\") but not "
                    "its directory, missing on the destination",
            rule="host-resource[directory]", since="10.6", resource="file", access="create",
            xpath="devices/pstore/path/text()"),
    Blocker(id="schema-blkiotune-device", component="libvirt-schema",
            where="src/hypervisor/domain_cgroup.c: virDomainCgroupSetupBlkio",
            trigger="<blkiotune><device><path>: a host block device missing on the destination (\"Path '...' is not "
                    "accessible\")",
            rule="host-resource[file]", since="8.0", resource="device", access="read",
            xpath="blkiotune/device/path/text()"),
    Blocker(id="schema-resource-partition", component="libvirt-schema",
            where="src/util/vircgroup.c: virCgroupNewMachineManual",
            trigger="<resource><partition> other than /machine whose cgroup is missing on a destination without "
                    "systemd-machined (virCgroupNewPartition with create=false); under machined it is a slice name",
            rule="host-resource[cgroup]", since="8.0", resource="cgroup", access="open",
            xpath="resource/partition/text()"),

    # ---- disk sources beyond the top image ------------------------------------------------------------
    Blocker(id="schema-disk-backing", component="libvirt-schema",
            where="src/qemu/qemu_domain.c: qemuDomainDetermineDiskChain",
            trigger="<backingStore type='file|block'> of a disk missing on the destination (\"Cannot access backing "
                    "file\"); the migration XML carries the chain the source detected. A --copy-storage-all "
                    "migration mirrors the whole chain into the destination's image (blockdev-mirror sync=full), "
                    "so, like a missing top image (storage[missing]), it is a warning",
            rule="host-resource[backing]", since="8.0", resource="file", access="read",
            xpath="devices/descendant::backingStore[not(ancestor::mirror)][@type='file']/source/@file | "
                  "devices/descendant::backingStore[not(ancestor::mirror)][@type='block']/source/@dev"),
    Blocker(id="schema-disk-datastore", component="libvirt-schema",
            where="src/qemu/qemu_domain.c: qemuDomainDetermineDiskChain",
            trigger="<source><dataStore type='file|block'> (a qcow2 data file) missing on the destination; as for "
                    "a backing file, a --copy-storage-all migration copies its contents",
            rule="host-resource[backing]", since="10.10", resource="file", access="read",
            xpath="devices/descendant::dataStore[not(ancestor::mirror)][@type='file']/source/@file | "
                  "devices/descendant::dataStore[not(ancestor::mirror)][@type='block']/source/@dev"),
    Blocker(id="schema-disk-nbd-unix", component="libvirt-schema",
            where="src/qemu/qemu_block.c: qemuBlockStorageSourceGetNBDProps",
            trigger="<disk type='network'><source protocol='nbd'><host transport='unix' socket>: an NBD server socket "
                    "nothing serves on the destination",
            rule="host-resource[socket]", since="8.0", resource="socket", access="connect",
            xpath="%s[@protocol='nbd']/host[@transport='unix']/@socket" % _DISK_SRC),
    Blocker(id="schema-disk-rbd-config", component="libvirt-schema",
            where="src/qemu/qemu_block.c: qemuBlockStorageSourceGetRBDProps",
            trigger="<source protocol='rbd'><config file>: a Ceph configuration file missing on the destination",
            rule="host-resource[file]", since="8.0", resource="file", access="read",
            xpath="%s[@protocol='rbd']/config/@file" % _DISK_SRC),
    Blocker(id="schema-disk-ssh-files", component="libvirt-schema",
            where="src/qemu/qemu_nbdkit.c: qemuNbdkitProcessBuildCommandSSH",
            trigger="<source protocol='ssh'> with <knownHosts path> or <identity keyfile>",
            reason="not caught yet: only nbdkit reads them, and libvirt uses nbdkit only with qemu.conf "
                   "storage_use_nbdkit=1; a rule would need that setting of the destination",
            since="9.8", resource="file", access="read",
            xpath="%s[@protocol='ssh']/knownHosts/@path | %s[@protocol='ssh']/identity/@keyfile" % (_DISK_SRC, _DISK_SRC)),
    Blocker(id="schema-disk-ssh-agent", component="libvirt-schema",
            where="src/qemu/qemu_nbdkit.c: qemuNbdkitProcessBuildCommandSSH",
            trigger="<source protocol='ssh'><identity agentsock>: an ssh-agent socket",
            reason="not caught yet: only nbdkit connects to it (qemu.conf storage_use_nbdkit=1); a rule would need "
                   "that setting of the destination",
            since="9.8", resource="socket", access="connect",
            xpath="%s[@protocol='ssh']/identity/@agentsock" % _DISK_SRC),
    Blocker(id="schema-disk-reservations", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildPRManagerInfoProps",
            trigger="<source><reservations managed='no'><source type='unix' path>: QEMU's pr-manager-helper "
                    "connects to an external qemu-pr-helper socket missing on the destination",
            rule="host-resource[socket]", since="8.0", resource="socket", access="connect",
            xpath="devices/disk/source/reservations[@managed='no']/source/@path"),
    Blocker(id="schema-disk-reservations-managed", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuProcessStartManagedPRDaemon",
            trigger="<source><reservations managed='yes'>: libvirt runs qemu.conf's pr_helper (qemu-pr-helper), "
                    "\"'...' is not a suitable pr helper\" when it is missing",
            reason="not caught yet: the binary is named by the destination's qemu.conf, not by the XML; a rule "
                   "would look up pr_helper (default qemu-pr-helper) there",
            since="8.0", resource="binary", access="exec",
            xpath="devices/disk/source/reservations[@managed='yes']/@managed"),
    Blocker(id="schema-disk-vhostvdpa", component="libvirt-schema",
            where="src/qemu/qemu_process.c: qemuProcessPrepareHostStorageSourceVDPA",
            trigger="<disk type='vhostvdpa'><source dev>: a vhost-vdpa block device missing on the destination "
                    "(\"Unable to open '...' for vdpa device\")",
            rule="host-resource[file]", since="9.8", resource="device", access="read",
            xpath="devices/disk[@type='vhostvdpa']/source/@dev"),
    Blocker(id="schema-disk-nvme", component="libvirt-schema",
            where="src/qemu/qemu_migration.c: qemuMigrationSrcIsSafe",
            trigger="<disk type='nvme'><source type='pci'><address>: a host NVMe controller assigned to QEMU",
            reason="source-side: qemuMigrationSrcIsSafe refuses it as unsafe unless --unsafe or cache='none'; "
                   "not caught yet beyond that: a rule would stat /sys/bus/pci/devices/<address> on the destination",
            since="8.0", resource="device", access="read",
            xpath="devices/disk[@type='nvme']/source/address/@slot"),

    # ---- network interfaces -------------------------------------------------------------------------
    Blocker(id="schema-interface-ethernet-unmanaged", component="libvirt-schema",
            where="src/hypervisor/domain_interface.c: virDomainInterfaceEthernetConnect",
            trigger="<interface type='ethernet'><target dev managed='no'>: a pre-created tap missing on the "
                    "destination (\"target managed='no' but specified dev doesn't exist\")",
            rule="host-resource[netdev]", since="8.0", resource="netdev", access="open",
            xpath="devices/interface[@type='ethernet']/target[@managed='no']/@dev"),
    Blocker(id="schema-interface-script", component="libvirt-schema",
            where="src/util/virnetdev.c: virNetDevRunEthernetScript",
            trigger="<interface type='ethernet'><script path>: libvirt runs it when the tap is up; missing on the "
                    "destination (\"cannot execute binary\")",
            rule="host-resource[binary]", since="8.0", resource="binary", access="exec",
            xpath="devices/interface[@type='ethernet']/script[@path != '']/@path"),
    Blocker(id="schema-interface-downscript", component="libvirt-schema",
            where="src/qemu/qemu_extdevice.c: qemuExtDevicesStop",
            trigger="<interface type='ethernet'><downscript path>",
            reason="not a blocker: libvirt runs it only when the guest stops, and ignores its failure",
            since="8.0", resource="binary", access="exec",
            xpath="devices/interface[@type='ethernet']/downscript/@path"),
    Blocker(id="schema-interface-backend-tap", component="libvirt-schema",
            where="src/hypervisor/domain_interface.c: virDomainInterfaceEthernetConnect",
            trigger="<interface><backend tap>: a tun device other than /dev/net/tun, missing on the destination",
            rule="host-resource[file]", since="8.0", resource="device", access="read",
            xpath="devices/interface[@type='ethernet' or @type='network' or @type='bridge']/backend/@tap"),
    Blocker(id="schema-interface-backend-vhost", component="libvirt-schema",
            where="src/qemu/qemu_interface.c: qemuInterfaceOpenVhostNet",
            trigger="<interface><driver name='vhost'/><backend vhost>: the vhost-net device missing on the "
                    "destination (\"vhost-net was requested for an interface, but is unavailable\")",
            rule="host-resource[file]", since="8.0", resource="device", access="read",
            xpath="devices/interface[driver/@name='vhost']/backend/@vhost"),
    Blocker(id="schema-interface-backend-vhost-fallback", component="libvirt-schema",
            where="src/qemu/qemu_interface.c: qemuInterfaceOpenVhostNet",
            trigger="<interface><backend vhost> without <driver name='vhost'/>",
            reason="not a blocker: when the device cannot be opened libvirt warns and QEMU runs virtio-net in "
                   "userspace",
            since="8.0", resource="device", access="read",
            xpath="devices/interface[not(driver/@name='vhost')]/backend/@vhost"),
    Blocker(id="schema-interface-server", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildHostNetProps",
            trigger="<interface type='server'><source address>: QEMU's socket netdev listens on an address that is "
                    "not the destination's (\"can't bind ip=... to socket\")",
            rule="host-resource[address]", since="8.0", resource="address", access="bind",
            xpath="devices/interface[@type='server']/source/@address"),
    Blocker(id="schema-interface-udp-local", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildHostNetProps",
            trigger="<interface type='udp'><source><local address>: QEMU binds a local address that is not the "
                    "destination's",
            rule="host-resource[address]", since="8.0", resource="address", access="bind",
            xpath="devices/interface[@type='udp']/source/local/@address"),
    Blocker(id="schema-interface-remote", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildHostNetProps",
            trigger="<interface type='client|mcast|udp'><source address>: a remote peer or a multicast group",
            reason="not caught yet: not an address of the destination; a rule would need to know whether the "
                   "destination reaches the peer",
            since="8.0", resource="address", access="connect",
            xpath="devices/interface[@type='client' or @type='mcast' or @type='udp']/source/@address"),
    Blocker(id="schema-vhostuser-net-server", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildChardevStr",
            trigger="<interface type='vhostuser'><source mode='server' path>: QEMU creates and listens on the socket; "
                    "its directory is missing on the destination",
            rule="host-resource[directory]", since="8.0", resource="socket", access="bind",
            xpath="devices/interface[@type='vhostuser']/source[@mode='server']/@path"),
    Blocker(id="schema-passt-source-dev", component="libvirt-schema",
            where="src/qemu/qemu_passt.c: qemuPasstStart",
            trigger="<interface type='user'><backend type='passt'/><source dev>: passt's --interface, missing on the "
                    "destination",
            rule="host-resource[netdev]", since="9.0", resource="netdev", access="open",
            xpath="%s/source/@dev" % _PASST),
    Blocker(id="schema-passt-portforward-address", component="libvirt-schema",
            where="src/qemu/qemu_passt.c: qemuPasstStart",
            trigger="<interface type='user'> (passt) <portForward address>: passt listens on a host address that is "
                    "not the destination's",
            rule="host-resource[address]", since="9.0", resource="address", access="bind",
            xpath="%s/portForward/@address" % _PASST),
    Blocker(id="schema-passt-portforward-dev", component="libvirt-schema",
            where="src/qemu/qemu_passt.c: qemuPasstStart",
            trigger="<interface type='user'> (passt) <portForward dev>: forwarding bound to a host interface missing "
                    "on the destination",
            rule="host-resource[netdev]", since="9.0", resource="netdev", access="open",
            xpath="%s/portForward/@dev" % _PASST),
    Blocker(id="schema-passt-logfile", component="libvirt-schema",
            where="src/qemu/qemu_passt.c: qemuPasstStart",
            trigger="<backend type='passt' logFile>: passt creates the log; libvirt does not create its directory "
                    "(formatdomain.rst), missing on the destination",
            rule="host-resource[directory]", since="9.0", resource="file", access="create",
            xpath="devices/interface/backend[@type='passt']/@logFile"),
    Blocker(id="schema-passt-binary", component="libvirt-schema",
            where="src/qemu/qemu_passt.c: qemuPasstStart",
            trigger="<interface type='user'><backend type='passt'/>: libvirt runs passt from $PATH (\"Cannot find "
                    "'passt' in path\"); the XML names no path, the xpath selects the backend's type",
            rule="host-resource[binary]", since="9.0", resource="binary", access="exec",
            xpath="devices/interface/backend[@type='passt']/@type"),

    # ---- graphics, video, audio ---------------------------------------------------------------------
    Blocker(id="schema-graphics-socket", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildGraphicsVNCCommandLine",
            trigger="<graphics type='vnc' socket> or <listen type='socket' socket> (VNC, SPICE) given by the user: "
                    "QEMU binds the socket; its directory is missing on the destination",
            rule="host-resource[directory]", since="8.0", resource="socket", access="bind",
            xpath="devices/graphics[@type='vnc']/@socket | "
                  "devices/graphics[@type='vnc' or @type='spice']/listen[@type='socket']/@socket"),
    Blocker(id="schema-graphics-rendernode", component="libvirt-schema",
            where="src/qemu/qemu_cgroup.c: qemuSetupGraphicsCgroup",
            trigger="<graphics><gl rendernode> or <video><model><acceleration rendernode>: a DRM render node missing "
                    "on the destination (\"Path '...' is not accessible\")",
            rule="host-resource[file]", since="8.0", resource="device", access="read",
            xpath="devices/graphics/gl/@rendernode | devices/video/model/acceleration/@rendernode"),
    Blocker(id="schema-graphics-dbus-address", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildGraphicsDBusCommandLine",
            trigger="<graphics type='dbus' address>: a D-Bus bus address QEMU connects to",
            reason="not caught yet: a D-Bus address (unix:path=...), not a path; a rule would parse it and check "
                   "the socket",
            since="8.4", resource="socket", access="connect",
            xpath="devices/graphics[@type='dbus']/@address"),
    Blocker(id="schema-audio-file", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildAudioCommandLineArg",
            trigger="<audio type='file' path>: QEMU's wav backend creates the file",
            reason="not a blocker: a wav file QEMU cannot create is logged (audio/wavaudio.c dolog) and the voice is "
                   "left out; the guest starts and migrates",
            since="8.0", resource="file", access="create", xpath="devices/audio[@type='file']/@path"),
    Blocker(id="schema-audio-pipewire", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildAudioCommandLineArg",
            trigger="<audio type='pipewire' runtimeDir>: the directory holding the PipeWire socket, missing on the "
                    "destination",
            rule="host-resource[file]", since="9.10", resource="directory", access="read",
            xpath="devices/audio[@type='pipewire']/@runtimeDir"),
    Blocker(id="schema-audio-oss", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildAudioCommandLineArg",
            trigger="<audio type='oss'><input|output dev>: an OSS device node",
            reason="not caught yet: QEMU opens it when the audio backend starts a stream; whether RHEL 9's qemu-kvm "
                   "builds the OSS driver was not checked",
            since="8.0", resource="device", access="read",
            xpath="devices/audio[@type='oss']/*[self::input or self::output]/@dev"),

    # ---- helpers libvirt runs, and their resources ------------------------------------------------------
    Blocker(id="schema-virtiofs-source-dir", component="libvirt-schema",
            where="src/qemu/qemu_virtiofs.c: qemuVirtioFSStart",
            trigger="<filesystem><driver type='virtiofs'/><source dir> shared by a virtiofsd libvirt starts: missing "
                    "on the destination (\"the virtiofs export directory '...' does not exist\")",
            rule="host-resource[file]", since="8.0", resource="directory", access="read",
            xpath="%s[not(source/@socket)]/source/@dir" % _VIRTIOFS),
    Blocker(id="schema-virtiofs-binary", component="libvirt-schema",
            where="src/qemu/qemu_virtiofs.c: qemuVirtioFSStart",
            trigger="<filesystem><binary path> (virtiofsd) missing on the destination (\"virtiofsd binary '...' is "
                    "not executable\")",
            rule="host-resource[binary]", since="8.0", resource="binary", access="exec",
            xpath="%s[not(source/@socket)]/binary/@path" % _VIRTIOFS),
    Blocker(id="schema-tpm-emulator", component="libvirt-schema",
            where="src/util/virtpm.c: virTPMEmulatorInit",
            trigger="<tpm><backend type='emulator'>: libvirt runs swtpm, swtpm_setup and swtpm_ioctl from $PATH "
                    "(\"Unable to find 'swtpm' binary in $PATH\"); the XML names no path, the xpath selects the "
                    "backend's type",
            rule="host-resource[binary]", since="8.0", resource="binary", access="exec",
            xpath="devices/tpm/backend[@type='emulator']/@type"),
    Blocker(id="schema-tpm-external", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildTPMCommandLine",
            trigger="<tpm><backend type='external'><source type='unix' mode='connect' path>: an swtpm started "
                    "outside libvirt, whose socket is missing on the destination",
            rule="host-resource[socket]", since="9.0", resource="socket", access="connect",
            xpath="devices/tpm/backend[@type='external']/source/@path"),
    Blocker(id="schema-smartcard-database", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildSmartcardCommandLine",
            trigger="<smartcard mode='host-certificates'><database>: an NSS database directory missing on the "
                    "destination",
            rule="host-resource[file]", since="8.0", resource="directory", access="read",
            xpath="devices/smartcard[@mode='host-certificates']/database/text()"),
    Blocker(id="schema-smartcard-host", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildSmartcardCommandLine",
            trigger="<smartcard mode='host'>: the host's smartcard readers, through NSS",
            reason="not caught yet: the XML names no reader; a rule would need the destination's readers",
            since="8.0", resource="device", access="read",
            xpath="devices/smartcard[@mode='host']/@mode"),
    Blocker(id="schema-lease", component="libvirt-schema",
            where="src/locking/domain_lock.c: virDomainLockProcessStart",
            trigger="<lease><target path>: a lock lease file",
            reason="not caught yet: only the sanlock or lockd lock manager (qemu.conf lock_manager) uses it; a rule "
                   "would need the destination's lock manager",
            since="8.0", resource="file", access="read",
            xpath="devices/lease/target/@path"),
    Blocker(id="schema-filesystem-lxc", component="libvirt-schema",
            where="src/qemu/qemu_validate.c: qemuValidateDomainDeviceDefFS",
            trigger="<filesystem type='file|block|bind|template|ram'> sources",
            reason="not reachable from a QEMU domain XML: the qemu driver accepts only type='mount' (\"only supports "
                   "mount filesystem type\")",
            since="8.0", resource="file", access="read",
            xpath="devices/filesystem[@type='file']/source/@file | devices/filesystem[@type='block']/source/@dev"),
    Blocker(id="schema-qemu-commandline", component="libvirt-schema",
            where="src/qemu/qemu_command.c: qemuBuildCommandLine",
            trigger="<qemu:commandline><qemu:arg value>: passthrough arguments",
            reason="not caught yet: free text that may name any host resource; a rule cannot know which argument "
                   "is a path",
            since="8.0", resource="file", access="read",
            xpath="*[local-name()='commandline']/*[local-name()='arg']/@value"),
)
