"""`migration-guard preflight`: check guests against destinations from the source."""
import json
import time

from ..config import load_config
from ..errors import GuardError
from ..report import decision_json, decision_text


def register(sub):
    parser = sub.add_parser("preflight", help="check guests against destination hosts, from the source",
                            description="For each guest and destination, decide as the destination's hook "
                                        "would. Exit 0 all allowed, 1 any denied, 2 error.")
    parser.add_argument("domains", nargs="*", metavar="DOMAIN")
    parser.add_argument("--dest", action="append", required=True, metavar="URI",
                        help="destination libvirt URI, e.g. qemu+ssh://hv02/system (repeatable)")
    parser.add_argument("--source", default="qemu:///system", metavar="URI")
    parser.add_argument("--all", action="store_true", help="every running guest of the source")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--config", metavar="FILE")
    parser.set_defaults(run=run)


def run(args):
    if not args.domains and not args.all:
        raise GuardError("name the guests to check, or use --all")
    try:
        from ..preflight import preflight
    except ImportError as exc:
        raise GuardError("preflight needs libvirt-python (python3-libvirt): %s" % exc)
    config = load_config(args.config)
    now = time.time()
    results = preflight(args.source, args.dest, args.domains, args.all, config, now)
    denied = any(decision.decision == "deny" for _dest, decision in results)
    if args.format == "json":
        print(json.dumps({"results": [decision_json(decision, {"source": args.source, "dest": dest})
                                      for dest, decision in results]}, sort_keys=True))
    else:
        for dest, decision in results:
            print(decision_text(decision, header="%s -> %s" % (decision.domain_name, dest)))
        if not results:
            print("no running guests on %s" % args.source)
    return 1 if denied else 0
