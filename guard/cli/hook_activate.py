"""`migration-guard activate`: make the running libvirt daemon run the hook, restarting it
only when no guest has a job in progress; and `hook-activate` (hidden), the RPM's %post
step, which restarts nothing and only says whether the hook is live. hook-activate always
exits 0: an install must never fail for this."""
import argparse

from ..services.activation import HOOKS_DIR, MARKER, NOT_YET, activate


def register(sub):
    public = sub.add_parser("activate", help="make libvirt run the hook: restart its daemon when no job is in progress",
                            description="libvirt registers hooks when its daemon starts: restart virtqemud (or "
                                        "libvirtd) so that it runs the installed hook, but only when no guest has a "
                                        "job in progress (a restart cancels migrations and disconnects clients); "
                                        "otherwise say which jobs and when to run it again. Running guests are not "
                                        "affected. Exit 0 enforcement is live (or no daemon runs: it starts live), "
                                        "1 not live yet (jobs in progress, or the daemon could not be asked or "
                                        "restarted).")
    public.add_argument("--uri", default="qemu:///system", help=argparse.SUPPRESS)
    public.add_argument("--hooks-dir", default=HOOKS_DIR, help=argparse.SUPPRESS)
    public.add_argument("--marker", default=MARKER, help=argparse.SUPPRESS)
    public.set_defaults(run=run_activate)
    # No help=: the command is not listed in --help; it is the package's, not the admin's.
    parser = sub.add_parser("hook-activate", description=__doc__)
    parser.add_argument("--uri", default="qemu:///system", help=argparse.SUPPRESS)
    parser.add_argument("--hooks-dir", default=HOOKS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--marker", default=MARKER, help=argparse.SUPPRESS)
    parser.add_argument("--remember", action="store_true",
                        help="only record that the running daemon runs the hook (before an upgrade replaces it)")
    parser.set_defaults(run=run)


def run_activate(args):
    done = activate(args.uri, args.hooks_dir, args.marker)
    return 1 if done in NOT_YET or done == "no-hook" else 0


def run(args):
    try:
        activate(args.uri, args.hooks_dir, args.marker, remember_only=args.remember, restart=False)
    except Exception as exc:  # noqa: BLE001 - never fail the transaction
        print("migration-guard: hook activation failed (%s: %s); restart virtqemud (or libvirtd) when no "
              "migration is in progress for enforcement to begin" % (type(exc).__name__, exc))
    return 0
