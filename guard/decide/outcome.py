"""What became of a migration the hook let proceed, and how right the guard was. Pure.

The hook decides before QEMU starts here; whether the migration then worked is only known
later, on this host. What this host can see (measured on two real libvirt 9.0 daemons; docs/audit-record.md,
"Outcome records"):

- a migration that completes raises STARTED/MIGRATED, then RESUMED/MIGRATED, and the
  guest runs here (state running, or paused for a reason other than the migration);
- an offline migration (`virsh migrate --offline`, which runs the migrate hook too) only
  defines the guest here: no QEMU starts, its log gets no line, no lifecycle event but
  DEFINED;
- one that fails in the destination's prepare phase (a disk only the source can see)
  raises no lifecycle event at all: the guest is simply not here; its QEMU log gets
  "shutting down, reason=failed" and nothing else; libvirt's error goes back to the
  source, and into this daemon's own log;
- one that fails after QEMU started ends with "shutting down, reason=failed" in the QEMU
  log (and a STOPPED/FAILED event).

So the outcome is decided from the guest's state here, the events seen, and the QEMU log,
never from the absence of an event alone: `judge` below. `classify` then names the class
the differential suite uses, so production and the rig count alike.
"""
import re
import time

from ..records import struct

MIGRATED, FAILED, UNKNOWN = "migrated", "failed", "unknown"
OFFLINE = "offline"  # Verdict.where of an offline migration's definition arriving
OUTCOMES = (MIGRATED, FAILED, UNKNOWN)

TRUE_ALLOW, TRUE_DENY, FALSE_ALLOW, FALSE_DENY, POLICY, GUARD_ERROR, ABORTED, UNDECIDED = (
    "true-allow", "true-deny", "false-allow", "false-deny", "policy", "guard-error", "aborted", "unknown")
# aborted: failed after QEMU ran the incoming migration here, with no error of its own: the
# source, the network or a cancel ended it, not this host; no class of the guard's, and left
# out of the rates.
CLASSES = (TRUE_ALLOW, TRUE_DENY, POLICY, FALSE_ALLOW, FALSE_DENY, GUARD_ERROR, ABORTED, UNDECIDED)

# Deny codes for what RHEL 9 forbids although libvirt migrates it: a deny for these alone,
# on a guest that migrated, is the guard doing its job ("policy"), not a false deny.
POLICY_CODES = ("memory-size[limit]",)

# A guest is looked for this long after the decision before its absence counts: libvirt adds
# the incoming domain a few milliseconds after the hook returns.
ABSENCE_GRACE_SECONDS = 10.0

# Guest states (libvirt's virDomainState and reasons) that mean "still arriving".
STATE_RUNNING, STATE_PAUSED = 1, 3
RUNNING_POSTCOPY, RUNNING_POSTCOPY_FAILED = 10, 11  # post-copy may still fail; it did
RUNNING_ARRIVING = (RUNNING_POSTCOPY, RUNNING_POSTCOPY_FAILED)
PAUSED_POSTCOPY_FAILED = 13
PAUSED_ARRIVING = (2, 11, 12, PAUSED_POSTCOPY_FAILED)  # MIGRATION, STARTING_UP, POSTCOPY, POSTCOPY_FAILED

# One decision waiting for its outcome, as the hook left it (guard.runtime.pending.entry).
# said: "allow" (no deny finding), "deny" (a deny finding the guest came through anyway: audit
# mode, a bypass, an exemption, a waiver or a maintenance window) or "error" (on_error
# accepted); deny_codes: those deny findings' codes.
# offline_codes: the deny codes that hold when only the definition moves
# (guard.decide.deferral.offline_deny_codes); None in an entry an older hook left, when
# every deny code counts.
Pending = struct("Pending", "id time domain uuid decision said deny_codes mode offline_codes", defaults=(None,))

