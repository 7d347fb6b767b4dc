"""Classes, the table and docs/accuracy.md, from the differential suite's results.

A result is one guest's record (see differential.run_guest): the real migration's outcome
(`migrated`, `error`) and the guard's decision on the destination's collected facts
(`decision`, `deny_codes`, `warn_codes`). Nothing here runs libvirt or the guard; the
document's catalogue coverage is read from guard.blockers.

    python tests/differential/report.py RESULTS.json [docs/accuracy.md]

renders the document again from a saved results file (the suite writes both).
"""
import collections
import json
import re
import sys

from guard.blockers import coverage_markdown
from guard.decide import outcome
from guard.decide.outcome import FALSE_ALLOW, FALSE_DENY, GUARD_ERROR, POLICY, TRUE_ALLOW, TRUE_DENY

NOT_RUN = "not-run"  # the guest did not start on A: nothing to migrate
CLASSES = (TRUE_ALLOW, TRUE_DENY, POLICY, FALSE_ALLOW, FALSE_DENY, GUARD_ERROR, NOT_RUN)

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?\s*")


def classify(result):
    """The class of one guest: the real outcome against the guard's decision, named as the
    outcome loop names them in production (guard.decide.outcome.classify)."""
    if not result.get("started"):
        return NOT_RUN
    if result.get("decision") not in ("allow", "deny"):
        return GUARD_ERROR
    return outcome.classify(result["decision"], result.get("deny_codes", ()),
                            outcome.MIGRATED if result["migrated"] else outcome.FAILED)


def as_preflight(result):
    """The result as the pre-flight saw it: its decision (`pre_*`, from `preflight` run on A
    with B deciding through --dest-shell) in place of the hook's, for classify and the rates."""
    view = dict(result)
    view.update(decision=result.get("pre_decision"), deny_codes=result.get("pre_deny_codes", ()),
                warn_codes=result.get("pre_warn_codes", ()), guard_exit=result.get("pre_exit"),
                guard_error=result.get("pre_error", ""))
    return view


def error_line(stderr):
    """libvirt's error as virsh printed it: the `error:` lines, one line, timestamps dropped."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    errors = [line[len("error:"):].strip() for line in lines if line.startswith("error:")] or lines
    return _TIMESTAMP.sub("", " / ".join(errors)).strip()


def counts(results, view=None):
    tally = collections.Counter(classify(view(r) if view else r) for r in results)
    return {name: tally.get(name, 0) for name in CLASSES}


def rates(results, view=None):
    """Agreement, false-allow rate (of the migrations libvirt refused) and false-deny rate
    (of those libvirt carried out, policy denies excluded), as guard.decide.outcome.rates
    divides them in production; view: as_preflight for the pre-flight's."""
    summary = {"guests": len(results)}
    tally = counts(results, view)
    summary["decided"] = sum(tally[c] for c in (TRUE_ALLOW, TRUE_DENY, POLICY, FALSE_ALLOW, FALSE_DENY))
    summary.update(outcome.rates(tally))
    return summary


def _percent(value):
    return "n/a" if value is None else "%.0f%%" % (100 * value)


def guard_text(result):
    if result.get("decision") is None:
        return "not run"
    if result["decision"] not in ("allow", "deny"):
        return "%s (exit %s): %s" % (result["decision"], result.get("guard_exit"), result.get("guard_error", ""))
    codes = ", ".join(result.get("deny_codes", ()))
    return result["decision"] + (" " + codes if codes else "")


def outcome_text(result):
    if not result.get("started"):
        return "did not start on A: " + (result.get("start_error") or "")
    return "migrated" if result["migrated"] else "failed: " + result["error"]


def _cut(text, width):
    return text if len(text) <= width else text[:width - 1] + "…"


