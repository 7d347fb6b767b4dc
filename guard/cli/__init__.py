"""`migration-guard`: one sub-command per module, one error handler for all of them."""
import argparse
import os
import sys

from .. import __version__
from ..errors import GuardError
from ..output import escaping
from . import accuracy, audit, bypass, check, config_cmd, facts, hook_activate, metrics, preflight, rules, stamp, status, waive

COMMANDS = (check, facts, stamp, preflight, audit, accuracy, bypass, waive, rules, config_cmd, metrics, status, hook_activate)

EXIT_OK, EXIT_DENY, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # Usage errors are exit 2 with one line, like every other bad input.
        raise GuardError("%s: %s (see --help)" % (self.prog, message))


def build_parser():
    parser = _Parser(prog="migration-guard",
                     description="Refuse live migrations that hit RHEL 9's documented limitations.")
    parser.add_argument("--version", action="version", version="migration-guard " + __version__)
    parser.add_argument("--debug", action="store_true", help="show a traceback for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return parser


def _one_line(exc):
    """The error's text on one line: whitespace runs as one space, the rest of what a
    terminal would act on (it may quote a guest's name or a libvirt message) escaped."""
    text = str(exc) or type(exc).__name__
    return escaping.text(" ".join(text.split()))


def main(argv=None):
    """Every failure is exit 2 with one line on stderr; a bug says so and shows its
    traceback only with --debug; a closed pipe (`| head`) ends quietly."""
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        code = args.run(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        # Python would complain again when it flushes stdout at exit: point it at /dev/null.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except (GuardError, OSError) as exc:  # bad input, config, or a path that cannot be used
        print("migration-guard: error: %s" % _one_line(exc), file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback on request
        if debug:
            import traceback
            traceback.print_exc()
        print("migration-guard: internal error (%s: %s); please report it, with the output of the same command "
              "run with --debug" % (type(exc).__name__, _one_line(exc)[:200]), file=sys.stderr)
        return EXIT_ERROR
