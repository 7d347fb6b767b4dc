"""The differential guests, as data: one record per guest.

Each record says what it exercises (`category`, `lacks`: what B lacks for this guest), how
it is built (XML parts), how it migrates (`flags`), the global state it needs (`hugepages`,
the huge page pools while it runs), files the rig makes for it on A or in the shared
folders (`files`) and guests the rig defines (shut off) on B before it starts on A and
undefines afterwards (`on_b`: their domain XML). `libvirt` and `error` are what the rig is built to make libvirt do
("migrates" or "fails", and a pattern its error line must match): they check the rig (that
each difference is real and fails for the intended reason), never the guard; the class of
a guest comes only from the real migration and the guard's decision.

Paths: {shared} is a folder both hosts see at the same path; {shared}/hidden-* is covered
by an empty directory in B's mount namespace; /var/lib/libvirt is each host's own.
"""
import collections

Guest = collections.namedtuple("Guest", "name category lacks libvirt error flags hugepages files xml on_b")

MIB = 64

TEMPLATE = """<domain type='qemu'>
  <name>{name}</name>{uuid}
  <memory unit='MiB'>{memory}</memory>{memory_backing}
  <vcpu placement='static'{vcpu_cpuset}>1</vcpu>{cputune}{resource}{top}
  <os{os_firmware}>
    <type arch='x86_64' machine='pc'>hvm</type>{loader}{kernel}{initrd}
  </os>
  <devices>{emulator}
    <serial type='pty'/>
    <memballoon model='none'/>{devices}
  </devices>
</domain>
"""


def domain(name, memory=MIB, hugepage_kib=None, vcpu_cpuset=None, vcpupin=None, emulatorpin=None,
           firmware=None, loader=None, emulator=None, devices="", kernel=None, initrd=None, partition=None,
           top="", uuid=None):
    cputune = ""
    if vcpupin or emulatorpin:
        cputune = "\n  <cputune>%s%s</cputune>" % (
            "<vcpupin vcpu='0' cpuset='%s'/>" % vcpupin if vcpupin else "",
            "<emulatorpin cpuset='%s'/>" % emulatorpin if emulatorpin else "")
    backing = ""
    if hugepage_kib:
        backing = ("\n  <memoryBacking><hugepages><page size='%d' unit='KiB'/></hugepages></memoryBacking>"
                   % hugepage_kib)
    return TEMPLATE.format(
        name=name, uuid="\n  <uuid>%s</uuid>" % uuid if uuid else "", memory=memory, memory_backing=backing,
        vcpu_cpuset=" cpuset='%s'" % vcpu_cpuset if vcpu_cpuset else "", cputune=cputune,
        os_firmware=" firmware='%s'" % firmware if firmware else "",
        loader="\n    <loader readonly='yes' type='rom'>%s</loader>" % loader if loader else "",
        kernel="\n    <kernel>%s</kernel>" % kernel if kernel else "",
        initrd="\n    <initrd>%s</initrd>" % initrd if initrd else "",
        resource="\n  <resource><partition>%s</partition></resource>" % partition if partition else "",
        top="".join("\n  " + line for line in top.strip().splitlines()) if top else "",
        emulator="\n    <emulator>%s</emulator>" % emulator if emulator else "",
        devices="".join("\n    " + line for line in devices.strip().splitlines()) if devices else "")


def disk(path, target="vda", bus="virtio"):
    return ("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s'/>"
            "<target dev='%s' bus='%s'/></disk>" % (path, target, bus))


def cdrom(path, policy="optional"):
    return ("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
            "<source file='%s' startupPolicy='%s'/><target dev='hdc' bus='ide'/><readonly/></disk>" % (path, policy))


def network(name):
    return "<interface type='network'><source network='%s'/><model type='e1000'/></interface>" % name


def bridge(name):
    return "<interface type='bridge'><source bridge='%s'/><model type='e1000'/></interface>" % name


def macvtap(dev):
    return ("<interface type='direct'><source dev='%s' mode='bridge'/><model type='e1000'/></interface>" % dev)


def vnc(address):
    return "<graphics type='vnc' port='-1' autoport='yes'><listen type='address' address='%s'/></graphics>" % address


def serial_file(path):
    return "<serial type='file'><source path='%s'/></serial>" % path


def serial_unix_bind(path):
    return "<serial type='unix'><source mode='bind' path='%s'/></serial>" % path


