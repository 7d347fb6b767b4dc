"""The `migrate` hook: decide an incoming migration on the destination.

libvirt runs `/etc/libvirt/hooks/qemu.d/50-migration-guard NAME migrate begin -` with the
incoming XML on stdin, before QEMU starts here. Exit 1 refuses (stderr is what `virsh
migrate` shows), exit 0 accepts. stdout would replace the domain XML: the sh front end
(hooks/qemu) points it at stderr before Python starts. This module only gathers the
inputs, calls guard.decide.core.decide and writes the outcome out; every outcome, including
errors and timeouts, is audited and bounded in time.
"""
# The cyclic garbage collector, paused while the modules below load (lxml among them, in
# the hook): they allocate enough for several passes, a millisecond or two of each hook run,
# and leave nothing for one to free (reference counting frees what a module drops).
# Resumed at the end of this module for whoever else imports it (the tests); entry()
# pauses it again for the whole decision of the short-lived hook process.
import gc

_GC_WAS_ENABLED = gc.isenabled()
gc.disable()

# _signal, not signal: the signal module builds enums of every signal at import, which
# costs more than the decision. The handlers and timers are the same.
import _signal as signal
import _thread
import os
import sys
import time

from . import __version__
from .config import Config, load_config
from .decide.core import decide, failed
from .errors import ConfigError, GuardError, InputError
from .guest.domain import parse_domain
from .output import escaping
from .output.audit import append_record
from .output.audit_record import decision_record, iso_time, render_record
from .output.journal import send as journal_send
from .output.report import refusal_lines
from .rules.findings import public
from .runtime.bounded import Event, Timer
from .runtime.trusted import Untrusted, read_trusted
from .services.incoming import incoming_inputs
from .xmlsafe import MAX_XML_BYTES


class HookTimeout(Exception):
    pass


class HookSignal(Exception):
    """SIGTERM, SIGINT or SIGHUP while deciding: an error, decided by on_error."""

    def __init__(self, signum):
        Exception.__init__(self, signum)
        self.signum = signum


def _on_timeout(_signum, _frame):
    raise HookTimeout()


def _on_signal(signum, _frame):
    raise HookSignal(signum)


_STOP_SIGNALS = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT", signal.SIGHUP: "SIGHUP"}
# Once decided, writing out the outcome (stderr, audit log, journal) may take this long;
# then the process ends with the decision's exit code whatever is still blocked.
WRITE_OUT_SECONDS = 3.0
DEFAULT_TIMEOUT = 10.0  # until the config says otherwise
# Control and bidi characters a guest (name, metadata), a bypass reason or a config value
# could carry into a line of virsh's error or the journal: shown escaped (\x0a, \x9b,
# \u202e), so one line stays one line and the terminal acts on none of them.
one_line = escaping.text


