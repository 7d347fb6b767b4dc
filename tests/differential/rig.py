"""The differential rig: two real libvirt hosts on one machine, the destination B differing
from the source A in every way one machine allows (docs/design.md section 7, "A destination
that differs from the source").

Each host is the e2e harness's LibvirtHost (its own mount namespace, /etc/libvirt,
/run/libvirt, /var/lib/libvirt, ...), started here under `unshare -m -n` so that it also has
its own network namespace, and with its own cgroup in every hierarchy, v1 and the hybrid
host's v2 one (bind-mounted over the hierarchy's root inside its mount namespace). A and B
are joined by a veth pair on an RFC 3927 link-local /30; nothing is added to the machine's
own network namespace.

What differs, as data (HOSTS below): hidden paths (an empty directory bind-mounted over them
in B's namespace), QEMU firmware descriptors, bridges, macvtap parent devices, unmanaged
taps, libvirt networks (active, inactive, absent), storage pools, hugetlbfs mounts, cgroup
partitions, the cpuset and the swtpm programs (hidden in B's namespace). Unix sockets a guest
connects to and external TPMs' swtpms are served by processes of the rig, stopped by pid in
`Rig.close`; guests B already has are defined there per guest by the suite (differential.py).
System-wide state (the huge page pools, the cgroups) is restored by `Rig.close`, which the
fixture calls whatever happened; every process is stopped by its pid.
"""
import concurrent.futures
import json
import os
import shutil
import stat
import subprocess
import sys
import time

from support.harness import LibvirtHost, missing_requirements

ADDRESSES = {"A": "169.254.77.1", "B": "169.254.77.2"}  # RFC 3927 link-local, on the veth only
PREFIX = 30
VETH = {"A": "mgdA", "B": "mgdB"}
HUGEPAGE_POOLS = {"2M": "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages",
                  "1G": "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"}
# shared/X is seen by both hosts; shared/hidden-X is covered by an empty folder in B's namespace
# (the host resources of the host-resource guests: chardev logs, unix sockets, kernels, devices).
SHARED_DIRS = ("disks", "bin", "fw", "logs", "sockets", "boot", "dev",
               "hidden-disks", "hidden-bin", "hidden-fw", "hidden-logs", "hidden-sockets", "hidden-boot", "hidden-dev")
HIDDEN = tuple(d for d in SHARED_DIRS if d.startswith("hidden-"))

# libvirt 9.0 reads QEMU firmware descriptors from /usr/share/qemu/firmware and
# /etc/qemu/firmware (both absent on this Debian machine). A gets one for SeaBIOS through an
# overlay on /usr/share/qemu in its own namespace; B gets none ("hidden firmware").
SEABIOS_DESCRIPTOR = {
    "description": "SeaBIOS (differential rig)",
    "interface-types": ["bios"],
    "mapping": {"device": "memory", "filename": "/usr/share/seabios/bios-256k.bin"},
    "targets": [{"architecture": "x86_64", "machines": ["pc-i440fx-*", "pc-q35-*"]}],
    "features": [],
    "tags": [],
}

# The TPM emulator's programs (libvirt's virTPMEmulatorInit looks them up in $PATH): B's
# namespace hides them (a whiteout for each in an overlay on /usr/bin, so they are absent
# there as on a host without the swtpm and swtpm-tools packages).
SWTPM_PROGRAMS = ("swtpm", "swtpm_setup", "swtpm_ioctl")
# Where swtpm_setup and libvirt write on the machine (swtpm-tools' local CA, swtpm's logs):
# each host gets its own folder over them, as it has its own /var/lib/libvirt.
SWTPM_OWN_DIRS = {"swtpm-localca": "/var/lib/swtpm-localca", "swtpm-log": "/var/log/swtpm"}

