"""`migration-guard stamp`: write the source fingerprint into a domain XML, offline."""
import sys
import time

from ..config import load_config
from ..errors import GuardError
from ..facts.cache import read_facts_file
from ..facts.fingerprint import fingerprint_for
from ..guest.domain import parse_domain
from ..guest.metadata import dated, stamp_xml
from ..runtime.trusted import fleet_keys
from .check import read_input


def register(sub):
    parser = sub.add_parser("stamp", help="add the source host's fingerprint to a domain XML",
                            description="Print the domain XML with the fingerprint of the host in --facts in "
                                        "its <metadata>, replacing an older one; dated now, and signed when the config "
                                        "names a [fingerprint] key (the hooks accept it for max_age).")
    parser.add_argument("--domain-xml", required=True, metavar="FILE", help="domain XML ('-' for stdin)")
    parser.add_argument("--facts", required=True, metavar="FILE", help="the source host's facts JSON")
    parser.add_argument("--config", metavar="FILE", help="signs with its [fingerprint] key (never previous_key), "
                                                         "when one is set")
    parser.set_defaults(run=run)


def run(args):
    xml = read_input(args.domain_xml)
    facts = read_facts_file(args.facts)
    config = load_config(args.config)
    key = None
    if config.fingerprint_key:
        keys, problem = fleet_keys(config)
        if not keys:
            raise GuardError("cannot sign: %s" % problem)
        key = keys[0]  # always the current key; previous_key is only accepted
    fingerprint = dated(fingerprint_for(facts, parse_domain(xml)), time.time())
    sys.stdout.write(stamp_xml(xml, fingerprint, key))
    return 0
