"""`migration-guard status`: is enforcement live on this host (virt-host-validate style)."""
import argparse

from ..config import CONFIG_HELP
from ..output import escaping
from ..services.activation import HOOKS_DIR, MARKER
from ..services.status import ENFORCING, EXIT_CODES, UNKNOWN, run_checks, verdict


def register(sub):
    parser = sub.add_parser("status", help="say whether enforcement is live on this host",
                            description="Check that the hook is installed and executable, that the running "
                                        "libvirt daemon runs it, that the facts cache is present, trusted and "
                                        "fresh, that the config is valid and the audit log writable, whether "
                                        "a bypass is active, and that the collector service or timer (not "
                                        "both) is enabled. The first line says ENFORCING, NOT ENFORCING (a check "
                                        "fails, audit mode, or a bypass) or UNKNOWN (whether libvirt runs the hook "
                                        "cannot be told); exit 0, 1 or 2 respectively.")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    # For tests and for inspecting another root: where libvirt's hooks folder is.
    parser.add_argument("--hooks-dir", default=HOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--marker", default=MARKER, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args):
    checks = run_checks(args.config, hooks_dir=args.hooks_dir, marker=args.marker)
    state, why = verdict(checks)
    if args.format == "json":
        print(escaping.dumps({"enforcing": None if state == UNKNOWN else state == ENFORCING, "verdict": state,
                              "why": why, "checks": [c._asdict() for c in checks]}, indent=2, sort_keys=True))
    else:
        print("%s: %s" % (state, why))
        width = max(len(c.name) for c in checks)
        for check in checks:
            print(escaping.text("%-*s : %-4s  %s" % (width, check.name, check.result.upper(), check.message)))
    return EXIT_CODES[state]