class _Run:
    """One hook run: what it knows so far, and the single place its outcome is written."""

    def __init__(self, argv, stderr):
        self.started = time.monotonic()
        self.guest = argv[0] if argv else "?"
        self.op = " ".join(argv[1:3]) if len(argv) > 1 else "?"
        self.stderr = stderr
        self.config = Config()
        self.domain = None
        self.xml = None  # the incoming XML as read, kept with a decision that lets it through
        self.outcome = None  # set once, by whoever decides first (the main thread or the backstop)
        self.lock = _thread.allocate_lock()
        self.written = Event()
        self.backstop = None
        self.record_id = os.urandom(16).hex()  # the decision's id, which a deferred refusal's marker names

    def say(self, line):
        try:
            self.stderr.write(one_line(line.rstrip("\n")) + "\n")
            self.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass

    def claim(self, outcome):
        """Make `outcome` the decision unless one was made already; True if it is now."""
        with self.lock:
            if self.outcome is not None:
                return False
            self.outcome = outcome
            return True

    def finish(self, outcome, write=None):
        """Write the decided outcome out once and return its exit code. From the moment it
        is decided the exit code is the decision: the deciding-phase timers are stopped, and
        writing out (stderr, audit log, journal) is bounded and can only add a warning.
        write: what writes it out, when not _write (a deferred refusal's own record)."""
        if not self.claim(outcome):  # the backstop decided first: its exit code, once written
            self.written.wait(WRITE_OUT_SECONDS)
            return self.outcome.exit_code
        return self.write_out(write)

    def write_out(self, write=None):
        outcome = self.outcome
        guard = self._decided()
        try:
            (write or self._write)(outcome)
        finally:
            guard.cancel()
            self.written.set()
        return outcome.exit_code

    def _write(self, outcome):
        # virsh's error counts the host paths a finding names; the audit record names them.
        for line in refusal_lines(outcome._replace(findings=public(outcome.findings))):
            self.say(line)
        now = time.time()
        record_id = self.record_id
        record = decision_record(outcome, now, os.uname().nodename, self.op, os.geteuid(), __version__,
                                 self.config, round((time.monotonic() - self.started) * 1000, 1), record_id)
        try:
            append_record(self.config.paths.audit_log, render_record(record))
        except (OSError, ValueError, Untrusted) as exc:
            message = "migration-guard: audit log %s not written (%s); decision %s stands" % (
                self.config.paths.audit_log, getattr(exc, "strerror", None) or exc, outcome.decision)
            self.say(message)
            journal_send(one_line(message), priority=3)
        if outcome.exit_code == 0 and outcome.domain_uuid and self.config.paths.pending:
            self._leave_pending(outcome, record_id, now)
        self._summarize(outcome.decision, outcome.domain_name or self.guest, outcome.domain_uuid,
                        ",".join(sorted({f.code for f in outcome.findings if f.action != "info"})))

    def _summarize(self, decision, name, uuid, rules):
        """The decision's one-line summary to the journal."""
        sent = journal_send(one_line("migration %s of %s: %s%s" % (self.op, name, decision,
                                                                  " (%s)" % rules if rules else "")),
                            priority=4 if decision in ("deny", "error") else 6,
                            MG_DECISION=decision, MG_DOMAIN=name, MG_UUID=uuid,
                            MG_RULES=rules, MG_MODE=self.config.mode, MG_OP=self.op)
        if sent is None:
            self.say("migration-guard: the journal did not take the summary (stalled?); decision %s stands" % decision)

    def _leave_pending(self, outcome, record_id, now):
        """The migration goes ahead: leave the decision (and the incoming XML) for the
        collector service, which records what became of it (guard.services.outcome_watch)."""
        from .runtime.pending import entry, service_is_watching, write_pending
        if not service_is_watching(self.config.paths.pending, now):
            return  # nobody would settle it (the collector timer only, or the service stopped)
        try:
            write_pending(self.config.paths.pending, entry(outcome, record_id, now), self.xml)
        except (OSError, ValueError, Untrusted) as exc:
            journal_send(one_line("migration-guard: outcome of %s's migration will not be known: %s not written "
                                  "(%s)" % (outcome.domain_name, self.config.paths.pending,
                                            getattr(exc, "strerror", None) or exc)), priority=4)

    def defer(self, outcome, folder):
        """Leave a refusal that an offline migration would not meet for the `prepare` hook
        (guard.decide.deferral) and accept for now; the refusal stands if it cannot be left."""
        from .decide.deferral import deferred
        from .runtime import deferred as markers
        if markers.marker_path(folder, self.guest, outcome.domain_uuid) is None:
            return outcome
        lines = refusal_lines(outcome._replace(findings=public(outcome.findings)))
        now = time.time()
        record = decision_record(outcome, now, os.uname().nodename, self.op, os.geteuid(), __version__, self.config,
                                 None, self.record_id)
        try:
            markers.leave(folder, self.guest, outcome.domain_uuid,
                          {"id": self.record_id, "time": now, "boot": markers.boot_clock(),
                           "uuid": outcome.domain_uuid, "domain": outcome.domain_name, "lines": lines,
                           "record": record})
        except (OSError, ValueError, Untrusted) as exc:
            journal_send(one_line("migration-guard: the refusal of %s is made now, not when QEMU starts (an offline "
                                  "migration is refused too): %s not written (%s)" % (
                                      self.guest, folder, getattr(exc, "strerror", None) or exc)), priority=4)
            return outcome
        return deferred(outcome)

    def forget_deferred(self, outcome, folder):
        """This guest, decided again without a deferral (a retry allowed, or refused here):
        an earlier attempt's deferred refusal no longer stands."""
        if outcome.domain_uuid and os.path.isdir(os.path.join(folder, self.guest)):  # one stat, no import
            from .runtime import deferred as markers
            markers.remove(folder, self.guest, outcome.domain_uuid)

    def prepare(self, stdin, folder):
        """The `prepare` hook of a guest name with a marker folder (the front end starts
        Python only then): refuse, before QEMU starts, the live migration whose refusal the
        migrate hook deferred. The marker is this guest's (its name and UUID); another
        guest's by the same name is never touched. One whose guest was defined here since
        (an offline migration's definition, now started), or that expired, is removed and
        the start goes ahead (an expired one with a journal warning)."""
        from .runtime import deferred as markers
        self.xml = _read_stdin(stdin)
        self.domain = parse_domain(self.xml, "domain XML")
        uuid = self.domain.uuid
        marker = markers.read(folder, self.guest, uuid)
        if marker is None:
            return 0
        markers.remove(folder, self.guest, uuid)  # used now, whichever way this start goes
        age = markers.boot_clock() - marker["boot"]
        if isinstance(marker.get("time"), (int, float)) and markers.defined_since(self.guest, marker["time"]):
            return 0  # the start of the definition an offline migration brought, not the live migration
        if age > markers.DEFER_SECONDS:
            warning = one_line("migration-guard: the deferred refusal of %s (%s) expired %.0f s after its migrate "
                               "hook; this start goes ahead" % (self.guest, uuid, age))
            self.say(warning)
            journal_send(warning, priority=4)
            return 0
        return self.refuse_deferred(marker)

    def refuse_deferred(self, marker):
        """Make the deferred refusal the decision of this hook run, written out as any
        decision is (finish), with its own record: virsh shows its lines, the audit log gets
        the migrate hook's record as a deny (op "prepare begin", deferred_from its id), the
        journal its summary; its outcome is not waited for."""
        from .decide.core import EXIT_REFUSE, Outcome
        record = dict(marker["record"])
        name = str(record.get("domain") or self.guest)
        refusal = Outcome(decision="deny", exit_code=EXIT_REFUSE, mode=self.config.mode, profile=self.config.profile,
                          domain_name=name, domain_uuid=record.get("uuid"), findings=(), notes=(), bypass=None,
                          fingerprint=None, fingerprint_problem=None, facts_problem=None, facts_age=None, reason=None)
        return self.finish(refusal, lambda _refusal: self._write_deferred(marker, record, name))

    def _write_deferred(self, marker, record, name):
        from .runtime.pending import remove_pending
        for line in marker["lines"]:
            self.say(str(line))
        record.update(id=self.record_id, time=iso_time(time.time()), op=self.op, decision="deny",
                      deferred_from=marker.get("id"), duration_ms=round((time.monotonic() - self.started) * 1000, 1))
        try:
            append_record(self.config.paths.audit_log, render_record(record))
        except (OSError, ValueError, Untrusted) as exc:
            self.say("migration-guard: audit log %s not written (%s); decision deny stands" % (
                self.config.paths.audit_log, getattr(exc, "strerror", None) or exc))
        if self.config.paths.pending and _is_decision_id(marker.get("id")):
            remove_pending(self.config.paths.pending, marker["id"])  # refused: no outcome to wait for
        self._summarize("deny", name, record.get("uuid"),
                        ",".join(sorted({str(f.get("code")) for f in record.get("findings") or ()
                                         if isinstance(f, dict) and f.get("action") == "deny"})))

    def _decided(self):
        """The deciding phase is over: no alarm, no backstop, no signal can change the exit
        code now; a guard timer (returned) ends the process with the decision if writing
        out hangs."""
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for signum in _STOP_SIGNALS:
                signal.signal(signum, signal.SIG_IGN)
        except (ValueError, OSError):  # not the main thread: the backstop, about to exit anyway
            pass
        if self.backstop is not None:
            self.backstop.cancel()
        code = self.outcome.exit_code
        decision = self.outcome.decision

        def give_up():
            self.say("migration-guard: writing the outcome out blocked for %gs (audit log or journal); "
                     "decision %s stands" % (WRITE_OUT_SECONDS, decision))
            os._exit(code)
        return Timer(WRITE_OUT_SECONDS, give_up)

    def error(self, reason):
        """An internal error, bad config, bad XML, a signal or the timeout: on_error decides."""
        return self.finish(self.failure(reason))

    def failure(self, reason):
        domain = self.domain
        return failed(self.config, reason, domain.name if domain else self.guest, domain.uuid if domain else None)


