"""Enforcement, separate from detection: profile, per-rule actions, exemptions and mode
turn the rules' findings into a decision (OPA Gatekeeper's deny / warn / dryrun)."""
import dataclasses
import datetime
import fnmatch

from .findings import DENY, INFO, OFF, WARN, Decision


def _applies(exemption_rules, found):
    return "*" in exemption_rules or found.rule in exemption_rules or found.code in exemption_rules


def _parse_until(text):
    try:
        value = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.astimezone()


def _exemptions(config, domain, now):
    """(active exemptions as (rules, reason, origin), notes about expired ones)."""
    active, notes = [], []
    for item in config.exemptions:
        if item.domain and not fnmatch.fnmatchcase(domain.name, item.domain):
            continue
        if item.uuid and (domain.uuid or "").lower() != item.uuid.lower():
            continue
        if item.until is not None and item.until <= now:
            notes.append("exemption for %s (%s) expired at %s and was ignored"
                         % (", ".join(item.rules), item.reason, item.until.isoformat()))
            continue
        active.append((item.rules, item.reason, "config"))
    for item in domain.exemptions:
        if not config.allow_metadata_exemptions:
            notes.append("the domain's own exemption for %s was ignored (allow_metadata_exemptions = false)"
                         % ", ".join(item.rules))
            continue
        until = _parse_until(item.until) if item.until else None
        if item.until and (until is None or until <= now):
            notes.append("the domain's own exemption for %s expired or has a bad date (%s) and was ignored"
                         % (", ".join(item.rules), item.until))
            continue
        active.append((item.rules, item.reason, "domain metadata"))
    return active, notes


def _action(config, found):
    action = found.action
    if config.profile == "strict" and action == WARN:
        action = DENY
    return config.rule_action(found.code, found.rule) or action


def decide(domain, findings, config, now):
    """The Decision for a domain's findings under a config, at time `now` (aware datetime)."""
    exemptions, notes = _exemptions(config, domain, now)
    kept = []
    for found in findings:
        action = _action(config, found)
        if action == OFF:
            continue
        if action in (DENY, WARN):
            for rules, reason, origin in exemptions:
                if _applies(rules, found):
                    found = dataclasses.replace(
                        found, message="%s [exempted by %s: %s; would be %s]" % (found.message, origin, reason,
                                                                                  action),
                        evidence=found.evidence + (("exempted", reason),))
                    action = INFO
                    break
        kept.append(dataclasses.replace(found, action=action))
    denied = any(f.action == DENY for f in kept)
    if not denied:
        verdict = "allow"
    elif config.mode == "audit":
        verdict = "would-deny"
    else:
        verdict = "deny"
    return Decision(verdict, config.mode, config.profile, domain.name, domain.uuid, tuple(kept), tuple(notes))
