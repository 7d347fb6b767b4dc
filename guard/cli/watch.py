"""`migration-guard facts watch`: the collector service."""
from ..config import load_config
from ..units import parse_duration
from ..watch import run_watch


def register(facts_sub):
    parser = facts_sub.add_parser("watch", help="keep the facts cache fresh and running guests stamped",
                                  description="The collector service: refresh the facts cache at start, on a "
                                              "timer, when libvirt restarts and when facts change; stamp the "
                                              "source fingerprint into every running guest's live XML.")
    parser.add_argument("--uri", default="qemu:///system")
    parser.add_argument("--output", metavar="PATH", help="default: the config's paths.facts")
    parser.add_argument("--interval", default="10m", help="refresh period (default 10m)")
    parser.add_argument("--config", metavar="FILE")
    parser.set_defaults(run=run)


def run(args):
    output = args.output or load_config(args.config).paths.facts
    return run_watch(args.uri, output, parse_duration(args.interval, "--interval"))
