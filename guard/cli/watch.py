"""`migration-guard facts watch`: the collector service."""
from ..config import load_config
from ..services.watch import run_watch
from ..units import parse_duration
from .facts_live import add_collector_arguments
from .metrics import refresh_after_collection


def register(facts_sub):
    parser = facts_sub.add_parser("watch", help="keep the facts cache fresh and running guests stamped",
                                  description="The collector service: refresh the facts cache at start, on a "
                                              "timer, when libvirt restarts and when facts change; stamp the "
                                              "source fingerprint into every running guest's live XML.")
    add_collector_arguments(parser)
    parser.add_argument("--interval", default="10m",
                        help="refresh period (default 10m; with a [fingerprint] key at most a third of max_age)")
    parser.set_defaults(run=run)


def run(args):
    # One config for the whole service, --config's when given: its paths, and the fleet key
    # that signs the stamps (never another config found through the environment).
    config = load_config(args.config)
    return run_watch(args.uri, args.output or config.paths.facts, parse_duration(args.interval, "--interval"),
                     after_refresh=lambda: refresh_after_collection(args.config), config=config)