# What this host saw of the guest since the decision. state: (state, reason) from libvirt,
# or None when the guest is not here (or not running). events: (event, detail, epoch)
# lifecycle events of the guest seen after the decision. log: QEMU log lines written after
# the decision (guard.services.outcome_watch reads them). watched: the service was connected to
# libvirt from before the decision until now, so an event would not have been missed.
# defined: the guest is defined here but not running (an offline migration's definition, or
# one that was here before).
# arriving: an incoming migration job still runs for it here.
Evidence = struct("Evidence", "state events log watched daemon_errors defined arriving",
                  defaults=((), (), False, (), False, False))

# The outcome of one decision: outcome (OUTCOMES), reason (for failed and unknown), at (epoch
# of the evidence that settled it), where (a failure: "here" or "elsewhere", see judge; an
# offline migration's definition arriving: OFFLINE).
Verdict = struct("Verdict", "outcome reason at where", defaults=(None,))

EVENT_DEFINED, EVENT_STARTED, EVENT_RESUMED, EVENT_STOPPED = 0, 2, 4, 5
DETAIL_MIGRATED, STOPPED_FAILED = 1, 5


# "2026-12-02 14:52:39.267+0000: ..." (libvirt) and "2026-12-02T14:52:39.267123Z ..." (QEMU -msg timestamp=on)
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?(?:\+0000|Z)?[:\s]")


SLACK_SECONDS = 0.005


