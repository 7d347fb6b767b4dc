"""`migration-guard check`: decide one domain XML offline against facts files."""
import sys
import time

from ..config import load_config
from ..decide.core import Inputs, decide
from ..errors import InputError
from ..facts.cache import read_facts_file
from ..facts.fingerprint import fingerprint_of
from ..guest.domain import parse_domain
from ..output.report import decision_json, decision_text, dumps


def register(sub):
    parser = sub.add_parser("check", help="decide whether a domain may migrate to a host",
                            description="Decide offline whether the domain in --domain-xml may migrate to the "
                                        "host described by --facts. Exit 0 allow, 1 deny, 2 error.")
    parser.add_argument("--domain-xml", metavar="FILE", help="domain XML ('-' for stdin); required without --batch")
    parser.add_argument("--facts", metavar="FILE", help="destination facts JSON; required without --batch")
    parser.add_argument("--source-facts", metavar="FILE",
                        help="source facts JSON (else the fingerprint stamped in the XML)")
    parser.add_argument("--config", metavar="FILE", help="policy file (default: $MIGRATION_GUARD_CONFIG or "
                                                         "/etc/migration-guard/config.toml)")
    parser.add_argument("--probe", action="store_true",
                        help="this machine is the destination: stat the guest's paths and read /proc and /sys here "
                             "at decision time, as the hook does (else paths are unverifiable and host details "
                             "come from --facts)")
    parser.add_argument("--batch", action="store_true",
                        help="with --probe: decide each guest of a JSON request on stdin exactly as this host's hook "
                             "would (its config, cached facts, bypass and probe), one JSON decision a line; what "
                             "`preflight --dest-shell` runs on a destination")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="the decision as text, or as JSON (README: Using check)")
    parser.set_defaults(run=run)


def read_input(path, limit=16 * 1024 * 1024):
    try:
        if path == "-":
            return sys.stdin.buffer.read(limit + 1)
        with open(path, "rb") as handle:
            return handle.read(limit + 1)
    except OSError as exc:
        raise InputError("cannot read %s: %s" % (path, exc.strerror or exc))


def run(args):
    if args.batch:
        if not args.probe or args.domain_xml or args.facts or args.source_facts:
            raise InputError("--batch decides as this host's hook: it needs --probe, and takes the guests and the "
                             "source's facts from stdin, the facts from the hook's cache (not --domain-xml, --facts "
                             "or --source-facts)")
        from ..services.incoming import decide_batch
        return decide_batch(sys.stdin.buffer, sys.stdout, load_config(args.config), time.time())
    if not args.domain_xml or not args.facts:
        raise InputError("check needs --domain-xml and --facts (or --probe --batch)")
    config = load_config(args.config)
    now = time.time()
    domain = parse_domain(read_input(args.domain_xml), args.domain_xml)
    if config.fingerprint_key:  # verify a signed fingerprint (and its age) as the hook does
        from ..services.incoming import authenticated
        domain = authenticated(domain, config, now)
    dest = read_facts_file(args.facts)
    source = fingerprint_of(read_facts_file(args.source_facts)) if args.source_facts else None
    probe = None
    if args.probe:
        from ..facts.probe import gather
        probe = gather(domain, config.timeout)
    outcome = decide(Inputs(domain, dest, config, now, source=source, probe=probe))
    if args.format == "json":
        print(dumps(decision_json(outcome)))
    else:
        print(decision_text(outcome))
    return outcome.exit_code
