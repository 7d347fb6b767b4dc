"""unverifiable: a check lacked the facts it needs. Emitted by the engine and by rules."""
from ..findings import WARN
from .base import UNVERIFIABLE_FOR, Rule, codes


def check(ctx):
    return ()  # findings of this rule come from the others (base.unverifiable) and the engine


RULE = Rule(
    id="unverifiable",
    title="Unverifiable",
    limitation="a check lacked the facts it needs",
    checks="No source fingerprint, missing, unreadable or stale destination facts, or facts that lack "
           "what one rule needs; the code names the rule or the missing input.",
    remedy="Run the collector on both hosts so the cache is fresh and guests carry a fingerprint.",
    codes=codes("unverifiable", WARN, *UNVERIFIABLE_FOR),
    check=check,
)
