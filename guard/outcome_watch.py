"""The outcome loop in the collector service: for each decision the hook left pending
(guard.pending), decide what became of the migration (guard.outcome.judge) from what this
host sees, and append the outcome record to the audit log.

Runs in the service's own thread, every POLL_SECONDS while anything is pending (a listdir
otherwise), and at once on a lifecycle event of a guest. It asks libvirt for the guest's
state over the service's connection and reads the guest's QEMU log and, for a failure,
libvirt's own error log; it never holds the hook (which only writes a file).
"""
import os
import re
import subprocess
import threading
import time

from . import __version__, journal
from .audit import append_record
from .audit_record import outcome_record, render_record
from .escaping import text as one_line
from .outcome import (
    ABSENCE_GRACE_SECONDS,
    FALSE_ALLOW,
    Evidence,
    Pending,
    classify,
    expired,
    failure_time,
    judge,
    lines_since,
    log_time,
)
from .pending import keep_xml, read_pending, remove_pending
from .trusted import Untrusted

POLL_SECONDS = 2.0
DEFINED = "defined"
QEMU_LOG_DIR = "/var/log/libvirt/qemu"
# What is read of a log: its end, where this migration's lines are.
MAX_LOG_TAIL = 256 * 1024
MAX_LOG_LINES = 400
JOURNAL_SECONDS = 5.0
# Events kept per guest (a guest migrating back and forth): the newest.
MAX_EVENTS = 32
# libvirt's log: "...: 1234: error : qemuMigrationDstPrepareAny:123 : the message"
_DAEMON_ERROR = re.compile(r":\s*\d+:\s*error\s*:\s*[A-Za-z0-9_]+:\d+\s*:\s*(.*)$")


