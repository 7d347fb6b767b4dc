"""What the rules report: declared codes and the findings made from them. Values only.

Every code a rule can report is declared in its Rule record (guard.rules.base) with its
default and strict actions. A finding is made only through `finding()`, which looks the
code up: a code nobody declared, or an action its declaration does not allow, is a bug
and raises UndeclaredCode at once instead of reaching a policy that does not know it.
"""
from .records import struct

DENY, WARN, INFO, OFF = "deny", "warn", "info", "off"
ACTIONS = (DENY, WARN, INFO)

# default: "deny", "warn", or "deny|warn" where the rule picks by context (host-cpu denies
# for host-passthrough guests and warns otherwise); strict: the action under profile strict.
Code = struct("Code", "code default strict")

DECLARED = {}  # code -> Code, filled as rule modules declare their Rule records


class UndeclaredCode(Exception):
    """A rule reported a code (or an action) its record does not declare: a bug."""


def declare(code, default, strict=DENY):
    declared = Code(code, default, strict)
    DECLARED[code] = declared
    return declared


class Finding(struct("Finding", "rule code action message remedy evidence strict public", defaults=(None,))):
    """One limitation a rule found. `action` is the rule's own verdict under the default
    profile; the policy may raise, lower or drop it. `evidence` is a sorted tuple of
    (name, value) pairs; `strict` the declared action under profile strict. `public`: what
    the refusal says instead of `message` (None: the message), where the message names
    what only root may learn: the hook stats the guest's paths as root, and whoever reads
    virsh's error must not learn which files exist in folders they cannot read. The
    message, in the audit record and `check`, names them."""

    __slots__ = ()

    def evidence_dict(self):
        return dict(self.evidence)

    def to_dict(self):
        return {"rule": self.rule, "code": self.code, "action": self.action, "message": self.message,
                "remedy": self.remedy, "evidence": self.evidence_dict()}


def finding(rule, variant, action, message, remedy="", public=None, **evidence):
    """A Finding whose code is rule[variant] (or the rule id when variant is None); public:
    the refusal's text when the message names host paths (Finding)."""
    code = "%s[%s]" % (rule, variant) if variant else rule
    declared = DECLARED.get(code)
    if declared is None:
        raise UndeclaredCode("%s reported undeclared code %s" % (rule, code))
    if action != declared.default and action not in declared.default.split("|"):
        raise UndeclaredCode("%s reported %s as %s; its record declares %s" % (rule, code, action, declared.default))
    return Finding.from_tuple((rule, code, action, message, remedy, tuple(sorted(evidence.items())), declared.strict,
                               public))


def public(findings):
    """findings as the refusal shows them: each one's public text in place of its message."""
    return tuple(f if f.public is None else f._replace(message=f.public) for f in findings)
