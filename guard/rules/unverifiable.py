"""unverifiable: a check lacked the facts it needs. Emitted by the engine and by rules."""
from ..findings import WARN
from .base import UNVERIFIABLE_FOR, Rule, codes


def check(ctx):
    return ()  # findings of this rule come from the others (base.unverifiable) and the engine


RULE = Rule(
    id="unverifiable",
    title="Unverifiable",
    limitation="a check lacked the facts it needs",
    checks="No source fingerprint, no destination facts (in the hook, unusable facts are also an error that "
           "on_error decides), or facts that lack what one rule needs; the code names the rule or the missing "
           "input.",
    remedy="Run the collector on both hosts so the cache is fresh and guests carry a fingerprint.",
    codes=codes("unverifiable", WARN, *UNVERIFIABLE_FOR),
    check=check,
)
