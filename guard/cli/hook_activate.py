"""`migration-guard hook-activate` (hidden): the RPM's %post step that makes the running
libvirt daemon run the hook, restarting it only when no guest has a job in progress.
Always exit 0: an install must never fail for this."""
import argparse

from ..activation import HOOKS_DIR, MARKER, activate


def register(sub):
    # No help=: the command is not listed in --help; it is the package's, not the admin's.
    parser = sub.add_parser("hook-activate", description=__doc__)
    parser.add_argument("--uri", default="qemu:///system", help=argparse.SUPPRESS)
    parser.add_argument("--hooks-dir", default=HOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--marker", default=MARKER, help=argparse.SUPPRESS)
    parser.add_argument("--remember", action="store_true",
                        help="only record that the running daemon runs the hook (before an upgrade replaces it)")
    parser.set_defaults(run=run)


def run(args):
    try:
        activate(args.uri, args.hooks_dir, args.marker, remember_only=args.remember)
    except Exception as exc:  # noqa: BLE001 - never fail the transaction
        print("migration-guard: hook activation failed (%s: %s); restart virtqemud (or libvirtd) when no "
              "migration is in progress for enforcement to begin" % (type(exc).__name__, exc))
    return 0
