"""The differential guests, as data: one record per guest.

Each record says what it exercises (`category`, `lacks`: what B lacks for this guest), how
it is built (XML parts), how it migrates (`flags`), the global state it needs (`hugepages`,
the huge page pools while it runs) and files the rig makes for it on A or in the shared
folders (`files`). `libvirt` and `error` are what the rig is built to make libvirt do
("migrates" or "fails", and a pattern its error line must match): they check the rig (that
each difference is real and fails for the intended reason), never the guard; the class of
a guest comes only from the real migration and the guard's decision.

Paths: {shared} is a folder both hosts see at the same path; {shared}/hidden-* is covered
by an empty directory in B's mount namespace; /var/lib/libvirt is each host's own.
"""
import collections

Guest = collections.namedtuple("Guest", "name category lacks libvirt error flags hugepages files xml")

MIB = 64

TEMPLATE = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory}</memory>{memory_backing}
  <vcpu placement='static'{vcpu_cpuset}>1</vcpu>{cputune}
  <os{os_firmware}>
    <type arch='x86_64' machine='pc'>hvm</type>{loader}
  </os>
  <devices>{emulator}
    <serial type='pty'/>
    <memballoon model='none'/>{devices}
  </devices>
</domain>
"""


def domain(name, memory=MIB, hugepage_kib=None, vcpu_cpuset=None, vcpupin=None, emulatorpin=None,
           firmware=None, loader=None, emulator=None, devices=""):
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
        name=name, memory=memory, memory_backing=backing,
        vcpu_cpuset=" cpuset='%s'" % vcpu_cpuset if vcpu_cpuset else "", cputune=cputune,
        os_firmware=" firmware='%s'" % firmware if firmware else "",
        loader="\n    <loader readonly='yes' type='rom'>%s</loader>" % loader if loader else "",
        emulator="\n    <emulator>%s</emulator>" % emulator if emulator else "",
        devices="".join("\n    " + line for line in devices.strip().splitlines()) if devices else "")


def disk(path, target="vda", bus="virtio"):
    return ("<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='%s'/>"
            "<target dev='%s' bus='%s'/></disk>" % (path, target, bus))


def cdrom_optional(path):
    return ("<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>"
            "<source file='%s' startupPolicy='optional'/><target dev='hdc' bus='ide'/><readonly/></disk>" % path)


def network(name):
    return "<interface type='network'><source network='%s'/><model type='e1000'/></interface>" % name


def bridge(name):
    return "<interface type='bridge'><source bridge='%s'/><model type='e1000'/></interface>" % name


def macvtap(dev):
    return ("<interface type='direct'><source dev='%s' mode='bridge'/><model type='e1000'/></interface>" % dev)


def vnc(address):
    return "<graphics type='vnc' port='-1' autoport='yes'><listen type='address' address='%s'/></graphics>" % address


def guest(name, category, lacks, libvirt, error=None, flags=(), hugepages=None, files=(), **xml):
    return Guest(name=name, category=category, lacks=lacks, libvirt=libvirt, error=error, flags=tuple(flags),
                 hugepages=dict(hugepages or {}), files=tuple(files), xml=domain(name, **xml))


# files: (path, how) with how "raw" (a 1 MiB raw image), "seabios" (a copy of SeaBIOS),
# "qemu" (a symlink to the machine's qemu-system-x86_64). Paths are made on A's side: a
# path under /var/lib/libvirt is made in A's own /var/lib/libvirt.
PRIVATE = "/var/lib/libvirt/images/private"
POOL_B = "/var/lib/libvirt/images/mgpool"      # a pool on both hosts (each its own folder)
POOL_A = "/var/lib/libvirt/images/mgpool-a"    # a pool on A only
QEMU = "/usr/bin/qemu-system-x86_64"

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
          devices=cdrom_optional(PRIVATE + "/optional.iso"), files=[(PRIVATE + "/optional.iso", "raw")]),
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
)
