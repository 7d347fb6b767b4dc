"""unverifiable: a check lacked the facts it needs. Emitted by the engine and by rules.

Its codes are derived from the rules it reports for, never listed by hand: one per input the
engine reports missing that some rule needs (base.MISSING_INPUTS: unverifiable[facts],
unverifiable[source-fingerprint]), then one per rule declared may_be_unverifiable, which
reports unverifiable[<its id>] itself (base.Rule.unverifiable), in catalogue order."""
from .base import MISSING_INPUTS, WARN, Rule, codes

ID = "unverifiable"


def check(ctx):
    return ()  # findings of this rule come from the others (Rule.unverifiable) and the engine


def record(rules):
    """The unverifiable record for the registry's other rules (guard.rules.REGISTRY)."""
    inputs = tuple(name for flag, name in MISSING_INPUTS if any(getattr(rule, flag) for rule in rules))
    own = tuple(rule.id for rule in rules if rule.may_be_unverifiable)
    return Rule(
        id=ID,
        title="Unverifiable",
        limitation="a check lacked the facts it needs",
        checks="No source fingerprint, no destination facts (in the hook, unusable facts are also an error that "
               "on_error decides), or facts that lack what one rule needs; the code names the rule or the missing "
               "input.",
        remedy="Run the collector on both hosts so the cache is fresh and guests carry a fingerprint.",
        codes=codes(ID, WARN, *inputs + own),
        check=check,
    )
