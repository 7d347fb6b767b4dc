"""`migration-guard status`: is enforcement actually live on this host?

virt-host-validate style: one check per line, PASS / WARN / FAIL. A FAIL means migrations
are not guarded as configured (or every one would be refused); a WARN means something an
administrator should look at.
"""
import os
import stat
import time
from collections import namedtuple

from ..bypass import read_bypass
from ..config import load_config
from ..errors import GuardError
from ..facts.cache import boot_clock, facts_age, load_cache
from ..units import format_time
from . import activation

PASS, WARN, FAIL = "pass", "warn", "fail"

Check = namedtuple("Check", "name result message")

WATCH = "migration-guard-watch.service"
TIMER = "migration-guard-collect.timer"


def check_hook(hooks_dir):
    hook = activation.hook_path(hooks_dir)
    try:
        st = os.stat(hook)
    except OSError:
        return Check("hook", FAIL, "%s is missing: libvirt runs no migration-guard check" % hook)
    if not stat.S_ISREG(st.st_mode) or not st.st_mode & stat.S_IXUSR:
        return Check("hook", FAIL, "%s is not an executable file: libvirt skips it" % hook)
    python = None
    with open(hook, errors="replace") as handle:
        for line in handle:
            if line.startswith("PYTHON="):
                python = line.strip().split("=", 1)[1]
                break
    if python and not os.access(python, os.X_OK):
        return Check("hook", FAIL, "%s names %s, which is missing: every migration would be refused" % (hook, python))
    return Check("hook", PASS, "%s is installed and executable" % hook)


def check_daemon(hooks_dir, marker):
    try:
        daemon = activation.running_daemon()
    except LookupError as exc:
        return Check("daemon", WARN, "cannot tell which libvirt daemon runs (%s)" % exc)
    if daemon is None:  # nothing can migrate here now; the daemon registers the hook when it starts
        return Check("daemon", PASS, "no libvirt daemon (virtqemud or libvirtd) is running: it runs the hook when "
                                     "it starts")
    unit, pid = daemon
    try:
        started = activation.process_start(pid)
    except (OSError, ValueError, IndexError) as exc:
        return Check("daemon", WARN, "cannot read the start time of %s (pid %d): %s" % (unit, pid, exc))
    live, why = activation.daemon_runs_hook(pid, started, hooks_dir, marker)
    if live:
        return Check("daemon", PASS, "%s runs the hook: %s" % (unit, why))
    return Check("daemon", FAIL, "%s does not run the hook yet: %s. Run `systemctl restart %s` when no migration "
                                 "is in progress" % (unit, why, unit))


def check_facts(config):
    boot = boot_clock()
    facts, problem = load_cache(config.paths.facts, config.max_facts_age, boot)
    if problem is None:
        return Check("facts", PASS, "%s is trusted and fresh (collected %.0fs ago)"
                     % (config.paths.facts, facts_age(facts, boot)))
    # The hook makes unusable facts an error (guard.decide.core): on_error decides every migration
    # the rules that need no facts do not refuse.
    if config.on_error != "allow":
        return Check("facts", FAIL, "%s; every migration is refused until the collector writes fresh facts "
                                    "(on_error = deny)" % problem)
    return Check("facts", WARN, "%s; migrations are accepted without the checks that need host facts "
                                "(on_error = allow)" % problem)


def check_audit_log(config):
    path = config.paths.audit_log
    if os.path.exists(path):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND))
        except OSError as exc:
            return Check("audit-log", FAIL, "%s is not writable: %s" % (path, exc.strerror or exc))
        return Check("audit-log", PASS, "%s is writable" % path)
    folder = os.path.dirname(path) or "."
    probe = folder
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)  # the hook creates missing folders
    if os.access(probe, os.W_OK | os.X_OK):
        return Check("audit-log", PASS, "%s does not exist yet; the first decision creates it" % path)
    return Check("audit-log", FAIL, "%s cannot be created: %s is not writable" % (path, probe))


def check_bypass(config, now):
    state, note = read_bypass(config.paths.bypass, now)
    if state is None:
        return Check("bypass", PASS, "no bypass active" + (" (%s)" % note if note else ""))
    return Check("bypass", WARN, "bypass active until %s (%.0f min left), set by %s: %s; refusals are only audited. "
                                 "End it: migration-guard bypass --clear" % (
                                     format_time(state.until),
                                     (state.until - now) / 60, state.by, state.reason))


