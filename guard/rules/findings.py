"""What the rules report: declared codes and the findings made from them. Values only.

Every code a rule can report is declared once, in its Rule record (guard.rules.base), with
its default action and, when it is not deny, its strict one. A finding is made from its
declaration (the rule record's `finding()`, or `finding()` here for the engine), which
takes the action from it: a code nobody declared, an action its declaration does not
allow, an action given where the declaration fixes it, or none given where the rule picks
by context, is a bug and raises UndeclaredCode at once instead of reaching a policy that
does not know it.
"""
from ..records import struct

DENY, WARN, INFO, OFF = "deny", "warn", "info", "off"
ACTIONS = (DENY, WARN, INFO)
# A default action the rule picks by context at each finding (host-cpu denies for
# host-passthrough guests and warns otherwise): the finding names one of the two.
BY_CONTEXT = DENY + "|" + WARN

DECLARED = {}  # code -> Code, filled as rule modules declare their Rule records


class UndeclaredCode(Exception):
    """A rule reported a code (or an action) its record does not declare: a bug."""


class Code(struct("Code", "code default strict", defaults=(DENY,))):
    """One declared code. default: "deny", "warn", "info", or "deny|warn" where the rule
    picks by context; strict: the action under profile strict, deny unless declared
    otherwise."""

    __slots__ = ()

    def action(self, given=None):
        """The action of a finding of this code: the declared default; where the rule picks
        by context, `given`, which must be one the declaration allows."""
        default = self.default
        if "|" not in default:
            if given is None:
                return default
            raise UndeclaredCode("%s: its record fixes the action (%s); the call site must not give one (%s)"
                                 % (self.code, default, given))
        if given in default.split("|"):
            return given
        raise UndeclaredCode("%s: its record declares %s, the rule picks by context and must give one of them, not %s"
                             % (self.code, default, given))

    def make(self, rule, action, message, remedy, public, evidence):
        """The Finding of this code, reported by rule (an id); action already decided
        (Code.action); evidence a dict."""
        return Finding.from_tuple((rule, self.code, action, message, remedy, tuple(sorted(evidence.items())),
                                   self.strict, public))


def declare(code):
    """Register a Code (a rule record declares its codes when it is made)."""
    DECLARED[code.code] = code
    return code


def declared_code(code):
    """The Code declared as `code`; UndeclaredCode if none is."""
    found = DECLARED.get(code)
    if found is None:
        raise UndeclaredCode("undeclared code %s" % code)
    return found


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
    """A Finding of rule[variant] (the rule id when variant is None) with the action the
    caller names, one its declaration allows: the engine's form, for the inputs it lacks
    (guard.decide.engine). A rule makes its findings from its record (guard.rules.base.Rule.finding),
    which takes the action from the declaration. public: the refusal's text when the message
    names host paths (Finding)."""
    code = "%s[%s]" % (rule, variant) if variant else rule
    declared = DECLARED.get(code)
    if declared is None:
        raise UndeclaredCode("%s reported undeclared code %s" % (rule, code))
    if action != declared.default and action not in declared.default.split("|"):
        raise UndeclaredCode("%s reported %s as %s; its record declares %s" % (rule, code, action, declared.default))
    return declared.make(rule, action, message, remedy, public, evidence)


def public(findings):
    """findings as the refusal shows them: each one's public text in place of its message."""
    return tuple(f if f.public is None else f._replace(message=f.public) for f in findings)
