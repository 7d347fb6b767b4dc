"""The outcome loop in the collector service: for each decision the hook left pending
(guard.runtime.pending), decide what became of the migration (guard.decide.outcome.judge) from what this
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

from .. import __version__
from ..decide.outcome import (
    EVENT_DEFINED,
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
from ..output import journal
from ..output.audit import append_record
from ..output.audit_record import outcome_record, render_record
from ..output.escaping import text as one_line
from ..runtime.deferred import DEFAULT_FOLDER as DEFERRED_FOLDER
from ..runtime.deferred import DEFER_SECONDS, boot_clock, remove_decision, sweep
from ..runtime.pending import claim_pending, keep_xml, read_pending, remove_pending, touch_heartbeat, unclaim_pending
from ..runtime.trusted import Untrusted

POLL_SECONDS = 2.0
HEARTBEAT_EVERY = 60.0
DEFINED, ARRIVING = "defined", "arriving"
SLACK = 1.0  # seconds: an event's time is when the service got it
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


def _job_running(dom, libvirt):
    """Whether a job (an incoming migration) runs for the guest; False where the driver
    cannot say (libvirt's test driver)."""
    try:
        return dom.jobInfo()[0] != libvirt.VIR_DOMAIN_JOB_NONE
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise
        return False


def pending_of(entry):
    return Pending(str(entry.get("id")), float(entry.get("time") or 0.0), entry.get("domain"), entry.get("uuid"),
                   entry.get("decision"), entry.get("said"), tuple(entry.get("deny_codes") or ()), entry.get("mode"),
                   tuple(entry["offline_codes"]) if isinstance(entry.get("offline_codes"), list) else None)


class OutcomeTracker:
    """Decides the outcomes of pending decisions. The service tells it when it connects to
    libvirt and when that connection goes, and passes every lifecycle event."""

    def __init__(self, config, log, qemu_logs=QEMU_LOG_DIR, host=None, deferred=DEFERRED_FOLDER):
        self.config, self.log, self.qemu_logs = config, log, qemu_logs
        # Refusals deferred to prepare (guard.decide.deferral): the markers of guests an
        # offline migration defined here go at once, stale ones after DEFER_SECONDS.
        self.deferred, self.defined_here = deferred, {}  # {uuid: boot clock of its DEFINED event}
        self.host = host or os.uname().nodename
        self.lock = threading.Lock()
        self.wakeup = threading.Event()
        self.conn = None
        self.conn_lock = threading.Lock()  # held for a lookup, and to drop the connection
        self.connected_since = None  # epoch: events since then have all been seen
        self.beat = 0.0
        self.events = {}  # uuid -> [(event, detail, epoch)]
        self.problems_said = set()

    # The service's side.
    def connected(self, conn):
        with self.conn_lock:
            self.conn = conn
        with self.lock:
            self.connected_since = time.time()
        self.wakeup.set()

    def disconnected(self):
        """The service is about to close its connection: wait for a lookup in flight, so
        that no call runs on a closed connection."""
        with self.conn_lock:
            self.conn = None
        with self.lock:
            self.connected_since = None

    def on_event(self, uuid, event, detail):
        with self.lock:
            seen = self.events.setdefault(uuid, [])
            seen.append((event, detail, time.time()))
            del seen[:-MAX_EVENTS]
            if event == EVENT_DEFINED:
                self.defined_here[uuid] = boot_clock()
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
        now = time.time() if now is None else now
        self._heartbeat(folder, now)
        self._sweep_deferred()
        entries, problems = read_pending(folder)
        for problem in problems:
            if problem not in self.problems_said:
                self.problems_said.add(problem)
                self.log.warning("outcome not tracked", error=problem)
        written = []
        # A guest's attempts in order: each one's window ends where the next begins, so a
        # retry that arrived says nothing about the attempt before it.
        pendings = [pending_of(entry) for entry in entries]
        for index, pending in enumerate(pendings):
            later = [p.time for p in pendings[index + 1:] if (p.uuid or "").lower() == (pending.uuid or "").lower()]
            verdict = self._verdict(pending, now, min(later) if later else None)
            if verdict is None and now - pending.time > self.config.outcome_wait:
                verdict = expired(pending, now, self.config.outcome_wait)
            if verdict is not None:
                record = self._record(pending, verdict, now)
                if record is not None:
                    written.append(record)
        self._forget_events(entries)
        return written

    def _sweep_deferred(self):
        """Drop the deferred refusals no prepare will carry out: of a guest defined here
        after its marker (an offline migration), and the expired."""
        with self.lock:
            defined, self.defined_here = self.defined_here, {}
        if not self.deferred:
            return
        try:
            for name, uuid in sweep(self.deferred, boot_clock(), DEFER_SECONDS, defined):
                self.log.info("deferred refusal dropped (its guest was defined here, or no prepare came)",
                              domain=name, uuid=uuid)
        except OSError as exc:
            self.log.warning("deferred refusals not swept", error="%s: %s" % (self.deferred, exc))

    def _heartbeat(self, folder, now):
        """Tell the hook this service is running (guard.runtime.pending.HEARTBEAT): without one, the
        hook leaves nothing pending (a host with the collector timer only)."""
        if now - self.beat < HEARTBEAT_EVERY:
            return
        try:
            touch_heartbeat(folder)
            self.beat = now
        except (OSError, Untrusted) as exc:
            self.log.warning("outcome not tracked", error="%s: %s" % (folder, exc))

    def _verdict(self, pending, now, until=None):
        """Judge one decision on what this host shows of its window: from the decision until
        `until` (the next decision for the same guest), or now."""
        end = until if until is not None else float("inf")
        with self.lock:
            since = self.connected_since
            events = tuple(e for e in self.events.get((pending.uuid or "").lower(), ())
                           if pending.time - SLACK < e[2] < end)
        state = self._state(pending.uuid)
        if state is False:
            return None  # libvirt is away or could not be asked: nothing can be told now
        defined, arriving = state in (DEFINED, ARRIVING), state == ARRIVING
        state = None if state in (DEFINED, ARRIVING) else state
        watched = since is not None and since <= pending.time
        if arriving and until is None and judge(pending, Evidence(state, events, (), watched, (), defined, arriving),
                                                now) is None:
            # Still arriving, and no event settles it: judge does not read the log then, so
            # the 256 KiB tail is not read every 2 s of a long migration.
            return None
        # Lines without a time of their own (QEMU's command line) go with the last that had one.
        log = tuple(line for line in qemu_log_since(pending.domain, pending.time, self.qemu_logs)
                    if (log_time(line) or 0.0) < end)
        evidence = Evidence(state, events, log, watched, (), defined, arriving)
        verdict = judge(pending, evidence, now, superseded=until is not None)
        if verdict is None or verdict.outcome != "failed":
            return verdict
        # libvirt's errors from the decision to the failure (when the QEMU log dates it).
        errors = daemon_errors_since(self.config.outcome_libvirt_log, pending.time,
                                     min(failure_time(log) or verdict.at, end))
        return judge(pending, evidence._replace(daemon_errors=errors), now, superseded=until is not None)

    def _state(self, uuid):
        """(state, reason) of the guest here if it runs, ARRIVING if an incoming job runs
        for it, DEFINED if it is only defined, None if it is not here, False if libvirt
        could not be asked (or the service is not connected)."""
        import libvirt
        with self.conn_lock:
            conn = self.conn
            if conn is None:
                return False
            try:
                dom = conn.lookupByUUIDString(uuid)
                if _job_running(dom, libvirt):
                    return ARRIVING
                if not dom.isActive():
                    return DEFINED if dom.isPersistent() else ARRIVING
                state = dom.state()
                return state[0], state[1]
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                return False

    def _record(self, pending, verdict, now):
        kind = classify(pending.said, pending.deny_codes, verdict.outcome, verdict.where, pending.offline_codes)
        kept = None
        folder = self.config.paths.pending
        if kind == FALSE_ALLOW:
            try:
                kept = keep_xml(folder, pending.id, self.config.paths.false_allows)
            except (OSError, Untrusted) as exc:
                self.log.warning("false allow's XML not kept", domain=pending.domain, error=str(exc))
        record = outcome_record(pending, verdict, kind, now, self.host, __version__, kept)
        # Claimed before it is recorded: a decision whose files cannot then be removed (a
        # read-only folder) is never recorded twice.
        try:
            claimed = claim_pending(folder, pending.id)
        except OSError as exc:
            self.log.error("outcome not recorded", domain=pending.domain, error="cannot claim %s: %s" % (
                pending.id, exc))
            return None
        try:
            append_record(self.config.paths.audit_log, render_record(record))
        except (OSError, ValueError, Untrusted) as exc:
            self.log.error("outcome not audited", domain=pending.domain, error=str(exc))
            unclaim_pending(folder, pending.id, claimed)  # the next check tries again
            return None
        remove_pending(folder, pending.id, claimed)
        if pending.decision == "deferred" and self.deferred and pending.domain:
            # Its attempt is over (an offline migration's definition arrived, or it failed
            # before prepare): no prepare will carry the refusal out, and a later start of
            # the guest here must not meet it.
            remove_decision(self.deferred, pending.domain, pending.uuid, pending.id)
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
