"""Decisions waiting for their outcome, on disk ([paths] pending, /run/migration-guard/pending).

The hook, having let a migration proceed, leaves `<id>.json` (guard.decide.outcome.Pending's
fields) and `<id>.xml` (the incoming domain XML, for a false allow to be reproduced with
`migration-guard check`); the collector service (guard.services.outcome_watch) decides each
one's outcome, appends the outcome record and removes both. Files, not memory: a service
or libvirt restart in the middle loses nothing, and the outcome is decided from state.

The folder is root-only (0700) and every file 0600, opened O_NOFOLLOW|O_EXCL: the XML is a
tenant's guest definition, and nothing another user planted is ever read. The hook imports
this module on every migration it lets through: nothing here costs at import.
"""
import json
import os
import re

from .trusted import Untrusted, folder_reason, read_trusted

# The incoming XML kept per decision: a guest's definition is rarely over 64 KiB; one with
# thousands of devices is cut here (the file says so), not held whole.
MAX_XML_BYTES = 512 * 1024
MAX_PENDING_BYTES = 64 * 1024
# Decisions waiting at once: each migration leaves one, and the service settles it within
# seconds; beyond this the hook leaves none (at most 128 MiB of /run).
MAX_PENDING = 256
# The collector service touches this file while it runs (every minute); the hook leaves
# decisions only while it is fresh, so a host with the collector timer alone, or with the
# service stopped, does not fill /run with guests' XML nobody will settle.
HEARTBEAT = ".watching"
HEARTBEAT_FRESH_SECONDS = 600.0
# False allows whose XML is kept ([paths] false_allows): the oldest go first.
MAX_KEPT = 64
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_CUT_MARK = b"\n<!-- migration-guard: cut at %d bytes -->\n"


def said(decision, findings):
    """What the guard said of the guest, from the hook's decision and its findings (after
    policy): "allow", "deny" or "error". A deny finding the guest came through anyway (a
    bypass, audit mode) or one an exemption, waiver or maintenance window turned down
    (evidence would_be=deny) is a deny: if the guest then migrates, that is a false deny."""
    if decision == "error":
        return "error"
    if decision in ("deny", "would-deny", "bypassed", "deferred"):
        return "deny"
    if any(dict(f.evidence).get("would_be") == "deny" for f in findings):
        return "deny"
    return "allow"


def denied_codes(findings):
    """The deny findings' codes, those turned down by an exemption or waiver included."""
    from ..decide.deferral import denied  # the hook has the rules loaded; the service needs none
    return sorted({f.code for f in findings if denied(f)})


def entry(outcome, decision_id, now):
    """What the hook leaves of a decision it let proceed: guard.decide.outcome.Pending's fields."""
    from ..decide.deferral import offline_deny_codes  # the hook has the rules loaded; the service needs none
    return {"id": decision_id, "time": now, "domain": outcome.domain_name, "uuid": outcome.domain_uuid,
            "decision": outcome.decision, "said": said(outcome.decision, outcome.findings),
            "deny_codes": denied_codes(outcome.findings), "mode": outcome.mode,
            "offline_codes": offline_deny_codes(outcome.findings)}


def private_folder(folder):
    """Make the folder 0700 if missing; refuse one another user could write into."""
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
    reason = folder_reason(os.path.join(folder, "x"))
    if reason:
        raise Untrusted(reason)


def _write_new(path, data):
    fd = os.open(path, _FLAGS, 0o600)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def service_is_watching(folder, now):
    """Whether the collector service has touched the heartbeat lately (one stat)."""
    try:
        return now - os.stat(os.path.join(folder, HEARTBEAT)).st_mtime < HEARTBEAT_FRESH_SECONDS
    except OSError:
        return False


def touch_heartbeat(folder):
    private_folder(folder)
    path = os.path.join(folder, HEARTBEAT)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.utime(fd)
    finally:
        os.close(fd)


def write_pending(folder, entry, xml):
    """Leave one decision for the collector service: the XML first, then the entry that
    names it (so an entry never lacks its XML). entry: a dict with guard.decide.outcome.Pending's
    fields, `id` a fresh random hex id."""
    private_folder(folder)
    if len(os.listdir(folder)) >= 2 * MAX_PENDING:
        raise OSError("%s holds %d decisions already (is the collector service stuck?)" % (folder, MAX_PENDING))
    name = os.path.join(folder, entry["id"])
    if xml:
        if len(xml) > MAX_XML_BYTES:
            xml = xml[:MAX_XML_BYTES] + _CUT_MARK % MAX_XML_BYTES
        _write_new(name + ".xml", xml)
    try:
        _write_new(name + ".json", json.dumps(entry, sort_keys=True).encode("utf-8"))
    except BaseException:
        if xml:
            os.unlink(name + ".xml")  # no entry will ever name it
        raise


def read_pending(folder):
    """([entry dict], [problem]) of the decisions waiting, oldest first. A file that is not
    a trusted entry is a problem (and left alone): nothing planted is acted on."""
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(".json"))
    except FileNotFoundError:
        return [], []
    entries, problems = [], []
    for name in names:
        path = os.path.join(folder, name)
        try:
            entry = json.loads(read_trusted(path, MAX_PENDING_BYTES, private=True).decode("utf-8"))
            if not isinstance(entry, dict) or entry.get("id") != name[:-len(".json")]:
                raise ValueError("not a pending decision")
            entries.append(entry)
        except FileNotFoundError:
            continue  # decided meanwhile
        except (OSError, ValueError, Untrusted) as exc:
            problems.append("%s: %s" % (path, exc))
    entries.sort(key=lambda entry: (entry.get("time") or 0, entry["id"]))
    return entries, problems


def claim_pending(folder, decision_id):
    """Take a decision out of the waiting list before its outcome is recorded (a rename:
    read_pending lists only .json). Returns the claimed path."""
    claimed = os.path.join(folder, decision_id + ".claimed")
    os.rename(os.path.join(folder, decision_id + ".json"), claimed)
    return claimed


def unclaim_pending(folder, decision_id, claimed):
    """Put a claimed decision back (its outcome could not be recorded): the next check
    tries again."""
    try:
        os.rename(claimed, os.path.join(folder, decision_id + ".json"))
    except OSError:
        pass


def remove_pending(folder, decision_id, claimed=None):
    """Remove a decision's files once its outcome is recorded. What cannot be removed
    stays claimed, never listed again."""
    for path in (claimed or os.path.join(folder, decision_id + ".json"), os.path.join(folder, decision_id + ".xml")):
        try:
            os.unlink(path)
        except OSError:
            pass


def keep_xml(folder, decision_id, kept_folder):
    """Move a false allow's incoming XML to kept_folder (root-only), keeping the newest
    MAX_KEPT; returns the kept path, or None when there was none to keep."""
    source = os.path.join(folder, decision_id + ".xml")
    try:
        data = read_trusted(source, MAX_XML_BYTES + 256, private=True)
    except FileNotFoundError:
        return None
    # The XML came with VIR_DOMAIN_XML_SECURE: a VNC or SPICE password is not for a bug report.
    data = re.sub(rb"""(\spasswd=)(['"])[^'"]*\2""", rb"\1\2(removed)\2", data)
    private_folder(kept_folder)
    target = os.path.join(kept_folder, decision_id + ".xml")
    try:
        _write_new(target, data)
    except FileExistsError:
        pass
    kept = sorted((os.stat(os.path.join(kept_folder, name)).st_mtime, name)
                  for name in os.listdir(kept_folder) if name.endswith(".xml"))
    for _mtime, name in kept[:-MAX_KEPT]:
        os.unlink(os.path.join(kept_folder, name))
    return target