def _deferrable(outcome):
    from .decide.deferral import deferrable  # refusals only: an allow does not load it
    return deferrable(outcome)


def _is_decision_id(value):
    return isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def _read_stdin(stream):
    data = stream.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise InputError("incoming domain XML is over %d bytes" % MAX_XML_BYTES)
    return data


def _gather(run, stdin):
    """The Inputs of this migration: the guest, this host's cached facts, the bypass."""
    run.xml = _read_stdin(stdin)
    run.domain = parse_domain(run.xml, "incoming domain XML")
    inputs = incoming_inputs(run.domain, run.config, time.time())
    run.domain = inputs.domain
    return inputs


def _backstop(run, seconds):
    """If the main thread is stuck where the alarm cannot reach (inside C code) while
    deciding, end the process anyway: a hung hook would hang the migration. Once decided,
    it is cancelled; if it loses the race to a decision, it leaves the exit to that one."""
    def fire():
        if run.claim(run.failure("timed out after %gs (hard stop)" % seconds)):
            os._exit(run.write_out())
    return Timer(seconds, fire)


def _salvage_paths(defaults):
    """With an invalid config, still audit where the administrator asked, if that much reads."""
    try:
        from .config import MAX_CONFIG_BYTES, config_path, toml_parser
        data = read_trusted(config_path(), MAX_CONFIG_BYTES)
        paths = toml_parser().loads(data[:MAX_CONFIG_BYTES].decode("utf-8")).get("paths", {})
        audit_log = paths.get("audit_log")
        if isinstance(audit_log, str) and audit_log.startswith("/"):
            return defaults._replace(paths=defaults.paths._replace(audit_log=audit_log))
    except Exception:  # noqa: BLE001 - best effort only
        pass
    return defaults


