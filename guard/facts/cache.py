"""The facts cache on disk: atomic writes, and loads that say why a cache is unusable."""
import json
import os
import stat

from ..errors import InputError
from .model import HostFacts

MAX_FACTS_BYTES = 8 * 1024 * 1024


def facts_to_json(facts):
    return json.dumps(facts.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"


def facts_from_json(text, what="facts"):
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError("%s: not valid JSON (%s)" % (what, exc))
    try:
        return HostFacts.from_dict(data)
    except InputError as exc:
        raise InputError("%s: %s" % (what, str(exc)))


def read_facts_file(path):
    """HostFacts from a file named on the command line; InputError if unusable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FACTS_BYTES + 1)
    except OSError as exc:
        raise InputError("cannot read %s: %s" % (path, exc.strerror or exc))
    if len(data) > MAX_FACTS_BYTES:
        raise InputError("%s: over %d bytes" % (path, MAX_FACTS_BYTES))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("%s: not UTF-8 text" % path)
    return facts_from_json(text, path)


def unsafe_reason(path, st, trusted_uid=0):
    """Why a cache file must not be trusted: owner not root, or writable by others."""
    if st.st_uid != trusted_uid:
        return "%s is owned by uid %d, not root" % (path, st.st_uid)
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "%s is writable by group or others (mode %o)" % (path, stat.S_IMODE(st.st_mode))
    if not stat.S_ISREG(st.st_mode):
        return "%s is not a regular file" % path
    return None


class Untrusted(Exception):
    """A file the hook must not act on; the message says why."""


def read_trusted(path, limit, trusted_uid=0):
    """Up to limit + 1 bytes of a root-owned file nobody else can write, opened without
    following a symlink and checked on the open descriptor (no check-then-open race).
    FileNotFoundError when absent; Untrusted when unsafe or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Untrusted("%s is unreadable: %s" % (path, exc.strerror or exc))
    with os.fdopen(fd, "rb") as handle:
        reason = unsafe_reason(path, os.fstat(handle.fileno()), trusted_uid)
        if reason:
            raise Untrusted(reason)
        return handle.read(limit + 1)


def load_cache(path, max_age, now_epoch, trusted_uid=0):
    """(HostFacts or None, problem or None) for the hook: a problem makes the rules that
    need facts report `unverifiable` instead of failing the whole decision."""
    try:
        data = read_trusted(path, MAX_FACTS_BYTES, trusted_uid)
    except FileNotFoundError:
        return None, "facts cache %s is missing" % path
    except Untrusted as exc:
        return None, "facts cache refused: %s" % exc
    if len(data) > MAX_FACTS_BYTES:
        return None, "facts cache %s is over %d bytes" % (path, MAX_FACTS_BYTES)
    try:
        facts = facts_from_json(data.decode("utf-8", "replace"), "facts cache %s" % path)
    except InputError as exc:
        return None, str(exc)
    if facts.collected_at is not None and max_age and now_epoch - facts.collected_at > max_age:
        return None, "facts cache %s is stale: collected %.0fs ago, max_facts_age is %.0fs" % (
            path, now_epoch - facts.collected_at, max_age)
    return facts, None


def write_atomic(path, text, mode=0o644):
    """Write text to path so readers see the old file or the new one, never a torn one:
    a temp file in the same directory, fsync, rename. (No fsync of the directory: after a
    crash the rename may be lost, leaving the previous complete cache, which the next
    refresh replaces; that saves a sync on every refresh.)"""
    import tempfile  # writers only: the hook, which only reads, never pays for it
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".facts-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.rename(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