def check_key_file(name, path, role):
    """A fleet key file as the hook needs it: a regular file (no symlink), root's, mode 0600
    or 0400, not empty (16 to 4096 bytes), in a folder only root can change. role: what is
    lost when the hook cannot use it."""
    from ..runtime.trusted import MAX_KEY_BYTES, MIN_KEY_BYTES, Untrusted, read_key
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return Check(name, FAIL, "%s is missing: %s" % (path, role))
    except OSError as exc:
        return Check(name, FAIL, "%s cannot be examined (%s): %s" % (path, exc.strerror or exc, role))
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        problem = "is a symlink (the hook follows none)"
    elif not stat.S_ISREG(st.st_mode):
        problem = "is not a regular file"
    elif st.st_uid != 0:
        problem = "is owned by uid %d, not root" % st.st_uid
    elif mode & (stat.S_IRWXG | stat.S_IRWXO):
        problem = "has mode %04o: others can read or change it, so it is no secret (chmod 0600)" % mode
    elif st.st_size == 0:
        problem = "is empty"
    elif not MIN_KEY_BYTES <= st.st_size <= MAX_KEY_BYTES:
        problem = "is %d bytes, not %d to %d" % (st.st_size, MIN_KEY_BYTES, MAX_KEY_BYTES)
    else:
        problem = None
        if os.geteuid() == 0:  # what the hook itself checks (its folder too), as root reads it
            try:
                read_key(path)
            except Untrusted as exc:
                return Check(name, FAIL, "%s; %s" % (exc, role))
    if problem:
        return Check(name, FAIL, "%s %s: %s" % (path, problem, role))
    if mode not in (0o600, 0o400):
        return Check(name, WARN, "%s has mode %04o; a key file should be 0600 or 0400" % (path, mode))
    return Check(name, PASS, "%s is root's, mode %04o, %d bytes" % (path, mode, st.st_size))


def check_fingerprint_keys(config):
    """The [fingerprint] key and previous_key files, when configured."""
    if not config.fingerprint_key:
        return []
    checks = [check_key_file("fingerprint-key", config.fingerprint_key,
                             "the hook can verify no fingerprint, so every incoming migration is refused "
                             "(source-fingerprint[key]), and the collector service signs no stamp")]
    if config.fingerprint_previous_key:
        checks.append(check_key_file("fingerprint-previous-key", config.fingerprint_previous_key,
                                     "fingerprints signed with it are refused (source-fingerprint[signature])"))
    return checks


def _enabled(unit):
    result = activation.systemctl("is-enabled", unit)
    if result is None:
        return None
    return result.stdout.strip() in ("enabled", "enabled-runtime", "static", "alias")


def check_collector():
    watch, timer = _enabled(WATCH), _enabled(TIMER)
    if watch is None or timer is None:
        return Check("collector", WARN, "cannot ask systemd whether %s or %s is enabled" % (WATCH, TIMER))
    if watch and timer:
        return Check("collector", WARN, "both %s and %s are enabled: the watch service wins and each timer run is "
                                        "skipped; disable one: systemctl disable --now %s" % (WATCH, TIMER, TIMER))
    if watch or timer:
        return Check("collector", PASS, "%s is enabled" % (WATCH if watch else TIMER))
    return Check("collector", WARN, "neither %s nor %s is enabled: the facts cache will go stale; "
                                    "systemctl enable --now %s" % (WATCH, TIMER, WATCH))


ENFORCING, NOT_ENFORCING, UNKNOWN = "ENFORCING", "NOT ENFORCING", "UNKNOWN"
EXIT_CODES = {ENFORCING: 0, NOT_ENFORCING: 1, UNKNOWN: 2}


def verdict(checks):
    """(ENFORCING | NOT ENFORCING | UNKNOWN, why): is every incoming migration decided by the
    hook as configured, refusals refused? Not when a check fails, in audit mode, or while a
    bypass is active; unknown when whether the daemon runs the hook cannot be told."""
    by_name = {c.name: c for c in checks}
    failed = [c.name for c in checks if c.result == FAIL]
    if failed:
        return NOT_ENFORCING, "failing: %s" % ", ".join(failed)
    if "mode" in by_name:
        return NOT_ENFORCING, "audit mode: refusals are only logged"
    if by_name.get("bypass") is not None and by_name["bypass"].result == WARN:
        return NOT_ENFORCING, "a bypass is active"
    daemon = by_name.get("daemon")
    if daemon is not None and daemon.result == WARN:
        return UNKNOWN, "whether libvirt runs the hook cannot be told"
    return ENFORCING, "the hook decides every incoming migration, refusals refused"


def run_checks(config_file=None, hooks_dir=activation.HOOKS_DIR, marker=activation.MARKER, now=None):
    now = time.time() if now is None else now
    checks = [check_hook(hooks_dir), check_daemon(hooks_dir, marker)]
    try:
        config = load_config(config_file)
    except GuardError as exc:
        checks.append(Check("config", FAIL, "%s (the hook decides by on_error: deny by default)" % exc))
        return checks + [check_collector()]
    source = config.source if config.digest else "no config file: built-in defaults"
    checks.append(Check("config", PASS, "%s is valid (mode %s, profile %s)" % (source, config.mode, config.profile)))
    if config.mode == "audit":
        checks.append(Check("mode", WARN, "mode = \"audit\": refusals are only logged as would-deny"))
    checks += [check_facts(config), check_audit_log(config), check_bypass(config, now)]
    checks += check_fingerprint_keys(config)
    checks.append(check_collector())
    return checks