def channel_unix_connect(path, reconnect=None):
    return ("<channel type='unix'><source mode='connect' path='%s'>%s</source>"
            "<target type='virtio' name='org.example.0'/></channel>"
            % (path, "<reconnect enabled='yes' timeout='%d'/>" % reconnect if reconnect else ""))


def serial_tcp_bind(host, service):
    return ("<serial type='tcp'><source mode='bind' host='%s' service='%d'/><protocol type='raw'/></serial>"
            % (host, service))


def udp_nic(local, port, remote="127.0.0.1"):
    return ("<interface type='udp'><source address='%s' port='%d'><local address='%s' port='%d'/></source>"
            "<model type='e1000'/></interface>" % (remote, port, local, port + 1))


def unmanaged_tap(dev):
    return "<interface type='ethernet'><target dev='%s' managed='no'/><model type='e1000'/></interface>" % dev


def rng_random(device):
    return "<rng model='virtio'><backend model='random'>%s</backend></rng>" % device


def fw_cfg(path):
    return "<sysinfo type='fwcfg'><entry name='opt/org.example/mg' file='%s'/></sysinfo>" % path


# An NVDIMM needs memory hotplug (maxMemory, ACPI) and a NUMA cell for its node.
NVDIMM_TOP = ("<maxMemory slots='2' unit='MiB'>1024</maxMemory>\n<features><acpi/></features>\n"
              "<cpu><numa><cell id='0' cpus='0' memory='%d' unit='MiB'/></numa></cpu>" % MIB)


def nvdimm(path):
    return ("<memory model='nvdimm'><source><path>%s</path></source>"
            "<target><size unit='MiB'>128</size><node>0</node></target></memory>" % path)


def tpm_emulator(model="tpm-crb"):
    return "<tpm model='%s'><backend type='emulator' version='2.0'/></tpm>" % model


def tpm_external(path, model="tpm-crb"):
    return ("<tpm model='%s'><backend type='external'><source type='unix' mode='connect' path='%s'/></backend></tpm>"
            % (model, path))


# What virt-install --osinfo win10 --virt-type qemu writes: Hyper-V enlightenments QEMU's TCG
# accepts (they are CPUID bits), on a host without KVM too.
HYPERV_TOP = ("<features><hyperv mode='custom'><relaxed state='on'/><vapic state='on'/>"
              "<spinlocks state='on' retries='8191'/></hyperv></features>")


def guest(name, category, lacks, libvirt, error=None, flags=(), hugepages=None, files=(), on_b=(), **xml):
    return Guest(name=name, category=category, lacks=lacks, libvirt=libvirt, error=error, flags=tuple(flags),
                 hugepages=dict(hugepages or {}), files=tuple(files), xml=domain(name, **xml), on_b=tuple(on_b))


# files: (path, how) with how "raw" (a 1 MiB raw image), "seabios" (a copy of SeaBIOS),
# "qemu" (a symlink to the machine's qemu-system-x86_64), "dir" (a directory), "multiboot"
# (a minimal kernel QEMU boots directly), "nvdimm" (a 128 MiB sparse file), "urandom" (a
# character device node like /dev/urandom), "unix-server" (a unix socket served by a
# process of the rig until it closes), "swtpm-server-both" (an swtpm's control socket, served
# by a process of the rig on A and, at the same path, on B: a path under /var/lib/libvirt,
# each host's own, each served by its own swtpm). Paths are
# made on A's side: a path under /var/lib/libvirt is made in A's own /var/lib/libvirt; one
# under {shared}/hidden-* only A sees.
PRIVATE = "/var/lib/libvirt/images/private"
POOL_B = "/var/lib/libvirt/images/mgpool"      # a pool on both hosts (each its own folder)
POOL_A = "/var/lib/libvirt/images/mgpool-a"    # a pool on A only
QEMU = "/usr/bin/qemu-system-x86_64"
EXTERNAL_TPM = "/var/lib/libvirt/mg-swtpm"    # external swtpms' sockets, each host's own folder
# Fixed UUIDs for the defined-guest guests (the others get one from libvirt).
UUIDS = {
    "defined-same-guest": "3b7c2e52-5d1e-4f0a-9a51-0c6d2f1e0001",
    "defined-other-uuid": "3b7c2e52-5d1e-4f0a-9a51-0c6d2f1e0002",
    "defined-other-uuid-on-b": "3b7c2e52-5d1e-4f0a-9a51-0c6d2f1e00b2",
    "defined-uuid-elsewhere": "3b7c2e52-5d1e-4f0a-9a51-0c6d2f1e0003",
}

