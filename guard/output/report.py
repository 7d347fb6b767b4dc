"""Rendering outcomes for people (text, in the manner of virt-host-validate), for the
person running `virsh migrate` (the hook's stderr) and for machines (JSON). Every line
and document is escaped by guard.output.escaping: the guest's values in it are a tenant's."""
from ..units import format_time
from . import escaping

LABELS = {"deny": "DENY", "warn": "WARN", "info": "INFO"}
# What `virsh migrate` prints must stay readable: one line per code, the whole refusal
# within about 2 KB (issue 9: 22 lines and 4 KB for a GPU guest was too much).
MAX_LINE = 480
MAX_REFUSAL = 2048


def grouped(findings):
    """[(code, action, message, remedy)]: one entry per (code, action), messages of the same
    code joined, in first-seen order. Rules already summarise their evidence per code."""
    order, groups = [], {}
    for found in findings:
        key = (found.code, found.action)
        if key not in groups:
            order.append(key)
            groups[key] = ([], found.remedy)
        if found.message not in groups[key][0]:
            groups[key][0].append(found.message)
    return [(code, action, "; ".join(groups[(code, action)][0]), groups[(code, action)][1]) for code, action in order]


def _clip(text, limit):
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."
VERDICTS = {"allow": "ALLOW", "deny": "DENY", "would-deny": "WOULD DENY (audit mode)", "bypassed": "BYPASSED",
            "deferred": "DEFERRED (refused when QEMU starts here; an offline migration goes ahead)",
            "error": "ERROR"}


def decision_json(outcome, extra=None):
    data = outcome.to_dict()
    if extra:
        data.update(extra)
    return data


def decision_text(outcome, header=None):
    uuid = " (%s)" % outcome.domain_uuid if outcome.domain_uuid else ""
    lines = ["%s%s: %s" % (header or outcome.domain_name, uuid if not header else "",
                            VERDICTS.get(outcome.decision, outcome.decision.upper()))]
    if outcome.reason:
        lines.append("  ERROR %s" % outcome.reason)
    elif not outcome.findings:
        lines.append("  PASS  no migration limitation applies")
    for code, action, message, remedy in grouped(outcome.findings):
        lines.append("  %-5s %s: %s" % (LABELS.get(action, action.upper()), code, message))
        if remedy and action != "info":
            lines.append("        remedy: %s" % remedy)
    for note in outcome.notes:
        lines.append("  NOTE  %s" % note)
    return "\n".join(escaping.text(line) for line in lines)


def refusal_lines(outcome):
    """What the hook says on stderr, which `virsh migrate` shows: one line per deny
    finding, rule code first; the bypass or the error that decided otherwise. Escaped,
    then bounded: the bounds hold for what is shown."""
    if outcome.decision == "error":
        return [escaping.text("migration-guard: [error] %s; migration %s (on_error = %s)"
                              % (outcome.reason, "refused" if outcome.exit_code else "allowed",
                                 "allow" if not outcome.exit_code else "deny"))]
    if outcome.decision == "bypassed":
        return [escaping.text("migration-guard: emergency bypass active until %s (%s): accepted despite %s"
                              % (format_time(outcome.bypass.until), outcome.bypass.reason,
                                 ", ".join(f.code for f in outcome.denies)))]
    if outcome.decision == "deny":
        return _bounded([escaping.text("migration-guard: [%s] %s; %s" % (code, message, remedy))
                         for code, _action, message, remedy in grouped(outcome.denies)])
    return []


def _bounded(lines):
    """Each line at most MAX_LINE characters and all of them within MAX_REFUSAL bytes; what
    does not fit is named by count (the audit record keeps every finding)."""
    lines = [_clip(line, MAX_LINE) for line in lines]
    kept, size = [], 0
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        room = MAX_REFUSAL - size - (80 if rest else 0)
        if len(line.encode()) + 1 > room:
            line = _clip(line, max(120, room - 1))
            if len(line.encode()) + 1 > room:
                kept.append("migration-guard: %d more refusal reasons: see `migration-guard audit`"
                            % (len(lines) - index))
                break
        kept.append(line)
        size += len(line.encode()) + 1
    return kept


def dumps(data):
    return escaping.dumps(data, sort_keys=True)
