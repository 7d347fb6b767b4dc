"""The emergency bypass: for a limited time, migrations are accepted but every finding is
still evaluated and audited (decision "bypassed"). Stored under /run: a reboot clears it."""
import getpass
import json
import os

from .errors import InputError
from .facts.cache import Untrusted, read_trusted, write_atomic


def write_bypass(path, seconds, reason, now):
    if not reason or not reason.strip():
        raise InputError("a bypass needs --reason")
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry: still record the uid
        user = "uid %d" % os.getuid()
    state = {"created": now, "until": now + seconds, "reason": reason.strip(), "by": user}
    write_atomic(path, json.dumps(state, sort_keys=True) + "\n", mode=0o644)
    return state


def read_bypass(path, now, trusted_uid=0):
    """(active state or None, note or None). An expired, unsafe or corrupt file is ignored."""
    try:
        data = read_trusted(path, 65536, trusted_uid)
    except FileNotFoundError:
        return None, None
    except Untrusted as exc:
        return None, "bypass ignored: %s" % exc
    try:
        state = json.loads(data.decode("utf-8", "replace"))
        until = float(state["until"])
    except (ValueError, KeyError, TypeError):
        return None, "bypass file %s is corrupt and was ignored" % path
    if until <= now:
        return None, "bypass expired %.0fs ago and was ignored" % (now - until)
    return state, None


def clear_bypass(path):
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
