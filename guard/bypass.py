"""The emergency bypass: for a limited time, migrations are accepted but every finding is
still evaluated and audited (decision "bypassed"). Stored under /run: a reboot clears it."""
import json
import os

from .errors import InputError
from .facts.cache import Untrusted, read_trusted, write_atomic
from .records import struct

MAX_BYPASS_SECONDS = 7 * 86400  # the CLI refuses longer; the hook ignores a file that says more


class Bypass(struct("Bypass", "created until reason by")):
    __slots__ = ()

    def to_dict(self):
        return {"created": self.created, "until": self.until, "reason": self.reason, "by": self.by}


def write_bypass(path, seconds, reason, now):
    if not reason or not reason.strip():
        raise InputError("a bypass needs --reason")
    import getpass  # the CLI's only: the hook never imports it
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry: still record the uid
        user = "uid %d" % os.getuid()
    state = Bypass(now, now + seconds, reason.strip(), user)
    write_atomic(path, json.dumps(state.to_dict(), sort_keys=True) + "\n", mode=0o644)
    return state


def _number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    raise ValueError("not a number")


def parse_bypass(data, now):
    """(Bypass or None, note or None) from the file's bytes: every value validated, an
    expired or over-long bypass ignored."""
    try:
        state = json.loads(data.decode("utf-8", "replace"))
        until = _number(state["until"])
        created = _number(state.get("created", now))
        reason, by = state.get("reason"), state.get("by")
        if not isinstance(reason, str) or not reason.strip() or not isinstance(by, (str, type(None))):
            raise ValueError("bad reason or by")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None, "bypass file is corrupt and was ignored"
    if until <= now:
        return None, "bypass expired %.0fs ago and was ignored" % (now - until)
    if until - max(created, now - MAX_BYPASS_SECONDS) > MAX_BYPASS_SECONDS or until - now > MAX_BYPASS_SECONDS:
        return None, "bypass lasts longer than the 7-day maximum and was ignored"
    return Bypass(created, until, reason.strip()[:500], (by or "?")[:100]), None


def read_bypass(path, now, trusted_uid=0):
    """(active Bypass or None, note or None). An expired, unsafe or corrupt file is ignored."""
    try:
        data = read_trusted(path, 65536, trusted_uid)
    except FileNotFoundError:
        return None, None
    except Untrusted as exc:
        return None, "bypass ignored: %s" % exc
    return parse_bypass(data, now)


def clear_bypass(path):
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
