"""`migration-guard`: one sub-command per module, one error handler for all of them."""
import argparse
import sys

from .. import __version__
from ..errors import GuardError
from . import audit, bypass, check, facts, preflight, rules, stamp

COMMANDS = (check, facts, stamp, preflight, audit, bypass, rules)

EXIT_OK, EXIT_DENY, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # Usage errors are exit 2 with one line, like every other bad input.
        raise GuardError("%s: %s (see --help)" % (self.prog, message))


def build_parser():
    parser = _Parser(prog="migration-guard",
                     description="Refuse live migrations that hit RHEL 9's documented limitations.")
    parser.add_argument("--version", action="version", version="migration-guard " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except GuardError as exc:
        print("migration-guard: error: %s" % exc, file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # e.g. a cache or log path that cannot be written
        print("migration-guard: error: %s" % exc, file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