# What each host has. B lacks, compared with A: swtpm (and swtpm_setup, swtpm_ioctl), the firmware descriptors, bridge mgbr1,
# macvtap parent mgmv1, network mgnet-absent (and has mgnet-down defined but inactive),
# pool mgpool-a, the 1 GiB hugetlbfs mount, CPU 1 in its cpuset, the address 169.254.77.1,
# the tap mgtap1 (unmanaged taps: made with `ip tuntap`, as an administrator would), the
# cgroup partition /machine/mgpart-a, and it sees an empty directory over shared/hidden-*
# (disks, an emulator, a loader, chardev logs, unix sockets, a kernel, a device node).
HOSTS = {
    "A": {
        "cpuset": None,  # the machine's CPUs
        "firmware_descriptors": True,
        "bridges": ("mgbr0", "mgbr1"),
        "macvtap_parents": ("mgmv0", "mgmv1"),
        "networks": {"mgnet-up": True, "mgnet-down": True, "mgnet-absent": True},
        "pools": ("mgpool", "mgpool-a"),
        "hugetlbfs": ("2M", "1G"),
        "taps": ("mgtap0", "mgtap1"),
        "partitions": ("mgpart", "mgpart-a"),
        "hide": (),
        "hide_programs": (),
    },
    "B": {
        "cpuset": "0",
        "firmware_descriptors": False,
        "bridges": ("mgbr0",),
        "macvtap_parents": ("mgmv0",),
        "networks": {"mgnet-up": True, "mgnet-down": False},
        "pools": ("mgpool",),
        "hugetlbfs": ("2M",),
        "taps": ("mgtap0",),
        "partitions": ("mgpart",),
        "hide": HIDDEN,
        "hide_programs": SWTPM_PROGRAMS,
    },
}

NETWORK_XML = """<network>
  <name>{name}</name>
  <forward mode='bridge'/>
  <bridge name='mgbr0'/>
</network>
"""

POOL_XML = """<pool type='dir'>
  <name>{name}</name>
  <target><path>/var/lib/libvirt/images/{name}</path></target>
</pool>
"""


# A unix socket server (for chardevs in mode='connect'): accepts every client (A's QEMU,
# then B's), reads and drops what it sends. Run by the suite's interpreter, with the
# socket's path as its argument.
UNIX_SERVER = """
import os, socket, sys, threading
path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(16)

def drain(client):
    while client.recv(65536):
        pass

while True:
    client, _ = server.accept()
    threading.Thread(target=drain, args=(client,), daemon=True).start()
"""


def run(args, check=True, timeout=60, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), result.returncode,
                                                  (result.stderr or result.stdout).strip()))
    return result


def cgroup_mounts(types=("cgroup", "cgroup2")):
    """Mount points of the cgroup hierarchies, from /proc/self/mounts: v1, and the v2 one of
    a hybrid host such as this one (/sys/fs/cgroup/unified, where libvirt makes its groups
    too, a partition's included)."""
    points = []
    with open("/proc/self/mounts") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 2 and fields[2] in types:
                points.append(fields[1])
    return points


def read_int(path):
    with open(path) as handle:
        return int(handle.read().strip())


def write_value(path, value):
    with open(path, "w") as handle:
        handle.write(str(value))


