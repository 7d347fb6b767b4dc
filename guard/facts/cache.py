"""The facts cache on disk: atomic writes, and loads that say why a cache is unusable."""
import json
import time

from ..errors import InputError
from ..runtime.trusted import Untrusted, read_trusted, unsafe_reason  # noqa: F401 - re-exported
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


BOOT_ID = "/proc/sys/kernel/random/boot_id"


def boot_clock(boot_id_path=BOOT_ID):
    """(this boot's ID or None, the clock's name, its reading in seconds) now. Nobody steps
    this clock: it counts from the boot the ID names (CLOCK_BOOTTIME, which counts a
    suspend too; CLOCK_MONOTONIC where there is none)."""
    try:
        with open(boot_id_path, "rb") as handle:
            boot_id = handle.read(64).decode("ascii", "replace").strip() or None
    except OSError:
        boot_id = None
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is not None:
        try:
            return boot_id, "boottime", time.clock_gettime(clock)
        except OSError:
            pass
    return boot_id, "monotonic", time.monotonic()


def as_collected(facts, boot=None):
    """facts stamped as collected now: the wall-clock time (for people), and the boot and
    its clock's reading (by which the hook judges their age)."""
    boot_id, clock, reading = boot or boot_clock()
    return facts._replace(collected_at=time.time(), boot_id=boot_id, boot_clock=clock, collected_boot_s=reading)


def facts_age(facts, boot):
    """Seconds since facts were collected by the clock of this boot (boot_clock()), or None
    when they were not collected in this boot or do not say when."""
    boot_id, clock, reading = boot
    if facts.collected_boot_s is None or boot_id is None or facts.boot_id != boot_id or facts.boot_clock != clock:
        return None
    return reading - facts.collected_boot_s


def staleness(path, facts, max_age, boot):
    """Why facts must not be used now (boot: boot_clock() now), or None. Their age is
    judged by the boot they were collected in and its clock, never by the wall clock: a
    clock stepped back made fresh facts look as if from the future, one stepped forward
    would make old facts look fresh. Facts of another boot describe the host as it was
    before it restarted: stale."""
    if facts.boot_id is None or facts.boot_clock is None or facts.collected_boot_s is None:
        return ("facts cache %s has no collection time by this host's boot and its clock (written by an older "
                "collector): its age cannot be known" % path)
    boot_id, clock, _reading = boot
    if boot_id is None:
        return "facts cache %s: this host's boot ID (%s) cannot be read, so its age cannot be known" % (path, BOOT_ID)
    if facts.boot_id != boot_id:
        return "facts cache %s was collected in another boot of this host (stale until the collector runs again)" % path
    if facts.boot_clock != clock:
        return "facts cache %s was timed by the %s clock, this guard reads the %s clock: its age cannot be known" % (
            path, facts.boot_clock, clock)
    age = facts_age(facts, boot)
    if age < 0:  # the clock of one boot never goes back: not what a collector wrote
        return "facts cache %s claims a collection %.0fs ahead of this boot's clock: not trusted" % (path, -age)
    if age > max_age:
        return "facts cache %s is stale: collected %.0fs ago, max_facts_age is %.0fs" % (path, age, max_age)
    return None


def load_cache(path, max_age, boot=None, trusted_uid=None):
    """(HostFacts or None, problem or None) for the hook: why a cache must not be used
    (missing, refused, malformed, stale: staleness). boot: boot_clock() now (read here when
    None); max_age None: its age is not judged. The hook makes a problem an error that
    on_error decides (guard.decide.core)."""
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
    problem = staleness(path, facts, max_age, boot or boot_clock()) if max_age is not None else None
    if problem:
        return None, problem
    return facts, None
