"""Prometheus text exposition (format 0.0.4) of the audit trail and the collector's state.

Pure: the caller reads the audit log, the facts cache and the bypass file, and passes the
clock; nothing here touches a file. Series:

- migration_guard_decisions_total{decision, rule}: audit records by decision and by the
  code of each distinct deny/warn finding (rule="none" for a record without one), so a
  record with two codes counts under both;
- migration_guard_last_decision_timestamp_seconds (absent until the first decision);
- migration_guard_facts_present, and when the cache says when it was collected
  migration_guard_facts_collected_timestamp_seconds and migration_guard_facts_age_seconds
  (the age as of writing: for alerts on a file refreshed only by the collector, prefer
  time() - the collected timestamp);
- migration_guard_bypass_active.
"""
from .audit import parse_time

NONE = "none"


def count_decisions(records):
    """({(decision, rule): count}, latest decision time as epoch seconds or None) over audit
    record dicts. Other events (docs/audit-record.md: `event`; records before it had none)
    and records without a decision are skipped."""
    counts = {}
    latest = None
    for record in records:
        decision = record.get("decision")
        if record.get("event", "decision") != "decision" or not isinstance(decision, str):
            continue
        findings = record.get("findings")
        codes = {str(f.get("code") or f.get("rule")) for f in findings if isinstance(f, dict)
                 and f.get("action") in ("deny", "warn")} if isinstance(findings, list) else set()
        for code in codes or (NONE,):
            counts[(decision, code)] = counts.get((decision, code), 0) + 1
        try:
            when = parse_time(record["time"]).timestamp()
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        latest = when if latest is None else max(latest, when)
    return counts, latest


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


def render(counts, last_decision, facts_present, facts_collected_at, bypass_active, now):
    """The exposition text. counts and last_decision as count_decisions returns them;
    facts_collected_at is None when the cache is absent or does not say; now is epoch seconds."""
    lines = []
    _family(lines, "migration_guard_decisions_total", "counter",
            "Migration decisions in the audit log (all rotations) by decision and by the code of each "
            "distinct deny/warn finding; rule=\"none\" when there was none.",
            [((("decision", decision), ("rule", rule)), count) for (decision, rule), count in sorted(counts.items())])
    if last_decision is not None:
        _family(lines, "migration_guard_last_decision_timestamp_seconds", "gauge",
                "Time of the latest decision in the audit log.", [((), last_decision)])
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