GUESTS = (
    # -- baseline --------------------------------------------------------------------------
    guest("plain", "baseline", "nothing", "migrates"),
    guest("policy-memory", "policy", "nothing (1088 MiB, over the policy's 1 GiB limit)", "migrates",
          memory=1088),
    # -- firmware ----------------------------------------------------------------------------
    guest("fw-bios-descriptor", "firmware", "firmware descriptors (firmware='bios'; A resolved the loader)",
          "migrates",
          firmware="bios"),
    guest("fw-loader-shared", "firmware", "nothing (loader outside the collector's globs, present)",
          "migrates", loader="{shared}/fw/bios-copy.bin", files=[("{shared}/fw/bios-copy.bin", "seabios")]),
    guest("fw-loader-hidden", "firmware", "the loader file", "fails", error=r"bios-copy\.bin|BIOS",
          loader="{shared}/hidden-fw/bios-copy.bin", files=[("{shared}/hidden-fw/bios-copy.bin", "seabios")]),
    # -- emulator ----------------------------------------------------------------------------
    guest("emulator-shared", "emulator", "nothing (emulator not in B's capabilities, present)", "migrates",
          emulator="{shared}/bin/qemu-system-x86_64", files=[("{shared}/bin/qemu-system-x86_64", "qemu")]),
    guest("emulator-hidden", "emulator", "the emulator binary", "fails", error=r"qemu-system-x86_64",
          emulator="{shared}/hidden-bin/qemu-system-x86_64",
          files=[("{shared}/hidden-bin/qemu-system-x86_64", "qemu")]),
    # -- networks ----------------------------------------------------------------------------
    guest("net-active", "network", "nothing (network active on both)", "migrates",
          devices=network("mgnet-up")),
    guest("net-absent", "network", "network mgnet-absent", "fails", error=r"mgnet-absent",
          devices=network("mgnet-absent")),
    guest("net-inactive", "network", "an active mgnet-down (defined, inactive)", "fails",
          error=r"mgnet-down.*not active|not active.*mgnet-down", devices=network("mgnet-down")),
    guest("bridge-present", "bridge", "nothing (bridge on both)", "migrates", devices=bridge("mgbr0")),
    guest("bridge-absent", "bridge", "bridge mgbr1", "fails", error=r"mgbr1", devices=bridge("mgbr1")),
    guest("macvtap-present", "macvtap", "nothing (source device on both)", "migrates", devices=macvtap("mgmv0")),
    guest("macvtap-absent", "macvtap", "macvtap source device mgmv1", "fails", error=r"mgmv1",
          devices=macvtap("mgmv1")),
    # -- graphics listen addresses -----------------------------------------------------------
    guest("vnc-loopback", "listen", "nothing (127.0.0.1)", "migrates", devices=vnc("127.0.0.1")),
    guest("vnc-wildcard", "listen", "nothing (0.0.0.0)", "migrates", devices=vnc("0.0.0.0")),
    guest("vnc-source-address", "listen", "address 169.254.77.1 (A's)", "fails",
          error=r"169\.254\.77\.1|[Cc]annot assign|bind", devices=vnc("169.254.77.1")),
    # -- storage -----------------------------------------------------------------------------
    guest("disk-shared", "storage", "nothing (shared folder, --unsafe)", "migrates", flags=["--unsafe"],
          devices=disk("{shared}/disks/shared.raw"), files=[("{shared}/disks/shared.raw", "raw")]),
    guest("disk-private", "storage", "the disk (A's own /var/lib/libvirt)", "fails", flags=["--unsafe"],
          error=r"private\.raw|No such file", devices=disk(PRIVATE + "/private.raw"),
          files=[(PRIVATE + "/private.raw", "raw")]),
    guest("disk-hidden", "storage", "the disk (folder hidden on B)", "fails", flags=["--unsafe"],
          error=r"hidden\.raw|No such file", devices=disk("{shared}/hidden-disks/hidden.raw"),
          files=[("{shared}/hidden-disks/hidden.raw", "raw")]),
    guest("copy-storage-pool", "storage", "the disk, in a pool B has (--copy-storage-all)", "migrates",
          flags=["--copy-storage-all"], devices=disk(POOL_B + "/copy-pool.raw"),
          files=[(POOL_B + "/copy-pool.raw", "raw")]),
    guest("copy-storage-nopool", "storage", "the disk and its pool mgpool-a (--copy-storage-all)", "fails",
          flags=["--copy-storage-all"], error=r"pool|mgpool-a", devices=disk(POOL_A + "/copy-nopool.raw"),
          files=[(POOL_A + "/copy-nopool.raw", "raw")]),
    guest("cdrom-optional-absent", "storage", "the CD-ROM image (startupPolicy='optional')", "migrates",
          devices=cdrom(PRIVATE + "/optional.iso"), files=[(PRIVATE + "/optional.iso", "raw")]),
    # -- CPUs: B's machine.slice cpuset is CPU 0 only ------------------------------------------
    guest("vcpupin-allowed", "cpuset", "nothing (pinned to CPU 0)", "migrates", vcpupin="0"),
    guest("vcpupin-confined", "cpuset", "CPU 1 in its cgroup cpuset (the CPU exists)", "fails",
          error=r"cpuset\.cpus", vcpupin="1"),
    guest("emulatorpin-confined", "cpuset", "CPU 1 in its cgroup cpuset (the CPU exists)", "fails",
          error=r"cpuset\.cpus", emulatorpin="1"),
    guest("vcpu-cpuset-confined", "cpuset", "CPU 1 in its cgroup cpuset (the CPU exists)", "fails",
          error=r"cpuset\.cpus", vcpu_cpuset="1"),
    # -- huge pages (the pools are global: A's guest holds its pages while B asks for its own) --
    guest("hugepages-2m-free", "hugepages", "nothing (72 pages reserved, 40 free)", "migrates",
          hugepages={"2M": 72}, hugepage_kib=2048),
    guest("hugepages-2m-busy", "hugepages", "free 2 MiB pages (40 reserved, 8 free)", "fails",
          error=r"[Cc]annot allocate memory|unable to map backing store", hugepages={"2M": 40},
          hugepage_kib=2048),
    guest("hugepages-1g-nomount", "hugepages", "a 1 GiB hugetlbfs mount (pages reserved)", "fails",
          error=r"hugetlbfs", hugepages={"1G": 1}, hugepage_kib=1048576, memory=1024),
    # -- host resources (the host-resource rule) ----------------------------------------------
    # chardev files: virtlogd on the destination creates the file; its directory must exist.
    guest("chardev-file-shared", "chardev-file", "nothing (the log's directory on both)", "migrates",
          devices=serial_file("{shared}/logs/serial/file-shared.log"), files=[("{shared}/logs/serial", "dir")]),
    guest("chardev-file-hidden", "chardev-file", "the directory of a serial log file", "fails",
          error=r"file-hidden\.log|No such file", devices=serial_file("{shared}/hidden-logs/serial/file-hidden.log"),
          files=[("{shared}/hidden-logs/serial", "dir")]),
    # unix chardevs: bind needs the socket's directory; connect needs a served socket.
    guest("unix-bind-shared", "chardev-socket", "nothing (the socket's directory on both)", "migrates",
          devices=serial_unix_bind("{shared}/sockets/bind/bind-shared.sock"), files=[("{shared}/sockets/bind", "dir")]),
    guest("unix-bind-hidden", "chardev-socket", "the directory of a listening unix chardev socket", "fails",
          error=r"bind-hidden\.sock|No such file", devices=serial_unix_bind("{shared}/hidden-sockets/bind/bind-hidden.sock"),
          files=[("{shared}/hidden-sockets/bind", "dir")]),
    guest("unix-connect-shared", "chardev-socket", "nothing (the served socket on both)", "migrates",
          devices=channel_unix_connect("{shared}/sockets/serve/connect-shared.sock"),
          files=[("{shared}/sockets/serve/connect-shared.sock", "unix-server")]),
    guest("unix-connect-hidden", "chardev-socket", "the unix socket a channel connects to (served on A only)",
          "fails", error=r"connect-hidden\.sock|No such file|[Ff]ailed to connect",
          devices=channel_unix_connect("{shared}/hidden-sockets/serve/connect-hidden.sock"),
          files=[("{shared}/hidden-sockets/serve/connect-hidden.sock", "unix-server")]),
    # <reconnect> would let QEMU start without the socket, but libvirt's DAC driver stats it
    # first (dynamic_ownership, the default) and fails.
    guest("unix-connect-reconnect", "chardev-socket",
          "the unix socket a channel connects to, with <reconnect> (QEMU would retry)", "fails",
          error=r"connect-reconnect\.sock|No such file",
          devices=channel_unix_connect("{shared}/hidden-sockets/serve/connect-reconnect.sock", reconnect=2),
          files=[("{shared}/hidden-sockets/serve/connect-reconnect.sock", "unix-server")]),
    # addresses QEMU binds: a TCP chardev's listen address, a UDP NIC's local address.
    guest("tcp-bind-wildcard", "bind-address", "nothing (0.0.0.0)", "migrates",
          devices=serial_tcp_bind("0.0.0.0", 4555)),
    guest("tcp-bind-source-address", "bind-address", "address 169.254.77.1 (A's), a TCP chardev binds it",
          "fails", error=r"169\.254\.77\.1|[Cc]annot assign", devices=serial_tcp_bind("169.254.77.1", 4556)),
    guest("udp-local-loopback", "bind-address", "nothing (127.0.0.1)", "migrates",
          devices=udp_nic("127.0.0.1", 5555)),
    guest("udp-local-source-address", "bind-address", "address 169.254.77.1 (A's), a UDP NIC's local address",
          "fails", error=r"169\.254\.77\.1|[Cc]annot assign", devices=udp_nic("169.254.77.1", 5565)),
    # unmanaged taps: libvirt opens the tap it is named and never creates it.
    guest("tap-present", "tap", "nothing (tap mgtap0 in both network namespaces)", "migrates",
          devices=unmanaged_tap("mgtap0")),
    guest("tap-absent", "tap", "tap mgtap1 (managed='no')", "fails",
          error=r"mgtap1|managed='no' but specified dev doesn't exist",
          devices=unmanaged_tap("mgtap1")),
    # direct kernel boot: QEMU reads the kernel and initrd when it starts, on the destination too.
    guest("kernel-shared", "kernel", "nothing (kernel and initrd on both)", "migrates",
          kernel="{shared}/boot/shared.kernel", initrd="{shared}/boot/shared.initrd",
          files=[("{shared}/boot/shared.kernel", "multiboot"), ("{shared}/boot/shared.initrd", "raw")]),
    guest("kernel-hidden", "kernel", "the <kernel> file", "fails", error=r"hidden\.kernel|No such file",
          kernel="{shared}/hidden-boot/boot/hidden.kernel",
          files=[("{shared}/hidden-boot/boot/hidden.kernel", "multiboot")]),
    guest("initrd-hidden", "kernel", "the <initrd> file", "fails", error=r"hidden\.initrd|No such file",
          kernel="{shared}/boot/initrd-hidden.kernel", initrd="{shared}/hidden-boot/boot/hidden.initrd",
          files=[("{shared}/boot/initrd-hidden.kernel", "multiboot"), ("{shared}/hidden-boot/boot/hidden.initrd", "raw")]),
    # the RNG's backend device
    guest("rng-urandom", "rng", "nothing (/dev/urandom)", "migrates", devices=rng_random("/dev/urandom")),
    guest("rng-hidden", "rng", "the RNG backend's device node", "fails", error=r"urandom|No such file",
          devices=rng_random("{shared}/hidden-dev/rng/urandom"),
          files=[("{shared}/hidden-dev/rng/urandom", "urandom")]),
    # cgroup partitions: libvirt creates /machine only, never another partition.
    guest("partition-present", "partition", "nothing (partition /machine/mgpart on both)", "migrates",
          partition="/machine/mgpart"),
    guest("partition-absent", "partition", "the cgroup partition /machine/mgpart-a", "fails",
          error=r"mgpart|[Ff]ailed to create v[12] (controller|cgroup)",
          partition="/machine/mgpart-a"),
    # fw_cfg files: QEMU reads them when it starts.
    guest("fwcfg-shared", "fw-cfg", "nothing (the fw_cfg file on both)", "migrates",
          top=fw_cfg("{shared}/fw/fwcfg-shared.bin"), files=[("{shared}/fw/fwcfg-shared.bin", "raw")]),
    guest("fwcfg-hidden", "fw-cfg", "the fw_cfg entry's file", "fails", error=r"fwcfg-hidden\.bin|No such file",
          top=fw_cfg("{shared}/hidden-fw/fwcfg/fwcfg-hidden.bin"),
          files=[("{shared}/hidden-fw/fwcfg/fwcfg-hidden.bin", "raw")]),
    # NVDIMM backing files: QEMU maps the file when it starts.
    guest("nvdimm-shared", "nvdimm", "nothing (the backing file on both)", "migrates", top=NVDIMM_TOP,
          devices=nvdimm("{shared}/disks/nvdimm-shared.img"), files=[("{shared}/disks/nvdimm-shared.img", "nvdimm")]),
    guest("nvdimm-hidden", "nvdimm", "the NVDIMM's backing file", "fails", error=r"nvdimm-hidden\.img|No such file",
          top=NVDIMM_TOP, devices=nvdimm("{shared}/hidden-disks/nvdimm/nvdimm-hidden.img"),
          files=[("{shared}/hidden-disks/nvdimm/nvdimm-hidden.img", "nvdimm")]),
    # -- guests B already has (the defined-guest rule): defined there and shut off -------------
    # libvirt adds the incoming guest to B's list (virDomainObjListAdd): the same guest (name and
    # UUID) shut off there is replaced, another UUID under its name or its UUID under another
    # name is refused.
    guest("defined-same-guest", "defined-guest", "nothing (B has this guest, same UUID, defined and shut off)",
          "migrates", uuid=UUIDS["defined-same-guest"],
          on_b=[domain("defined-same-guest", uuid=UUIDS["defined-same-guest"])]),
    guest("defined-other-uuid", "defined-guest",
          "a free name (B has a shut-off guest of this name with another UUID)", "fails",
          error=r"defined-other-uuid' already exists with uuid " + UUIDS["defined-other-uuid-on-b"],
          uuid=UUIDS["defined-other-uuid"],
          on_b=[domain("defined-other-uuid", uuid=UUIDS["defined-other-uuid-on-b"])]),
    guest("defined-uuid-elsewhere", "defined-guest",
          "a free UUID (B has this guest's UUID, shut off, as mg-stale-copy)", "fails",
          error=r"mg-stale-copy' is already defined with uuid " + UUIDS["defined-uuid-elsewhere"],
          uuid=UUIDS["defined-uuid-elsewhere"],
          on_b=[domain("mg-stale-copy", uuid=UUIDS["defined-uuid-elsewhere"])]),
    # -- TPM: A has swtpm (and swtpm_setup, swtpm_ioctl), B's namespace hides them -------------
    # Both fail on B: without swtpm libvirt 9.0 offers neither the emulator nor the external
    # backend (domcapabilities list only passthrough) and validates the guest against that. A
    # TPM guest that migrates would need a destination with swtpm, a second B: none here.
    # The emulator backend: libvirt runs swtpm itself (its state in each host's own
    # /var/lib/libvirt/swtpm/<uuid>); B refuses the TPM version it cannot offer.
    guest("tpm-emulator", "tpm", "swtpm (A has it; B's daemon finds no swtpm in $PATH)", "fails",
          error=r"swtpm|TPM version '2\.0' is not supported", devices=tpm_emulator()),
    # The external backend: an swtpm someone else runs (here the rig, one on each host at the same
    # path of its own /var/lib/libvirt), so the socket is there on B; libvirt only connects QEMU
    # to it, yet refuses the backend on a host without swtpm installed.
    guest("tpm-external", "tpm",
          "swtpm installed (A has it; an external swtpm is served on both, libvirt offers the backend only "
          "with swtpm)", "fails", error=r"does not support TPM backend type external",
          devices=tpm_external(EXTERNAL_TPM + "/tpm-external.sock"),
          files=[(EXTERNAL_TPM + "/tpm-external.sock", "swtpm-server-both")]),
    # -- false-deny guards: libvirt migrates these, an older guard refused them ------------------
    # A CD-ROM whose image is missing on B, startupPolicy='requisite': an incoming migration
    # drops the missing source (qemu_domain.c qemuDomainCheckDiskStartupPolicy).
    guest("cdrom-requisite-absent", "false-deny-guards",
          "the CD-ROM image (startupPolicy='requisite': dropped on the way in)", "migrates",
          devices=cdrom(PRIVATE + "/requisite.iso", "requisite"), files=[(PRIVATE + "/requisite.iso", "raw")]),
    # Hyper-V enlightenments under TCG (virt-install's Windows 10 guest on a host without KVM).
    guest("hyperv-tcg", "false-deny-guards", "nothing (Hyper-V relaxed, vapic, spinlocks under TCG)", "migrates",
          top=HYPERV_TOP),
)
