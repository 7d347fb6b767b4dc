"""The audit record: one JSON object per decision, built here and only here. Pure.

docs/audit-record.md documents every field; a test validates real records against it.
"""
import time

from .escaping import dumps

SCHEMA = 1


def iso_time(epoch):
    """RFC 3339 UTC with microseconds, e.g. 2026-11-29T18:16:54.123456Z."""
    whole = int(epoch)
    return "%s.%06dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)), int((epoch - whole) * 1e6))


def decision_record(outcome, when, host, op, uid, guard_version, config, duration_ms):
    """The record of one hook run's Outcome (decided or failed)."""
    record = {
        "schema": SCHEMA,
        "time": iso_time(when),
        "event": "decision",
        "host": host,
        "domain": outcome.domain_name,
        "uuid": outcome.domain_uuid,
        "op": op,
        "uid": uid,
        "decision": outcome.decision,
        "mode": outcome.mode,
        "profile": outcome.profile,
        "findings": [{"rule": f.rule, "code": f.code, "action": f.action, "message": f.message}
                     for f in outcome.findings],
        "notes": list(outcome.notes),
        "fingerprint": outcome.fingerprint is not None,
        "fingerprint_problem": outcome.fingerprint_problem,
        "facts_age": outcome.facts_age,
        "facts_problem": outcome.facts_problem,
        "bypass": ({"reason": outcome.bypass.reason, "by": outcome.bypass.by, "until": outcome.bypass.until}
                   if outcome.bypass is not None else None),
        "guard_version": guard_version,
        "config": config.source,
        "config_digest": config.digest,
        "duration_ms": duration_ms,
    }
    if outcome.decision == "error":
        record["reason"] = outcome.reason
        record["outcome"] = "refused" if outcome.exit_code else "accepted"
    return record


def render_record(record):
    """One line of JSON (keys sorted, no newline inside), in UTF-8 for people who read the
    log, with the control and bidi characters of a guest's values escaped (guard.escaping)."""
    return dumps(record, readable=True, sort_keys=True, separators=(", ", ": "))


def bypass_record(event, when, host, uid, by, state, guard_version):
    """The record of setting (event "bypass-set") or clearing ("bypass-clear") the
    emergency bypass: who (the login user), and the bypass set or cleared (or None)."""
    return {
        "schema": SCHEMA,
        "time": iso_time(when),
        "event": event,
        "host": host,
        "domain": None,  # always present in every record, as consumers index it
        "uuid": None,
        "uid": uid,
        "by": by,
        "bypass": state.to_dict() if state is not None else None,
        "guard_version": guard_version,
    }
