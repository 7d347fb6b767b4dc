"""`migration-guard rules` and `migration-guard explain RULE`: the catalogue, from the registry."""
import json

from ..errors import GuardError
from ..rules import BY_ID, REGISTRY


def register(sub):
    parser = sub.add_parser("rules", help="list the rules", description="List every rule and its codes.")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    parser.set_defaults(run=run_rules)
    explain = sub.add_parser("explain", help="explain one rule", description="Show what a rule checks and why.")
    explain.add_argument("rule", help="rule id or code, e.g. numa-pinning or device-passthrough[pci]")
    explain.set_defaults(run=run_explain)


def rule_dict(rule):
    return {"id": rule.id, "title": rule.title, "limitation": rule.limitation, "checks": rule.checks,
            "default": rule.default, "strict": rule.strict, "remedy": rule.remedy,
            "codes": [{"code": c.code, "default": c.default, "strict": c.strict} for c in rule.codes],
            "needs_destination_facts": rule.needs_dest, "needs_source_fingerprint": rule.needs_source}


def markdown_reference():
    lines = ["| rule | limitation | checks | default | strict | codes |", "|---|---|---|---|---|---|"]
    for rule in REGISTRY:
        lines.append("| `%s` | %s | %s | %s | %s | %s |" % (
            rule.id, rule.limitation, rule.checks.replace("|", "/"), rule.default, rule.strict,
            ", ".join("`%s`" % c.code for c in rule.codes)))
    return "\n".join(lines)


def run_rules(args):
    if args.format == "json":
        print(json.dumps([rule_dict(r) for r in REGISTRY], indent=1))
    elif args.format == "markdown":
        print(markdown_reference())
    else:
        width = max(len(r.id) for r in REGISTRY)
        print("%-*s  %-40s  %s" % (width, "RULE", "DEFAULT", "LIMITATION"))
        for rule in REGISTRY:
            print("%-*s  %-40s  %s" % (width, rule.id, rule.default[:40], rule.limitation))
    return 0


def run_explain(args):
    rule = BY_ID.get(args.rule.split("[")[0])
    if rule is None:
        raise GuardError("unknown rule %r; `migration-guard rules` lists them" % args.rule)
    print("%s: %s" % (rule.id, rule.title))
    print("  limitation: %s" % rule.limitation)
    print("  checks:     %s" % rule.checks)
    print("  default:    %s; strict profile: %s" % (rule.default, rule.strict))
    print("  remedy:     %s" % rule.remedy)
    print("  codes:")
    for code in rule.codes:
        print("    %-40s default %s, strict %s" % (code.code, code.default.replace("|", " or "), code.strict))
    needs = [n for n, flag in (("destination facts", rule.needs_dest), ("the source fingerprint",
                                                                         rule.needs_source)) if flag]
    print("  needs:      %s" % (" and ".join(needs) or "the domain XML only"))
    print('  configure:  [rules."%s"] action = "deny" | "warn" | "off"' % rule.id)
    return 0
