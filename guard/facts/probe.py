"""What only the destination can say, read at decision time: a shell, never the core.

The hook calls `gather(domain, timeout)` on the destination (and `check --probe` on the
host it runs on); the result, a guard.facts.model.Probe, goes into Inputs. It looks only
at what this guest needs, reads only local files (/proc, /sys, the guest's paths) and
never libvirt:
- paths (disks, filesystems, NVRAM, loader, NVRAM template, emulator, vhost-user and
  virtiofs sockets): stat'ed by a few threads of a child process that holds none of the
  hook's descriptors, within a budget well inside the hook's timeout. A stat on a hung
  FUSE or NFS mount can block forever, uninterruptibly: the child is abandoned at the
  deadline, and a path whose stat did not answer in time is None ("undecided"), which the
  rules report as unverifiable. A path whose every step (components and symbolic links,
  by this process's mount table) lies on a local disk or memory file system is stat'ed in
  the hook itself: no server to wait on, and no fork (resolves_locally).
- network devices the guest's bridge/direct interfaces and its other host resources name:
  by their index and driver in the hook's own network namespace, as libvirt asks.
- every other host resource the blocker catalogue's libvirt-schema entries find in the XML
  (guard.guest.domain.HostResource): the path libvirt reads, connects to or runs, or the directory
  it creates or binds in, stat'ed with the rest.
- the host's addresses (for VNC/SPICE listen addresses): /proc/net/fib_trie, if_inet6.
- the guests the destination's libvirt already has: /etc/libvirt/qemu, /run/libvirt/qemu.
- free huge pages per node and size (/sys/devices/system/node), hugetlbfs mounts
  (/proc/mounts) and the default huge page size (/proc/meminfo).
- the PCI functions of the SR-IOV VFs the guest names, and of the VF pools (<forward
  mode='hostdev'> networks) it draws from: vendor, device, driver, PF, the PF's PSID and
  firmware (/sys/bus/pci/devices, the PF's infiniband device), for RHEL 9.4's Mellanox VF
  migration (guard.rules.devices). A bounded number, within the same budget as the stats.
The collector (guard.facts.local) records the same host facts with these readers.
"""
# _signal, not signal: the signal module builds enums of every signal at import (guard.hook).
import _signal as signal
import errno
import os
import re
import time

from ..errors import InputError
from ..guest.addresses import is_wildcard_or_loopback
from ..guest.cpuset import parse_idset
from ..guest.domain import mdev_path, pci_address
from ..records import struct
from ..runtime.bounded import map_within
from .model import MELLANOX, MLX5_VFIO_PCI, Probe

MAX_STAT_THREADS = 4
MAX_NETDEV_LOOKUPS = 1024

# The cpuset guests get: libvirt puts them under machine.slice (systemd) or /machine (no
# systemd), which inherit the root's CPUs when they do not exist yet. cgroup v2, then v1.
GUEST_CPUSET_FILES = (
    "sys/fs/cgroup/machine.slice/cpuset.cpus.effective", "sys/fs/cgroup/machine/cpuset.cpus.effective",
    "sys/fs/cgroup/cpuset.cpus.effective",
    "sys/fs/cgroup/cpuset/machine.slice/cpuset.effective_cpus", "sys/fs/cgroup/cpuset/machine/cpuset.effective_cpus",
    "sys/fs/cgroup/cpuset/cpuset.effective_cpus", "sys/fs/cgroup/cpuset/cpuset.cpus",
)


