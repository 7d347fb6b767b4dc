"""The `migrate` hook: decide an incoming migration on the destination.

libvirt runs `/etc/libvirt/hooks/qemu.d/50-migration-guard NAME migrate begin -` with the
incoming XML on stdin, before QEMU starts here. Exit 1 refuses (stderr is what `virsh
migrate` shows), exit 0 accepts. stdout would replace the domain XML: the sh front end
(hooks/qemu) points it at stderr before Python starts. This module only gathers the
inputs, calls guard.core.decide and writes the outcome out; every outcome, including
errors and timeouts, is audited and bounded in time.
"""
import os
import signal
import sys
import threading
import time

from . import __version__
from .audit import append_record
from .audit_record import decision_record, render_record
from .bypass import read_bypass
from .config import Config, load_config
from .core import Inputs, decide, failed
from .domain import parse_domain
from .errors import ConfigError, GuardError, InputError
from .facts.cache import load_cache
from .journal import send as journal_send
from .probe import gather as gather_probe
from .report import refusal_lines
from .xmlsafe import MAX_XML_BYTES


class HookTimeout(Exception):
    pass


def _on_timeout(_signum, _frame):
    raise HookTimeout()


class _Run:
    """One hook run: what it knows so far, and the single place its outcome is written."""

    def __init__(self, argv, stderr):
        self.started = time.monotonic()
        self.guest = argv[0] if argv else "?"
        self.op = " ".join(argv[1:3]) if len(argv) > 1 else "?"
        self.stderr = stderr
        self.config = Config()
        self.domain = None
        self.finished = False
        self.lock = threading.Lock()

    def say(self, line):
        try:
            self.stderr.write(line.rstrip("\n") + "\n")
            self.stderr.flush()
        except (OSError, ValueError):
            pass

    def finish(self, outcome):
        """Say, audit and journal the outcome once; return its exit code. Thread-safe
        against the backstop."""
        with self.lock:
            if self.finished:
                return outcome.exit_code
            self.finished = True
        try:  # the decision is made: the alarm must not interrupt the audit write
            signal.setitimer(signal.ITIMER_REAL, 0)
        except (ValueError, OSError):
            pass
        for line in refusal_lines(outcome):
            self.say(line)
        record = decision_record(outcome, time.time(), os.uname().nodename, self.op, os.geteuid(), __version__,
                                 self.config, round((time.monotonic() - self.started) * 1000, 1))
        try:
            append_record(self.config.paths.audit_log, render_record(record))
        except (OSError, ValueError) as exc:
            message = "migration-guard: audit log %s not written (%s); decision %s stands" % (
                self.config.paths.audit_log, getattr(exc, "strerror", None) or exc, outcome.decision)
            self.say(message)
            journal_send(message, priority=3)
        rules = ",".join(sorted({f.code for f in outcome.findings if f.action != "info"}))
        name = outcome.domain_name or self.guest
        journal_send("migration %s of %s: %s%s" % (self.op, name, outcome.decision, " (%s)" % rules if rules else ""),
                     priority=4 if outcome.decision in ("deny", "error") else 6,
                     MG_DECISION=outcome.decision, MG_DOMAIN=name, MG_UUID=outcome.domain_uuid, MG_RULES=rules,
                     MG_MODE=self.config.mode, MG_OP=self.op)
        return outcome.exit_code

    def error(self, reason):
        """An internal error, bad config, bad XML or the timeout: on_error decides."""
        domain = self.domain
        return self.finish(failed(self.config, reason, domain.name if domain else self.guest,
                                  domain.uuid if domain else None))


def _read_stdin(stream):
    data = stream.read(MAX_XML_BYTES + 1)
    if len(data) > MAX_XML_BYTES:
        raise InputError("incoming domain XML is over %d bytes" % MAX_XML_BYTES)
    return data


def _gather(run, stdin):
    """The Inputs of this migration: the guest, this host's cached facts, the bypass."""
    config = run.config
    now = time.time()
    run.domain = parse_domain(_read_stdin(stdin), "incoming domain XML")
    facts, problem = load_cache(config.paths.facts, config.max_facts_age, now)
    bypass, bypass_note = read_bypass(config.paths.bypass, now)
    # A hook run by a non-root daemon serves a session connection (DESIGN.md 1).
    connection = "system" if os.geteuid() == 0 else "session"
    return Inputs(run.domain, facts, config, now, facts_problem=problem, connection=connection,
                  bypass=bypass, bypass_note=bypass_note, probe=gather_probe(run.domain, config.timeout))


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
            return defaults._replace(paths=defaults.paths._replace(audit_log=audit_log))
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
        return run.finish(decide(_gather(run, stdin)))
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


def entry():
    """The sh front end's entry point: `python3 -I -c 'from guard.hook import entry; entry()' ARGS`."""
    sys.exit(main(sys.argv[1:]))
