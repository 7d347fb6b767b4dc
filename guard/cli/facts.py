"""`migration-guard facts build` (from libvirt documents) and, when present, collect/watch."""
import sys
import time

from ..errors import InputError
from ..facts.build import build_facts
from ..facts.cache import facts_to_json


def register(sub):
    parser = sub.add_parser("facts", help="build or collect host facts")
    facts_sub = parser.add_subparsers(dest="facts_command", metavar="ACTION", parser_class=type(parser))
    facts_sub.required = True
    build = facts_sub.add_parser("build", help="facts JSON from libvirt documents, to stdout",
                                 description="Build host facts from the output of virsh capabilities, "
                                             "domcapabilities, sysinfo, net-dumpxml and nodedev-dumpxml.")
    build.add_argument("--capabilities", required=True, metavar="FILE")
    build.add_argument("--domcapabilities", action="append", default=[], metavar="FILE")
    build.add_argument("--sysinfo", metavar="FILE")
    build.add_argument("--network", action="append", default=[], metavar="FILE")
    build.add_argument("--nodedev", action="append", default=[], metavar="FILE")
    build.add_argument("--qemu-version", metavar="V")
    build.add_argument("--libvirt-version", metavar="V")
    build.add_argument("--kernel-release", metavar="R")
    build.add_argument("--hostname", metavar="NAME")
    build.add_argument("--collected-now", action="store_true",
                       help="record the current time as the collection time (else none: age unknown)")
    build.set_defaults(run=run_build)
    for module in _live_modules():
        module.register(facts_sub)


def _live_modules():
    try:
        from . import facts_live
    except ImportError:  # libvirt-python absent: build still works
        return ()
    return (facts_live,)


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError("cannot read %s: %s" % (path, exc.strerror or exc))


def run_build(args):
    facts = build_facts(
        _read(args.capabilities),
        [_read(p) for p in args.domcapabilities],
        _read(args.sysinfo) if args.sysinfo else None,
        [_read(p) for p in args.network],
        [_read(p) for p in args.nodedev],
        qemu_version=args.qemu_version, libvirt_version=args.libvirt_version,
        kernel_release=args.kernel_release, hostname=args.hostname,
        collected_at=time.time() if args.collected_now else None,
    )
    sys.stdout.write(facts_to_json(facts))
    return 0
