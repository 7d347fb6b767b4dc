"""Enforcement, separate from detection: which source fingerprint counts, then profile,
per-rule actions, exemptions, mode and the emergency bypass turn the rules' findings into
a verdict (OPA Gatekeeper's deny / warn / dryrun, and a documented break-glass)."""
from ..rules.findings import DENY, INFO, OFF, WARN
from ..units import format_time

NO_FINGERPRINT = "the guest carries no source fingerprint"


def source_of(given, domain):
    """(Fingerprint or None, where it came from, why there is none). Source facts given by
    the caller (check --source-facts, preflight) win over the fingerprint the guest carries."""
    if given is not None:
        return given, "given", None
    if domain.fingerprint is not None:
        return domain.fingerprint, "metadata", None
    return None, None, domain.fingerprint_problem or NO_FINGERPRINT


def _applies(exemption_rules, found):
    return "*" in exemption_rules or found.rule in exemption_rules or found.code in exemption_rules


def _parse_until(text):
    import datetime
    try:
        value = datetime.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.astimezone()


# Rules a guest's own metadata exemption never waives: they judge what the tenant wrote.
NOT_SELF_EXEMPT = ("source-fingerprint",)


# Notes about ignored exemptions: the domain's own are the guest's text (64 of them, any
# length), so a note names a few rules, each clipped, and a few notes are written at most.
MAX_EXEMPTION_NOTES = 8
NOTE_RULES, NOTE_TEXT = 4, 80


def _clipped(text, limit=NOTE_TEXT):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _rules_text(rules):
    shown = ", ".join(_clipped(rule) for rule in rules[:NOTE_RULES])
    return shown if len(rules) <= NOTE_RULES else "%s and %d more" % (shown, len(rules) - NOTE_RULES)


def _exemptions(config, domain, now):
    """(active exemptions as (rules, reason, origin), notes about ignored ones)."""
    import fnmatch  # only guests that may be exempted pay for it (and for datetime) on the hook's path
    active, notes = [], []
    for item in config.exemptions:
        if item.domain and not fnmatch.fnmatchcase(domain.name, item.domain):
            continue
        if item.uuid and (domain.uuid or "").lower() != item.uuid.lower():
            continue
        if item.until is not None and item.until <= now:
            notes.append("exemption for %s (%s) expired at %s and was ignored"
                         % (_rules_text(item.rules), _clipped(item.reason), item.until.isoformat()))
            continue
        active.append((item.rules, item.reason, "config"))
    for item in domain.exemptions:
        if not config.allow_metadata_exemptions:
            notes.append("the domain's own exemption for %s was ignored (allow_metadata_exemptions = false)"
                         % _rules_text(item.rules))
            continue
        until = _parse_until(item.until) if item.until else None
        if item.until and (until is None or until <= now):
            notes.append("the domain's own exemption for %s expired or has a bad date (%s) and was ignored"
                         % (_rules_text(item.rules), _clipped(item.until)))
            continue
        active.append((item.rules, item.reason, "domain metadata"))
    for waiver in domain.waivers:
        if not waiver.verified:
            notes.append("a waiver for %s was ignored: %s" % (
                _rules_text(waiver.codes), "not signed with the fleet key for this guest, or expired"
                if config.fingerprint_key else "no [fingerprint] key is configured to verify it"))
            continue
        active.append((waiver.codes, "%s (by %s, until %s)" % (waiver.reason, waiver.by or "?",
                                                                format_time(waiver.until)), "a signed waiver"))
    if len(notes) > MAX_EXEMPTION_NOTES:
        notes[MAX_EXEMPTION_NOTES - 1:] = ["%d more exemptions were ignored" % (len(notes) - MAX_EXEMPTION_NOTES + 1)]
    return active, notes


# What a declared maintenance window ([maintenance] until) turns into warnings: the host
# firmware differences a rolling BIOS or microcode update makes for a while.
MAINTENANCE_RULES = ("microcode", "bios")


def _in_window(found, config, now_epoch, notes):
    """(finding, action) under the maintenance window: a warning saying so while it lasts."""
    until = config.maintenance_until.timestamp()
    if until <= now_epoch:
        note = "the maintenance window ended at %s: firmware differences are refused again" % format_time(until)
        if note not in notes:
            notes.append(note)
        return found, DENY
    return found._replace(message="%s [maintenance window until %s: %s; would be deny]" % (
        found.message, format_time(until), config.maintenance_reason),
        evidence=found.evidence + (("maintenance", config.maintenance_reason), ("would_be", DENY))), WARN


def _action(config, found):
    action = found.strict if config.profile == "strict" else found.action
    return config.rule_action(found.code, found.rule) or action


def apply(domain, findings, config, now_epoch):
    """(verdict, kept findings, notes) for a domain's findings under a config at a time.
    verdict: allow | deny | would-deny (audit mode)."""
    exemptions, notes = [], []
    if config.exemptions or domain.exemptions or domain.waivers:
        import datetime
        exemptions, notes = _exemptions(config, domain, datetime.datetime.fromtimestamp(now_epoch, datetime.timezone.utc))
    kept = []
    for found in findings:
        action = _action(config, found)
        if action == OFF:
            continue
        if action != INFO:
            for rules, reason, origin in exemptions:
                if origin == "domain metadata" and found.rule in NOT_SELF_EXEMPT:
                    continue  # the tenant writes the metadata: it cannot vouch for its own stamp
                if _applies(rules, found):
                    reason = _clipped(reason, 240)  # the guest's text, for an exemption it carries
                    found = found._replace(
                        message="%s [exempted by %s: %s; would be %s]" % (found.message, origin, reason, action),
                        evidence=found.evidence + (("exempted", reason), ("would_be", action)))
                    action = INFO
                    break
        if action == DENY and found.rule in MAINTENANCE_RULES and config.maintenance_until is not None:
            found, action = _in_window(found, config, now_epoch, notes)
        kept.append(found if action == found.action else found._replace(action=action))
    if not any(f.action == DENY for f in kept):
        verdict = "allow"
    elif config.mode == "audit":
        verdict = "would-deny"
    else:
        verdict = "deny"
    return verdict, tuple(kept), notes


def bypassed(verdict, bypass):
    """An active emergency bypass accepts what would be refused; every finding stays recorded."""
    return bypass is not None and verdict in ("deny", "would-deny")
