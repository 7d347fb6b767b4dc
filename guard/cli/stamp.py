"""`migration-guard stamp`: write the source fingerprint into a domain XML, offline."""
import sys

from ..config import load_config
from ..domain import parse_domain
from ..errors import GuardError
from ..facts.cache import read_facts_file
from ..fingerprint import fingerprint_for
from ..metadata import stamp_xml
from ..trusted import Untrusted, read_key
from .check import read_input


def register(sub):
    parser = sub.add_parser("stamp", help="add the source host's fingerprint to a domain XML",
                            description="Print the domain XML with the fingerprint of the host in --facts in "
                                        "its <metadata>, replacing an older one; signed when the config names a [fingerprint] "
                                        "key.")
    parser.add_argument("--domain-xml", required=True, metavar="FILE", help="domain XML ('-' for stdin)")
    parser.add_argument("--facts", required=True, metavar="FILE", help="the source host's facts JSON")
    parser.add_argument("--config", metavar="FILE", help="signs with its [fingerprint] key, when one is set")
    parser.set_defaults(run=run)


def run(args):
    xml = read_input(args.domain_xml)
    facts = read_facts_file(args.facts)
    path = load_config(args.config).fingerprint_key
    try:
        key = read_key(path) if path else None
    except Untrusted as exc:
        raise GuardError("cannot sign: %s" % exc)
    sys.stdout.write(stamp_xml(xml, fingerprint_for(facts, parse_domain(xml)), key))
    return 0
