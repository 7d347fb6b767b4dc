"""Refusals deferred to the `prepare` hook (guard.decide.deferral), on disk.

The migrate hook leaves `<folder>/<guest name>` (JSON: the decision's id, time and UUID,
the lines virsh shows, and the refusal's audit record); the sh front end (hooks/qemu)
starts Python for `prepare` only when that file exists, so a guest's ordinary start costs
one test in sh. The folder is fixed in the front end (its DEFERRED= line, passed to the
hook as --mg-deferred=), root-only (0700), every marker 0600: nothing another user
planted is ever acted on.
"""
import json
import os

from .files import write_atomic
from .pending import private_folder
from .trusted import Untrusted, read_trusted

DEFAULT_FOLDER = "/run/migration-guard/deferred"
# From the migrate hook to the prepare hook of a live migration: milliseconds, or the time
# libvirt takes to pre-create the disks of a --copy-storage migration. A marker older than
# this is stale: its migration failed before QEMU started, or it was offline.
DEFER_SECONDS = 300.0
# The system daemon's persistent definitions: libvirt writes <name>.xml here when an offline
# migration finishes (qemuMigrationDstPersist), and for a live one only after QEMU ran the
# migration, never before its prepare hook.
GUEST_CONFIG_DIR = "/etc/libvirt/qemu"
MAX_MARKER_BYTES = 256 * 1024
NAME_MAX = 255


def marker_path(folder, name):
    """The marker's path for a guest name, or None for a name that cannot be a file name
    (too long, or "." / ".."): such a guest's refusal is not deferred."""
    if not name or name in (".", "..") or "/" in name or "\0" in name or len(os.fsencode(name)) > NAME_MAX:
        return None
    return os.path.join(folder, name)


def leave(folder, name, marker):
    """Write the marker for `name` whole (a temp file renamed over any older one)."""
    path = marker_path(folder, name)
    if path is None:
        raise ValueError("the guest name cannot name a file")
    private_folder(folder)
    write_atomic(path, json.dumps(marker, sort_keys=True), mode=0o600)


def read(folder, name):
    """The marker for `name` (a dict), or None when there is none. Untrusted or ValueError
    for a file that is not one (planted, or torn)."""
    path = marker_path(folder, name)
    if path is None:
        return None
    try:
        data = read_trusted(path, MAX_MARKER_BYTES, private=True)
    except FileNotFoundError:
        return None
    if len(data) > MAX_MARKER_BYTES:
        raise ValueError("%s is over %d bytes" % (path, MAX_MARKER_BYTES))
    marker = json.loads(data.decode("utf-8"))
    if not isinstance(marker, dict) or not isinstance(marker.get("lines"), list) or \
            not isinstance(marker.get("record"), dict):
        raise ValueError("%s is not a deferred refusal" % path)
    return marker


def defined_since(name, when, config_dir=GUEST_CONFIG_DIR):
    """Whether the guest was defined here after `when` (its definition file written since):
    then a `prepare` starts that definition, which an offline migration (or an
    administrator) brought, and is not the live migration whose refusal was deferred."""
    try:
        return os.stat(os.path.join(config_dir, name + ".xml")).st_mtime > when
    except (OSError, ValueError):
        return False


def remove(folder, name):
    path = marker_path(folder, name)
    if path is not None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def sweep(folder, now, max_age, uuids=()):
    """Remove the markers older than max_age, and those of the guests in `uuids` (defined
    here by an offline migration: no `prepare` will follow). Returns the names removed."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    wanted = {uuid.lower() for uuid in uuids}
    removed = []
    for name in names:
        try:
            marker = read(folder, name)
        except (OSError, ValueError, Untrusted):
            continue  # not ours to remove
        if marker is None:
            continue
        stale = not isinstance(marker.get("time"), (int, float)) or now - marker["time"] > max_age
        if stale or str(marker.get("uuid") or "").lower() in wanted:
            remove(folder, name)
            removed.append(name)
    return removed