def log_time(line):
    """The epoch time a libvirt or QEMU log line starts with (both write UTC), or None."""
    match = _STAMP.match(line)
    if not match:
        return None
    import calendar  # the service's reading of logs only: the hook, which imports this module, never
    date, clock, fraction = match.groups()
    try:
        whole = calendar.timegm(time.strptime("%s %s" % (date, clock), "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return None
    return whole + (float("0." + fraction) if fraction else 0.0)


def lines_since(lines, since, limit=400):
    """The log lines written at or after `since` (epoch): a line without a time of its own
    (QEMU's command line) belongs to the last line that had one. The logs' clocks have
    milliseconds, the decision's microseconds: a few milliseconds of slack."""
    kept, current = [], None
    for line in lines:
        current = log_time(line) or current
        if current is not None and current >= since - SLACK_SECONDS:
            kept.append(line)
    return kept[-limit:]


def failure_time(log):
    """When the QEMU log says libvirt stopped the guest as failed, or None."""
    times = [log_time(line) for line in log if _shutdown_reason(line) == "failed"]
    times = [t for t in times if t is not None]
    return times[-1] if times else None


def _shutdown_reason(line):
    """libvirt's "shutting down, reason=X" in a QEMU log line, or None."""
    marker = "shutting down, reason="
    index = line.find(marker)
    return line[index + len(marker):].split()[0].strip(",") if index >= 0 else None


def _qemu_errors(log):
    """QEMU's own error lines in its log ("qemu-system-x86_64: ..."): what this host's QEMU
    said when it could not start or load the incoming state."""
    return [line for line in log if "qemu-system-" in line and ": " in line and not line.lstrip().startswith("/")]


def judge(pending, evidence, now, superseded=False):
    """The Verdict for a pending decision, or None while it cannot be told yet. Only what
    happened in this attempt's window counts (the caller gives events and log lines from the
    decision until the next decision for the same guest, if any): a guest that was already
    running here, or that a later retry brought here, says nothing about this attempt.

    - migrated: RESUMED/MIGRATED was seen; or the guest runs here and this attempt started
      its QEMU (STARTED/MIGRATED, or "starting up" in its QEMU log); or, for `virsh migrate
      --offline`, the guest was defined here (DEFINED) and no QEMU started;
    - failed: STOPPED/FAILED was seen, or its QEMU log says "shutting down, reason=failed";
      or the guest is not here after the grace period and either the service watched
      throughout (a completed migration would have raised an event) or no QEMU started here;
      or a later decision for the same guest (a retry) came with no sign this one arrived.
      `where` is "here" when this host failed it (QEMU never started, or its QEMU reported an
      error) and "elsewhere" when QEMU ran the incoming migration and stopped without a word
      of its own: the source, the network or a cancel ended it (class aborted);
    - unknown: the guest is gone and nothing tells how.
    """
    started = any(event == EVENT_STARTED and detail == DETAIL_MIGRATED for event, detail, _at in evidence.events) \
        or any("starting up" in line for line in evidence.log)
    for event, detail, at in evidence.events:
        if event == EVENT_RESUMED and detail == DETAIL_MIGRATED:
            return Verdict(MIGRATED, None, at)
        if event == EVENT_STOPPED and detail == STOPPED_FAILED:
            return _failed(evidence, started, at, "the incoming QEMU stopped (failed)")
    if evidence.state is not None:
        state, reason = evidence.state
        arrived = (state == STATE_RUNNING and reason not in RUNNING_ARRIVING) or (
            state == STATE_PAUSED and reason not in PAUSED_ARRIVING)
        if state == STATE_RUNNING and reason == RUNNING_POSTCOPY_FAILED or (
                state == STATE_PAUSED and reason == PAUSED_POSTCOPY_FAILED):
            return _failed(evidence, started, now, "post-copy migration failed")
        if arrived and started:
            return Verdict(MIGRATED, None, now)
        if not arrived and not superseded:
            return None  # still arriving
    if evidence.arriving and not superseded:
        return None  # an incoming job is still running here (storage being created, say)
    if now - pending.time < ABSENCE_GRACE_SECONDS and not superseded:
        return None
    endings = [_shutdown_reason(line) for line in evidence.log]
    endings = [ending for ending in endings if ending]
    if "failed" in endings:
        return _failed(evidence, started, failure_time(evidence.log) or now,
                       "libvirt stopped the incoming guest (reason=failed)")
    defined_now = any(event == EVENT_DEFINED for event, _detail, _at in evidence.events)
    if evidence.defined and defined_now and not started and not endings:
        # `virsh migrate --offline` runs the migrate hook too, then only defines the guest
        # here (DEFINED): no QEMU, no log line (measured on libvirt 9.0).
        return Verdict(MIGRATED, "offline migration: the definition arrived, QEMU did not start here", now, OFFLINE)
    if superseded:
        return _failed(evidence, started, now, "a later attempt for the same guest followed before this one arrived")
    if evidence.watched:
        if evidence.state is not None:
            return Verdict(FAILED, _failure_text(evidence) or "the guest was already running here; this attempt "
                                                              "did not start it", now, "here")
        return _failed(evidence, started, now, "the guest never arrived here; libvirt's error went back to the "
                                               "source" if not started else "the incoming guest stopped before "
                                                                             "the migration completed")
    if not started and not endings and not evidence.defined and evidence.state is None:
        return _failed(evidence, started, now, "QEMU never started here for it; libvirt's error went back to the "
                                               "source")
    return Verdict(UNKNOWN, "the service was not watching throughout and this host cannot tell what became of it "
                            "(QEMU log: %s)" % (", ".join("reason=%s" % e for e in endings) or
                                               ("started, no ending" if started else "nothing")), now)


def _failed(evidence, started, at, fallback):
    """A failure, placed: here (QEMU never started for it, or this host's QEMU reported an
    error) or elsewhere (QEMU ran the incoming migration and was stopped without a word of
    its own: the source, the network or a cancel ended it)."""
    where = "elsewhere" if started and not _qemu_errors(evidence.log) else "here"
    return Verdict(FAILED, _failure_text(evidence) or fallback, at, where)


def expired(pending, now, max_wait):
    """The Verdict for a decision still undecided after max_wait seconds."""
    return Verdict(UNKNOWN, "no outcome within %s" % _seconds(max_wait), now)


def _seconds(value):
    value = int(value)
    for unit, size in (("h", 3600), ("m", 60)):
        if value >= size and value % size == 0:
            return "%d%s" % (value // size, unit)
    return "%ds" % value


MAX_REASON_LINES = 6
MAX_REASON_CHARS = 1024


def _failure_text(evidence):
    """libvirt's own words: its daemon's errors during the migration, then the QEMU log's
    error lines (not the command line or the start banner), bounded."""
    lines = []
    for line in evidence.daemon_errors:  # the same error logged again says nothing more
        if line in lines:
            lines.remove(line)
        lines.append(line)
    for line in evidence.log:
        text = line.strip()
        if not text or text.endswith("\\") or "starting up libvirt" in text or text.startswith("-"):
            continue
        if "is tainted" in text or "char device redirected" in text or "shutting down, reason=" in text:
            continue
        lines.append(text)
    text = " / ".join(lines[-MAX_REASON_LINES:])
    return text[:MAX_REASON_CHARS - 1] + "\u2026" if len(text) > MAX_REASON_CHARS else text


def classify(said_, deny_codes, outcome, where=None, offline_codes=None):
    """The class of one decision with its outcome, as the differential suite names them;
    a failure elsewhere (judge) is aborted whatever the guard said. An offline migration
    (where OFFLINE) is judged by the deny codes that hold for a definition alone
    (offline_codes): the others wait for QEMU to start (guard.decide.deferral)."""
    if where == OFFLINE and offline_codes is not None and said_ == "deny":
        deny_codes = offline_codes
        said_ = "deny" if offline_codes else "allow"
    if outcome == UNKNOWN:
        return UNDECIDED
    if outcome == FAILED and where == "elsewhere":
        return ABORTED
    if said_ == "error":
        return GUARD_ERROR
    if outcome == MIGRATED:
        if said_ == "allow":
            return TRUE_ALLOW
        return FALSE_DENY if [c for c in deny_codes if c not in POLICY_CODES] else POLICY
    return TRUE_DENY if said_ == "deny" else FALSE_ALLOW


def summarize(outcome_records, refused=0):
    """Counts per class and the rates, from outcome records (dicts, as in the audit log).
    refused: decisions the guard refused in enforce mode (no outcome: the guest stayed on
    its source), reported beside the classes."""
    tally = dict.fromkeys(CLASSES, 0)
    false_allows = []
    seen = set()
    for record in outcome_records:
        decision_id = record.get("decision_id")
        if decision_id is not None:
            if decision_id in seen:
                continue  # one decision, one outcome: a record written twice counts once
            seen.add(decision_id)
        kind = record.get("class")
        if kind not in tally:
            kind = classify(record.get("said"), record.get("deny_codes") or (), record.get("outcome"))
        tally[kind] += 1
        if kind == FALSE_ALLOW:
            false_allows.append({key: record.get(key) for key in ("time", "domain", "uuid", "decision_id", "reason",
                                                                  "kept_xml")})
    summary = {"classes": tally, "outcomes": sum(tally.values()), "refused": refused}
    summary.update((name, None if value is None else round(value, 4)) for name, value in rates(tally).items())
    summary["false_allows"] = false_allows
    return summary


def rates(tally):
    """Agreement (of the decided), the false-allow rate (of the migrations that failed) and
    the false-deny rate (of those that went through, policy denies excluded), from counts
    per class; None where nothing counts. The differential suite's report uses it too, so
    production and the rig divide alike."""
    failed = tally.get(TRUE_DENY, 0) + tally.get(FALSE_ALLOW, 0)
    migrated = tally.get(TRUE_ALLOW, 0) + tally.get(FALSE_DENY, 0)
    decided = failed + migrated + tally.get(POLICY, 0)
    agreed = tally.get(TRUE_ALLOW, 0) + tally.get(TRUE_DENY, 0) + tally.get(POLICY, 0)
    return {"agreement": _ratio(agreed, decided), "false_allow_rate": _ratio(tally.get(FALSE_ALLOW, 0), failed),
            "false_deny_rate": _ratio(tally.get(FALSE_DENY, 0), migrated)}


def _ratio(part, whole):
    return part / whole if whole else None