def table(results, error_width=110):
    """The plain-text table the suite prints."""
    rows = [("guest", "B lacks", "libvirt (real outcome)", "guard", "class", "pre-flight", "class")]
    for r in results:
        rows.append((r["name"], _cut(r["lacks"], 48), _cut(outcome_text(r), error_width), guard_text(r), classify(r),
                     guard_text(as_preflight(r)), classify(as_preflight(r))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    tally = counts(results)
    summary = rates(results)
    lines.append("")
    lines.append("  ".join("%s %d" % (name, tally[name]) for name in CLASSES if tally[name] or name in
                           (TRUE_ALLOW, TRUE_DENY, POLICY, FALSE_ALLOW, FALSE_DENY)))
    lines.append("hook: agreement %s; false-allow rate %s; false-deny rate %s; %d guests"
                 % (_percent(summary["agreement"]), _percent(summary["false_allow_rate"]),
                    _percent(summary["false_deny_rate"]), summary["guests"]))
    pre = rates(results, as_preflight)
    lines.append("pre-flight: agreement %s; false-allow rate %s; false-deny rate %s"
                 % (_percent(pre["agreement"]), _percent(pre["false_allow_rate"]), _percent(pre["false_deny_rate"])))
    return "\n".join(lines)


def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def accuracy_markdown(results, meta):
    """docs/accuracy.md: what the rig does, the current rates, and each guest with libvirt's
    own error and the guard's decision."""
    tally = counts(results)
    summary = rates(results)
    out = ["# Accuracy: the guard against real libvirt migrations", "",
           "<!-- Generated by tests/differential (MG_DIFFERENTIAL=1 pytest tests/differential);"
           " do not edit by hand. -->", "",
           "The differential suite starts two real libvirt daemons on one machine "
           "([design.md section 7](design.md#7-two-real-libvirt-hosts-on-one-machine)), "
           "with the destination B in its own mount and network namespaces and different from the source A, "
           "starts each guest below on A, collects B's facts inside B's namespaces, asks "
           "`migration-guard check --probe` (run in B's namespaces, with A's facts as `--source-facts`, "
           "looking at B's paths, devices and huge pages at decision time as B's hook would) for its "
           "decision on the guest's migratable XML, runs `migration-guard preflight` on A as an operator "
           "would before an evacuation (B deciding itself through `--dest-shell`, with the guest's own "
           "migration flags), and then migrates the guest for real, **with no hook installed**. Guests "
           "migrated with `--copy-storage-all` are checked under the default policy (a "
           "missing disk is a `storage[missing]` warning: the migration creates it); the others under a "
           "shared-storage site's policy, which sets `storage[missing]` to deny. How B differs, and how to "
           "run the suite: `tests/differential/README.md`. "
           "The class compares the real outcome with the decision:", "",
           "- **true-allow**: libvirt migrated it, the guard allowed it;",
           "- **true-deny**: libvirt failed on the destination, the guard denied it;",
           "- **false-allow**: libvirt failed on the destination after the guard said allow;",
           "- **false-deny**: libvirt migrated it, the guard denied it (for something other than policy);",
           "- **policy**: libvirt migrated it and the guard denied it only for what RHEL 9 forbids "
           "(%s)." % ", ".join("`%s`" % c for c in outcome.POLICY_CODES), "",
           "## Current rates", "",
           "Run: %s; libvirt %s, QEMU %s, guard %s; %d guests in %.0f s." % (
               meta.get("date", "?"), meta.get("libvirt", "?"), meta.get("qemu", "?"), meta.get("guard", "?"),
               summary["guests"], meta.get("seconds", 0.0)), "",
           "| class | hook (`check --probe` on B) | pre-flight (on A) |", "|---|---|---|"]
    pre_tally, pre = counts(results, as_preflight), rates(results, as_preflight)
    for name in CLASSES:
        if tally[name] or pre_tally[name] or name in (TRUE_ALLOW, TRUE_DENY, POLICY, FALSE_ALLOW, FALSE_DENY):
            out.append("| %s | %d | %d |" % (name, tally[name], pre_tally[name]))
    out += ["", "| rate | hook | pre-flight |", "|---|---|---|",
            "| agreement (true-allow, true-deny and policy, of the decided guests) | %s | %s |"
            % (_percent(summary["agreement"]), _percent(pre["agreement"])),
            "| false-allow rate (of the migrations libvirt refused) | %s | %s |"
            % (_percent(summary["false_allow_rate"]), _percent(pre["false_allow_rate"])),
            "| false-deny rate (of the migrations libvirt carried out) | %s | %s |"
            % (_percent(summary["false_deny_rate"]), _percent(pre["false_deny_rate"])),
            "", "## Catalogue coverage", "",
            "What the guard knows beside what it was measured on: the blocker catalogue (docs/blockers.md, "
            "`migration-guard rules --blockers`), read from QEMU's and libvirt's sources and libvirt's domain "
            "schema, and how much of it a rule code catches.", "", coverage_markdown(),
            "", "## Each difference, with libvirt's own error", ""]
    by_category = collections.OrderedDict()
    for r in results:
        by_category.setdefault(r["category"], []).append(r)
    for category, rows in by_category.items():
        out += ["### %s" % category, "", "| guest | B lacks | flags | libvirt (real outcome) | guard | class "
                "| pre-flight | class |", "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            out.append("| `%s` | %s | %s | %s | %s | **%s** | %s | **%s** |" % (
                r["name"], _md(r["lacks"]), _md(" ".join(r.get("flags", ())) or "-"), _md(outcome_text(r)),
                _md(guard_text(r)), classify(r), _md(guard_text(as_preflight(r))), classify(as_preflight(r))))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or len(argv) > 2:
        sys.stderr.write("usage: report.py RESULTS.json [OUTPUT.md]\n")
        return 2
    with open(argv[0]) as handle:
        data = json.load(handle)
    text = accuracy_markdown(data["results"], data["meta"])
    if len(argv) == 2:
        with open(argv[1], "w") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
