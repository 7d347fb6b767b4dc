"""The facts cache on disk: atomic writes, and loads that say why a cache is unusable."""
import json
import os

from ..errors import InputError
from ..trusted import Untrusted, read_trusted, unsafe_reason  # noqa: F401 - re-exported
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


# A collector and the hook share this host's clock: a collection time ahead of it means the
# clock was stepped back. Allow a little for the rename landing as the clock ticks.
FUTURE_TOLERANCE = 5.0


def staleness(path, collected_at, max_age, now_epoch):
    """Why facts collected at `collected_at` must not be used now, or None."""
    if collected_at is None:
        return "facts cache %s has no collection time (stale: its age cannot be known)" % path
    if collected_at - now_epoch > FUTURE_TOLERANCE:
        return ("facts cache %s was collected %.0fs in the future: the clock was stepped back (stale until "
                "the collector runs again)" % (path, collected_at - now_epoch))
    if now_epoch - collected_at > max_age:
        return "facts cache %s is stale: collected %.0fs ago, max_facts_age is %.0fs" % (
            path, now_epoch - collected_at, max_age)
    return None


def load_cache(path, max_age, now_epoch, trusted_uid=None):
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
    problem = staleness(path, facts.collected_at, max_age, now_epoch)
    if problem:
        return None, problem
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
