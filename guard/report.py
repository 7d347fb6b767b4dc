"""Rendering outcomes for people (text, in the manner of virt-host-validate), for the
person running `virsh migrate` (the hook's stderr) and for machines (JSON)."""
import json

LABELS = {"deny": "DENY", "warn": "WARN", "info": "INFO"}
VERDICTS = {"allow": "ALLOW", "deny": "DENY", "would-deny": "WOULD DENY (audit mode)", "bypassed": "BYPASSED",
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
    for found in outcome.findings:
        lines.append("  %-5s %s: %s" % (LABELS.get(found.action, found.action.upper()), found.code, found.message))
        if found.remedy and found.action != "info":
            lines.append("        remedy: %s" % found.remedy)
    for note in outcome.notes:
        lines.append("  NOTE  %s" % note)
    return "\n".join(lines)


def _iso(epoch):
    import datetime  # the bypass line only
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(timespec="seconds")


def refusal_lines(outcome):
    """What the hook says on stderr, which `virsh migrate` shows: one line per deny
    finding, rule code first; the bypass or the error that decided otherwise."""
    if outcome.decision == "error":
        return ["migration-guard: [error] %s; migration %s (on_error = %s)"
                % (outcome.reason, "refused" if outcome.exit_code else "allowed",
                   "allow" if not outcome.exit_code else "deny")]
    if outcome.decision == "bypassed":
        return ["migration-guard: emergency bypass active until %s (%s): accepted despite %s"
                % (_iso(outcome.bypass.until), outcome.bypass.reason, ", ".join(f.code for f in outcome.denies))]
    if outcome.decision == "deny":
        return ["migration-guard: [%s] %s; %s" % (f.code, f.message, f.remedy) for f in outcome.denies]
    return []


def dumps(data):
    return json.dumps(data, sort_keys=True)
