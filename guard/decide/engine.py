"""Detection: run every registered rule over a Context. Pure."""
import functools

from ..rules import REGISTRY

UNVERIFIABLE = next(rule for rule in REGISTRY if rule.id == "unverifiable")  # the engine's own code


def _plan(has_dest, has_source):
    """(the rules' check functions to run, ids of rules skipped for want of destination
    facts, ids skipped for want of a source fingerprint): the same for every decision with
    the same inputs present, so worked out once each."""
    run, skipped_dest, skipped_source = [], [], []
    for rule in REGISTRY:
        if rule.needs_dest and not has_dest:
            skipped_dest.append(rule.id)
        elif rule.needs_source and not has_source:
            skipped_source.append(rule.id)
        else:
            run.append(rule.check)
    return tuple(run), tuple(skipped_dest), tuple(skipped_source)


_PLANS = {(dest, source): _plan(dest, source) for dest in (False, True) for source in (False, True)}


# What a missing input leaves unchecked: (message, what a missing reason reads as, remedy).
_UNCHECKED = {
    "facts": ("destination facts unusable (%s); not checked: %s", "none given",
              "run `migration-guard facts collect` on the destination (the collector service keeps it fresh)"),
    "source-fingerprint": ("%s; not compared with the source: %s", "no source fingerprint",
                           "run the collector service on the source (it stamps running guests), or "
                           "`migration-guard preflight`"),
}


# Findings are immutable, and most guests carry no fingerprint (or share a facts problem):
# the same few findings, made once each.
@functools.lru_cache(maxsize=64)
def _unchecked(missing, problem, skipped):
    message, no_problem, remedy = _UNCHECKED[missing]
    evidence = {"problem": problem} if missing == "facts" else {}
    return UNVERIFIABLE.finding(missing, message % (problem or no_problem, ", ".join(skipped)), remedy,
                                rules=list(skipped), **evidence)


def evaluate(ctx, facts_problem=None, source_problem=None):
    """Every finding for a Context. Rules whose inputs are missing are not run; one
    `unverifiable` finding per missing input names them instead."""
    run, skipped_dest, skipped_source = _PLANS[ctx.dest is not None, ctx.source is not None]
    findings = []
    extend = findings.extend
    for check in run:
        extend(check(ctx))
    if skipped_dest:
        findings.append(_unchecked("facts", facts_problem, skipped_dest))
    if skipped_source:
        findings.append(_unchecked("source-fingerprint", source_problem, skipped_source))
    return findings
