"""Is the hook live, and making it live after a first install without breaking migrations.

libvirt registers a driver's hooks when its daemon starts: if neither `hooks/qemu` nor an
executable in `hooks/qemu.d/` existed then, a hook added later is never run until the
daemon restarts. If one did (an administrator's own `hooks/qemu`, say), libvirt lists
`qemu.d/` afresh at every call, so a hook added there later runs at once (both seen on
libvirt 9.0 with real daemons). A daemon restart reconnects every guest (harmless: the
hook exits 0 for `reconnect`) but cancels jobs in progress, migrations included, and
disconnects every client (nova-compute, vdsm, open virsh sessions). So installing restarts
nothing: the RPM's %post (`migration-guard hook-activate`) only says whether the hook is
live and, if not, to run `migration-guard activate`, which restarts the daemon only when no
guest has a job in progress and otherwise says when to run it again. The Ansible role runs
it host by host (`serial:`). Neither ever fails an install.

Shared with `migration-guard status`: the daemon's process and start time, the hook's
ctime, and a marker under /run recording a daemon instance known to run the hook (so that
an upgrade, which replaces the hook file and so renews its ctime, is not mistaken for a
hook the daemon has never seen).
"""
import json
import os
import shutil
import subprocess
import threading
import time

from ..output import journal
from ..runtime.files import write_atomic
from ..runtime.trusted import Untrusted, read_trusted
from ..units import format_time

HOOKS_DIR = "/etc/libvirt/hooks"
HOOK_NAME = "50-migration-guard"
DAEMONS = ("virtqemud", "libvirtd")  # modular daemon first; libvirtd on hosts still monolithic
MARKER = "/run/migration-guard/hook-live.json"
# The sh front end (hooks/qemu) truncates this file on every call libvirt makes to it: the
# proof that the running daemon runs the hook (guard.services.status).
CALLED = "/run/migration-guard/hook-called"
SYSTEMCTL_TIMEOUT = 60.0
LIBVIRT_TIMEOUT = 30.0

# libvirt's virDomainJobType and virDomainJobOperation, by number (libvirt-python may be absent).
_JOB_DONE = {0, 3, 4, 5}  # none, completed, failed, cancelled
OPERATIONS = {0: "job", 1: "start", 2: "save", 3: "restore", 4: "incoming migration", 5: "outgoing migration",
              6: "snapshot", 7: "snapshot revert", 8: "dump", 9: "backup", 10: "snapshot delete"}


def hook_path(hooks_dir=HOOKS_DIR):
    return os.path.join(hooks_dir, "qemu.d", HOOK_NAME)


# -- the daemon ---------------------------------------------------------------------------

