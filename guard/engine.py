"""The decision engine: run every registered rule, then apply the policy. Pure: the
caller supplies the domain, facts, fingerprint, config and the time."""
from .findings import finding
from .policy import decide
from .rules import REGISTRY
from .rules.base import Context, Options


def options_from(config, dirty_rate=None):
    return Options(memory_limit_bytes=config.memory_limit, bandwidth_bytes_per_s=config.bandwidth,
                   max_downtime_s=config.max_downtime, dirty_rate_bytes_per_s=dirty_rate)


def evaluate(ctx, facts_problem=None):
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
            "destination facts unusable (%s); not checked: %s"
            % (facts_problem or "none given", ", ".join(skipped_dest)),
            "run `migration-guard facts collect` on the destination (the collector service keeps it fresh)",
            problem=facts_problem, rules=skipped_dest))
    if skipped_source:
        why = ctx.domain.fingerprint_error or "the guest carries no source fingerprint"
        findings.append(finding(
            "unverifiable", "source-fingerprint", "warn",
            "%s; not compared with the source: %s" % (why, ", ".join(skipped_source)),
            "run the collector service on the source (it stamps running guests), or `migration-guard preflight`",
            rules=skipped_source))
    return findings


def check_domain(domain, dest, source, config, now, connection=None, source_connection=None,
                 facts_problem=None, dirty_rate=None):
    ctx = Context(domain, dest, source, options_from(config, dirty_rate), connection, source_connection)
    return decide(domain, evaluate(ctx, facts_problem), config, now)
