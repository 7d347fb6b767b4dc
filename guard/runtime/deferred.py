"""Refusals deferred to the `prepare` hook (guard.decide.deferral), on disk.

The migrate hook leaves `<folder>/<guest name>/<uuid>` (JSON: the decision's id, its time by
the wall clock and by the boot clock, the lines virsh shows, and the refusal's audit
record). One file per name and UUID: a second migration by the same name (another guest,
or a retry) never overwrites or removes another's. The sh front end (hooks/qemu) starts
Python for `prepare` only when `<folder>/<guest name>` exists, so a guest's ordinary start
costs one test in sh. The folder is fixed in the front end (its DEFERRED= line, passed to
the hook as --mg-deferred=); it and each name's folder are root-only (0700), every marker
0600: nothing another user planted is ever acted on.

A marker goes when its prepare refuses; when a migrate hook decides the same guest again
without deferring (a retry that is allowed, or refused at migrate); when the guest's
definition file is newer than it (a start of what an offline migration brought); when the
collector service sees the guest defined after it, or judges its attempt over; and after
DEFER_SECONDS by the boot clock, which no change of the wall clock moves.
"""
import json
import os
import re
import time

from .files import write_atomic
from .pending import private_folder
from .trusted import Untrusted, folder_reason, read_trusted

DEFAULT_FOLDER = "/run/migration-guard/deferred"
# From the migrate hook to the prepare hook of a live migration: milliseconds, or as long as
# libvirt takes to pre-create the disks of a --copy-storage migration. The collector service
# drops a failed attempt's marker within seconds; this bounds a marker's life where no
# service runs.
DEFER_SECONDS = 900.0
# The system daemon's persistent definitions: libvirt writes <name>.xml here when an offline
# migration finishes (qemuMigrationDstPersist), and for a live one only after QEMU ran the
# migration, never before its prepare hook.
GUEST_CONFIG_DIR = "/etc/libvirt/qemu"
MAX_MARKER_BYTES = 256 * 1024
NAME_MAX = 255
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def boot_clock():
    """Seconds since boot, sleep included: /run lives as long as the boot, and no NTP step
    moves this clock."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def marker_path(folder, name, uuid):
    """The marker's path for a guest name and UUID, or None when they cannot name files (a
    name too long, "." or "..", no UUID): such a guest's refusal is not deferred."""
    uuid = (uuid or "").lower()
    if not name or name in (".", "..") or "/" in name or "\0" in name or len(os.fsencode(name)) > NAME_MAX \
            or not _UUID.match(uuid):
        return None
    return os.path.join(folder, name, uuid)


def leave(folder, name, uuid, marker):
    """Write the marker whole (a temp file renamed over an older one of the same guest)."""
    path = marker_path(folder, name, uuid)
    if path is None:
        raise ValueError("the guest's name or UUID cannot name a file")
    private_folder(folder)
    private_folder(os.path.dirname(path))
    write_atomic(path, json.dumps(marker, sort_keys=True), mode=0o600)


def read(folder, name, uuid):
    """The marker of this guest (a dict), or None when there is none. Untrusted or
    ValueError for a file that is not one (planted, or torn)."""
    path = marker_path(folder, name, uuid)
    if path is None:
        return None
    reason = folder_reason(os.path.dirname(path))  # the top folder: whoever writes it could swap a guest's
    if reason:
        raise Untrusted(reason)
    try:
        data = read_trusted(path, MAX_MARKER_BYTES, private=True)
    except FileNotFoundError:
        return None
    if len(data) > MAX_MARKER_BYTES:
        raise ValueError("%s is over %d bytes" % (path, MAX_MARKER_BYTES))
    marker = json.loads(data.decode("utf-8"))
    if not isinstance(marker, dict) or not isinstance(marker.get("lines"), list) or \
            not isinstance(marker.get("record"), dict) or not isinstance(marker.get("boot"), (int, float)):
        raise ValueError("%s is not a deferred refusal" % path)
    return marker


def remove(folder, name, uuid):
    """Remove this guest's marker, and its name's folder once empty."""
    path = marker_path(folder, name, uuid)
    if path is None:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass  # another guest's marker by this name, or already gone


def remove_decision(folder, name, uuid, decision_id):
    """Remove this guest's marker if it is still the one decision_id left (a retry's marker
    for the same guest replaced it otherwise, and stands). True if removed."""
    try:
        marker = read(folder, name, uuid)
    except (OSError, ValueError, Untrusted):
        return False
    if marker is None or marker.get("id") != decision_id:
        return False
    remove(folder, name, uuid)
    return True


def defined_since(name, when, config_dir=GUEST_CONFIG_DIR):
    """Whether the guest was defined here after `when` (wall clock: its definition file
    written since): then a `prepare` starts that definition, which an offline migration (or
    an administrator) brought, and is not the live migration whose refusal was deferred."""
    try:
        return os.stat(os.path.join(config_dir, name + ".xml")).st_mtime > when
    except (OSError, ValueError):
        return False


def sweep(folder, now_boot, max_age, defined=None):
    """Remove the markers older than max_age (boot clock), and those of a guest defined here
    after the marker was left (defined: {uuid: boot clock of its DEFINED event}). Returns
    the (name, uuid) removed. Untrusted or unreadable files are left alone."""
    defined = {uuid.lower(): when for uuid, when in (defined or {}).items()}
    removed = []
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for name in names:
        try:
            uuids = os.listdir(os.path.join(folder, name))
        except OSError:
            continue
        for uuid in uuids:
            try:
                marker = read(folder, name, uuid)
            except (OSError, ValueError, Untrusted):
                continue  # not ours to remove (or a temp file being written)
            if marker is None:
                continue
            left = marker["boot"]
            if now_boot - left > max_age or defined.get(uuid, -1.0) > left:
                remove(folder, name, uuid)
                removed.append((name, uuid))
    return removed