def _read(root, path):
    try:
        with open(os.path.join(root, path), "r", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _stat(path):
    """True / False, or None when the answer is neither (EACCES, EIO, ESTALE...). A name too
    long for the kernel is False: libvirt and QEMU cannot open it either."""
    try:
        os.stat(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        return False if exc.errno == errno.ENAMETOOLONG else None
    except ValueError:
        return None


def stat_paths(paths, budget_s, stat=_stat, mounts=None):
    """{path: True | False | None} for each path, within budget_s seconds whatever the
    file systems do; a path not answered by the deadline is None. The stats run in a
    child process that holds none of this process's descriptors (_stat_in_child): a stat
    stuck in the kernel (a hung FUSE or hard NFS mount waits uninterruptibly, and SIGKILL
    does not end it) would keep a thread of this process, and a process with such a thread
    cannot finish exiting: its stderr pipe stays open, and libvirt waits for it for ever.
    mounts ({mount point: file system type}, mount_table): a path whose every step resolves
    on a local disk or memory file system (resolves_locally) is stat'ed here instead,
    without the fork (a millisecond or two of every decision: the emulator, the firmware and
    local disks are such paths)."""
    pending = list(dict.fromkeys(p for p in paths if p))
    if not pending:
        return {}
    result = {}
    if mounts:
        for path in pending:
            if resolves_locally(path, mounts):
                result[path] = stat(path)
        pending = [path for path in pending if path not in result]
    if pending:
        answers = _stat_in_child(stat, pending, budget_s)
        result.update((path, answers.get(index)) for index, path in enumerate(pending))
    return result


# File systems on a local disk or in memory: a stat there answers or fails, it does not wait
# on a server. Anything else (NFS, CIFS, Ceph, FUSE, 9p, virtiofs, autofs, overlay, whose
# lower layers may be any of those, and any type not named here) is stat'ed in the child.
LOCAL_FILESYSTEMS = frozenset(("ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "vfat", "iso9660", "squashfs",
                               "tmpfs", "ramfs", "devtmpfs", "proc", "sysfs", "devpts", "hugetlbfs"))
MAX_SYMLINK_HOPS = 40  # as the kernel's ELOOP limit


def mount_table(text):
    """{mount point: file system type} from /proc/self/mountinfo's text; of several mounts at
    one point the last listed, which is on top."""
    mounts = {}
    for line in text.splitlines():
        fields, sep, rest = line.partition(" - ")
        fields = fields.split(" ")
        if sep and len(fields) >= 5 and rest:
            # Mount points escape space, tab, newline and backslash as \ooo octal.
            point = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), fields[4])
            mounts[point] = rest.split(" ", 1)[0]
    return mounts


def _filesystem_of(path, mounts):
    while path not in mounts:
        if path == "/":
            return None
        path = os.path.dirname(path)
    return mounts[path]


def resolves_locally(path, mounts):
    """Whether every step of resolving `path` (each component, and every symbolic link's
    target in turn) lies on a local file system of `mounts`: then neither these lstat calls
    nor the stat of the path can wait on a server. Stops at the first step elsewhere (False)
    without touching it; a step that does not exist ends the walk (True: the stat fails
    here, at once)."""
    import stat as stat_module  # the hook's only use of it
    if not path.startswith("/"):
        return False
    parts, current, hops = [p for p in path.split("/") if p], "/", 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        step = os.path.join(current, part)
        if _filesystem_of(step, mounts) not in LOCAL_FILESYSTEMS:
            return False
        try:
            mode = os.lstat(step).st_mode
        except OSError:
            return True  # missing, or not a directory on the way: the stat answers at once
        if stat_module.S_ISLNK(mode):
            hops += 1
            try:
                target = os.readlink(step)
            except OSError:
                return True
            if hops > MAX_SYMLINK_HOPS:
                return True  # ELOOP, at once
            if target.startswith("/"):
                current = "/"
            parts[:0] = [p for p in target.split("/") if p]
            continue
        current = step
    return _filesystem_of(current, mounts) in LOCAL_FILESYSTEMS


_ANSWERS = {b"1": True, b"0": False}  # the child's "-", or no line at all: None


def _stat_in_child(stat, paths, budget_s):
    """{index: True | False | None} for the paths a forked child answered by the deadline.
    The child is reaped if it is done by then, else killed and abandoned (never waited for
    beyond the deadline: one stuck in the kernel dies when its call returns, and whoever
    inherits it reaps it)."""
    deadline = time.monotonic() + budget_s
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return {}  # no process to stat in: every path undecided
    if pid == 0:
        _stat_child(stat, paths, budget_s, write_end)  # never returns
    os.close(write_end)
    answers = None
    try:
        answers = _read_answers(read_end, deadline)
    finally:
        os.close(read_end)
        _leave(pid, deadline if answers is not None else 0.0)  # interrupted (a signal): at once
    return answers


