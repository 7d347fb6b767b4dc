"""The emergency bypass: for a limited time, migrations are accepted but every finding is
still evaluated and audited (decision "bypassed"). Stored under /run: a reboot clears it."""
import json
import os

from .errors import InputError
from .records import struct
from .runtime.trusted import Untrusted, read_trusted

MAX_BYPASS_SECONDS = 7 * 86400  # the CLI refuses longer; the hook ignores a file that says more


class Bypass(struct("Bypass", "created until reason by")):
    __slots__ = ()

    def to_dict(self):
        return {"created": self.created, "until": self.until, "reason": self.reason, "by": self.by}


MAX_REASON_CHARS = 500
MAX_BY_CHARS = 100
_UNSET_LOGINUID = 4294967295


def _user_name(uid):
    import pwd  # the CLI's only: the hook never imports it
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return "uid %d" % uid


def login_user(loginuid_path="/proc/self/loginuid", environ=None):
    """Who is setting or clearing the bypass: the login user the kernel records for this
    session (audit loginuid: survives sudo and su, and no process can choose it), else
    the real user; sudo's SUDO_USER is only added as a hint beside the real user, never
    taken on its own word ($USER and $LOGNAME are never used)."""
    environ = os.environ if environ is None else environ
    try:
        with open(loginuid_path) as handle:
            loginuid = int(handle.read().strip())
    except (OSError, ValueError):
        loginuid = _UNSET_LOGINUID
    if loginuid != _UNSET_LOGINUID:
        return _user_name(loginuid)
    user = _user_name(os.getuid())
    sudo_user = environ.get("SUDO_USER")
    if sudo_user and os.getuid() == 0 and environ.get("SUDO_UID", "").isdigit():
        return "%s (via sudo, as %s)" % (sudo_user[:40], user)
    return user


def write_bypass(path, seconds, reason, now, by=None):
    if not reason or not reason.strip():
        raise InputError("a bypass needs --reason")
    if len(reason.strip()) > MAX_REASON_CHARS:
        raise InputError("--reason is over %d characters" % MAX_REASON_CHARS)
    state = Bypass(now, now + seconds, reason.strip(), (by or login_user())[:MAX_BY_CHARS])
    from .runtime.files import write_atomic  # `bypass --for` only: the hook reads, never writes
    write_atomic(path, json.dumps(state.to_dict(), sort_keys=True) + "\n", mode=0o644)
    return state


def _number(value):
    """A finite float, or ValueError (huge integers, NaN and infinities are refused)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            raise ValueError("out of range")
        if number - number == 0:  # finite
            return number
    raise ValueError("not a finite number")


def parse_bypass(data, now):
    """(Bypass or None, note or None) from the file's bytes: every value validated, an
    expired or over-long bypass ignored."""
    try:
        state = json.loads(data.decode("utf-8", "replace"))
        if not isinstance(state, dict):
            raise ValueError("not an object")
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
    if created > now + 60:
        return None, "bypass was created in the future (the clock was stepped back?) and was ignored"
    return Bypass(created, until, reason.strip()[:MAX_REASON_CHARS], (by or "?")[:MAX_BY_CHARS]), None


def read_bypass(path, now, trusted_uid=None):
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
