"""The audit record: one JSON object per decision, built here and only here. Pure.

docs/audit-record.md documents every field; a test validates real records against it.
"""
import time

from .escaping import dumps

SCHEMA = 1

# What one decision may write, whatever the guest's XML holds (issue 21: a 4 MiB XML of
# ignored exemptions once wrote 8 MiB of audit log per attempt). Each free text is clipped,
# notes and findings are kept up to a count (denies first), and then whatever still does not
# fit in one record of MAX_RECORD_BYTES (its newline included) is left out, notes first. The
# record's `truncated` says what was cut, and these limits.
MAX_RECORD_BYTES = 64 * 1024
MAX_NOTES = 16
MAX_NOTE_CHARS = 512
MAX_FINDINGS = 256
MAX_MESSAGE_CHARS = 1024
MAX_TEXT_CHARS = 1024  # every other text from the outcome: name, reason, problems, bypass
LIMITS = {"record_bytes": MAX_RECORD_BYTES, "notes": MAX_NOTES, "note_chars": MAX_NOTE_CHARS,
          "findings": MAX_FINDINGS, "message_chars": MAX_MESSAGE_CHARS, "text_chars": MAX_TEXT_CHARS}
_RANK = {"deny": 0, "warn": 1}  # which findings a record keeps first; info last


def iso_time(epoch):
    """RFC 3339 UTC with microseconds, e.g. 2026-11-29T18:16:54.123456Z."""
    whole = int(epoch)
    return "%s.%06dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)), int((epoch - whole) * 1e6))


def decision_record(outcome, when, host, op, uid, guard_version, config, duration_ms, record_id=None):
    """The record of one hook run's Outcome (decided or failed), within MAX_RECORD_BYTES.
    record_id: the decision's id (random hex), which its outcome record links to."""
    record = {
        "schema": SCHEMA,
        "id": record_id,
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
    return _bounded(record)


def outcome_record(pending, verdict, kind, when, host, guard_version, kept_xml=None):
    """The record of what became of a decision the hook let proceed (guard.decide.outcome): the
    guest (as its decision named it), the decision it links to (`decision_id`, and the
    verdict under `decided`, so that `audit --decision` still lists decisions only),
    `outcome`, its `class`, libvirt's reason for a failure, and the seconds it took."""
    record = {
        "schema": SCHEMA,
        "time": iso_time(when),
        "event": "outcome",
        "host": host,
        "domain": pending.domain,
        "uuid": pending.uuid,
        "decision_id": pending.id,
        "decided": pending.decision,
        "said": pending.said,
        "deny_codes": list(pending.deny_codes),
        "mode": pending.mode,
        "outcome": verdict.outcome,
        "class": kind,
        "reason": verdict.reason,
        "seconds": round(max(0.0, verdict.at - pending.time), 1),
        "kept_xml": kept_xml,
        "guard_version": guard_version,
    }
    cut = {"findings": 0, "notes": 0, "clipped": 0}
    for key in ("domain", "reason", "host", "kept_xml"):
        record[key] = _clip(record[key], MAX_TEXT_CHARS, cut)
    record["deny_codes"] = [_clip(code, MAX_TEXT_CHARS, cut) for code in record["deny_codes"][:MAX_FINDINGS]]
    record["truncated"] = dict(cut, limits=LIMITS) if cut["clipped"] else None
    return record


def _clip(text, limit, cut):
    if not isinstance(text, str) or len(text) <= limit:
        return text
    cut["clipped"] += 1
    return text[:limit - 1] + "\u2026"


def _size(value):
    # As render_record writes it: unsafe characters escaped, so as long as they will be.
    return len(dumps(value, readable=True, sort_keys=True, separators=(", ", ": ")).encode("utf-8"))


def _bounded(record):
    """record within the limits, with `truncated`: None when nothing was cut, else the
    limits and how many findings and notes were left out and texts clipped."""
    cut = {"findings": 0, "notes": 0, "clipped": 0}
    for key in ("domain", "reason", "fingerprint_problem", "facts_problem", "host", "op", "config"):
        if key in record:
            record[key] = _clip(record[key], MAX_TEXT_CHARS, cut)
    if record.get("bypass"):
        record["bypass"] = dict(record["bypass"], reason=_clip(record["bypass"]["reason"], MAX_TEXT_CHARS, cut),
                                by=_clip(record["bypass"]["by"], MAX_TEXT_CHARS, cut))
    findings = record["findings"]
    # Denies first, then warnings, then the rest, each in the order found.
    order = sorted(range(len(findings)), key=lambda i: _RANK.get(findings[i]["action"], 2))[:MAX_FINDINGS]
    cut["findings"] += len(findings) - len(order)
    findings = [(i, dict(findings[i], message=_clip(findings[i]["message"], MAX_MESSAGE_CHARS, cut))) for i in order]
    notes = record["notes"]
    cut["notes"] += max(0, len(notes) - MAX_NOTES)
    notes = [(i, _clip(note, MAX_NOTE_CHARS, cut)) for i, note in enumerate(notes[:MAX_NOTES])]
    record["findings"], record["notes"] = [], []
    record["truncated"] = {"limits": LIMITS, "findings": 1 << 30, "notes": 1 << 30, "clipped": 1 << 30}
    room = MAX_RECORD_BYTES - 1 - len(render_record(record).encode("utf-8"))  # the widest `truncated` reserved
    # Then what fits: the findings (in that order of importance), then the notes.
    for key, items in (("findings", findings), ("notes", notes)):
        kept = []
        for index, item in items:
            size = _size(item) + 2  # and its ", "
            if size <= room:
                kept.append((index, item))
                room -= size
        cut[key] += len(items) - len(kept)
        record[key] = [item for _index, item in sorted(kept, key=lambda pair: pair[0])]
    record["truncated"] = dict(cut, limits=LIMITS) if any(cut.values()) else None
    return record


def render_record(record):
    """One line of JSON (keys sorted, no newline inside), in UTF-8 for people who read the
    log, with the control and bidi characters of a guest's values escaped (guard.output.escaping)."""
    return dumps(record, readable=True, sort_keys=True, separators=(", ", ": "))


def _action_record(event, when, host, uid, by, guard_version, domain=None, uuid=None):
    """What every record of an administrator's action holds: who (the login user), where."""
    return {
        "schema": SCHEMA,
        "time": iso_time(when),
        "event": event,
        "host": host,
        "domain": domain,  # always present in every record, as consumers index it
        "uuid": uuid,
        "uid": uid,
        "by": by,
        "guard_version": guard_version,
    }


def bypass_record(event, when, host, uid, by, state, guard_version):
    """The record of setting (event "bypass-set") or clearing ("bypass-clear") the
    emergency bypass: who, and the bypass set or cleared (or None)."""
    return dict(_action_record(event, when, host, uid, by, guard_version),
                bypass=state.to_dict() if state is not None else None)


def waiver_record(event, when, host, uid, by, guest, waiver, guard_version):
    """The record of setting ("waiver-set") or clearing ("waiver-clear") a guest's waivers
    (guard.guest.waiver): who, the guest (name, uuid), and the waiver set (None when cleared)."""
    from ..units import format_time
    name, uuid = guest
    return dict(_action_record(event, when, host, uid, by, guard_version, name, uuid),
                waiver=None if waiver is None else {"codes": list(waiver.codes), "until": format_time(waiver.until),
                                                     "reason": waiver.reason})