def _stat_child(stat, paths, budget_s, out):
    """The forked child: nothing of the parent's open but `out`, then one line "INDEX
    ANSWER" on it for each path as its stat answers, and exit. Never returns."""
    try:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
            signal.signal(signum, signal.SIG_DFL)  # the hook's handlers would raise into its decision
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):  # libvirt's stdin, and its stdout and stderr pipes above all
            os.dup2(null, fd)
        _close_all_but(out)

        def answer(index):
            found = stat(paths[index])
            os.write(out, b"%d %s\n" % (index, b"1" if found is True else b"0" if found is False else b"-"))
        if len(paths) == 1:
            answer(0)  # threads only keep one hung stat from holding the others' answers
        else:
            map_within(answer, range(len(paths)), min(MAX_STAT_THREADS, len(paths)), budget_s)
    finally:
        os._exit(0)


def _close_all_but(keep):
    """Close every descriptor above 2 but `keep` (listed in /proc: a loop up to the
    descriptor limit could be a million calls)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except (OSError, ValueError):
        fds = range(3, 65536)
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _read_answers(fd, deadline):
    """{index: answer} read from the child until it closes its end or the deadline."""
    import select  # the hook's only use of it; poll, not select: no FD_SETSIZE limit
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    answers, partial = {}, b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(left * 1000):
            return answers
        chunk = os.read(fd, 65536)
        if not chunk:
            return answers  # the child is done (or gone)
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        for line in lines:
            index, _sep, found = line.partition(b" ")
            if index.isdigit():
                answers[int(index)] = _ANSWERS.get(found)


def _leave(pid, deadline):
    """Reap the child once it has exited, waiting no later than the deadline; then kill it
    and leave it."""
    while True:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.0001)  # it closed its end: exiting now
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, os.WNOHANG)  # reaped already if it died at once
    except OSError:
        pass


def _safe_name(name):
    """A guest-given name that is one path component (a network device, a network)."""
    return bool(name) and "/" not in name and name not in (".", "..") and "\0" not in name


def netdev_kind(name, root="/"):
    """"bridge", "device", or None when this network namespace has no such device.

    Asked as libvirt asks, of the kernel in the caller's own network namespace: the index
    (if_nametoindex, SIOCGIFINDEX) and the driver (ethtool's GDRVINFO: "bridge" for a
    bridge), not a /sys/class/net listing, which shows the namespace that mounted /sys. A
    root other than / is a test's host tree, read from its sysfs."""
    if not _safe_name(name):
        return None
    if root not in ("/", ""):
        return _sysfs_netdev_kind(name, root)
    import socket
    try:
        socket.if_nametoindex(name)
    except (OSError, ValueError, UnicodeError):
        return None
    driver = _netdev_driver(name)
    if driver is None:  # no ethtool answer (some virtual devices): sysfs, for what it says
        return _sysfs_netdev_kind(name, root) or "device"
    return "bridge" if driver == "bridge" else "device"


_SIOCETHTOOL, _ETHTOOL_GDRVINFO, _DRVINFO_SIZE = 0x8946, 3, 196


def _netdev_driver(name):
    """The device's driver name from the SIOCETHTOOL ioctl (struct ethtool_drvinfo), or None."""
    import array
    import fcntl
    import socket
    import struct
    info = array.array("B", struct.pack("I", _ETHTOOL_GDRVINFO) + bytes(_DRVINFO_SIZE - 4))
    address, _ = info.buffer_info()
    request = struct.pack("16sP", name.encode()[:15], address)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            fcntl.ioctl(sock.fileno(), _SIOCETHTOOL, request)
    except OSError:
        return None
    return info.tobytes()[4:36].split(b"\0", 1)[0].decode("ascii", "replace") or None


