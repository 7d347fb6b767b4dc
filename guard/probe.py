"""What only the destination can say, read at decision time: a shell, never the core.

The hook calls `gather(domain, timeout)` on the destination (and `check --probe` on the
host it runs on); the result, a guard.facts.model.Probe, goes into Inputs. It looks only
at what this guest needs, reads only local files (/proc, /sys, the guest's paths) and
never libvirt:
- paths (disks, filesystems, NVRAM, loader, NVRAM template, emulator, vhost-user and
  virtiofs sockets): stat'ed in a few daemon threads, within a budget well inside the
  hook's timeout. A stat on a dead NFS mount can block forever; a path whose stat did not
  answer in time is None ("undecided"), which the rules report as unverifiable.
- network devices the guest's bridge/direct interfaces name: /sys/class/net/NAME(/bridge).
- the host's addresses (for VNC/SPICE listen addresses): /proc/net/fib_trie, if_inet6.
- free huge pages per node and size (/sys/devices/system/node), hugetlbfs mounts
  (/proc/mounts) and the default huge page size (/proc/meminfo).
The collector (guard.facts.local) records the same host facts with these readers.
"""
import os

from .bounded import map_within
from .cpuset import parse_idset
from .errors import InputError
from .facts.model import Probe
from .rules.network import is_wildcard_or_loopback

MAX_STAT_THREADS = 4

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
    """True / False, or None when the answer is neither (EACCES, EIO, ESTALE...)."""
    try:
        os.stat(path)
        return True
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError):
        return None


def stat_paths(paths, budget_s, stat=_stat):
    """{path: True | False | None} for each path, within budget_s seconds whatever the
    file systems do: a few daemon threads share the list; a path not answered by the
    deadline is None. A thread stuck in the kernel is left behind (it cannot be killed),
    and does not keep the process alive."""
    pending = list(dict.fromkeys(p for p in paths if p))
    if not pending:
        return {}
    results = map_within(stat, pending, min(MAX_STAT_THREADS, len(pending)), budget_s)
    return {path: results.get(path) for path in pending}


def netdev_kind(name, root="/"):
    """"bridge", "device", or None when /sys/class/net has no such device."""
    if not name or "/" in name or name in (".", ".."):
        return None
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
    return tuple(names), tuple(n for n in names if netdev_kind(n, root) == "bridge")


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


def wanted_paths(domain):
    """Every host path this guest needs on the destination."""
    paths = [s.path for s in domain.storage if s.path]
    paths.extend(b.path for b in domain.backed if b.path)
    paths.extend(i.socket[0] for i in domain.interfaces if i.socket)
    firmware = domain.firmware
    paths.extend(p for p in (firmware.loader_path, firmware.nvram_template, domain.emulator) if p)
    return paths


def budget_for(timeout_s):
    """Path stats get a fifth of the hook's timeout, at most 2 s."""
    return max(0.05, min(2.0, (timeout_s or 10.0) * 0.2))


def gather(domain, timeout_s, root="/", stat=_stat):
    """The Probe for one incoming guest, within budget_for(timeout_s) seconds for its paths."""
    budget = budget_for(timeout_s)
    prefix = root.rstrip("/") if root != "/" else ""
    paths = stat_paths([prefix + p for p in wanted_paths(domain)], budget, stat)
    if prefix:
        paths = {p[len(prefix):]: v for p, v in paths.items()}
    names = {i.source for i in domain.interfaces if i.type in ("bridge", "direct") and i.source}
    netdevs = {name: netdev_kind(name, root) for name in names} if names else None
    addresses = None
    if any(listen.address and not is_wildcard_or_loopback(listen.address) for listen in domain.listens):
        addresses = host_addresses(root)
    free = mounts = default = None
    if domain.hugepages or any(m.page_bytes for m in domain.memory_devices):
        default = default_hugepage_bytes(root)
        free, mounts = free_pages(root), hugetlbfs_sizes(root, default)
    return Probe(paths=paths, netdevs=netdevs, addresses=addresses, free_pages=free, hugetlbfs=mounts,
                 default_hugepage_bytes=default, budget_s=budget)
