"""The `migrate` hook: decide an incoming migration on the destination.

libvirt runs `/etc/libvirt/hooks/qemu NAME migrate begin -` with the incoming XML on
stdin, before QEMU starts here. Exit 1 refuses (stderr is what `virsh migrate` shows),
exit 0 accepts. stdout would replace the domain XML, so nothing is written there.
Every outcome, including errors and timeouts, is audited and bounded in time.
"""
import dataclasses
import datetime
import os
import signal
import socket
import sys
import threading
import time

from . import __version__
from .audit import append_record, render_record
from .bypass import read_bypass
from .config import Config, load_config
from .domain import parse_domain
from .engine import check_domain
from .errors import ConfigError, GuardError, InputError
from .facts.cache import load_cache
from .fingerprint import source_fingerprint
from .journal import send as journal_send
from .report import deny_lines
from .xmlsafe import MAX_XML_BYTES

EXIT_ACCEPT, EXIT_REFUSE = 0, 1


class HookTimeout(Exception):
    pass


def _on_timeout(_signum, _frame):
    raise HookTimeout()


class _Run:
    """What one hook run knows so far, for the audit record whatever happens."""

    def __init__(self, argv, stderr):
        self.started = time.monotonic()
        self.guest = argv[0] if argv else "?"
        self.op = " ".join(argv[1:3]) if len(argv) > 1 else "?"
        self.stderr = stderr
        self.config = Config()
        self.record = {"host": socket.gethostname(), "domain": self.guest, "uuid": None, "op": self.op,
                       "guard_version": __version__, "uid": os.geteuid(), "findings": [],
                       "fingerprint": None, "facts_age": None, "facts_problem": None}
        self.finished = False
        self.lock = threading.Lock()

    def say(self, line):
        try:
            self.stderr.write(line.rstrip("\n") + "\n")
            self.stderr.flush()
        except (OSError, ValueError):
            pass

    def finish(self, decision, exit_code, **fields):
        """Audit once, journal once, return the exit code. Thread-safe against the backstop."""
        with self.lock:
            if self.finished:
                return exit_code
            self.finished = True
        try:  # the decision is made: the alarm must not interrupt the audit write
            signal.setitimer(signal.ITIMER_REAL, 0)
        except (ValueError, OSError):
            pass
        record = dict(self.record, decision=decision, mode=self.config.mode, profile=self.config.profile,
                      config=self.config.source, config_digest=self.config.digest,
                      duration_ms=round((time.monotonic() - self.started) * 1000, 1), **fields)
        try:
            append_record(self.config.paths.audit_log, render_record(record))
        except (OSError, ValueError) as exc:
            message = "migration-guard: audit log %s not written (%s); decision %s stands" % (
                self.config.paths.audit_log, getattr(exc, "strerror", None) or exc, decision)
            self.say(message)
            journal_send(message, priority=3)
        rules = ",".join(sorted({f["code"] for f in record["findings"] if f["action"] != "info"}))
        journal_send("migration %s of %s: %s%s" % (self.op, self.guest, decision, " (%s)" % rules if rules else ""),
                     priority=4 if decision in ("deny", "error") else 6,
                     MG_DECISION=decision, MG_DOMAIN=self.guest, MG_UUID=record.get("uuid"), MG_RULES=rules,
                     MG_MODE=self.config.mode, MG_OP=self.op)
        return exit_code

    def error(self, reason):
        """An internal error, bad config, bad XML or the timeout: on_error decides."""
        refuse = self.config.on_error != "allow"
        self.say("migration-guard: [error] %s; migration %s (on_error = %s)"
                 % (reason, "refused" if refuse else "allowed", self.config.on_error))
        return self.finish("error", EXIT_REFUSE if refuse else EXIT_ACCEPT, reason=reason,
                           outcome="refused" if refuse else "accepted")


def _read_stdin(stream):
    data = stream.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise InputError("incoming domain XML is over %d bytes" % MAX_XML_BYTES)
    return data