def _sysfs_netdev_kind(name, root):
    base = os.path.join(root, "sys/class/net", name)
    if not os.path.exists(base):
        return None
    return "bridge" if os.path.isdir(os.path.join(base, "bridge")) else "device"


def list_netdevs(root="/"):
    """(every network device, the bridges among them), sorted."""
    try:
        names = sorted(os.listdir(os.path.join(root, "sys/class/net")))
    except OSError:
        return None, None
    return tuple(names), tuple(n for n in names if _sysfs_netdev_kind(n, root) == "bridge")


def _ipv6(hex32):
    groups = [hex32[i:i + 4].lstrip("0") or "0" for i in range(0, 32, 4)]
    return ":".join(groups)


def host_addresses(root="/"):
    """The host's own IPv4 (fib_trie LOCAL /32 entries) and IPv6 (if_inet6) addresses, IPv6
    in full uncompressed form without leading zeros; None when /proc says nothing."""
    trie = _read(root, "proc/net/fib_trie")
    inet6 = _read(root, "proc/net/if_inet6")
    if trie is None and inet6 is None:
        return None
    found = set()
    last = None
    for line in (trie or "").splitlines():
        text = line.strip()
        if text.startswith("|--") or text.startswith("+--"):
            last = text[3:].strip().split("/")[0]
        elif "/32 host LOCAL" in text and last:
            found.add(last)
    for line in (inet6 or "").splitlines():
        fields = line.split()
        if fields and len(fields[0]) == 32:
            found.add(_ipv6(fields[0]))
    return tuple(sorted(found))


def default_hugepage_bytes(root="/"):
    for line in (_read(root, "proc/meminfo") or "").splitlines():
        if line.startswith("Hugepagesize:"):
            fields = line.split()
            try:
                return int(fields[1]) * 1024
            except (IndexError, ValueError):
                return None
    return None


def _size(text):
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().rstrip("b")
    try:
        if text and text[-1] in units:
            return int(text[:-1]) * units[text[-1]]
        return int(text)
    except ValueError:
        return None


def hugetlbfs_sizes(root="/", default=None):
    """Page sizes some hugetlbfs is mounted for (/proc/mounts; no pagesize= is the default
    size). libvirt backs guest memory with files on such a mount: no mount, no huge pages."""
    mounts = _read(root, "proc/mounts")
    if mounts is None:
        return None
    sizes = set()
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] != "hugetlbfs":
            continue
        size = default
        for option in fields[3].split(","):
            if option.startswith("pagesize="):
                size = _size(option[9:])
        if size:
            sizes.add(size)
    return tuple(sorted(sizes))


def free_pages(root="/"):
    """((node, page size in bytes, free pages), ...) from /sys/devices/system/node; a kernel
    without NUMA nodes shows its pool in /sys/kernel/mm/hugepages (node 0)."""
    found = []
    base = os.path.join(root, "sys/devices/system/node")
    try:
        nodes = [(int(n[4:]), os.path.join(base, n, "hugepages")) for n in os.listdir(base)
                 if n.startswith("node") and n[4:].isdigit()]
    except OSError:
        nodes = [(0, os.path.join(root, "sys/kernel/mm/hugepages"))]
    for node, folder in sorted(nodes):
        try:
            sizes = os.listdir(folder)
        except OSError:
            continue
        for entry in sorted(sizes):
            size = _size(entry[len("hugepages-"):]) if entry.startswith("hugepages-") else None
            text = _read(folder, os.path.join(entry, "free_hugepages"))
            if size and text is not None and text.strip().isdigit():
                found.append((node, size, int(text)))
    return tuple(found) if found else None


def guest_cpus(root="/"):
    """The CPUs guests may run on: the effective cpuset of libvirt's machine partition."""
    for path in GUEST_CPUSET_FILES:
        text = _read(root, path)
        if text is None or not text.strip():
            continue
        try:
            return tuple(sorted(parse_idset(text.strip())))
        except InputError:
            return None
    return None


