"""source-fingerprint: with a fleet key configured, a guest whose fingerprint does not verify
(missing, unsigned, signed with another key or for another guest, expired, or a key this
host cannot read) is refused. Passing and failing fixtures, verified as the hook verifies
(guard.guest.metadata.verify_domain, the pure part of guard.services.incoming.authenticated)."""
import pytest
from support.helpers import NOW, debian12_facts, minimal_guest
from support.rulecase import Case, run_case, same_source

from guard.facts.fingerprint import fingerprint_of
from guard.guest.domain import parse_domain
from guard.guest.metadata import dated, stamp_xml, verify_domain

KEY, OTHER_KEY = b"k" * 32, b"o" * 32
MAX_AGE = 1800.0
CODES = tuple("source-fingerprint[%s]" % c for c in ("missing", "unsigned", "signature", "expired", "key"))


def stamped(key=KEY, issued=NOW - 60, uuid=None):
    """A guest stamped with this host's fingerprint issued at `issued` (None: undated),
    signed with `key` (None: unsigned), its UUID replaced afterwards when given (copied)."""
    fingerprint = fingerprint_of(debian12_facts())
    if issued is not None:
        fingerprint = dated(fingerprint, issued)
    xml = stamp_xml(minimal_guest(), fingerprint, key)
    return xml.replace("8f99e332-06c4-463a-9099-330fb244e1b3", uuid) if uuid else xml


def as_hooked(xml_fn=minimal_guest, keys=(KEY,), key_problem=None):
    """The guest as the hook decides it when [fingerprint] key is set."""
    return lambda: verify_domain(parse_domain(xml_fn()), keys, NOW, MAX_AGE, key_problem)


CASES = [
    Case("source-fingerprint", "no fingerprint, fleet key configured (minimal XML)", as_hooked(),
         expect="source-fingerprint[missing]", message_has=("no source fingerprint",)),
    Case("source-fingerprint", "fresh fingerprint signed with the fleet key (minimal XML)", as_hooked(stamped),
         near=CODES),
    Case("source-fingerprint", "signed with the previous key during a rotation (minimal XML)",
         as_hooked(lambda: stamped(OTHER_KEY), keys=(KEY, OTHER_KEY)), near=CODES),
    Case("source-fingerprint", "no fingerprint, no fleet key: not verified at all (minimal XML)", minimal_guest,
         near=CODES),
    Case("source-fingerprint", "no fingerprint, but the pre-flight gave the source's facts (minimal XML)",
         as_hooked(), source=same_source(debian12_facts), near=CODES),
    Case("source-fingerprint", "unsigned fingerprint (minimal XML)", as_hooked(lambda: stamped(None)),
         expect="source-fingerprint[unsigned]", message_has=("not signed",)),
    Case("source-fingerprint", "signed with another key (minimal XML)", as_hooked(lambda: stamped(OTHER_KEY)),
         expect="source-fingerprint[signature]", message_has=("does not match",)),
    Case("source-fingerprint", "copied from another guest (minimal XML)",
         as_hooked(lambda: stamped(uuid="11111111-06c4-463a-9099-330fb244e1b3")),
         expect="source-fingerprint[signature]"),
    Case("source-fingerprint", "issued two hours ago, max_age 30m (minimal XML)",
         as_hooked(lambda: stamped(issued=NOW - 7200)), expect="source-fingerprint[expired]",
         message_has=("issued 2.0h ago", "max_age 30m")),
    Case("source-fingerprint", "issued 29 minutes ago, max_age 30m (minimal XML)",
         as_hooked(lambda: stamped(issued=NOW - 29 * 60)), near=CODES),
    Case("source-fingerprint", "signed but undated, by a guard from before issued_at (minimal XML)",
         as_hooked(lambda: stamped(issued=None)), expect="source-fingerprint[expired]", message_has=("not dated",)),
    Case("source-fingerprint", "issued an hour ahead of this host's clock (minimal XML)",
         as_hooked(lambda: stamped(issued=NOW + 3600)), expect="source-fingerprint[expired]",
         message_has=("in the future",)),
    Case("source-fingerprint", "this host's key file is unusable (minimal XML)",
         as_hooked(stamped, keys=(), key_problem="the fingerprint key /k is missing"),
         expect="source-fingerprint[key]", message_has=("/k is missing",)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)


def test_an_unverified_fingerprint_is_a_deny_under_either_profile_and_names_the_skipped_rules():
    from support.helpers import decide

    from guard.config import Config
    for profile in ("default", "strict"):
        outcome = decide(as_hooked(lambda: stamped(None))(), debian12_facts(),
                         config=Config(profile=profile, fingerprint_key="/k"))
        actions = {f.code: f.action for f in outcome.findings}
        assert outcome.decision == "deny" and actions["source-fingerprint[unsigned]"] == "deny"
        assert "unverifiable[source-fingerprint]" in actions  # what was not compared, as before


def test_a_guests_own_metadata_exemption_cannot_waive_its_fingerprint():
    """The tenant writes <metadata>: even where metadata exemptions are allowed, one naming
    source-fingerprint (or "*") must not let an unsigned guest through. The config's own can."""
    from support.helpers import decide

    from guard.config import parse_config
    meta = ("\n  <metadata><mguard:guard xmlns:mguard='https://migration-guard.dev/xmlns/1'>"
            "<mguard:exemption rules='*' reason='trust me'/></mguard:guard></metadata>")
    guest = as_hooked(lambda: minimal_guest(metadata=meta))()
    config = parse_config('allow_metadata_exemptions = true\n[fingerprint]\nkey = "/k"\n')
    outcome = decide(guest, debian12_facts(), config=config)
    assert outcome.decision == "deny" and "source-fingerprint[missing]" in {f.code for f in outcome.denies}
    by_config = parse_config('[fingerprint]\nkey = "/k"\n[[exemptions]]\ndomain = "guest"\n'
                             'rules = ["source-fingerprint"]\nreason = "lab guest, CHG1"\n')
    assert decide(guest, debian12_facts(), config=by_config).decision == "allow"
