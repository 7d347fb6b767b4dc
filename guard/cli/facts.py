"""`migration-guard facts build` (from libvirt documents) and, when present, collect/watch."""
import sys

from ..errors import InputError
from ..facts.build import build_facts
from ..facts.cache import as_collected, facts_to_json


def register(sub):
    parser = sub.add_parser("facts", help="build or collect host facts")
    facts_sub = parser.add_subparsers(dest="facts_command", metavar="ACTION", parser_class=type(parser))
    facts_sub.required = True
    build = facts_sub.add_parser("build", help="facts JSON from libvirt documents, to stdout",
                                 description="Build host facts from the output of virsh capabilities, "
                                             "domcapabilities, sysinfo, net-dumpxml and nodedev-dumpxml.")
    build.add_argument("--capabilities", required=True, metavar="FILE", help="output of virsh capabilities")
    build.add_argument("--domcapabilities", action="append", default=[], metavar="FILE",
                       help="output of virsh domcapabilities (repeatable)")
    build.add_argument("--sysinfo", metavar="FILE", help="output of virsh sysinfo")
    build.add_argument("--network", action="append", default=[], metavar="FILE",
                       help="output of virsh net-dumpxml (repeatable)")
    build.add_argument("--nodedev", action="append", default=[], metavar="FILE",
                       help="output of virsh nodedev-dumpxml (repeatable)")
    build.add_argument("--inactive-network", action="append", default=[], metavar="NAME",
                       help="a --network that is defined but not active (net-dumpxml does not say)")
    build.add_argument("--pool", action="append", default=None, metavar="FILE",
                       help="virsh pool-dumpxml of a storage pool (any --pool: the list is complete)")
    build.add_argument("--inactive-pool", action="append", default=[], metavar="NAME",
                       help="a storage pool defined but not active (repeatable)")
    local = build.add_argument_group("host details the collector reads locally (any of them makes the facts say "
                                     "what the others are; unset ones stay unknown)")
    local.add_argument("--interfaces", metavar="FILE",
                       help="`ls /sys/class/net` output: the host's network devices, one per line")
    local.add_argument("--bridge", action="append", default=None, metavar="NAME",
                       help="a network device that is a bridge")
    local.add_argument("--address", action="append", default=None, metavar="ADDR", help="an address of the host")
    local.add_argument("--guest-cpus", metavar="LIST", help="the cpuset guests may use, e.g. 0-15")
    local.add_argument("--hugetlbfs", action="append", default=None, metavar="SIZE",
                       help="a page size hugetlbfs is mounted for, e.g. 2M or 1G")
    local.add_argument("--free-pages", action="append", default=None, metavar="NODE:SIZE:COUNT",
                       help="free huge pages, e.g. 0:2M:512")
    local.add_argument("--firmware-file", action="append", default=None, metavar="PATH",
                       help="a firmware file present on the host")
    build.add_argument("--qemu-version", metavar="V", help="the host's QEMU version, e.g. 8.2.0")
    build.add_argument("--libvirt-version", metavar="V", help="the host's libvirt version, e.g. 10.5.0")
    build.add_argument("--kernel-release", metavar="R", help="the host's uname -r")
    build.add_argument("--hostname", metavar="NAME", help="the host's name")
    build.add_argument("--collected-now", action="store_true",
                       help="record now as the collection time, by the wall clock and by this host's boot and its "
                            "clock, as the collector does (else none: the hook cannot judge its age)")
    build.set_defaults(run=run_build)
    try:
        from . import collector  # collect and watch need libvirt-python; build works without it
    except ImportError:
        return
    collector.register(facts_sub)


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError("cannot read %s: %s" % (path, exc.strerror or exc))


def _size(text):
    from ..facts.probe import _size as size_of
    value = size_of(text)
    if not value:
        raise InputError("%r is not a page size (say e.g. 2M or 1G)" % text)
    return value


def _local(args):
    """LocalFacts from the local-detail options, or None when none is given."""
    from ..facts.model import LocalFacts
    from ..guest.cpuset import parse_idset
    given = (args.interfaces, args.bridge, args.address, args.guest_cpus, args.hugetlbfs, args.free_pages,
             args.firmware_file)
    if all(value is None for value in given):
        return None
    netdevs = None
    if args.interfaces:
        netdevs = tuple(line.strip() for line in _read(args.interfaces).decode().split() if line.strip())
    free = None
    if args.free_pages is not None:
        free = []
        for item in args.free_pages:
            node, _s, rest = item.partition(":")
            size, _s, number = rest.partition(":")
            if not (node.isdigit() and number.isdigit()):
                raise InputError("--free-pages %r: say NODE:SIZE:COUNT, e.g. 0:2M:512" % item)
            free.append((int(node), _size(size), int(number)))
    return LocalFacts(
        netdevs=netdevs, bridges=tuple(args.bridge) if args.bridge is not None else (() if netdevs else None),
        addresses=tuple(args.address) if args.address is not None else None,
        guest_cpus=tuple(sorted(parse_idset(args.guest_cpus))) if args.guest_cpus else None,
        hugetlbfs=tuple(_size(s) for s in args.hugetlbfs) if args.hugetlbfs is not None else None,
        free_pages=tuple(free) if free is not None else None,
        firmware_files=tuple(args.firmware_file or ()))


def run_build(args):
    inactive = set(args.inactive_network)
    networks = [(_read(p), None) for p in args.network]
    pools = [(_read(p), None) for p in args.pool] if args.pool is not None else None
    from ..facts.build import network_from_xml
    names = [network_from_xml(text).name for text, _a in networks]
    networks = [(text, name not in inactive) for (text, _a), name in zip(networks, names)]
    if pools is not None:
        from ..facts.build import pool_from_xml
        pools = [(text, pool_from_xml(text).name not in set(args.inactive_pool)) for text, _a in pools]
    facts = build_facts(
        _read(args.capabilities),
        [_read(p) for p in args.domcapabilities],
        _read(args.sysinfo) if args.sysinfo else None,
        networks,
        [_read(p) for p in args.nodedev],
        pools,
        qemu_version=args.qemu_version, libvirt_version=args.libvirt_version,
        kernel_release=args.kernel_release, hostname=args.hostname,
    )
    facts = facts._replace(local=_local(args))
    if args.collected_now:
        facts = as_collected(facts)
    sys.stdout.write(facts_to_json(facts))
    return 0