class DiffHost(LibvirtHost):
    """A LibvirtHost in its own mount and network namespaces, with its own cgroups and the
    differences of its HOSTS entry applied before its daemons start."""

    def __init__(self, name, root, base, spec, tag):
        LibvirtHost.__init__(self, name, root)
        self.base = base
        self.spec = spec
        self.cgroup_name = "%s-%s" % (tag, name)
        self.cgroups = []  # the directories made, to remove at the end
        self.address = ADDRESSES[name]

    # -- before start -------------------------------------------------------------------
    def make_cgroups(self):
        """This host's cgroup in every hierarchy (v1 and v2), and in it the partitions of its
        spec: a guest's <resource><partition>/machine/NAME</partition> is
        machine/NAME.partition below each hierarchy's root (libvirt without systemd), which
        libvirt does not create for a partition other than /machine."""
        for mount in cgroup_mounts():
            path = os.path.join(mount, self.cgroup_name)
            os.makedirs(path, exist_ok=True)
            self.cgroups.append(path)
            folders = [os.path.join(path, "machine")] + [os.path.join(path, "machine", "%s.partition" % name)
                                                          for name in self.spec.get("partitions", ())]
            if self.spec.get("partitions"):
                for folder in folders:
                    os.makedirs(folder, exist_ok=True)
            if os.path.exists(os.path.join(mount, "cpuset.cpus")):
                with open(os.path.join(mount, "cpuset.cpus")) as handle:
                    cpus = handle.read().strip()
                with open(os.path.join(mount, "cpuset.mems")) as handle:
                    mems = handle.read().strip()
                # a v1 cpuset child starts empty: each level gets the host's CPUs and nodes
                for folder in [path] + (folders if self.spec.get("partitions") else []):
                    write_value(os.path.join(folder, "cpuset.cpus"), self.spec["cpuset"] or cpus)
                    write_value(os.path.join(folder, "cpuset.mems"), mems)

    def prepare(self):
        LibvirtHost.prepare(self)
        with open(self.path("etc", "qemu.conf"), "a") as conf:
            # swtpm as root too, as QEMU (its state is in this host's own /var/lib/libvirt/swtpm)
            conf.write('swtpm_user = "root"\nswtpm_group = "root"\n')

    def _namespace_setup(self):
        """Shell commands run inside the new namespaces before the daemons start."""
        commands = ["ip link set lo up"]
        # A sysfs of this network namespace for its net class: the one inherited from the
        # machine lists the machine's devices, not this host's (a real host has its own).
        sysfs = self.path("sysfs")
        os.makedirs(sysfs, exist_ok=True)
        commands += ["mount -t sysfs mg-diff-sysfs %s" % sysfs,
                     "mount --bind %s/class/net /sys/class/net" % sysfs,
                     "mount --bind %s/devices/virtual/net /sys/devices/virtual/net" % sysfs]
        for path in self.cgroups:
            commands.append("mount --bind %s %s" % (path, os.path.dirname(path)))
        empty = self.path("empty")
        os.makedirs(empty, exist_ok=True)
        for hidden in self.spec["hide"]:
            commands.append("mount --bind %s %s" % (empty, os.path.join(self.base, "shared", hidden)))
        for own, target in sorted(SWTPM_OWN_DIRS.items()):
            if os.path.isdir(target):
                os.makedirs(self.path(own), exist_ok=True)
                commands.append("mount --bind %s %s" % (self.path(own), target))
        programs = [p for p in self.spec.get("hide_programs", ()) if os.path.exists(os.path.join("/usr/bin", p))]
        if programs:
            # An overlay whose upper lower layer has a whiteout (a 0:0 character device) for
            # each program: /usr/bin without them, everything else as it is.
            layer = self.path("usr-bin-whiteouts")
            os.makedirs(layer, exist_ok=True)
            for program in programs:
                whiteout = os.path.join(layer, program)
                if not os.path.lexists(whiteout):
                    os.mknod(whiteout, 0o600 | stat.S_IFCHR, os.makedev(0, 0))
            commands.append("mount -t overlay mg-diff-bin -o lowerdir=%s:/usr/bin /usr/bin" % layer)
        if self.spec["firmware_descriptors"]:
            layer = self.path("qemu-share")
            os.makedirs(os.path.join(layer, "firmware"), exist_ok=True)
            with open(os.path.join(layer, "firmware", "50-seabios-rig.json"), "w") as handle:
                json.dump(SEABIOS_DESCRIPTOR, handle, indent=2)
            commands.append("mount -t overlay mg-diff-fw -o lowerdir=%s:/usr/share/qemu /usr/share/qemu" % layer)
        for size in self.spec["hugetlbfs"]:
            point = self.path("hugepages-%s" % size)
            os.makedirs(point, exist_ok=True)
            commands.append("mount -t hugetlbfs -o pagesize=%s mg-diff-huge-%s %s" % (size, size, point))
        return commands

    # A network namespace of its own too; LibvirtHost.start does the rest.
    UNSHARE = ("unshare", "-m", "-n", "--propagation", "private")

    def _mount_script(self):
        return "set -e; %s; %s" % ("; ".join(self._namespace_setup()), LibvirtHost._mount_script(self))

    def start(self, timeout=60.0):
        self.make_cgroups()
        LibvirtHost.start(self, timeout)

    # -- inside the namespaces ----------------------------------------------------------
    def nsenter(self, *args, check=True, timeout=60):
        """Run a command in this host's mount and network namespaces (as its collector would)."""
        return run(["nsenter", "-t", str(self.pid("libvirtd")), "-m", "-n"] + list(args),
                   check=check, timeout=timeout)

    def ip(self, *args):
        return self.nsenter("ip", *args)

    def setup_links(self):
        for bridge in self.spec["bridges"]:
            self.ip("link", "add", bridge, "type", "bridge")
            self.ip("link", "set", bridge, "up")
        for parent in self.spec["macvtap_parents"]:
            # a veth stands in for a NIC (no `dummy` module here)
            self.ip("link", "add", parent, "type", "veth", "peer", "name", parent + "p")
            self.ip("link", "set", parent, "up")
            self.ip("link", "set", parent + "p", "up")
        for tap in self.spec.get("taps", ()):
            # persistent taps for <interface type='ethernet'><target dev=... managed='no'/>
            self.ip("tuntap", "add", "dev", tap, "mode", "tap")
            self.ip("link", "set", tap, "up")

    def setup_libvirt_objects(self):
        for name, active in sorted(self.spec["networks"].items()):
            path = self.path("net-%s.xml" % name)
            with open(path, "w") as handle:
                handle.write(NETWORK_XML.format(name=name))
            self.virsh("net-define", path)
            if active:
                self.virsh("net-start", name)
        for name in self.spec["pools"]:
            path = self.path("pool-%s.xml" % name)
            with open(path, "w") as handle:
                handle.write(POOL_XML.format(name=name))
            self.virsh("pool-define", path)
            self.virsh("pool-build", name)
            self.virsh("pool-start", name)

    def swtpm_pids(self):
        """The swtpm processes libvirt started for this host's guests (their pid files)."""
        pids = []
        folder = self.path("run", "qemu", "swtpm")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if name.endswith(".pid"):
                try:
                    with open(os.path.join(folder, name)) as handle:
                        pids.append(int(handle.read().strip()))
                except (OSError, ValueError):
                    pass
        return pids

    def stop(self):
        """LibvirtHost.stop, and the swtpm processes libvirt started (they end with their
        QEMU, by pid all the same)."""
        swtpms = self.swtpm_pids()
        LibvirtHost.stop(self)
        for pid in swtpms:
            self._kill(pid)

    def collect_facts(self, venv_bin, output):
        self.nsenter(os.path.join(venv_bin, "migration-guard"), "facts", "collect", "--uri", self.uri,
                     "--output", output)
        return output

    def cleanup_cgroups(self, timeout=10.0):
        """Remove this host's cgroups (after every process in them has gone), deepest first."""
        problems = []
        for top in self.cgroups:
            deadline = time.monotonic() + timeout
            while os.path.isdir(top):
                failed = None
                for folder, _subdirs, _files in os.walk(top, topdown=False):
                    try:
                        os.rmdir(folder)
                    except FileNotFoundError:
                        pass
                    except OSError as exc:
                        failed = "%s: %s" % (folder, exc)
                if not os.path.isdir(top):
                    break
                if time.monotonic() > deadline:
                    problems.append(failed or top)
                    break
                time.sleep(0.1)
        self.cgroups = []
        return problems


