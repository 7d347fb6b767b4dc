"""Run the differential suite: every guest of guests.GUESTS started on A, decided by the guard
on B's collected facts, then migrated for real to B, with no hook installed.

The guard is used only through its stable command line, as a subprocess, run inside B's
mount and network namespaces (as a real destination's collector and hook would run):

    nsenter -t <B's libvirtd> -m -n <venv>/bin/migration-guard facts collect --uri <B> --output B.json
    nsenter -t <B's libvirtd> -m -n <venv>/bin/migration-guard check --domain-xml G.xml \
        --probe --facts B.json --source-facts A.json --config C.toml --format json
"""
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import signal
import stat
import struct
import time
from xml.etree import ElementTree

from guests import GUESTS
from report import as_preflight, classify, error_line
from rig import Rig, run

# One guest (policy-memory, 1088 MiB) is over this limit; the others are 64 MiB, but for
# the guest on a 1 GiB huge page (QEMU needs at least one page of memory), at the limit.
CONFIG = '[memory]\nlimit = "1 GiB"\n'
# The two sites the guard's storage policy serves (README, storage rule): where every
# migration copies its disks (--copy-storage-all creates them on the destination, so a
# missing disk is only a warning: the default), and where storage is shared, so a disk the
# destination cannot see is fatal (the administrator sets storage[missing] to deny). Each
# guest is checked under the policy of the site its migration flags describe.
SHARED_STORAGE_CONFIG = CONFIG + '[rules."storage[missing]"]\naction = "deny"\n'


# The smallest kernel QEMU's direct kernel boot loads (<os><kernel>): a multiboot image with
# the a.out kludge (flags bit 16: load it at 1 MiB as is), whose code is `cli; hlt; jmp hlt`.
# QEMU reads it (and every <initrd>, as a multiboot module) when it starts, on the
# destination too; no Linux kernel is on this machine.
_MB_MAGIC, _MB_FLAGS, _MB_LOAD = 0x1BADB002, 0x00010000, 0x100000
MULTIBOOT_KERNEL = struct.pack("<8I", _MB_MAGIC, _MB_FLAGS, -(_MB_MAGIC + _MB_FLAGS) & 0xFFFFFFFF,
                               _MB_LOAD, _MB_LOAD, 0, 0, _MB_LOAD + 32) + bytes([0xFA, 0xF4, 0xEB, 0xFD]) + bytes(28)


def _terminate(signum, _frame):
    raise SystemExit("differential: terminated by signal %d; cleaning up" % signum)


