"""Detection: run every registered rule over a Context. Pure."""
from .findings import finding
from .rules import REGISTRY


def evaluate(ctx, facts_problem=None, source_problem=None):
    """Every finding for a Context. Rules whose inputs are missing are not run; one
    `unverifiable` finding per missing input names them instead."""
    findings = []
    skipped_dest, skipped_source = [], []
    for rule in REGISTRY:
        if rule.needs_dest and ctx.dest is None:
            skipped_dest.append(rule.id)
            continue
        if rule.needs_source and ctx.source is None:
            skipped_source.append(rule.id)
            continue
        findings.extend(rule.check(ctx))
    if skipped_dest:
        findings.append(finding(
            "unverifiable", "facts", "warn",
            "destination facts unusable (%s); not checked: %s" % (facts_problem or "none given", ", ".join(skipped_dest)),
            "run `migration-guard facts collect` on the destination (the collector service keeps it fresh)",
            problem=facts_problem, rules=skipped_dest))
    if skipped_source:
        findings.append(finding(
            "unverifiable", "source-fingerprint", "warn",
            "%s; not compared with the source: %s" % (source_problem or "no source fingerprint",
                                                      ", ".join(skipped_source)),
            "run the collector service on the source (it stamps running guests), or `migration-guard preflight`",
            rules=skipped_source))
    return findings
