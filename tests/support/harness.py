"""Real libvirt "hosts" on one machine, for end-to-end tests and the demo (docs/design.md section 7).

Each host is a libvirtd + virtlogd pair in its own mount namespace, with its own
/etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt
bind-mounted from a folder, a distinct host_uuid, and QEMU running as root. Everything
started is stopped by pid.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid

MOUNTS = (("etc", "/etc/libvirt"), ("run", "/run/libvirt"), ("lib", "/var/lib/libvirt"),
          ("log", "/var/log/libvirt"), ("cache", "/var/cache/libvirt"))

GUEST_TEMPLATE = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu{cpuset}>1</vcpu>{cputune}
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <serial type='pty'/>
    <memballoon model='none'/>{devices}
  </devices>
</domain>
"""


def missing_requirements():
    """Why real hosts cannot run here, or None."""
    if os.geteuid() != 0:
        return "the end-to-end tests need root (they start libvirt daemons in mount namespaces)"
    for tool in ("libvirtd", "virtlogd", "virsh", "qemu-system-x86_64", "unshare"):
        if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
            return ("%s is missing: apt-get install libvirt-daemon-system libvirt-clients qemu-system-x86 "
                    "(CI does this in .ci/run)" % tool)
    return None


def guest_xml(name, memory_mib=64, cpuset=None, vcpupin=None, extra_devices=""):
    cputune = ""
    if vcpupin is not None:
        cputune = "\n  <cputune><vcpupin vcpu='0' cpuset='%s'/></cputune>" % vcpupin
    return GUEST_TEMPLATE.format(name=name, memory_mib=memory_mib,
                                 cpuset=" cpuset='%s'" % cpuset if cpuset else "",
                                 cputune=cputune, devices=extra_devices)


