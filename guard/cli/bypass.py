"""`migration-guard bypass`: a time-limited emergency bypass, with a reason."""
import os
import time

from .. import __version__
from ..bypass import MAX_BYPASS_SECONDS, clear_bypass, login_user, read_bypass, write_bypass
from ..config import CONFIG_HELP, load_config
from ..errors import GuardError
from ..output import escaping
from ..output.audit import record_action
from ..output.audit_record import bypass_record
from ..units import format_time, parse_duration


def register(sub):
    parser = sub.add_parser("bypass", help="accept migrations for a limited time, still auditing findings",
                            description="Emergency bypass: for --for DURATION, migrations that would be refused "
                                        "are accepted and audited as 'bypassed'. Cleared by --clear or a reboot.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--for", dest="duration", metavar="DURATION", help="e.g. 30m, 2h, 1h30m")
    group.add_argument("--status", action="store_true", help="show the active bypass, if any")
    group.add_argument("--clear", action="store_true", help="end the active bypass now")
    parser.add_argument("--reason", help="why (required with --for)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.set_defaults(run=run)


def _audit(config, event, now, by, state):
    """Setting and clearing the bypass are audit records and journal entries, like decisions."""
    reason = " (%s)" % state.reason if state is not None else ""
    record_action(config.paths.audit_log,
                  bypass_record(event, now, os.uname().nodename, os.getuid(), by, state, __version__),
                  "emergency bypass %s by %s%s" % ("set" if event == "bypass-set" else "cleared", by, reason))


def run(args):
    config = load_config(args.config)
    path = config.paths.bypass
    now = time.time()
    if args.clear:
        previous, _note = read_bypass(path, now)
        cleared = clear_bypass(path)
        if cleared:
            _audit(config, "bypass-clear", now, login_user(), previous)
        print("bypass cleared" if cleared else "no bypass was active")
        return 0
    if args.status:
        state, note = read_bypass(path, now)
        if state is None:
            print(escaping.text("no bypass active" + (" (%s)" % note if note else "")))
        else:
            print(escaping.text("bypass active until %s (%.0f min left), by %s: %s" % (
                format_time(state.until), (state.until - now) / 60, state.by, state.reason)))
            print(escaping.dumps(state.to_dict(), sort_keys=True))
        return 0
    seconds = parse_duration(args.duration, "--for")
    if seconds <= 0 or seconds > MAX_BYPASS_SECONDS:
        raise GuardError("--for must be between 1s and 7d")
    state = write_bypass(path, seconds, args.reason, now, by=login_user())
    _audit(config, "bypass-set", now, state.by, state)
    print("bypass active until %s: migrations are accepted and audited as 'bypassed'. "
          "End it with: migration-guard bypass --clear" % format_time(state.until))
    return 0