def main(argv, stdin=None, stderr=None, closed=None, deferred=None):
    """Decide one migration. closed: which of stdin/stderr the caller had closed (the
    front end says so): an error, decided by on_error. deferred: the folder of deferred
    refusals (the front end's DEFERRED=), None where refusals are not deferred; with op
    `prepare`, the run that refuses a deferred one (_Run.prepare)."""
    run = _Run(argv, stderr if stderr is not None else sys.stderr)
    if stdin is None:
        stdin = sys.stdin.buffer if sys.stdin is not None else None
    # Bounded from the first moment: the config read included (a FIFO or a hung
    # filesystem at its path), with the default timeout until the config says otherwise.
    previous = {signum: signal.signal(signum, _on_signal) for signum in _STOP_SIGNALS}
    previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, _on_timeout)
    run.backstop = _backstop(run, DEFAULT_TIMEOUT + 1.0)
    signal.setitimer(signal.ITIMER_REAL, DEFAULT_TIMEOUT)
    try:
        try:
            run.config = load_config(trusted=True)
        except ConfigError as exc:
            run.config = _salvage_paths(run.config)
            return run.error("config unusable: %s" % exc)
        timeout = run.config.timeout
        if timeout != DEFAULT_TIMEOUT:  # a thread less in the usual case
            run.backstop.cancel()
            run.backstop = _backstop(run, timeout + 1.0)
        signal.setitimer(signal.ITIMER_REAL, max(0.001, timeout - (time.monotonic() - run.started)))
        if closed or stdin is None:
            return run.error("the caller closed %s" % (closed or "stdin"))
        if run.op == "prepare begin":
            return run.prepare(stdin, deferred) if deferred else 0
        outcome = decide(_gather(run, stdin))
        if deferred:
            if outcome.decision == "deny" and _deferrable(outcome):
                outcome = run.defer(outcome, deferred)
            else:
                run.forget_deferred(outcome, deferred)
        return run.finish(outcome)
    except HookTimeout:
        return run.error("timed out after %gs" % run.config.timeout)
    except HookSignal as exc:
        return run.error("interrupted by %s" % _STOP_SIGNALS.get(exc.signum, exc.signum))
    except GuardError as exc:
        return run.error(str(exc))
    except Exception as exc:  # noqa: BLE001 - on_error decides, never a traceback to libvirt
        return run.error("internal error: %s: %s" % (type(exc).__name__, exc))
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        except (ValueError, OSError, TypeError):
            pass
        run.backstop.cancel()


