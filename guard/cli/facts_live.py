"""`migration-guard facts collect` (needs libvirt-python), and the arguments it shares with
`facts watch` (guard.cli.watch). guard.cli.facts registers both."""
import os
import sys

from ..config import CONFIG_HELP, load_config
from ..facts.cache import facts_to_json, write_atomic
from ..facts.collect import collect
from ..output import journal
from .metrics import refresh_after_collection


def add_collector_arguments(parser):
    """--uri, --output and --config, shared by `facts collect` and `facts watch`."""
    parser.add_argument("--uri", default="qemu:///system", help="libvirt URI to read (default qemu:///system)")
    parser.add_argument("--output", metavar="PATH", help="default: the config's paths.facts")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)


def output_path(args):
    return args.output or load_config(args.config).paths.facts


def register(facts_sub):
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
