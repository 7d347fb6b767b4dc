"""One discipline for every file the hook reads or writes (config, facts cache, bypass,
fingerprint key, audit log). The hook runs as root on every hypervisor, so a file it acts
on must be one only root could have put there:

- never through a symlink (O_NOFOLLOW), and only a regular file: checked on the open
  descriptor, so there is no check-then-open race; opened O_NONBLOCK, so a FIFO planted
  at the path is refused instead of blocking the hook;
- owned by root (or by the uid the hook runs as: a session daemon's own files), and not
  writable by group or others;
- in a folder no other user can use to replace it (owned by root or that uid, not
  group/world-writable unless sticky);
- read with a size cap. Reads run under the hook's deadline (its SIGALRM timer).
"""
import os
import stat


class Untrusted(Exception):
    """A file the hook must not act on; the message says why."""


_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def trusted_uids():
    return {0, os.geteuid()}


def unsafe_reason(path, st, trusted_uid=None, private=False):
    """Why a file must not be trusted, or None: not a regular file, foreign owner,
    writable by others (with private: readable by others too, for a key)."""
    if not stat.S_ISREG(st.st_mode):
        return "%s is not a regular file" % path
    owners = trusted_uids() if trusted_uid is None else {trusted_uid}
    if st.st_uid not in owners:
        return "%s is owned by uid %d, not root" % (path, st.st_uid)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "%s is writable by group or others (mode %o)" % (path, stat.S_IMODE(st.st_mode))
    if private and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return "%s is readable by group or others (mode %o): a key must be root-only (0600)" % (
            path, stat.S_IMODE(st.st_mode))
    return None


def folder_reason(path, trusted_uid=None):
    """Why the folder holding `path` lets another user replace or delete it, or None."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        st = os.stat(folder)
    except OSError as exc:
        return "its folder %s is unusable: %s" % (folder, exc.strerror or exc)
    owners = trusted_uids() if trusted_uid is None else {trusted_uid, 0}
    if st.st_uid not in owners:
        return "its folder %s is owned by uid %d, not root" % (folder, st.st_uid)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        return "its folder %s is writable by group or others (mode %o): another user could replace it" % (
            folder, stat.S_IMODE(st.st_mode))
    return None


def _refuse(path, reason):
    raise Untrusted(reason if reason.startswith(path) else "%s: %s" % (path, reason))


def read_trusted(path, limit, trusted_uid=None, private=False):
    """Up to limit + 1 bytes of a trusted file (see the module's rules). FileNotFoundError
    when absent; Untrusted when unsafe or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | _FLAGS)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if os.path.islink(path):
            raise Untrusted("%s is a symlink" % path)
        raise Untrusted("%s is unreadable: %s" % (path, exc.strerror or exc))
    with os.fdopen(fd, "rb") as handle:
        reason = unsafe_reason(path, os.fstat(fd), trusted_uid, private) or folder_reason(path, trusted_uid)
        if reason:
            _refuse(path, reason)
        chunks, size = [], 0
        while size <= limit:
            chunk = handle.read(limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)


def open_append(path):
    """A descriptor for appending to the audit log: the folder created 0750 and the file
    0640 when missing; refused (Untrusted) when the path is a symlink, not a regular file,
    not ours or replaceable. Never blocks on open (O_NONBLOCK: a FIFO is refused)."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder, mode=0o750, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | _FLAGS, 0o640)
    except OSError:
        if os.path.islink(path):
            raise Untrusted("%s is a symlink" % path)
        raise
    try:
        reason = unsafe_reason(path, os.fstat(fd)) or folder_reason(path)
        if reason:
            _refuse(path, reason)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


MAX_KEY_BYTES = 4096
MIN_KEY_BYTES = 16


def read_key(path):
    """The fleet's fingerprint key: a root-only file (0600) of 16 to 4096 bytes. Untrusted
    (with the reason) when missing, unsafe or the wrong size."""
    try:
        key = read_trusted(path, MAX_KEY_BYTES, private=True)
    except FileNotFoundError:
        raise Untrusted("the fingerprint key %s is missing" % path)
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise Untrusted("the fingerprint key %s is not %d to %d bytes" % (path, MIN_KEY_BYTES, MAX_KEY_BYTES))
    return key


def fleet_keys(config):
    """(keys, problem) of the config's [fingerprint] key and previous_key: the current key
    first (what stamps are signed with), then the previous one, which is only accepted.
    No keys when the current one is unusable (problem says why: then nothing can be
    verified or signed); an unusable previous key is left out, problem saying why."""
    try:
        current = read_key(config.fingerprint_key)
    except Untrusted as exc:
        return (), str(exc)
    if not config.fingerprint_previous_key:
        return (current,), None
    try:
        return (current, read_key(config.fingerprint_previous_key)), None
    except Untrusted as exc:
        return (current,), "previous_key unusable: %s" % exc