class LibvirtHost:
    """One libvirt daemon in its own mount namespace, rooted at `root`."""

    def __init__(self, name, root, hook=None, guard_etc=None, foreign_hook=None):
        self.name = name
        self.root = os.path.abspath(root)
        self.hook = hook  # the hook to install into /etc/libvirt/hooks/qemu.d before the daemon starts
        # A folder this host sees as /etc/migration-guard, so its hook reads its own config
        # from the default path, with the environment libvirt gives it.
        self.guard_etc = guard_etc
        # An administrator's own /etc/libvirt/hooks/qemu (its text), installed beside ours.
        self.foreign_hook = foreign_hook
        self.host_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, "migration-guard-test/" + self.root))
        self.started = False

    @property
    def uri(self):
        return "qemu+unix:///system?socket=%s/run/libvirt-sock" % self.root

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def deferred(self):
        """The hook's folder of deferred refusals on this host (its DEFERRED= line)."""
        return self.path("deferred")

    def prepare(self):
        if os.path.exists(self.root):
            shutil.rmtree(self.root)
        os.makedirs(self.root)
        shutil.copytree("/etc/libvirt", self.path("etc"), symlinks=True)
        for folder, _target in MOUNTS[1:]:
            os.makedirs(self.path(folder))
        os.makedirs(self.path("lib", "qemu"), exist_ok=True)
        # No autostarted networks: a test host needs no bridge or dnsmasq.
        shutil.rmtree(self.path("etc", "qemu", "networks", "autostart"), ignore_errors=True)
        with open(self.path("etc", "libvirtd.conf"), "a") as conf:
            # Its errors to a file of its own log folder (on RHEL: the journal), where the
            # collector service reads a failed migration's reason.
            conf.write('\nhost_uuid = "%s"\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n' % self.host_uuid)
        with open(self.path("etc", "qemu.conf"), "a") as conf:
            # /dev/kvm is root-only here: QEMU as root stops libvirt re-probing it on every call.
            conf.write('\nuser = "root"\ngroup = "root"\n')
        hooks = self.path("etc", "hooks")
        os.makedirs(hooks, exist_ok=True)
        if self.hook:
            self.install_hook(self.hook)
        if self.foreign_hook:
            self.install_foreign_hook(self.foreign_hook)

    def install_foreign_hook(self, text):
        """An administrator's own hook in the single hooks/qemu slot (VFIO helpers, vdsm,
        site scripts), which ours must leave alone and run beside."""
        target = self.path("etc", "hooks", "qemu")
        with open(target, "w") as handle:
            handle.write(text)
        os.chmod(target, 0o755)
        return target

    def install_hook(self, source, name="50-migration-guard", python=sys.executable):
        """Install the hook as packaging does: into hooks/qemu.d, its one PYTHON= line
        rewritten to name the interpreter (here the test venv's)."""
        with open(source) as handle:
            text = handle.read()
        text, count = re.subn(r"^PYTHON=.*$", "PYTHON=%s" % python, text, flags=re.M)
        assert count == 1, "the hook must have exactly one PYTHON= line"
        # Deferred refusals in this host's folder, not the machine's /run/migration-guard.
        text, count = re.subn(r"^DEFERRED=.*$", "DEFERRED=%s" % self.deferred, text, flags=re.M)
        assert count <= 1, "the hook must have at most one DEFERRED= line"
        folder = self.path("etc", "hooks", "qemu.d")
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, name)
        with open(target, "w") as handle:
            handle.write(text)
        os.chmod(target, 0o755)
        return target

    def mounts(self):
        mounts = [(self.path(folder), target) for folder, target in MOUNTS]
        if self.guard_etc:
            mounts.append((self.guard_etc, "/etc/migration-guard"))
        return mounts

    def _mount_script(self):
        if self.guard_etc:
            os.makedirs("/etc/migration-guard", exist_ok=True)  # the mount point; left in place (empty)
        mounts = "; ".join("mount --bind %s %s" % (source, target) for source, target in self.mounts())
        return ("mkdir -p /run/libvirt; %s; virtlogd -d -p %s; libvirtd -d -p %s"
                % (mounts, self.path("virtlogd.pid"), self.path("libvirtd.pid")))

    # The namespaces a host gets (a subclass adds "-n" for a network namespace of its own).
    UNSHARE = ("unshare", "-m", "--propagation", "private")

    def start(self, timeout=30.0):
        subprocess.run(list(self.UNSHARE) + ["sh", "-c", self._mount_script()], check=True, timeout=timeout)
        self.started = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.path("run", "libvirt-sock")) and self.virsh("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("libvirtd for %s did not come up; see %s" % (self.name, self.path("log")))

    def pid(self, daemon):
        try:
            with open(self.path("%s.pid" % daemon)) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def restart_libvirtd(self, timeout=30.0):
        """Stop libvirtd (guests keep running) and start it again in the same namespace."""
        pid = self.pid("libvirtd")
        self._kill(pid, timeout)
        script = "libvirtd -d -p %s" % self.path("libvirtd.pid")
        subprocess.run(["nsenter", "-t", str(self.pid("virtlogd")), "-m", "sh", "-c", script], check=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.virsh("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("libvirtd for %s did not come back" % self.name)

    def virsh(self, *args, check=True, input=None, timeout=120):
        result = subprocess.run(["virsh", "-c", self.uri] + list(args), input=input, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise RuntimeError("virsh %s on %s failed: %s" % (" ".join(args), self.name, result.stderr.strip()))
        return result

    def define_and_start(self, xml, persistent=False):
        """Start a guest: transient (virsh create), or defined first and then started."""
        path = self.path("%s.xml" % uuid.uuid4().hex)
        with open(path, "w") as handle:
            handle.write(xml)
        if not persistent:
            return self.virsh("create", path)
        name = self.virsh("define", path).stdout.split("Domain '")[-1].split("'")[0]
        return self.virsh("start", name)

    def running(self):
        result = self.virsh("list", "--name", check=False)
        return {line.strip() for line in result.stdout.splitlines() if line.strip()}

    def qemu_pids(self):
        pids = []
        for name in os.listdir(self.path("run", "qemu")) if os.path.isdir(self.path("run", "qemu")) else ():
            if name.endswith(".pid"):
                try:
                    with open(self.path("run", "qemu", name)) as handle:
                        pids.append(int(handle.read().strip()))
                except (OSError, ValueError):
                    pass
        return pids

    @staticmethod
    def _kill(pid, timeout=10.0):
        if not pid:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self):
        """Stop libvirtd, every QEMU it started and virtlogd, all by pid (TERM, then KILL)."""
        if not self.started:
            return
        qemu = self.qemu_pids()
        self._kill(self.pid("libvirtd"))
        for pid in qemu:
            self._kill(pid)
        self._kill(self.pid("virtlogd"))
        self.started = False


def wait_for(predicate, seconds=30):
    """predicate's first true value, polled every 0.1 s for at most `seconds`; else None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


def migrate(source, dest, name, timeout=120):
    """A real live migration over TCP on loopback; the CompletedProcess of virsh."""
    return subprocess.run(["virsh", "-c", source.uri, "migrate", "--live", name, dest.uri,
                           "--migrateuri", "tcp://127.0.0.1", "--listen-address", "127.0.0.1"],
                          capture_output=True, text=True, timeout=timeout)