CLOSED_MARK = "--mg-closed="
DEFERRED_MARK = "--mg-deferred="


def _reopen_closed_stdio():
    """Point any closed fd 0-2 at /dev/null, so that no file the hook opens can land on
    one (a stray write to 'stderr' would go into the audit log). Returns which were."""
    closed = []
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            closed.append(name)
    return closed


def entry():
    """The sh front end's entry point: `python3 -I -c '...; entry()' [--mg-closed=WHAT] ARGS`.
    The front end reopens a closed stdin or stderr on /dev/null and says so with the mark."""
    gc.disable()  # the process ends with os._exit below: nothing for the collector to do
    argv = sys.argv[1:]
    closed = _reopen_closed_stdio()
    deferred = None
    # The front end's own options come first; libvirt's four arguments follow.
    while len(argv) > 4 and argv[0].startswith(("--mg-closed=", "--mg-deferred=")):
        option = argv.pop(0)
        if option.startswith(CLOSED_MARK):
            closed.extend(option[len(CLOSED_MARK):].split(","))
        else:
            deferred = option[len(DEFERRED_MARK):] or None
    stderr = sys.stderr
    if "stderr" in closed or stderr is None:
        stderr = open(os.devnull, "w")
    stdin = None
    if "stdin" not in closed and sys.stdin is not None:
        stdin = sys.stdin.buffer
    closed = [name for name in closed if name in ("stdin", "stderr")]
    code = main(argv, stdin=stdin if stdin is not None else _NoStdin(), stderr=stderr,
                closed=" and ".join(sorted(set(closed))) or None, deferred=deferred)
    # Everything is written out by now (the audit record and journal with single writes).
    # Ending here skips the interpreter's finalization, which touches every object once
    # more: some 8 ms of the decision, for nothing a hook needs (no atexit handlers).
    for stream in (stderr, sys.stderr, sys.stdout):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)


class _NoStdin:
    def read(self, _size=-1):
        return b""


# The imports are done (see the top). What they made lives as long as the process: frozen,
# the collector never walks it again, and resumes with no backlog (the allocations counted
# while it was paused would otherwise set off a pass over all of it at the next one).
gc.freeze()
if _GC_WAS_ENABLED:
    gc.enable()