def systemctl(*args, timeout=SYSTEMCTL_TIMEOUT):
    """CompletedProcess of `systemctl ARGS`, or None without systemctl (or if it hangs)."""
    tool = shutil.which("systemctl")
    if tool is None:
        return None
    try:
        return subprocess.run([tool] + list(args), capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None


def running_daemon():
    """(unit name, main pid) of the running libvirt daemon that serves QEMU, or None;
    raises LookupError when systemd cannot be asked."""
    asked = False
    for unit in DAEMONS:
        result = systemctl("show", "--property=ActiveState,MainPID", unit + ".service")
        if result is None or result.returncode != 0:
            continue
        asked = True
        props = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        pid = int(props.get("MainPID") or 0) if (props.get("MainPID") or "0").isdigit() else 0
        if props.get("ActiveState") == "active" and pid > 0:
            return unit, pid
    if not asked:
        raise LookupError("systemctl is missing or does not answer")
    return None


def process_start(pid):
    """Epoch seconds at which process pid started (about 10 ms precision)."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = int(fields[19])  # field 22 of stat(5), counted after the ")" that ends the name
    with open("/proc/uptime") as handle:
        uptime = float(handle.read().split()[0])
    booted = time.time() - uptime
    return booted + ticks / float(os.sysconf("SC_CLK_TCK"))


# -- does the daemon run the hook? ---------------------------------------------------------

def read_marker(path=MARKER):
    try:
        data = json.loads(read_trusted(path, 4096).decode("utf-8", "replace"))
        return (int(data["pid"]), float(data["started"]), str(data.get("how", "")))
    except (FileNotFoundError, Untrusted, ValueError, KeyError, TypeError):
        return None


def write_marker(pid, started, how, path=MARKER):
    try:
        write_atomic(path, json.dumps({"pid": pid, "started": started, "how": how, "at": time.time()},
                                      sort_keys=True) + "\n", mode=0o644)
    except OSError:
        pass  # only an optimisation of later answers; never fails an install


def daemon_runs_hook(pid, started, hooks_dir=HOOKS_DIR, marker=MARKER, called=None):
    """(True or False, why) for the daemon with this pid that started at `started`.

    libvirt registers the QEMU driver's hooks once, when its daemon starts, if hooks/qemu or
    an executable in hooks/qemu.d exists then; registered, it lists qemu.d afresh at every
    call. So the question is what was there at the daemon's start, and the evidence, best
    first: libvirt ran our hook since then (the sh front end stamps CALLED on every call,
    reconnects included); nothing was added to or removed from qemu.d since before the start
    (the folder's mtime: a chmod, touch or restorecon of the hook does not change it, unlike
    the hook's own ctime); hooks/qemu was there before the start (the hooks folder's mtime);
    or a marker written when this very daemon was seen running the hook (an upgrade, which
    replaces the hook file)."""
    ours = hook_path(hooks_dir)
    if not os.path.exists(ours):
        return False, "the hook %s is missing" % ours
    called = called or os.path.join(os.path.dirname(marker), os.path.basename(CALLED))  # beside the marker
    try:
        ran = os.stat(called).st_mtime
        if ran >= started:
            return True, "libvirt ran the hook at %s, after the daemon (pid %d) started" % (format_time(ran), pid)
    except OSError:
        pass
    qemu_d = os.path.dirname(ours)
    try:
        changed = os.stat(qemu_d).st_mtime
    except OSError:
        changed = None
    if changed is not None and changed <= started:
        return True, ("the hook was in %s when the daemon (pid %d) started %s (nothing added or removed there "
                      "since %s)" % (qemu_d, pid, format_time(started), format_time(changed)))
    foreign = os.path.join(hooks_dir, "qemu")
    try:
        if os.path.isfile(foreign) and os.stat(hooks_dir).st_mtime <= started:
            return True, ("libvirt found %s when the daemon (pid %d) started, so it lists qemu.d at every call and "
                          "runs the hook" % (foreign, pid))
    except OSError:
        pass
    known = read_marker(marker)
    if known and known[0] == pid and abs(known[1] - started) < 1.0:
        return True, "the daemon (pid %d) was seen running the hook before it was replaced (%s)" % (pid, known[2])
    return False, ("the daemon (pid %d) started %s, before the hook appeared in %s (changed %s), and libvirt has not "
                   "run it since: libvirt runs it only after the daemon restarts"
                   % (pid, format_time(started), qemu_d, format_time(changed) if changed is not None else "?"))


# -- jobs ----------------------------------------------------------------------------------

def _jobs(uri):
    import libvirt

    from ..facts.collect import quiet_libvirt
    quiet_libvirt()
    conn = libvirt.openReadOnly(uri)
    try:
        jobs = []
        for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                stats = dom.jobStats()
            except libvirt.libvirtError:
                continue  # gone meanwhile
            if stats.get("type", 0) not in _JOB_DONE:
                jobs.append((dom.name(), OPERATIONS.get(stats.get("operation", 0), "job")))
        return jobs
    finally:
        conn.close()


def active_jobs(uri="qemu:///system", timeout=LIBVIRT_TIMEOUT):
    """[(guest, operation)] of jobs in progress on the daemon at uri. Raises RuntimeError
    when the daemon cannot be asked within timeout (a hung daemon must not hang rpm)."""
    answer = {}

    def ask():
        try:
            answer["jobs"] = _jobs(uri)
        except Exception as exc:  # noqa: BLE001 - libvirt missing, refused, ...
            answer["error"] = "%s: %s" % (type(exc).__name__, " ".join(str(exc).split()))
    worker = threading.Thread(target=ask, daemon=True)
    worker.start()
    worker.join(timeout)
    if "jobs" in answer:
        return answer["jobs"]
    raise RuntimeError(answer.get("error") or "no answer within %.0fs" % timeout)


# -- %post ---------------------------------------------------------------------------------

NOT_YET = ("not-live", "deferred-unknown", "deferred-jobs", "restart-failed", "unknown-daemon")


def activate(uri="qemu:///system", hooks_dir=HOOKS_DIR, marker=MARKER, remember_only=False, say=print,
             restart=True):
    """Make the running daemon run the hook; returns what was done (a word for tests; the
    ones in NOT_YET leave enforcement not live). restart=False (the RPM's %post): never
    restart the daemon, only say whether the hook is live and how to make it so. Never
    raises: an install must not fail for this."""
    def tell(text, priority=5):
        say("migration-guard: " + text)
        journal.send("hook activation: " + text, priority=priority, message_id=journal.HOOK_ACTIVATION)

    hook = hook_path(hooks_dir)
    if not os.path.exists(hook):
        tell("%s is not installed; nothing to activate" % hook, 4)
        return "no-hook"
    try:
        daemon = running_daemon()
    except LookupError as exc:
        tell("cannot ask systemd which libvirt daemon runs (%s): if virtqemud or libvirtd is running, restart it "
             "when no migration is in progress; enforcement starts then" % exc, 4)
        return "unknown-daemon"
    if daemon is None:
        if not remember_only:
            tell("no libvirt daemon is running; enforcement starts when virtqemud (or libvirtd) starts")
        return "no-daemon"
    unit, pid = daemon
    try:
        started = process_start(pid)
        live, why = daemon_runs_hook(pid, started, hooks_dir, marker)
    except (OSError, ValueError, IndexError) as exc:
        live, why, started = False, "cannot read the daemon's start time (%s)" % exc, None
    if live:
        if started is not None:
            write_marker(pid, started, "checked before an upgrade" if remember_only else "checked at install",
                         marker)
        if not remember_only:
            tell("enforcement is live: %s" % why)
        return "live"
    if remember_only:
        return "not-live"
    if not restart:
        tell("the hook is installed but not live until %s restarts (%s): run `migration-guard activate`, which "
             "restarts it only when no guest has a job in progress (a restart cancels migrations)" % (unit, why), 4)
        return "not-live"
    how = ("run `migration-guard activate` again, or `systemctl restart %s`, when no migration is in progress "
           "(running guests are not affected); `migration-guard status` shows whether enforcement is live" % unit)
    try:
        jobs = active_jobs(uri)
    except RuntimeError as exc:
        tell("%s was not restarted: could not ask it for its guests' jobs (%s). Enforcement starts at its next "
             "restart: %s" % (unit, exc, how), 4)
        return "deferred-unknown"
    if jobs:
        listed = ", ".join("%s: %s" % job for job in jobs[:10]) + (", ..." if len(jobs) > 10 else "")
        tell("%s was not restarted: guests have jobs in progress that a restart would cancel (%s). Enforcement "
             "starts at its next restart: %s" % (unit, listed, how), 4)
        return "deferred-jobs"
    tell("restarting %s so that libvirt runs the hook (no job in progress; running guests are not affected)" % unit)
    result = systemctl("restart", unit + ".service")
    if result is None or result.returncode != 0:
        detail = (result.stderr.strip() if result is not None else "") or "systemctl failed"
        tell("could not restart %s (%s). Enforcement starts at its next restart: %s" % (unit, detail, how), 3)
        return "restart-failed"
    return "restarted"