# Where the system daemon keeps its guests: persistent definitions (NAME.xml) and the status
# files of running guests (NAME.xml, <domstatus>). src/qemu/qemu_conf.c: configDir, stateDir.
GUEST_CONFIG_DIR, GUEST_STATE_DIR = "etc/libvirt/qemu", "run/libvirt/qemu"
MAX_GUEST_FILES = 4096
_UUID_BYTES = 64 * 1024  # <uuid> comes near the top of a definition; never read a whole status file


def defined_guests(root="/"):
    """((name, uuid, active), ...) of every guest the destination's libvirt has, defined or
    running, read from its own files (never from libvirt: the hook must not call it); the
    incoming guest is not among them yet (qemuMigrationDstPrepareFresh runs the hook before
    virDomainObjListAdd). None when neither directory can be listed."""
    import re
    found = {}
    listed = False
    for folder, active in ((GUEST_CONFIG_DIR, False), (GUEST_STATE_DIR, True)):
        base = os.path.join(root, folder)
        try:
            names = sorted(n for n in os.listdir(base) if n.endswith(".xml"))[:MAX_GUEST_FILES]
        except OSError:
            continue
        listed = True
        for entry in names:
            try:
                with open(os.path.join(base, entry), "rb") as handle:
                    head = handle.read(_UUID_BYTES)
            except OSError:
                continue
            match = re.search(rb"<uuid>\s*([0-9a-fA-F-]{32,36})\s*</uuid>", head)
            uuid = match.group(1).decode().lower() if match else None
            name = entry[:-4]
            known = found.get(name)
            found[name] = (name, uuid or (known[1] if known else None), active or bool(known and known[2]))
    return tuple(sorted(found.values())) if listed else None


# --- SR-IOV VFs, for RHEL 9.4's Mellanox ConnectX-7 VF migration (guard.rules.devices) ------------
# A PCI function as its host's sysfs shows it (ids as sysfs writes them, "0x15b3"): driver, the
# name of the driver bound to it; pf, the address of its physical function (a VF has one); the
# PF's device id, and its PSID and firmware version (board_id and fw_ver of the PF's infiniband
# device, which mlx5 registers for every PF: what `mstflint query` shows as PSID and FW
# Version); pf_netdevs and vf_index: the PF's network devices and this VF's number on it, which
# name libvirt's mark of a VF it assigned through an <interface> (vf_in_use).
PciFunction = struct("PciFunction", "vendor device driver pf pf_device psid firmware pf_netdevs vf_index",
                     defaults=(None, None, None, None, None, (), None))
# A <forward mode='hostdev'> network of this host: managed and driver_model as its <forward
# managed> and <driver model>; vfs: the addresses of its VFs, in the network's order; free: those
# no guest holds (libvirt gives an incoming guest the first: src/network/bridge_driver.c
# networkAllocatePort, "pick first dev with 0 connections").
VfPool = struct("VfPool", "managed driver_model vfs free")
# functions: {address: PciFunction, or None where the host has no such device}; pools: {network:
# VfPool, or None where the network is not a VF pool or its state could not be read};
# mlx5_vfio_pci: whether that variant driver is loaded or installed for this kernel.
VfProbe = struct("VfProbe", "functions pools mlx5_vfio_pci")

_PCI_ADDRESS = []  # compiled on first need: some 0.2 ms of every hook run on Python 3.9 otherwise


