"""source-fingerprint: with a fleet key configured ([fingerprint] key), the guest must carry
a source fingerprint signed with it (or with previous_key) and issued within max_age.

The tenant controls its guest's <metadata>: without a signed fingerprint it could claim any
source (or none) and so choose which host-identity comparisons run. A configured key is the
administrator saying that fingerprints are signed on this fleet, so a guest without one
that verifies is refused whatever the profile, instead of merely not compared
(unverifiable[source-fingerprint] still names the comparisons that did not run). The
verification itself is guard.guest.metadata.verify_domain, run by the hook and `check` before
deciding; it leaves what went wrong in Domain.fingerprint_check. Source facts the caller
gives (the pre-flight, `check --source-facts`) need no signature."""
from ..guest.metadata import EXPIRED, KEY, MISSING, SIGNATURE, UNSIGNED
from .base import DENY, Rule, codes

ID = "source-fingerprint"

_COLLECTOR = ("run migration-guard-watch.service on the source with the same [fingerprint] key: it stamps running "
              "guests and re-stamps them well within max_age")
REMEDIES = {
    MISSING: _COLLECTOR,
    UNSIGNED: _COLLECTOR + " (the source's config names no key)",
    SIGNATURE: ("give every host the same [fingerprint] key (during a rotation, the other one as previous_key); a "
                "fingerprint altered or copied from another guest cannot be made to verify"),
    EXPIRED: _COLLECTOR + "; keep the hosts' clocks in sync (NTP)",
    KEY: "fix this host's [fingerprint] key file (`migration-guard status` says what is wrong with it)",
}


def check(ctx):
    problem = ctx.domain.fingerprint_check
    if problem is None or ctx.source is not None:
        return ()
    why = ctx.domain.fingerprint_problem or "the guest carries no source fingerprint"
    return (RULE.finding(problem, "%s; with a fleet key configured only a signed, fresh one is trusted" % why,
                         REMEDIES[problem]),)


RULE = Rule(
    id=ID,
    title="Signed source fingerprint",
    limitation="CPU model, microcode, BIOS, QEMU and kernel version of the hosts: only a source fingerprint "
               "the tenant cannot write lets the destination compare them",
    checks="With [fingerprint] key set: the guest's fingerprint is present and readable (missing), signed "
           "(unsigned) with the current or previous key for this guest (signature), issued within max_age and not "
           "ahead of this host's clock (expired), and this host can read its key (key). Source facts given to "
           "the pre-flight or `check --source-facts` need no signature.",
    remedy="Run the collector service (migration-guard-watch) on every host with the same key and synchronised "
           "clocks.",
    codes=codes(ID, DENY, MISSING, UNSIGNED, SIGNATURE, EXPIRED, KEY),
    check=check,
)