def _decide(run, stdin):
    config = run.config
    now_epoch = time.time()
    now = datetime.datetime.fromtimestamp(now_epoch, datetime.timezone.utc)
    domain = parse_domain(_read_stdin(stdin), "incoming domain XML")
    run.record.update(domain=domain.name, uuid=domain.uuid)
    try:
        source = source_fingerprint(None, domain)
    except InputError as exc:
        domain, source = dataclasses.replace(domain, fingerprint=None, fingerprint_error=str(exc)), None
    run.record["fingerprint"] = source is not None
    facts, problem = load_cache(config.paths.facts, config.max_facts_age, now_epoch)
    run.record["facts_problem"] = problem
    if facts is not None and facts.collected_at is not None:
        run.record["facts_age"] = round(now_epoch - facts.collected_at, 1)
    # A hook run by a non-root daemon serves a session connection (DESIGN.md 1).
    connection = "system" if os.geteuid() == 0 else "session"
    decision = check_domain(domain, facts, source, config, now, connection=connection, facts_problem=problem)
    run.record["findings"] = [{"rule": f.rule, "code": f.code, "action": f.action, "message": f.message}
                              for f in decision.findings]
    run.record["notes"] = list(decision.notes)
    bypass, note = read_bypass(config.paths.bypass, now_epoch)
    if note:
        run.record["notes"].append(note)
    if decision.decision in ("deny", "would-deny") and bypass is not None:
        run.say("migration-guard: emergency bypass active until %s (%s): accepted despite %s" % (
            datetime.datetime.fromtimestamp(bypass["until"], datetime.timezone.utc).isoformat(), bypass["reason"],
            ", ".join(f.code for f in decision.denies)))
        return run.finish("bypassed", EXIT_ACCEPT, bypass={"reason": bypass.get("reason"), "by": bypass.get("by"),
                                                           "until": bypass.get("until")})
    if decision.decision == "deny":
        for line in deny_lines(decision):
            run.say(line)
        return run.finish("deny", EXIT_REFUSE)
    return run.finish(decision.decision, EXIT_ACCEPT)


def _backstop(run, seconds):
    """If the main thread is stuck where the alarm cannot reach (inside C code), end the
    process anyway: a hung hook would hang the migration."""
    def fire():
        code = run.error("timed out after %gs (hard stop)" % seconds)
        os._exit(code)
    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def _salvage_paths(defaults):
    """With an invalid config, still audit where the administrator asked, if that much reads."""
    try:
        from .config import config_path, tomllib
        with open(config_path(), "rb") as handle:
            paths = tomllib.loads(handle.read().decode("utf-8")).get("paths", {})
        audit_log = paths.get("audit_log")
        if isinstance(audit_log, str) and audit_log.startswith("/"):
            return dataclasses.replace(defaults, paths=dataclasses.replace(defaults.paths, audit_log=audit_log))
    except Exception:  # noqa: BLE001 - best effort only
        pass
    return defaults


def main(argv, stdin=None, stderr=None):
    stdin = stdin if stdin is not None else sys.stdin.buffer
    run = _Run(argv, stderr if stderr is not None else sys.stderr)
    try:
        run.config = load_config()
    except ConfigError as exc:
        run.config = _salvage_paths(run.config)
        return run.error("config unusable: %s" % exc)
    except Exception as exc:  # noqa: BLE001 - never a traceback to libvirt
        return run.error("config unusable: %s: %s" % (type(exc).__name__, exc))
    timeout = run.config.timeout
    backstop = _backstop(run, timeout + 1.0)
    previous = signal.signal(signal.SIGALRM, _on_timeout)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return _decide(run, stdin)
    except HookTimeout:
        return run.error("timed out after %gs" % timeout)
    except GuardError as exc:
        return run.error(str(exc))
    except Exception as exc:  # noqa: BLE001 - on_error decides, never a traceback to libvirt
        return run.error("internal error: %s: %s" % (type(exc).__name__, exc))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        backstop.cancel()