class Rig:
    """A (source) and B (destination, differing), the veth between them, the shared files,
    and the global state to restore."""

    def __init__(self, base, venv_bin):
        self.base = base
        self.venv_bin = venv_bin
        self.tag = "mg-diff-%d" % os.getpid()
        self.hosts = {name: DiffHost(name, os.path.join(base, name), base, HOSTS[name], self.tag)
                      for name in ("A", "B")}
        self.saved_pools = {}
        self.servers = []  # unix socket servers and swtpms started (Popen), stopped by pid in close()
        self.made_dirs = []  # mount points made on the machine (removed, empty, in close())
        self.closed = False

    @property
    def A(self):  # noqa: N802 - the hosts' names
        return self.hosts["A"]

    @property
    def B(self):  # noqa: N802
        return self.hosts["B"]

    def shared(self, *parts):
        return os.path.join(self.base, "shared", *parts)

    def open(self):
        for pool, path in HUGEPAGE_POOLS.items():
            if os.path.exists(path):
                self.saved_pools[pool] = read_int(path)
        for folder in SHARED_DIRS:
            os.makedirs(self.shared(folder), exist_ok=True)
        if shutil.which("swtpm"):
            # libvirt writes swtpm's logs in /var/log/swtpm/libvirt/qemu, which no package makes:
            # a mount point for each host's own folder, removed at the end
            for target in sorted(SWTPM_OWN_DIRS.values()):
                if not os.path.isdir(target):
                    os.makedirs(target)
                    self.made_dirs.append(target)
        for host in self.hosts.values():
            host.prepare()
        # Each fresh daemon probes QEMU once (seconds): start both at the same time.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda host: host.start(), self.hosts.values()))
        self._veth()
        for host in self.hosts.values():
            host.setup_links()
            host.setup_libvirt_objects()

    def _veth(self):
        a, b = self.A, self.B
        a.ip("link", "add", VETH["A"], "type", "veth", "peer", "name", VETH["B"], "netns", str(b.pid("libvirtd")))
        for host in (a, b):
            host.ip("addr", "add", "%s/%d" % (host.address, PREFIX), "dev", VETH[host.name])
            host.ip("link", "set", VETH[host.name], "up")

    def set_hugepages(self, pools):
        """Set the global huge page pools for one guest ({"2M": n, "1G": n}); others to their
        saved values. Returns what the kernel actually reserved."""
        got = {}
        for pool, path in HUGEPAGE_POOLS.items():
            if pool not in self.saved_pools:
                continue
            wanted = pools.get(pool, self.saved_pools[pool])
            write_value(path, wanted)
            got[pool] = read_int(path)
        return got

    def restore_hugepages(self):
        for pool, value in self.saved_pools.items():
            try:
                write_value(HUGEPAGE_POOLS[pool], value)
            except OSError:
                pass

    def serve_unix(self, path, timeout=10.0):
        """Serve a unix socket at `path` (seen from the machine's mount namespace, so at a
        shared/hidden-* path only A sees it) until close()."""
        server = subprocess.Popen([sys.executable, "-c", UNIX_SERVER, path], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.servers.append(server)
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the unix socket server for %s did not start: %s"
                                   % (path, server.stderr.read().decode() if server.poll() is not None else "timeout"))
            time.sleep(0.05)

    def serve_swtpm(self, path, timeout=10.0):
        """An swtpm (TPM 2.0) serving its control socket at `path` (seen from the machine's mount
        namespace) until close(): the external TPM backend's, which libvirt does not start.
        Its state is in a folder of its own beside the socket."""
        state = path + ".state"
        os.makedirs(state, exist_ok=True)
        server = subprocess.Popen(["swtpm", "socket", "--tpm2", "--tpmstate", "dir=%s" % state,
                                   "--ctrl", "type=unixio,path=%s" % path, "--log", "file=%s.log" % path],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.servers.append(server)
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("swtpm for %s did not start: %s"
                                   % (path, server.stderr.read().decode() if server.poll() is not None else "timeout"))
            time.sleep(0.05)

    def migrate(self, name, flags=(), timeout=120):
        """A real live migration from A to B over the veth; the CompletedProcess of virsh."""
        args = ["virsh", "-c", self.A.uri, "migrate", "--live", name, self.B.uri,
                "--migrateuri", "tcp://%s" % self.B.address, "--listen-address", self.B.address] + list(flags)
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.A.virsh("domjobabort", name, check=False)
            return subprocess.CompletedProcess(args, 124, "", "error: migration timed out after %ds" % timeout)

    def remove_guest(self, name):
        for host in self.hosts.values():
            if name in host.running():
                host.virsh("destroy", name, check=False)

    def close(self):
        """Stop everything by pid (daemons, QEMUs, unix socket servers), remove the cgroups,
        restore the huge page pools. The veth, bridges, macvtaps, taps and mounts go with the
        namespaces once their last process is gone."""
        if self.closed:
            return []
        self.closed = True
        problems = []
        for host in self.hosts.values():
            try:
                host.stop()
            except Exception as exc:  # keep going: everything else must still be undone
                problems.append("stopping %s: %s" % (host.name, exc))
        for server in self.servers:  # our children: TERM by pid, then KILL, and reaped
            server.terminate()
            try:
                server.wait(timeout=5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
        self.servers = []
        for host in self.hosts.values():
            problems.extend(host.cleanup_cgroups())
        self.restore_hugepages()
        for target in reversed(self.made_dirs):
            try:
                os.rmdir(target)
            except OSError as exc:
                problems.append("removing the mount point %s: %s" % (target, exc))
        self.made_dirs = []
        return problems


def missing_rig_requirements():
    """Why the rig cannot run here, or None: the e2e hosts' requirements, and swtpm (the TPM
    guests: libvirt runs it on A, the rig serves the external ones)."""
    reason = missing_requirements()
    if reason:
        return reason
    for program in SWTPM_PROGRAMS:
        if shutil.which(program) is None:
            return "%s is missing: apt-get install swtpm swtpm-tools (the TPM guests need them on A)" % program
    return None


__all__ = ["Rig", "DiffHost", "HOSTS", "ADDRESSES", "missing_requirements", "missing_rig_requirements"]