def is_pci_address(text):
    """Whether text is a PCI address as sysfs names it (0000:3b:00.1)."""
    if not _PCI_ADDRESS:
        _PCI_ADDRESS.append(re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$"))
    return bool(text) and _PCI_ADDRESS[0].match(text) is not None
MAX_VF_LOOKUPS = 256
MAX_VF_POOLS = 16
PCI_DEVICES = "sys/bus/pci/devices"
# The network's state while it runs (src/conf/virnetworkobj.c virNetworkObjSaveStatus, a
# <networkstatus> holding the <network> with its pool of VFs expanded from <pf dev>), and the
# marks libvirt leaves for each VF it assigned through an <interface> (src/hypervisor/virhostdev.c
# virHostdevSaveNetConfig -> src/util/virnetdev.c virNetDevSaveNetConfig: ${PF}_vf${N}, removed
# when the guest lets it go).
NETWORK_STATE_DIR, HOSTDEV_STATE_DIR = "run/libvirt/network", "run/libvirt/hostdevmgr"
_NETWORK_STATE_BYTES = 256 * 1024


def _sysfs(path, limit=256):
    """A sysfs attribute's value, stripped, or None."""
    try:
        with open(path, "rb") as handle:
            return handle.read(limit).decode("ascii", "replace").strip() or None
    except OSError:
        return None


def _link_target(path):
    """The last component of a sysfs link's target (a driver's name, a PF's address), or None."""
    try:
        return os.path.basename(os.readlink(path))
    except OSError:
        return None


def _listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _pf_identity(pf_folder):
    """(PSID, firmware version) of a PF from its infiniband device, or (None, None)."""
    for device in _listing(os.path.join(pf_folder, "infiniband"))[:1]:
        folder = os.path.join(pf_folder, "infiniband", device)
        return _sysfs(os.path.join(folder, "board_id")), _sysfs(os.path.join(folder, "fw_ver"))
    return None, None


def _virtfns(pf_folder):
    """{VF address: its number on the PF} from the PF's virtfnN links."""
    found = {}
    for entry in _listing(pf_folder):
        if entry.startswith("virtfn") and entry[6:].isdigit():
            address = _link_target(os.path.join(pf_folder, entry))
            if address:
                found[address] = int(entry[6:])
    return found


def pci_function(address, root="/"):
    """The PciFunction at this PCI address (libvirt's form, 0000:e1:00.1), or None when the host
    has none there."""
    if not is_pci_address(address):
        return None
    folder = os.path.join(root, PCI_DEVICES, address)
    vendor = _sysfs(os.path.join(folder, "vendor"))
    if vendor is None:
        return None
    pf = _link_target(os.path.join(folder, "physfn"))
    pf_device = psid = firmware = vf_index = None
    netdevs = ()
    if pf:
        pf_folder = os.path.join(root, PCI_DEVICES, pf)
        pf_device = _sysfs(os.path.join(pf_folder, "device"))
        psid, firmware = _pf_identity(pf_folder)
        netdevs = tuple(_listing(os.path.join(pf_folder, "net")))
        vf_index = _virtfns(pf_folder).get(address)
    return PciFunction(vendor, _sysfs(os.path.join(folder, "device")), _link_target(os.path.join(folder, "driver")),
                       pf, pf_device, psid, firmware, netdevs, vf_index)


def vf_in_use(function, root="/"):
    """Whether libvirt holds this VF for a guest's <interface> (its ${PF}_vf${N} mark)."""
    if function is None or function.vf_index is None:
        return False
    return any(os.path.exists(os.path.join(root, HOSTDEV_STATE_DIR, "%s_vf%d" % (netdev, function.vf_index)))
               for netdev in function.pf_netdevs)


def vf_pool(network, root="/", functions=None, deadline=None):
    """The VfPool of a running <forward mode='hostdev'> network, or None when the network is not
    one (or not running, or its state cannot be read). functions: a dict the VFs read go into."""
    if not _safe_name(network):
        return None
    try:
        with open(os.path.join(root, NETWORK_STATE_DIR, network + ".xml"), "rb") as handle:
            data = handle.read(_NETWORK_STATE_BYTES)
    except OSError:
        return None
    if b"hostdev" not in data:  # the NAT and bridged networks most guests use: no parse
        return None
    from ..xmlsafe import parse_xml  # only for a guest on a VF pool
    try:
        state = parse_xml(data, "network state", drop_blanks=True)
    except InputError:
        return None
    definition = state if state.tag == "network" else state.find("network")
    forward = definition.find("forward") if definition is not None else None
    if forward is None or forward.get("mode") != "hostdev":
        return None
    driver = forward.find("driver")
    functions = {} if functions is None else functions
    members, free = [], []
    for address in forward.findall("address")[:MAX_VF_LOOKUPS]:
        if deadline is not None and time.monotonic() > deadline:
            break
        name = pci_address(address)
        members.append(name)
        if name not in functions:
            functions[name] = pci_function(name, root)
        if functions[name] is not None and not vf_in_use(functions[name], root):
            free.append(name)
    return VfPool(forward.get("managed") == "yes", driver.get("model") if driver is not None else None,
                  tuple(members), tuple(free))


def variant_driver_available(name, root="/"):
    """Whether a VFIO variant driver is loaded, or installed for the running kernel, where
    libvirt's modprobe finds it (src/util/virpci.c virPCIDeviceFindDriver)."""
    if os.path.isdir(os.path.join(root, "sys/bus/pci/drivers", name)):
        return True
    import glob
    modules = os.path.join(root, "lib/modules", os.uname().release, "kernel/drivers/vfio/pci")
    return bool(glob.glob(os.path.join(modules, "*", name.replace("_", "-") + ".ko*")))


def vf_probe(domain, root="/", deadline=None):
    """The VfProbe for the VFs this guest names and the VF pools its networks may be, or None
    when it has neither (a <teaming type='transient'> VF is unplugged for migration: not read)."""
    named = [h.source for h in domain.hostdevs if h.mode == "subsystem" and h.type == "pci" and h.teaming != "transient"]
    named += [i.source for i in domain.interfaces if i.type == "hostdev" and i.teaming != "transient"]
    networks = sorted({i.network for i in domain.interfaces if i.type == "network" and i.network
                       and i.teaming != "transient"})[:MAX_VF_POOLS]
    named = [address for address in dict.fromkeys(named) if is_pci_address(address)][:MAX_VF_LOOKUPS]
    if not named and not networks:
        return None
    functions = {}
    for address in named:
        if deadline is not None and time.monotonic() > deadline:
            break  # not read: the rule says so
        functions[address] = pci_function(address, root)
    pools = {network: vf_pool(network, root, functions, deadline) for network in networks}
    if not functions and not any(pools.values()):
        return VfProbe(functions, pools, None)
    return VfProbe(functions, pools, variant_driver_available(MLX5_VFIO_PCI, root))


def mellanox_pfs(root="/"):
    """((PF address, device id, PSID, firmware version, VF addresses), ...) of this host's Mellanox
    PCI physical functions with an infiniband device (mlx5 registers one per PF), for the source
    fingerprint (guard.facts.fingerprint.fingerprint_for); None when /sys/bus/pci cannot be listed."""
    base = os.path.join(root, PCI_DEVICES)
    try:
        addresses = sorted(os.listdir(base))
    except OSError:
        return None
    found = []
    for address in addresses:
        folder = os.path.join(base, address)
        if _sysfs(os.path.join(folder, "vendor")) != MELLANOX or os.path.lexists(os.path.join(folder, "physfn")):
            continue
        psid, firmware = _pf_identity(folder)
        if psid and firmware:
            found.append((address, _sysfs(os.path.join(folder, "device")) or "?", psid, firmware,
                          tuple(sorted(_virtfns(folder)))))
    return tuple(found)


def wanted_paths(domain):
    """Every host path this guest needs on the destination."""
    paths = [s.path for s in domain.storage if s.path]
    paths.extend(b.path for b in domain.backed if b.path)
    paths.extend(i.socket[0] for i in domain.interfaces if i.socket)
    firmware = domain.firmware
    paths.extend(p for p in (firmware.loader_path, firmware.nvram_template, firmware.nvram_path, domain.emulator)
                 if p)
    paths.extend(r.checked_path for r in domain.resources if r.checked_path and r.resource != "cgroup")
    paths.extend(mdev_path(h.mdev_uuid) for h in domain.hostdevs
                 if h.type == "mdev" and h.mdev_uuid and "/" not in h.mdev_uuid)
    return paths


# systemd-machined, which libvirt asks first (virSystemdHasMachined: it answers on D-Bus when installed).
MACHINED = ("usr/lib/systemd/systemd-machined", "lib/systemd/systemd-machined")

# cgroup v1 hierarchies where libvirt places a partition (it needs the cpu controller's at
# least; vircgroupv1.c); v2 has the one unified hierarchy at /sys/fs/cgroup.
CGROUP_V1_CONTROLLERS = ("cpu", "cpu,cpuacct", "cpuacct,cpu", "memory")


def cgroup_present(checked_path, root="/"):
    """Whether libvirt can place a guest in a partition: on a host booted with systemd, libvirt
    asks systemd-machined, which puts the guest in the partition's slice (/machine/foo ->
    machine-foo.slice, src/util/virsystemd.c virSystemdMakeSliceName) and systemd makes a slice
    that does not exist yet; elsewhere the partition's cgroup must exist (vircgroup.c
    virCgroupNewMachineManual -> virCgroupNewPartition, create only for /machine): checked_path is
    its v2 directory (HostResource.checked_path, /sys/fs/cgroup/...), and on a v1 host the same
    path below a controller's hierarchy."""
    if os.path.isdir(os.path.join(root, "run/systemd/system")) and any(
            os.path.exists(os.path.join(root, p)) for p in MACHINED):
        return True
    below = checked_path[len("/sys/fs/cgroup"):]
    candidates = [checked_path] + ["/sys/fs/cgroup/%s%s" % (c, below) for c in CGROUP_V1_CONTROLLERS]
    return any(os.path.isdir(os.path.join(root, c.lstrip("/"))) for c in candidates)


def budget_for(timeout_s):
    """Path stats get a fifth of the hook's timeout, at most 2 s."""
    return max(0.05, min(2.0, (timeout_s or 10.0) * 0.2))


def gather(domain, timeout_s, root="/", stat=_stat):
    """The Probe for one incoming guest, within budget_for(timeout_s) seconds for its paths."""
    budget = budget_for(timeout_s)
    prefix = root.rstrip("/") if root != "/" else ""
    wanted = wanted_paths(domain)
    # Which paths resolve on local file systems, from this process's own mount table (only
    # for the host's own root: a test's root folder has none).
    mounts = None
    if not prefix and wanted:
        table = _read(root, "proc/self/mountinfo")
        mounts = mount_table(table) if table else None
    paths = stat_paths([prefix + p for p in wanted], budget, stat, mounts)
    if prefix:
        paths = {p[len(prefix):]: v for p, v in paths.items()}
    for resource in domain.resources:
        if resource.resource == "cgroup":
            paths[resource.checked_path] = cgroup_present(resource.checked_path, root)
    names = {i.source for i in domain.interfaces if i.type in ("bridge", "direct") and i.source}
    names.update(r.value for r in domain.resources if r.resource == "netdev")
    # Two system calls a name, outside the stat budget: a bounded number (the rest stay unknown).
    netdevs = {name: netdev_kind(name, root) for name in sorted(names)[:MAX_NETDEV_LOOKUPS]} if names else None
    addresses = None
    binds = [listen.address for listen in domain.listens if listen.address]
    binds += [r.value for r in domain.resources if r.resource == "address"]
    if any(not is_wildcard_or_loopback(address) for address in binds):
        addresses = host_addresses(root)
    free = mounts = default = None
    if domain.hugepages or any(m.page_bytes for m in domain.memory_devices):
        default = default_hugepage_bytes(root)
        free, mounts = free_pages(root), hugetlbfs_sizes(root, default)
    # sysfs and /run are in memory: a budget of their own, as long as the stats'.
    vfs = vf_probe(domain, root, time.monotonic() + budget)
    return Probe(paths=paths, netdevs=netdevs, addresses=addresses, free_pages=free, hugetlbfs=mounts,
                 default_hugepage_bytes=default, budget_s=budget, guests=defined_guests(root), vfs=vfs)
