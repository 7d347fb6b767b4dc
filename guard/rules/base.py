"""The rule record and the context every rule receives."""
# The actions are re-exported: the rule modules take them, and everything else, from here.
from ..facts.fingerprint import fingerprint_of
from ..records import derived, struct
from .findings import BY_CONTEXT, DENY, INFO, WARN, Code, UndeclaredCode, declare, declared_code  # noqa: F401

# [memory] limit's default, in bytes: RHEL 9's "VMs with more than 1 TB of memory may not
# work reliably when migrated" (memory-size[limit]). The config's default and the catalogue's
# text are this one value.
MEMORY_LIMIT = 1 << 40

# The few policy values that change what a rule detects (not what is done about it).
# dirty_rate_bytes_per_s is measured by preflight; None in the hook.
Options = struct("Options", "memory_limit_bytes bandwidth_bytes_per_s max_downtime_s dirty_rate_bytes_per_s",
                     defaults=(MEMORY_LIMIT, None, None, None))


class Context(struct("Context", "domain dest source options connection source_connection probe source_trusted "
                                "source_state", defaults=(Options(), None, None, None, False, None))):
    """What a rule sees: the Domain, destination HostFacts (or None), the source
    Fingerprint (or None), Options, the libvirt connection kinds ("system" | "session")
    on either side when known, the destination's Probe (or None), and whether the source
    fingerprint can be trusted: given by the caller (preflight, check --source-facts) or
    signed with the fleet key, not merely written into the guest's metadata, which its
    tenant controls. Rules that only deny may use an untrusted one (a forged value can only
    add a deny or skip a comparison the policy already reports); a rule that lets something
    through on the source's word must ask for a trusted one. source_state: what libvirt
    checks on the source before it asks the destination (guard.rules.source_refusal.SourceState),
    known only to the pre-flight, which runs there; None in the hook."""

    __slots__ = ()

    @property
    def dest_fingerprint(self):
        return derived(self.dest, "fingerprint", fingerprint_of) if self.dest is not None else None

    @property
    def arch(self):
        """The guest's arch; libvirt fills in the host's when <type> has none."""
        return self.domain.arch or (self.dest.cpu.arch if self.dest is not None else None)

    def host(self, name):
        """A host fact only the destination knows for sure: the Probe's answer when it
        looked, else what the collector recorded (LocalFacts), else None (unknown)."""
        value = getattr(self.probe, name, None) if self.probe is not None else None
        if value is None and self.dest is not None and self.dest.local is not None:
            value = getattr(self.dest.local, name, None)
        return value

    def path_exists(self, path, known=()):
        """True / False from the probe's stat; without a probe True when a listing the
        facts hold names the path (a listing never proves absence), else None."""
        if self.probe is not None and self.probe.paths is not None and path in self.probe.paths:
            return self.probe.paths[path]
        return True if path in known else None


# The inputs the engine reports missing, by the Rule flag that needs them (guard.decide.engine):
# without usable destination facts it skips every rule that needs_dest and reports
# unverifiable[facts], without a source fingerprint every rule that needs_source and reports
# unverifiable[source-fingerprint]. The unverifiable record's codes are derived from these
# and the rules' own may_be_unverifiable (guard.rules.unverifiable).
MISSING_INPUTS = (("needs_dest", "facts"), ("needs_source", "source-fingerprint"))

FACTS_REMEDY = ("refresh the destination's facts (`migration-guard facts collect`) or stamp the source "
                "fingerprint (`migration-guard stamp`)")


