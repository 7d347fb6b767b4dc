"""The collector's commands, both needing libvirt-python: `migration-guard facts collect`
(one collection) and `facts watch` (the collector service, guard.services.watch), with the
arguments they share. guard.cli.facts registers them."""
import os
import sys

from ..config import CONFIG_HELP, load_config
from ..facts.cache import facts_to_json
from ..facts.collect import collect
from ..output import journal
from ..runtime.files import write_atomic
from ..services.watch import run_watch
from ..units import parse_duration
from .metrics import refresh_after_collection


def add_collector_arguments(parser):
    """--uri, --output and --config, shared by `facts collect` and `facts watch`."""
    parser.add_argument("--uri", default="qemu:///system", help="libvirt URI to read (default qemu:///system)")
    parser.add_argument("--output", metavar="PATH", help="default: the config's paths.facts")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)


def output_path(args):
    return args.output or load_config(args.config).paths.facts


def register(facts_sub):
    register_collect(facts_sub)
    register_watch(facts_sub)


def register_collect(facts_sub):
    parser = facts_sub.add_parser("collect", help="collect this host's facts from libvirt (read-only)",
                                  description="Collect host facts over a read-only libvirt connection plus local "
                                              "extras, and write them atomically to --output (default: the "
                                              "config's paths.facts). '-' writes to stdout.")
    add_collector_arguments(parser)
    parser.set_defaults(run=run_collect)


def run_collect(args):
    output = output_path(args)
    facts = collect(args.uri)
    text = facts_to_json(facts)
    if output == "-":
        sys.stdout.write(text)
    else:
        write_atomic(output, text, mode=0o644)
        message = "facts of %s written to %s" % (facts.hostname, output)
        if os.environ.get("JOURNAL_STREAM"):  # the collect service: to the journal with its MESSAGE_ID
            journal.send(message, priority=6, message_id=journal.FACTS_COLLECTED, MG_OUTPUT=output)
        else:
            print(message, file=sys.stderr)
        problem = refresh_after_collection(args.config)
        if problem:
            print("migration-guard: warning: metrics file not refreshed: %s" % problem, file=sys.stderr)
    return 0


def register_watch(facts_sub):
    parser = facts_sub.add_parser("watch", help="keep the facts cache fresh and running guests stamped",
                                  description="The collector service: refresh the facts cache at start, on a "
                                              "timer, when libvirt restarts and when facts change; stamp the "
                                              "source fingerprint into every running guest's live XML; record "
                                              "the outcome of every migration the hook let proceed.")
    add_collector_arguments(parser)
    parser.add_argument("--interval", default="10m",
                        help="refresh period (default 10m; with a [fingerprint] key at most a third of max_age)")
    parser.set_defaults(run=run_watch_command)


def run_watch_command(args):
    # One config for the whole service, --config's when given: its paths, and the fleet key
    # that signs the stamps (never another config found through the environment).
    config = load_config(args.config)
    return run_watch(args.uri, args.output or config.paths.facts, parse_duration(args.interval, "--interval"),
                     after_refresh=lambda: refresh_after_collection(args.config), config=config)
