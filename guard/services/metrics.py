"""Prometheus text exposition (format 0.0.4) of the audit trail and the collector's state.

Pure: the caller reads the audit log, the facts cache and the bypass file, and passes the
clock; nothing here touches a file. Series:

- migration_guard_decisions_total{decision}: decision records by decision: three
  refusals count 3, whatever their findings (a refusal deferred to `prepare` counts under
  deferred, and again under deny when `prepare` makes it: guard.decide.deferral);
- migration_guard_findings_total{code, action}: each distinct (code, action) of a
  decision's deny and warn findings, so a refusal for two codes counts once under each,
  and a deferred refusal once (at migrate);
- migration_guard_outcomes_total{decision, outcome}: outcome records (what became of a
  migration the hook let proceed) by the decision they follow and their outcome
  (migrated, failed, unknown), each decision once; `migration-guard accuracy` classes them
  (an exempted or waived deny is decided "allow" but is no false allow);
- migration_guard_info{version, mode, profile, config_digest}: 1, the policy this host
  enforces (count by (config_digest) tells whether every host enforces the same one);
- migration_guard_hook_live: 1 when the running libvirt daemon runs the hook, 0 when it
  does not, absent when that cannot be told;
- migration_guard_last_decision_timestamp_seconds (absent until the first decision);
- migration_guard_facts_present, and when the cache says when it was collected
  migration_guard_facts_collected_timestamp_seconds and migration_guard_facts_age_seconds
  (the age as of writing: for alerts on a file refreshed only by the collector, prefer
  time() - the collected timestamp);
- migration_guard_bypass_active.
"""
from ..output.audit import parse_time


class Counts:
    """decisions: {decision: count}; findings: {(code, action): count}; latest: the latest
    decision's time as epoch seconds, or None."""

    def __init__(self):
        self.decisions, self.findings, self.latest = {}, {}, None
        self.outcomes = {}  # (decided, outcome) -> count


def count_decisions(records):
    """Counts over audit record dicts. Other events (docs/audit-record.md: `event`; records
    before it had none) and records without a decision are skipped."""
    counts = Counts()
    latest = None
    outcomes_seen = set()
    for record in records:
        decision = record.get("decision")
        if record.get("event") == "outcome":
            if record.get("decision_id") in outcomes_seen:
                continue  # one decision, one outcome
            outcomes_seen.add(record.get("decision_id"))
            key = (str(record.get("decided")), str(record.get("outcome")))
            counts.outcomes[key] = counts.outcomes.get(key, 0) + 1
            continue
        if record.get("event", "decision") != "decision" or not isinstance(decision, str):
            continue
        counts.decisions[decision] = counts.decisions.get(decision, 0) + 1
        findings = record.get("findings")
        if record.get("deferred_from") is not None:
            findings = None  # the prepare hook carrying out a deferred refusal: its findings counted at migrate
        found = {(str(f.get("code") or f.get("rule")), f["action"]) for f in findings if isinstance(f, dict)
                 and f.get("action") in ("deny", "warn")} if isinstance(findings, list) else set()
        for key in found:
            counts.findings[key] = counts.findings.get(key, 0) + 1
        try:
            when = parse_time(record["time"]).timestamp()
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        latest = when if latest is None else max(latest, when)
    counts.latest = latest
    return counts


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    if isinstance(value, bool) or isinstance(value, int):
        return "%d" % value
    return repr(float(value))


def _family(lines, name, kind, text, samples):
    """HELP and TYPE, then one line per (labels, value)."""
    lines.append("# HELP %s %s" % (name, text.replace("\\", "\\\\").replace("\n", "\\n")))
    lines.append("# TYPE %s %s" % (name, kind))
    for labels, value in samples:
        body = ",".join('%s="%s"' % (key, _label(val)) for key, val in labels)
        lines.append("%s%s %s" % (name, "{%s}" % body if body else "", _number(value)))


def render(counts, facts_present, facts_collected_at, bypass_active, now, info=None, hook_live=None):
    """The exposition text. counts: count_decisions'; facts_collected_at is None when the
    cache is absent or does not say; now is epoch seconds; info: (version, mode, profile,
    config digest); hook_live: True, False or None (cannot tell)."""
    lines = []
    _family(lines, "migration_guard_decisions_total", "counter",
            "Migration decisions in the audit log (all rotations), one per decision.",
            [((("decision", decision),), count) for decision, count in sorted(counts.decisions.items())])
    _family(lines, "migration_guard_findings_total", "counter",
            "Deny and warn findings of the decisions in the audit log, each distinct code once per decision.",
            [((("code", code), ("action", action)), count) for (code, action), count in sorted(counts.findings.items())])
    _family(lines, "migration_guard_outcomes_total", "counter",
            "What became of the migrations the hook let proceed, by the decision they follow.",
            [((("decision", decision), ("outcome", outcome)), count)
             for (decision, outcome), count in sorted(counts.outcomes.items())])
    if counts.latest is not None:
        _family(lines, "migration_guard_last_decision_timestamp_seconds", "gauge",
                "Time of the latest decision in the audit log.", [((), counts.latest)])
    if info is not None:
        _family(lines, "migration_guard_info", "gauge",
                "The guard's version and the policy this host enforces (its config's digest).",
                [(tuple(zip(("version", "mode", "profile", "config_digest"), (v or "" for v in info))), 1)])
    if hook_live is not None:
        _family(lines, "migration_guard_hook_live", "gauge",
                "1 when the running libvirt daemon runs the hook (migrations are guarded), else 0.",
                [((), 1 if hook_live else 0)])
    _family(lines, "migration_guard_facts_present", "gauge",
            "1 if the facts cache is present and usable by the hook (root-owned, well-formed), else 0.",
            [((), 1 if facts_present else 0)])
    if facts_present and facts_collected_at is not None:
        _family(lines, "migration_guard_facts_collected_timestamp_seconds", "gauge",
                "When the facts cache was collected.", [((), facts_collected_at)])
        _family(lines, "migration_guard_facts_age_seconds", "gauge",
                "Age of the facts cache when this was written.", [((), max(0.0, now - facts_collected_at))])
    _family(lines, "migration_guard_bypass_active", "gauge",
            "1 while an emergency bypass is active (migrations accepted despite deny findings).",
            [((), 1 if bypass_active else 0)])
    return "\n".join(lines) + "\n"
