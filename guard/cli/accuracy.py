"""`migration-guard accuracy`: how often the guard was right on this host's guests.

Reads the audit log (and its rotations): each outcome record (what became of a migration
the hook let proceed, recorded by the collector service) is a true allow, true deny,
policy, false allow or false deny, as the differential suite classes them. The number to
read before switching from mode = "audit" to "enforce".
"""
import datetime

from ..config import CONFIG_HELP, load_config
from ..decide.outcome import CLASSES, summarize
from ..output import escaping
from ..output.audit import Counts, Filter, read_records
from .audit import TIME_HELP, when

EXPLAINED = {
    "true-allow": "allowed, and it migrated",
    "true-deny": "would-deny, bypassed or waived, and it failed here",
    "policy": "denied only for what RHEL 9 forbids, and it migrated",
    "false-allow": "allowed, then failed here: a rule the guard lacks",
    "false-deny": "would-deny, bypassed or waived, and it migrated fine",
    "guard-error": "the guard could not decide (on_error accepted), with an outcome",
    "aborted": "failed after QEMU ran it here, with no error of its own: the source, network or a cancel",
    "unknown": "no outcome could be told",
}


def register(sub):
    parser = sub.add_parser("accuracy", help="how often the guard was right here (from the audit log)",
                            description="Class every recorded outcome against its decision (true allow, true "
                                        "deny, policy, false allow, false deny) and give the rates and the "
                                        "false allows with libvirt's errors. Outcomes are recorded by the "
                                        "collector service (migration-guard-watch) for every migration the hook "
                                        "let proceed; run in audit mode for a week, read this, then enforce.")
    parser.add_argument("--since", help=TIME_HELP + " (default: the whole log)")
    parser.add_argument("--until", help=TIME_HELP)
    parser.add_argument("--format", choices=("text", "json"), default="text", help="a summary, or one JSON object")
    parser.add_argument("--log", help="audit log path (default: paths.audit_log of the config)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.set_defaults(run=run)


def tally(records):
    """(summary, decisions) from audit records: the outcome summary (guard.decide.outcome.summarize)
    and the decisions seen: total (migration attempts: a refusal deferred to prepare is one),
    refused (deny in enforce mode: the guest stayed on its source, no outcome to wait for),
    and awaiting (let through, no outcome yet)."""
    outcomes, decided, linked = [], {}, set()
    refused = total = 0
    for record in records:
        event = record.get("event", "decision")
        if event == "outcome":
            outcomes.append(record)
            linked.add(record.get("decision_id"))
        elif event == "decision" and record.get("deferred_from"):
            # The prepare hook refusing what the migrate hook deferred: the same attempt,
            # now refused (guard.decide.deferral).
            refused += 1
            linked.add(record["deferred_from"])
        elif event == "decision":
            total += 1
            if record.get("decision") == "deny" or (record.get("decision") == "error"
                                                     and record.get("outcome") == "refused"):
                refused += 1
            elif record.get("id"):
                decided[record["id"]] = record
    awaiting = sum(1 for record_id in decided if record_id not in linked)
    return summarize(outcomes, refused), {"total": total, "refused": refused, "awaiting": awaiting}


def _percent(value):
    return "n/a" if value is None else "%.1f%%" % (value * 100)


def run(args):
    path = args.log or load_config(args.config).paths.audit_log
    now = datetime.datetime.now(datetime.timezone.utc)
    counts = Counts()
    records = (record for _line, record in read_records(path, Filter(when(args.since, now), when(args.until, now)),
                                                         counts))
    summary, decisions = tally(records)
    summary["decisions"] = decisions
    summary["log"] = path
    if args.format == "json":
        print(escaping.dumps(summary, sort_keys=True))
        return 0
    print("decisions: %d (%d refused in enforce mode; %d let through with no outcome: still open, or not tracked)"
          % (decisions["total"], decisions["refused"], decisions["awaiting"]))
    print("outcomes:  %d" % summary["outcomes"])
    for name in CLASSES:
        print("  %-12s %5d  %s" % (name, summary["classes"][name], EXPLAINED[name]))
    print("agreement %s; false-allow rate %s (of the migrations that failed); false-deny rate %s (of those that "
          "migrated, policy excluded)" % (_percent(summary["agreement"]), _percent(summary["false_allow_rate"]),
                                          _percent(summary["false_deny_rate"])))
    if summary["false_allows"]:
        print("false allows (the guard lacks a rule; `migration-guard check KEPT_XML` reproduces one):")
        for item in summary["false_allows"]:
            print("  %s %s %s: %s%s" % (escaping.text(item["time"]), escaping.text(item["domain"]),
                                        escaping.text(item["uuid"]), escaping.text(item["reason"]),
                                        "  [XML: %s]" % escaping.text(item["kept_xml"]) if item["kept_xml"] else ""))
    if counts.fragments or counts.unreadable:
        print("(%d fragments skipped%s)" % (counts.fragments, "".join("; unreadable: " + escaping.text(name)
                                                                      for name in counts.unreadable)))
    return 0
