"""`migration-guard rules` and `migration-guard explain RULE`: the catalogue, from the registry;
`rules --blockers`: the blocker catalogue (guard.blockers)."""
import json

from ..errors import GuardError
from ..rules import BY_ID, REGISTRY, all_codes, suggestion


def register(sub):
    parser = sub.add_parser("rules", help="list the rules", description="List every rule and its codes.")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text", help="output format")
    parser.add_argument("--blockers", action="store_true",
                        help="list the blocker catalogue instead: every migration blocker of QEMU and libvirt and "
                             "every host resource a domain XML names, with the rule code that catches it or why none does")
    parser.set_defaults(run=run_rules)
    explain = sub.add_parser("explain", help="explain one rule", description="Show what a rule checks and why.")
    explain.add_argument("rule", help="rule id or code, e.g. numa-pinning or device-passthrough[pci]")
    explain.set_defaults(run=run_explain)


def rule_dict(rule):
    return {"id": rule.id, "title": rule.title, "limitation": rule.limitation, "checks": rule.checks,
            "default": rule.default, "strict": rule.strict, "remedy": rule.remedy,
            "codes": [{"code": c.code, "default": c.default, "strict": c.strict} for c in rule.codes],
            "needs_destination_facts": rule.needs_dest, "needs_source_fingerprint": rule.needs_source,
            "offline": rule.offline}


def markdown_reference():
    lines = ["| rule | limitation | checks | default | strict | offline | codes |", "|---|---|---|---|---|---|---|"]
    for rule in REGISTRY:
        lines.append("| `%s` | %s | %s | %s | %s | %s | %s |" % (
            rule.id, rule.limitation, rule.checks.replace("|", "/"), rule.default, rule.strict,
            "at migrate" if rule.offline else "deferred", ", ".join("`%s`" % c.code for c in rule.codes)))
    return "\n".join(lines)


def run_rules(args):
    if args.blockers:
        return _run_blockers(args.format)
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
    if rule is None or ("[" in args.rule and args.rule not in all_codes()):
        raise GuardError("unknown rule %r%s; `migration-guard rules` lists them" % (args.rule, suggestion(args.rule)))
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
    print("  offline:    %s" % ("refuses `virsh migrate --offline` too (libvirt checks it on the definition)"
                                if rule.offline else "refused when QEMU starts here; an offline migration goes ahead"))
    print('  configure:  [rules."%s"] action = "deny" | "warn" | "off"' % rule.id)
    return 0


def _versions(entry):
    if entry.since and entry.lifted:
        return "%s to %s (lifted in %s)" % (entry.since, _before(entry.lifted), entry.lifted)
    return "%s and later" % entry.since if entry.since else "all"


def _before(version):
    """"8.2" -> "before 8.2": the last release with a blocker is not always known exactly."""
    return "before " + version


def _caught(entry):
    return "`%s`" % entry.rule if entry.rule else "none: " + (entry.reason or "")


def blockers_markdown():
    """docs/blockers.md's tables, one per component (make docs)."""
    from ..blockers import COMPONENTS, catalogue, coverage_markdown
    entries = catalogue()
    lines = [coverage_markdown(entries)]
    for component in COMPONENTS:
        rows = [e for e in entries if e.component == component]
        if not rows:
            continue
        lines += ["", "## %s" % component, ""]
        if component == "libvirt-schema":
            lines += ["| id | resource | access | trigger | where | caught by |", "|---|---|---|---|---|---|"]
            for e in rows:
                lines.append("| `%s` | %s | %s | %s | %s | %s |" % (
                    e.id, e.resource, e.access, _cell(e.trigger), _cell(e.where), _cell(_caught(e))))
        else:
            lines += ["| id | trigger | where | versions | caught by |", "|---|---|---|---|---|"]
            for e in rows:
                lines.append("| `%s` | %s | %s | %s | %s |" % (
                    e.id, _cell(e.trigger), _cell(e.where), _versions(e), _cell(_caught(e))))
    return "\n".join(lines)


def _cell(text):
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _run_blockers(fmt):
    from ..blockers import catalogue, entry_dict
    entries = catalogue()
    if fmt == "json":
        print(json.dumps([entry_dict(e) for e in entries], indent=1))
    elif fmt == "markdown":
        print(blockers_markdown())
    else:
        width = max(len(e.id) for e in entries)
        print("%-*s  %-14s  %s" % (width, "BLOCKER", "COMPONENT", "CAUGHT BY"))
        for entry in entries:
            print("%-*s  %-14s  %s" % (width, entry.id, entry.component, entry.rule or "- (%s)" % entry.reason))
    return 0