class Suite:
    def __init__(self, base, venv_bin, guests=GUESTS, progress=None):
        self.base = base
        self.progress = progress or (lambda line: None)
        self.venv_bin = venv_bin
        self.guests = tuple(guests)
        self.subset = self.guests != tuple(GUESTS)  # MG_DIFFERENTIAL_ONLY: some guests only
        self.rig = Rig(base, venv_bin)
        self.work = os.path.join(base, "work")
        self.config = os.path.join(self.work, "config.toml")
        self.shared_storage_config = os.path.join(self.work, "config-shared-storage.toml")
        self.results = []
        self.meta = {}
        self.cleanup_problems = []
        # `virsh destroy` takes about 2 s: guests are removed in the background while the
        # next one runs, except around guests that change the (global) huge page pools.
        self.remover = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.removing = []

    # -- paths ---------------------------------------------------------------------------
    def expand(self, text):
        return text.replace("{shared}", self.rig.shared())

    def on_source(self, path, host=None):
        """Where a guest's path is, seen from outside A's (or `host`'s) mount namespace."""
        if path.startswith("/var/lib/libvirt/"):
            return (host or self.rig.A).path("lib", path[len("/var/lib/libvirt/"):])
        return path

    def make_file(self, path, how):
        target = self.on_source(self.expand(path))
        if how == "swtpm-server-both":
            # each host's own swtpm, at the same path of its own /var/lib/libvirt
            if not self.expand(path).startswith("/var/lib/libvirt/"):
                raise ValueError("swtpm-server-both needs a path under /var/lib/libvirt: %s" % path)
            for host in self.rig.hosts.values():
                where = self.on_source(self.expand(path), host)
                os.makedirs(os.path.dirname(where), exist_ok=True)
                self.rig.serve_swtpm(where)
            return
        if how == "dir":
            os.makedirs(target, exist_ok=True)
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if how == "unix-server":
            self.rig.serve_unix(target)
        elif how == "multiboot":
            with open(target, "wb") as handle:
                handle.write(MULTIBOOT_KERNEL)
        elif how == "urandom":
            if os.path.lexists(target):
                os.unlink(target)
            os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 9))
        elif how in ("raw", "nvdimm"):
            with open(target, "wb") as handle:
                handle.truncate(1 << 20 if how == "raw" else 128 << 20)
        elif how == "seabios":
            shutil.copyfile("/usr/share/seabios/bios-256k.bin", target)
        elif how == "qemu":
            if os.path.lexists(target):
                os.unlink(target)
            os.symlink(shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64", target)
        else:
            raise ValueError("unknown file kind %r" % how)

    def anonymous(self, text):
        """The rig's temporary folder as <rig>, so that errors read the same from run to run."""
        return text.replace(self.base, "<rig>")

    # -- the guard, through its command line, in B's namespaces -----------------------------
    def guard(self, host, *args):
        return host.nsenter(os.path.join(self.venv_bin, "migration-guard"), *args, check=False)

    def check(self, xml_path, dest_facts, source_facts, copies_storage=False):
        # --probe: check runs on B, inside its namespaces, and looks at paths, devices and
        # huge pages at decision time as B's hook would.
        config = self.config if copies_storage else self.shared_storage_config
        result = self.guard(self.rig.B, "check", "--probe", "--domain-xml", xml_path, "--facts", dest_facts,
                            "--source-facts", source_facts, "--config", config, "--format", "json")
        record = {"guard_exit": result.returncode}
        try:
            data = json.loads(result.stdout)
        except ValueError:
            record.update(decision="error", guard_error=(result.stderr or result.stdout).strip()[:500])
            return record
        findings = data.get("findings", [])
        record.update(
            decision=data.get("decision") if result.returncode in (0, 1) else "error",
            deny_codes=sorted({f["code"] for f in findings if f.get("action") == "deny"}),
            warn_codes=sorted({f["code"] for f in findings if f.get("action") == "warn"}),
            findings=[{"rule": f.get("rule"), "code": f.get("code"), "action": f.get("action"),
                       "message": self.anonymous(f.get("message") or "")} for f in findings])
        if result.returncode not in (0, 1):
            record["guard_error"] = result.stderr.strip()[:500]
        return record

    def preflight(self, guest, dest_facts, copies_storage=False):
        """`migration-guard preflight`, run on A (in A's namespaces) as an operator would
        before an evacuation, with B's own guard deciding through --dest-shell (nsenter into
        B's namespaces, where it reads its facts where its hook would) and the guest's own
        migration flags, so that the source's refusals are judged as libvirt will."""
        from guard.rules.source_refusal import MIGRATE_FLAGS
        policy = CONFIG if copies_storage else SHARED_STORAGE_CONFIG
        dest_config = os.path.join(self.work, "B-%s.toml" % guest.name)
        with open(dest_config, "w") as handle:
            handle.write(policy + '\n[paths]\nfacts = "%s"\nbypass = "%s"\n'
                         % (dest_facts, os.path.join(self.work, "no-bypass.json")))
        shell = "nsenter -t %d -m -n env PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin MIGRATION_GUARD_CONFIG=%s" % (
            self.rig.B.pid("libvirtd"), self.venv_bin, dest_config)
        flags = [flag for flag in guest.flags if flag[2:] in MIGRATE_FLAGS]
        result = self.guard(self.rig.A, "preflight", guest.name, "--source", self.rig.A.uri, "--dest", self.rig.B.uri,
                            "--dest-shell", shell, "--config", self.config if copies_storage
                            else self.shared_storage_config, "--format", "json", *flags)
        record = {"pre_exit": result.returncode}
        try:
            decision = json.loads(result.stdout)["results"][0]
        except (ValueError, KeyError, IndexError):
            record.update(pre_decision="error", pre_error=(result.stderr or result.stdout).strip()[:500])
            return record
        findings = decision.get("findings", [])
        record.update(pre_decision=decision.get("decision"),
                      pre_deny_codes=sorted({f["code"] for f in findings if f.get("action") == "deny"}),
                      pre_warn_codes=sorted({f["code"] for f in findings if f.get("action") == "warn"}))
        if decision.get("decision") == "error":
            record["pre_error"] = self.anonymous(decision.get("reason") or "")
        return record

    # -- one guest -------------------------------------------------------------------------
    def run_guest(self, guest):
        rig = self.rig
        started_at = time.monotonic()
        timings = {}

        def lap(step):
            timings[step] = round(time.monotonic() - started_at - sum(timings.values()), 2)
        record = {"name": guest.name, "category": guest.category, "lacks": guest.lacks,
                  "flags": list(guest.flags), "expected_libvirt": guest.libvirt, "expected_error": guest.error,
                  "started": False, "migrated": False, "error": "", "decision": None}
        defined_on_b = []
        try:
            if guest.hugepages:
                self.wait_removed()
            record["hugepages"] = rig.set_hugepages(guest.hugepages) if guest.hugepages else {}
            short = {pool: (got, guest.hugepages[pool]) for pool, got in record["hugepages"].items()
                     if pool in guest.hugepages and got < guest.hugepages[pool]}
            if short:  # e.g. no contiguous 1 GiB left: a rig problem, not a verdict
                record["start_error"] = "the kernel reserved only %s huge pages" % ", ".join(
                    "%d of %d %s" % (got, wanted, pool) for pool, (got, wanted) in sorted(short.items()))
                return record
            for path, how in guest.files:
                self.make_file(path, how)
            for pool in ("mgpool", "mgpool-a"):
                rig.A.virsh("pool-refresh", pool, check=False)
            for index, other in enumerate(guest.on_b):  # B's own guests, defined and shut off
                path = os.path.join(self.work, "%s.on-b-%d.xml" % (guest.name, index))
                with open(path, "w") as handle:
                    handle.write(self.expand(other))
                rig.B.virsh("define", path)
                defined_on_b.append(ElementTree.fromstring(other).findtext("name"))
            xml_path = os.path.join(self.work, "%s.xml" % guest.name)
            with open(xml_path, "w") as handle:
                handle.write(self.expand(guest.xml))
            start = rig.A.virsh("create", xml_path, check=False)
            lap("start")
            if start.returncode != 0:
                record["start_error"] = self.anonymous(error_line(start.stderr))
                return record
            record["started"] = True
            migratable = os.path.join(self.work, "%s.migratable.xml" % guest.name)
            with open(migratable, "w") as handle:
                handle.write(rig.A.virsh("dumpxml", "--migratable", guest.name).stdout)
            lap("dumpxml")
            # B's facts as its collector sees them now, with A's guest running (huge pages in use).
            dest_facts = os.path.join(self.work, "B-%s.json" % guest.name)
            collected = self.guard(rig.B, "facts", "collect", "--uri", rig.B.uri, "--output", dest_facts)
            lap("facts")
            if collected.returncode != 0:
                record.update(decision="error", guard_exit=collected.returncode,
                              guard_error="facts collect: " + collected.stderr.strip()[:500])
            else:
                record.update(self.check(migratable, dest_facts, self.source_facts,
                                         copies_storage=any(f.startswith("--copy-storage") for f in guest.flags)))
            lap("check")
            if collected.returncode == 0:
                record.update(self.preflight(guest, dest_facts,
                                             copies_storage=any(f.startswith("--copy-storage") for f in guest.flags)))
            lap("preflight")
            migration = rig.migrate(guest.name, guest.flags)
            lap("migrate")
            on_b = guest.name in rig.B.running()
            on_a = guest.name in rig.A.running()
            record.update(virsh_exit=migration.returncode, on_b=on_b, on_a=on_a,
                          migrated=migration.returncode == 0 and on_b and not on_a,
                          error=self.anonymous(error_line(migration.stderr)) if migration.returncode != 0 else "")
            return record
        finally:
            if guest.hugepages or guest.on_b:
                rig.remove_guest(guest.name)
                if guest.hugepages:
                    rig.restore_hugepages()
                for name in defined_on_b:  # shut off now (the migrated copy destroyed just above)
                    rig.B.virsh("undefine", name, check=False)
            else:
                self.removing.append(self.remover.submit(rig.remove_guest, guest.name))
            lap("cleanup")
            record["timings"] = timings
            record["seconds"] = round(time.monotonic() - started_at, 1)
            record["class"] = classify(record)
            record["preflight_class"] = classify(as_preflight(record))

    def wait_removed(self):
        for future in self.removing:
            try:
                future.result(timeout=60)
            except Exception:  # a guest that would not go is stopped with its daemon at the end
                pass
        self.removing = []

    # -- the whole run ---------------------------------------------------------------------
    def run(self):
        """Everything, once. The rig is closed (daemons stopped, cgroups removed, huge page
        pools restored) whatever happens, SIGTERM included."""
        began = time.monotonic()
        previous = signal.signal(signal.SIGTERM, _terminate)
        try:
            os.makedirs(self.work, exist_ok=True)
            with open(self.config, "w") as handle:
                handle.write(CONFIG)
            with open(self.shared_storage_config, "w") as handle:
                handle.write(SHARED_STORAGE_CONFIG)
            self.rig.open()
            self.source_facts = os.path.join(self.work, "A.json")
            collected = self.guard(self.rig.A, "facts", "collect", "--uri", self.rig.A.uri,
                                   "--output", self.source_facts)
            if collected.returncode != 0:
                raise RuntimeError("collecting A's facts failed: %s" % collected.stderr.strip())
            self.meta = self._versions()
            self.progress("differential: rig up in %.0f s; %d guests" % (time.monotonic() - began, len(self.guests)))
            for guest in self.guests:
                result = self.run_guest(guest)
                self.results.append(result)
                self.progress("differential: %-24s %-11s %s s" % (guest.name, result["class"], result["seconds"]))
        finally:
            self.wait_removed()
            self.remover.shutdown(wait=True)
            self.cleanup_problems = self.rig.close()
            signal.signal(signal.SIGTERM, previous)
            self.meta["seconds"] = round(time.monotonic() - began, 1)
            self.meta["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        return self.results

    def _versions(self):
        version = self.rig.A.virsh("version").stdout
        found = {}
        libvirt = re.search(r"Using library: libvirt (\S+)", version)
        qemu = re.search(r"Running hypervisor: QEMU (\S+)", version)
        guard = run([os.path.join(self.venv_bin, "migration-guard"), "--version"], check=False).stdout.strip()
        found.update(libvirt=libvirt.group(1) if libvirt else "?", qemu=qemu.group(1) if qemu else "?",
                     guard=guard.split()[-1] if guard else "?")
        return found

    def save(self, path):
        with open(path, "w") as handle:
            json.dump({"meta": self.meta, "results": self.results}, handle, indent=1)
