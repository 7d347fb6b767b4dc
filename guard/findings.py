"""What the rules report and what the policy decides: frozen values, no behaviour."""
from dataclasses import dataclass, field
from typing import Optional, Tuple

DENY, WARN, INFO, OFF = "deny", "warn", "info", "off"
ACTIONS = (DENY, WARN, INFO)


@dataclass(frozen=True)
class Finding:
    """One limitation a rule found. `action` is the rule's own verdict under the default
    profile; the policy may raise, lower or drop it."""

    rule: str
    code: str
    action: str
    message: str
    remedy: str = ""
    evidence: Tuple[Tuple[str, object], ...] = ()

    def evidence_dict(self):
        return dict(self.evidence)

    def to_dict(self):
        return {"rule": self.rule, "code": self.code, "action": self.action, "message": self.message,
                "remedy": self.remedy, "evidence": self.evidence_dict()}


def finding(rule, variant, action, message, remedy="", **evidence):
    """A Finding whose code is rule[variant] (or the rule id when variant is None)."""
    code = "%s[%s]" % (rule, variant) if variant else rule
    return Finding(rule, code, action, message, remedy, tuple(sorted(evidence.items())))


@dataclass(frozen=True)
class Decision:
    decision: str  # allow | deny | would-deny
    mode: str
    profile: str
    domain_name: str
    domain_uuid: Optional[str]
    findings: Tuple[Finding, ...] = ()
    notes: Tuple[str, ...] = field(default=())  # expired exemptions and the like

    @property
    def denies(self):
        return tuple(f for f in self.findings if f.action == DENY)

    def to_dict(self):
        return {
            "decision": self.decision,
            "mode": self.mode,
            "profile": self.profile,
            "domain": {"name": self.domain_name, "uuid": self.domain_uuid},
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
        }