class Rule:
    """A declarative rule record (ansible-lint style): the registry holds one per rule id.
    `codes`: every code the rule can report, each declared once with its default action
    (and strict one, deny unless declared otherwise: guard.rules.findings.Code), made with
    `codes()`; `check(ctx)` yields findings made from them: `RULE.finding(variant, ...)`,
    and `RULE.unverifiable(...)` when a fact it needs is missing, which only a rule declared
    `may_be_unverifiable` reports. needs_dest / needs_source: the rule cannot run without
    destination facts / a source fingerprint; the engine then reports it unverifiable.
    offline: what the rule refuses, libvirt refuses even when only the definition moves
    (`virsh migrate --offline`: the destination parses and validates the XML and adds the
    guest to its list, and no QEMU starts); the hook refuses the others of a live
    migration at `prepare` (guard.decide.deferral)."""

    __slots__ = ("id", "title", "limitation", "checks", "remedy", "codes", "check", "needs_dest", "needs_source",
                 "may_be_unverifiable", "offline", "_variants")

    def __init__(self, id, title, limitation, checks, remedy, codes, check, needs_dest=False, needs_source=False,
                 may_be_unverifiable=False, offline=False):
        self.id, self.title, self.limitation, self.checks, self.remedy = id, title, limitation, checks, remedy
        self.check, self.needs_dest, self.needs_source = check, needs_dest, needs_source
        self.may_be_unverifiable, self.offline = may_be_unverifiable, offline
        self.codes = tuple(declare(code) for code in codes)
        self._variants = {}
        for code in self.codes:
            if code.code == id:
                self._variants[None] = code
            elif code.code.startswith(id + "[") and code.code.endswith("]"):
                self._variants[code.code[len(id) + 1:-1]] = code
            else:
                raise ValueError("%s declares %s, which is not one of its codes" % (id, code.code))

    def finding(self, variant, message, remedy="", public=None, action=None, **evidence):
        """A Finding of this rule's code id[variant] (the id itself when variant is None),
        with the action its declaration gives. action: only for a code whose rule picks by
        context ("deny|warn"), and then one of those. public: the refusal's text when the
        message names host paths (guard.rules.findings.Finding); evidence: name=value pairs."""
        code = self._variants.get(variant)
        if code is None:
            raise UndeclaredCode("%s reported undeclared code %s[%s]" % (self.id, self.id, variant))
        return code.make(self.id, code.action(action), message, remedy, public, evidence)

    def unverifiable(self, message, remedy=FACTS_REMEDY, public=None, **evidence):
        """The finding unverifiable[<this rule's id>]: a check that could not run for lack of
        a fact, reported, never guessed. Only for a rule declared may_be_unverifiable."""
        if not self.may_be_unverifiable:
            raise UndeclaredCode("%s reported unverifiable[%s] but is not declared may_be_unverifiable"
                                 % (self.id, self.id))
        code = declared_code("unverifiable[%s]" % self.id)
        return code.make("unverifiable", code.action(), message, remedy, public, evidence)

    @property
    def default(self):
        """The default actions, summarised: "deny", or e.g. "deny; shape warn"."""
        return _summary(self, "default")

    @property
    def strict(self):
        return _summary(self, "strict")


def _summary(rule, which):
    actions = {}
    for code in rule.codes:
        actions.setdefault(getattr(code, which).replace("|", "/"), []).append(code.code[len(rule.id) + 1:-1] or code.code)
    if len(actions) == 1:
        return next(iter(actions))
    main = max(actions, key=lambda a: len(actions[a]))
    others = "; ".join("%s %s" % (", ".join(names), action) for action, names in actions.items() if action != main)
    return "%s; %s" % (main, others)


def codes(rule_id, default, *variants, strict=DENY):
    """The Codes rule_id[variant] (rule_id itself for a variant None) of variants sharing
    their default action: DENY, WARN, INFO, or BY_CONTEXT where the rule picks by context;
    strict: their action under profile strict, given only where it is not deny."""
    return tuple(Code("%s[%s]" % (rule_id, v) if v else rule_id, default, strict) for v in variants)


def listing(items, limit=4):
    """"a, b, c, d and 5 more": evidence for messages, never an expanded list of thousands."""
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return "%s and %d more" % (", ".join(items[:limit]), len(items) - limit)


def count(number, singular, plural=None):
    return "%d %s" % (number, singular if number == 1 else (plural or singular + "s"))


def machine_family(machine):
    """q35, i440fx, or the machine name without its version (virt-rhel9.4.0 -> virt,
    pseries-9.2 -> pseries): domcapabilities differ per family, not per version."""
    if not machine:
        return None
    if "q35" in machine:
        return "q35"
    if machine == "pc" or machine.startswith("pc-i440fx") or machine.startswith("pc-0") or machine.startswith("pc-1"):
        return "i440fx"
    import re  # compiled once by re's cache; only non-x86 machine names get here
    return re.sub(r"-(rhel)?\d+(\.\d+)*$", "", machine)


def domcaps_for(domain, facts):
    """The destination's domcapabilities matching the guest's virt type, arch and machine
    family; a document of the same virt type and arch if no family matches; else None.
    Found once per facts and (virt type, arch, machine): several rules ask for it."""
    return derived(facts, ("domcaps", domain.virt_type, domain.arch, domain.machine), _domcaps_for, domain)


def _domcaps_for(facts, domain):
    arch = domain.arch or facts.cpu.arch
    candidates = [d for d in facts.domcaps
                  if d.virt_type == domain.virt_type and (d.arch is None or arch is None or d.arch == arch)]
    family = machine_family(domain.machine)
    for caps in candidates:
        if machine_family(caps.machine) == family:
            return caps
    return candidates[0] if candidates else None