def _tail(path, limit=MAX_LOG_TAIL):
    """The last `limit` bytes of a file as lines (the first, cut, dropped), or () if unreadable."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - limit))
            data = handle.read(limit)
    except OSError:
        return ()
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[1:] if size > limit else lines


def qemu_log_since(name, since, folder=QEMU_LOG_DIR):
    if not name or "/" in name:
        return ()
    return lines_since(_tail(os.path.join(folder, name + ".log")), since, MAX_LOG_LINES)


def daemon_errors_since(where, since, until):
    """libvirt's own errors between two times: from a log file, or the journal of
    virtqemud/libvirtd ("journal"); () when there is none or it cannot be read in time."""
    if not where:
        return ()
    if where == "journal":
        try:
            result = subprocess.run(["journalctl", "--no-pager", "-q", "-o", "cat", "-p", "err",
                                     "--since", "@%d" % int(since - 1), "--until", "@%d" % int(until + 1),
                                     "-u", "virtqemud.service", "-u", "libvirtd.service", "-n", "50"],
                                    capture_output=True, text=True, timeout=JOURNAL_SECONDS)
        except (OSError, subprocess.SubprocessError):
            return ()
        return tuple(line.strip() for line in result.stdout.splitlines() if line.strip())[-8:]
    errors = []
    for line in lines_since(_tail(where), since, MAX_LOG_LINES):
        if (log_time(line) or 0.0) > until + 1.0:
            break
        match = _DAEMON_ERROR.search(line)
        if match:
            errors.append(match.group(1).strip())
    return tuple(errors[-8:])


def pending_of(entry):
    return Pending(str(entry.get("id")), float(entry.get("time") or 0.0), entry.get("domain"), entry.get("uuid"),
                   entry.get("decision"), entry.get("said"), tuple(entry.get("deny_codes") or ()), entry.get("mode"))


class OutcomeTracker:
    """Decides the outcomes of pending decisions. The service tells it when it connects to
    libvirt and when that connection goes, and passes every lifecycle event."""

    def __init__(self, config, log, qemu_logs=QEMU_LOG_DIR, host=None):
        self.config, self.log, self.qemu_logs = config, log, qemu_logs
        self.host = host or os.uname().nodename
        self.lock = threading.Lock()
        self.wakeup = threading.Event()
        self.conn = None
        self.connected_since = None  # epoch: events since then have all been seen
        self.events = {}  # uuid -> [(event, detail, epoch)]
        self.problems_said = set()

    # The service's side.
    def connected(self, conn):
        with self.lock:
            self.conn, self.connected_since = conn, time.time()
        self.wakeup.set()

    def disconnected(self):
        with self.lock:
            self.conn, self.connected_since = None, None

    def on_event(self, uuid, event, detail):
        with self.lock:
            seen = self.events.setdefault(uuid, [])
            seen.append((event, detail, time.time()))
            del seen[:-MAX_EVENTS]
        self.wakeup.set()

    def run(self, stopping):
        """Until stopping is set: check whenever something is pending."""
        while not stopping.is_set():
            self.wakeup.wait(POLL_SECONDS)
            self.wakeup.clear()
            if stopping.is_set():
                break
            try:
                self.check()
            except Exception as exc:  # noqa: BLE001 - the service keeps going; the files stay for the next check
                self.log.error("outcome check failed", error="%s: %s" % (type(exc).__name__, exc))

    # Deciding.
    def check(self, now=None):
        """Decide what can be decided now; returns the outcome records written."""
        folder = self.config.paths.pending
        entries, problems = read_pending(folder)
        for problem in problems:
            if problem not in self.problems_said:
                self.problems_said.add(problem)
                self.log.warning("outcome not tracked", error=problem)
        written = []
        for entry in entries:
            pending = pending_of(entry)
            now = time.time() if now is None else now
            verdict = self._verdict(pending, now)
            if verdict is None:
                continue
            written.append(self._record(pending, verdict, now))
        self._forget_events(entries)
        return written

    def _verdict(self, pending, now):
        with self.lock:
            conn, since = self.conn, self.connected_since
            events = tuple(e for e in self.events.get((pending.uuid or "").lower(), ()) if e[2] >= pending.time - 1.0)
        if now - pending.time > self.config.outcome_wait:
            return expired(pending, now, self.config.outcome_wait)
        if conn is None:
            return None  # libvirt is away: nothing can be told now
        state = self._state(conn, pending.uuid)
        if state is False:
            return None  # could not ask
        defined = state == DEFINED
        state = None if defined else state
        evidence = Evidence(state, events, (), since is not None and since <= pending.time, (), defined)
        verdict = judge(pending, evidence, now)
        if verdict is not None and verdict.outcome == "migrated":
            return verdict
        if state is not None or (verdict is None and now - pending.time < ABSENCE_GRACE_SECONDS):
            return verdict
        # Not here: read what tells how it ended, then judge again.
        log = qemu_log_since(pending.domain, pending.time, self.qemu_logs)
        # libvirt's errors from the decision to the failure (when the QEMU log dates it).
        errors = daemon_errors_since(self.config.outcome_libvirt_log, pending.time, failure_time(log) or now)
        return judge(pending, evidence._replace(log=tuple(log), daemon_errors=errors), now)

    @staticmethod
    def _state(conn, uuid):
        """(state, reason) of the guest here if it runs, DEFINED if it is only defined, None
        if it is not here, False if libvirt could not be asked."""
        import libvirt
        try:
            dom = conn.lookupByUUIDString(uuid)
            if not dom.isActive():
                return DEFINED
            state = dom.state()
            return state[0], state[1]
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            return False

    def _record(self, pending, verdict, now):
        kind = classify(pending.said, pending.deny_codes, verdict.outcome)
        kept = None
        folder = self.config.paths.pending
        if kind == FALSE_ALLOW:
            try:
                kept = keep_xml(folder, pending.id, self.config.paths.false_allows)
            except (OSError, Untrusted) as exc:
                self.log.warning("false allow's XML not kept", domain=pending.domain, error=str(exc))
        record = outcome_record(pending, verdict, kind, now, self.host, __version__, kept)
        try:
            append_record(self.config.paths.audit_log, render_record(record))
        except (OSError, ValueError, Untrusted) as exc:
            self.log.error("outcome not audited", domain=pending.domain, error=str(exc))
            return record  # the files stay: the next check tries again
        remove_pending(folder, pending.id)
        name = one_line(pending.domain or pending.uuid or "?")
        if kind == FALSE_ALLOW:
            journal.send("migration of %s: allowed, then failed here: %s" % (name, one_line(verdict.reason or "?")),
                         priority=4, message_id=journal.FALSE_ALLOW, MG_EVENT="outcome", MG_OUTCOME=verdict.outcome,
                         MG_CLASS=kind, MG_DOMAIN=pending.domain, MG_UUID=pending.uuid, MG_DECISION_ID=pending.id,
                         MG_KEPT_XML=kept)
        else:
            journal.send("migration of %s (%s): %s (%s)" % (name, pending.decision, verdict.outcome, kind),
                         priority=4 if kind == "false-deny" else 6, message_id=journal.OUTCOME, MG_EVENT="outcome",
                         MG_OUTCOME=verdict.outcome, MG_CLASS=kind, MG_DOMAIN=pending.domain, MG_UUID=pending.uuid,
                         MG_DECISION_ID=pending.id)
        return record

    def _forget_events(self, entries):
        """Events only matter while their guest has a pending decision."""
        waiting = {(entry.get("uuid") or "").lower() for entry in entries}
        with self.lock:
            for uuid in [u for u in self.events if u not in waiting]:
                if all(time.time() - at > 60 for _e, _d, at in self.events[uuid]):
                    del self.events[uuid]
