"""Rendering decisions for people (text, in the manner of virt-host-validate) and machines (JSON)."""
import json

LABELS = {"deny": "DENY", "warn": "WARN", "info": "INFO"}
VERDICTS = {"allow": "ALLOW", "deny": "DENY", "would-deny": "WOULD DENY (audit mode)"}


def decision_json(decision, extra=None):
    data = decision.to_dict()
    if extra:
        data.update(extra)
    return data


def decision_text(decision, header=None):
    uuid = " (%s)" % decision.domain_uuid if decision.domain_uuid else ""
    lines = ["%s%s: %s" % (header or decision.domain_name, uuid if not header else "",
                            VERDICTS.get(decision.decision, decision.decision.upper()))]
    if not decision.findings:
        lines.append("  PASS  no migration limitation applies")
    for found in decision.findings:
        lines.append("  %-5s %s: %s" % (LABELS.get(found.action, found.action.upper()), found.code, found.message))
        if found.remedy and found.action != "info":
            lines.append("        remedy: %s" % found.remedy)
    for note in decision.notes:
        lines.append("  NOTE  %s" % note)
    return "\n".join(lines)


def deny_lines(decision):
    """One stderr line per deny finding, rule code first: what `virsh migrate` shows."""
    return ["migration-guard: [%s] %s; %s" % (f.code, f.message, f.remedy) for f in decision.denies]


def dumps(data):
    return json.dumps(data, sort_keys=True)
