"""The policy file: /etc/migration-guard/config.toml (or MIGRATION_GUARD_CONFIG, or --config).

Exactly the keys documented in config/config.toml; an unknown key or a bad value is an
error naming the file, the line and the key, never silently ignored.

Its compiled form, <config>.compiled.json, written by `config check --compile`, spares the
hook the TOML parser (on RHEL 9's Python, tomli and the typing and datetime modules it
imports are a third of the hook's own cost). The hook uses it only when it holds the
SHA-256 of the very bytes the hook has just read from the config, passes the same trust
checks as the config, and is by this version of the guard; otherwise the TOML is parsed
as ever. It holds the TOML document, not the Config made of it, so the hook validates it
exactly as it validates the TOML (a date without an offset is read in the hook's own time
zone). It can be missing or outdated, never wrong.
"""
import json
import os
import re
import stat
import sys

from . import __version__
from .errors import ConfigError
from .records import struct
from .rules.base import MEMORY_LIMIT
from .rules.findings import DENY, OFF, WARN
from .units import format_bytes, format_duration, parse_duration, parse_size

# The config digest is on the hook's path: CPython's builtin SHA-256 loads in microseconds,
# hashlib loads OpenSSL first (milliseconds). Same digest either way. The module this Python
# has is tried first: a failed import searches every folder of sys.path.
try:
    if sys.version_info >= (3, 12):
        from _sha2 import sha256
    else:
        from _sha256 import sha256  # Python 3.9 to 3.11
except ImportError:  # a build without the builtin modules
    from hashlib import sha256

DEFAULT_PATH = "/etc/migration-guard/config.toml"
ENV_VAR = "MIGRATION_GUARD_CONFIG"

MODES = ("enforce", "audit")
PROFILES = ("default", "strict")
ON_ERROR = ("deny", "allow")
RULE_ACTIONS = (DENY, WARN, OFF)
MAX_CONFIG_BYTES = 256 * 1024

# (lowest, highest) for each duration and size key: a value outside is an error naming
# the key, never a crash later (an overflowing timer) or a silent no-op ("0s").
DURATION_RANGES = {
    "timeout": (0.1, 600.0),
    "max_facts_age": (60.0, 30 * 86400.0),
    "memory.max_downtime": (0.001, 3600.0),
    # At least a few minutes: the collector service re-stamps running guests every third of it.
    # At most a day: a stamp can be replayed for as long as it is valid.
    "fingerprint.max_age": (300.0, 86400.0),
    # The longest a migration may take before its outcome is unknown: a minute to a week.
    "outcome.wait": (60.0, 7 * 86400.0),
}
SIZE_RANGES = {
    "memory.limit": (1 << 20, 1 << 64),
    "memory.bandwidth": (1 << 10, 1 << 64),
    "plan.memory_reserve": (0, 1 << 64),
}
# vCPUs a destination may run per host CPU in an evacuation plan (`preflight --plan`).
VCPU_RATIO_RANGE = (0.1, 64.0)


# metrics: the Prometheus text file the collector refreshes; "" = off. pending: where the
# hook leaves the decisions it let through for the collector service to record their
# outcome (guard.runtime.pending); "" = no outcome tracking. false_allows: where the incoming XML of
# a false allow is kept (root-only, the newest 64).
Paths = struct("Paths", "facts audit_log bypass metrics pending false_allows", defaults=(
    "/var/cache/migration-guard/facts.json", "/var/log/migration-guard/audit.log", "/run/migration-guard/bypass.json",
    "", "/run/migration-guard/pending", "/var/lib/migration-guard/false-allows"))
OFF_PATHS = ("metrics", "pending")  # may be "" (off)

# domain: an fnmatch glob on the guest name; until: an aware datetime or None.
ConfigExemption = struct("ConfigExemption", "reason rules domain uuid until", defaults=(None, None, None))

_CONFIG_DEFAULTS = (
    ("mode", "enforce"),
    ("profile", "default"),
    ("on_error", "deny"),
    ("timeout", 10.0),  # seconds
    ("max_facts_age", 24 * 3600.0),  # seconds
    ("allow_metadata_exemptions", False),
    ("paths", Paths()),
    ("memory_limit", MEMORY_LIMIT),  # bytes
    ("bandwidth", None),  # bytes per second
    ("max_downtime", None),  # seconds
    ("rules", ()),  # (rule id or code, action)
    ("exemptions", ()),  # ConfigExemption
    ("fingerprint_key", None),  # path of the fleet's HMAC key, or None: fingerprints unsigned
    ("fingerprint_previous_key", None),  # path of a key the hook also accepts (a rotation), never signs with
    # Seconds a signed stamp stays valid. Three of the collector service's default 10-minute
    # intervals: it re-stamps every running guest each interval (at least every third of
    # max_age), so a stamp is at most one interval old and two refreshes may fail (libvirt or
    # the service restarting) before a guest's stamp expires; a replayed stamp is refused
    # after half an hour.
    ("fingerprint_max_age", 1800.0),
    # [maintenance] until: while a declared window lasts, microcode and BIOS differences are
    # warnings (audited as such), not refusals: a rolling firmware update. None: no window.
    ("maintenance_until", None),
    ("maintenance_reason", None),
    ("plan_memory_reserve", 1 << 30),  # bytes a plan leaves free on each destination
    ("plan_vcpu_ratio", 4.0),  # vCPUs per host CPU a plan fills a destination to
    # [outcome] wait: how long a migration the hook let through may take before its outcome
    # is recorded as unknown (a large guest over a slow link takes hours).
    ("outcome_wait", 6 * 3600.0),
    # [outcome] libvirt_log: where libvirt's daemon logs its errors, read for a failed
    # migration's reason: "journal" (virtqemud or libvirtd in the journal), a file, or "".
    ("outcome_libvirt_log", "journal"),
    ("source", "built-in defaults"),
    ("digest", None),
)


class Config(struct("Config", [k for k, _v in _CONFIG_DEFAULTS], defaults=[v for _k, v in _CONFIG_DEFAULTS])):
    __slots__ = ()

    def rule_action(self, code, rule):
        if not self.rules:
            return None  # the usual case, asked for every finding of every decision
        table = dict(self.rules)
        return table.get(code) or table.get(rule)


class _Reader:
    """Validates one parsed TOML document, reporting problems with file and line."""

    def __init__(self, path, text):
        self.path = path
        self.text = text  # split into lines only to name the line of an error

    def line_of(self, key, table=None):
        name = key.split(".")[-1]
        pattern = re.compile(r"^\s*(\"?%s\"?)\s*=" % re.escape(name))
        header = re.compile(r"^\s*\[+\s*%s\s*[\].]" % r"\s*\.\s*".join(
            '"?%s"?' % re.escape(part) for part in table.split("."))) if table else None
        in_table = table is None
        for number, line in enumerate(self.text.splitlines(), 1):
            if key and re.match(r'^\s*\[+\s*(?:[^\]]*\.)?\s*"?%s"?\s*\]' % re.escape(name), line):
                return number  # the key is a table of its own: [rules."KEY"]
            if header is not None and header.match(line):
                in_table = True
                if not key:
                    return number
                continue
            if in_table and pattern.match(line):
                return number
        return None

    def error(self, key, message, table=None):
        line = self.line_of(key, table)
        where = "%s:%s" % (self.path, line) if line else self.path
        return ConfigError("%s: %s: %s" % (where, key, message))

    def choice(self, data, key, options, default, table=None):
        value = data.get(key, default)
        if value not in options:
            raise self.error(key, "must be one of %s, not %r" % (", ".join(repr(o) for o in options), value), table)
        return value

    def check_keys(self, data, allowed, table=None):
        for key in data:
            if key not in allowed:
                prefix = "%s." % table if table else ""
                import difflib  # the error path only
                close = difflib.get_close_matches(key, sorted(allowed), n=1)
                raise self.error(prefix + key, "unknown key%s (allowed: %s)" % (
                    " (did you mean %s?)" % close[0] if close else "", ", ".join(sorted(allowed))), table)

    def size(self, data, key, table):
        name = "%s.%s" % (table, key)
        try:
            value = parse_size(str(data[key]).replace("/s", ""), key)
        except (ConfigError, OverflowError, ValueError) as exc:
            raise self.error(name, str(exc).split(": ", 1)[-1], table)
        low, high = SIZE_RANGES[name]
        if not low <= value <= high:
            raise self.error(name, "%r is out of range (%s to %s)" % (data[key], format_bytes(low),
                                                                      format_bytes(high)), table)
        return value

    def duration(self, data, key, table=None):
        name = "%s.%s" % (table, key) if table else key
        try:
            value = parse_duration(data[key], key)
        except (ConfigError, OverflowError, ValueError) as exc:
            raise self.error(name, str(exc).split(": ", 1)[-1], table)
        low, high = DURATION_RANGES[name]
        if not low <= value <= high:  # also refuses inf and nan
            raise self.error(name, "%r is out of range (%s to %s)" % (data[key], format_duration(low),
                                                                      format_duration(high)), table)
        return value


_RULE_KEYS = []  # the registry's rule ids and codes, once: the hook validates a config on every run


def _known_rule_keys():
    if not _RULE_KEYS:
        from .rules import BY_ID, all_codes
        _RULE_KEYS.append(frozenset(BY_ID) | all_codes())
    return _RULE_KEYS[0]


def _suggestion(name):
    from .rules import suggestion  # the error path only
    return suggestion(name)


def _until(reader, value, index, key=None, table="exemptions"):
    import datetime  # tomllib has it loaded already; the compiled config's reader does not need it
    key = key or "exemptions[%d].until" % index
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if not isinstance(value, datetime.datetime):
        raise reader.error(key, "must be a TOML date or datetime, not %r" % (value,), table)
    try:
        # Local time (no offset) is the host's: out of range near year 1 or 9999 in some zones.
        return value if value.tzinfo else value.astimezone()
    except (ValueError, OverflowError, OSError) as exc:
        raise reader.error(key, "%s is out of range here (%s)" % (value, exc), table)


def _exemptions(reader, items):
    if not isinstance(items, list):
        raise reader.error("exemptions", "must be an array of tables ([[exemptions]])")
    result = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise reader.error("exemptions[%d]" % index, "must be a table ([[exemptions]])", "exemptions")
        reader.check_keys(item, {"domain", "uuid", "rules", "reason", "until"}, "exemptions")
        if not item.get("reason") or not isinstance(item.get("reason"), str):
            raise reader.error("exemptions[%d].reason" % index, "is required: say why", "exemptions")
        if not (item.get("domain") or item.get("uuid")):
            raise reader.error("exemptions[%d]" % index, "needs domain (a name glob) or uuid", "exemptions")
        for key in ("domain", "uuid"):
            if key in item and not isinstance(item[key], str):
                raise reader.error("exemptions[%d].%s" % (index, key), "must be a string", "exemptions")
        rules = item.get("rules")
        if not isinstance(rules, list) or not rules or not all(isinstance(r, str) for r in rules):
            raise reader.error("exemptions[%d].rules" % index, "must be a non-empty list of rule ids or codes",
                               "exemptions")
        for rule in rules:
            if rule != "*" and rule not in _known_rule_keys():
                raise reader.error("exemptions[%d].rules" % index, "unknown rule %r%s (see `migration-guard "
                                   "rules`)" % (rule, _suggestion(rule)), "exemptions")
        until = _until(reader, item["until"], index) if "until" in item else None
        result.append(ConfigExemption(item["reason"], tuple(rules), item.get("domain"), item.get("uuid"), until))
    return tuple(result)


def toml_parser():
    """tomllib, or tomli before Python 3.11: loaded only when TOML is parsed."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # RHEL 9's Python 3.9: python3-tomli
        import tomli as tomllib
    return tomllib


def _toml_document(text, path):
    tomllib = toml_parser()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("%s: TOML syntax error: %s" % (path, exc))


def parse_config(text, path="config"):
    return _validated(_toml_document(text, path), _Reader(path, text), sha256(text.encode("utf-8")).hexdigest())


def _validated(data, reader, digest):
    """The Config of a parsed TOML document: every key checked, each error naming the file,
    the line and the key. The compiled form runs through here too."""
    reader.check_keys(data, {"mode", "profile", "on_error", "timeout", "max_facts_age",
                             "allow_metadata_exemptions", "paths", "memory", "rules", "exemptions",
                             "fingerprint", "plan", "maintenance", "outcome"})
    values = {
        "mode": reader.choice(data, "mode", MODES, "enforce"),
        "profile": reader.choice(data, "profile", PROFILES, "default"),
        "on_error": reader.choice(data, "on_error", ON_ERROR, "deny"),
        "source": reader.path,
        "digest": digest[:16],
    }
    if "timeout" in data:
        values["timeout"] = reader.duration(data, "timeout")
    if "max_facts_age" in data:
        values["max_facts_age"] = reader.duration(data, "max_facts_age")
    if "allow_metadata_exemptions" in data:
        if not isinstance(data["allow_metadata_exemptions"], bool):
            raise reader.error("allow_metadata_exemptions", "must be true or false")
        values["allow_metadata_exemptions"] = data["allow_metadata_exemptions"]
    for table in ("paths", "memory", "rules", "plan", "maintenance", "outcome"):
        if not isinstance(data.get(table, {}), dict):
            raise reader.error(table, "must be a table ([%s])" % table)
    paths = data.get("paths", {})
    reader.check_keys(paths, set(Paths._fields), "paths")
    for key, value in paths.items():
        if not isinstance(value, str) or not (value.startswith("/") or (key in OFF_PATHS and value == "")):
            raise reader.error("paths." + key, "must be an absolute path" + (' (or "" for off)' if key in OFF_PATHS
                                                                            else ""), "paths")
    values["paths"] = Paths(**paths)
    outcome = data.get("outcome", {})
    reader.check_keys(outcome, {"wait", "libvirt_log"}, "outcome")
    if "wait" in outcome:
        values["outcome_wait"] = reader.duration(outcome, "wait", "outcome")
    if "libvirt_log" in outcome:
        log = outcome["libvirt_log"]
        if not isinstance(log, str) or not (log in ("journal", "") or log.startswith("/")):
            raise reader.error("outcome.libvirt_log", 'must be "journal", an absolute path, or "" for none', "outcome")
        values["outcome_libvirt_log"] = log
    memory = data.get("memory", {})
    reader.check_keys(memory, {"limit", "bandwidth", "max_downtime"}, "memory")
    if "limit" in memory:
        values["memory_limit"] = reader.size(memory, "limit", "memory")
    if "bandwidth" in memory:
        values["bandwidth"] = float(reader.size(memory, "bandwidth", "memory"))
    if "max_downtime" in memory:
        values["max_downtime"] = reader.duration(memory, "max_downtime", "memory")
    plan = data.get("plan", {})
    reader.check_keys(plan, {"memory_reserve", "vcpu_ratio"}, "plan")
    if "memory_reserve" in plan:
        values["plan_memory_reserve"] = reader.size(plan, "memory_reserve", "plan")
    if "vcpu_ratio" in plan:
        ratio = plan["vcpu_ratio"]
        low, high = VCPU_RATIO_RANGE
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not low <= ratio <= high:
            raise reader.error("plan.vcpu_ratio", "must be a number from %g to %g (vCPUs per host CPU)" % (low, high),
                               "plan")
        values["plan_vcpu_ratio"] = float(ratio)
    maintenance = data.get("maintenance", {})
    reader.check_keys(maintenance, {"until", "reason"}, "maintenance")
    if maintenance:
        if "until" not in maintenance or not isinstance(maintenance.get("reason"), str) or not maintenance["reason"]:
            raise reader.error("maintenance", "needs until (a TOML date or datetime) and reason (say why)",
                               "maintenance")
        values["maintenance_until"] = _until(reader, maintenance["until"], 0, "maintenance.until", "maintenance")
        values["maintenance_reason"] = maintenance["reason"]
    fingerprint = data.get("fingerprint", {})
    if not isinstance(fingerprint, dict):
        raise reader.error("fingerprint", "must be a table ([fingerprint])")
    reader.check_keys(fingerprint, {"key", "previous_key", "max_age"}, "fingerprint")
    for name in ("key", "previous_key"):
        path = fingerprint.get(name, "")
        if not isinstance(path, str) or (path and not path.startswith("/")):
            raise reader.error("fingerprint." + name, "must be an absolute path, or \"\" for %s" % (
                "unsigned fingerprints" if name == "key" else "none"), "fingerprint")
        values["fingerprint_" + name] = path or None
    if values["fingerprint_previous_key"] and not values["fingerprint_key"]:
        raise reader.error("fingerprint.previous_key", "needs [fingerprint] key: stamps are signed with key, and "
                           "previous_key is only also accepted", "fingerprint")
    if "max_age" in fingerprint:
        values["fingerprint_max_age"] = reader.duration(fingerprint, "max_age", "fingerprint")
    rules = data.get("rules", {})
    known = _known_rule_keys()
    table = []
    for key, body in rules.items():
        if key not in known:
            raise reader.error("rules." + key, "unknown rule or code%s (see `migration-guard rules`)"
                               % _suggestion(key), "rules")
        if not isinstance(body, dict):
            raise reader.error("rules." + key, "must be a table with action = ...", "rules")
        reader.check_keys(body, {"action"}, "rules.%s" % key)
        table.append((key, reader.choice(body, "action", RULE_ACTIONS, None, "rules." + key)))
    values["rules"] = tuple(table)
    values["exemptions"] = _exemptions(reader, data.get("exemptions", []))
    return Config(**values)


# 2: the TOML document itself, validated by the hook as the TOML is (1: the Config's values).
COMPILED_SCHEMA = 2


def compiled_path(path):
    return path + ".compiled.json"


# TOML's date and time values, which JSON lacks, are {"$toml": kind, "iso": isoformat}.
_TOML_TIMES = ("datetime", "date", "time")


def _to_json(value):
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    kind = type(value).__name__
    if kind in _TOML_TIMES:
        return {"$toml": kind, "iso": value.isoformat()}
    return value


def _toml_time(obj):
    """json.loads' object_hook: a tagged date or time back as what tomllib made."""
    if len(obj) == 2 and obj.get("$toml") in _TOML_TIMES and isinstance(obj.get("iso"), str):
        import datetime  # only when the config has a date
        return getattr(datetime, obj["$toml"]).fromisoformat(obj["iso"])
    return obj


def compiled_text(document, data):
    """The compiled form of the TOML document parsed from `data` (the config's bytes): the
    document as JSON, not the Config built from it, so the hook validates it as it
    validates the TOML, in its own time zone (a date without an offset is local time)."""
    # The guard's version too: another version may read the same TOML otherwise (a new default).
    text = json.dumps({"schema": COMPILED_SCHEMA, "guard": __version__, "sha256": sha256(data).hexdigest(),
                       "toml": _to_json(document)}) + "\n"
    if json.loads(text, object_hook=_toml_time)["toml"] != document:
        raise ConfigError("the config holds a value JSON cannot carry; not compiled (the hook parses the TOML)")
    return text


def _from_compiled(text, data, path):
    """The Config of a compiled form, or None unless it is the compiled form, by this
    version, of exactly `data` (the config's bytes just read from `path`) and validates."""
    try:
        compiled = json.loads(text, object_hook=_toml_time)
        if not isinstance(compiled, dict) or compiled.get("schema") != COMPILED_SCHEMA:
            return None
        digest = sha256(data).hexdigest()
        if compiled.get("guard") != __version__ or compiled.get("sha256") != digest:
            return None
        document = compiled.get("toml")
        if not isinstance(document, dict):
            return None
        return _validated(document, _Reader(path, _decoded(path, data)), digest)
    # Anything amiss, even a validation error, and the hook parses the TOML, which reports
    # the same error or gives the same Config.
    # Not a bare Exception: the hook's timeout and signals must pass through.
    except (ConfigError, ValueError, TypeError, LookupError, AttributeError, ArithmeticError, RecursionError,
            OSError):
        return None


def compile_config(path):
    """Parse the config at `path` and write its compiled form beside it (atomically, mode
    0644); the compiled form's path. ConfigError when the config is invalid or absent."""
    from .runtime.files import write_atomic
    try:
        data = _read_config(path)
    except FileNotFoundError:
        raise ConfigError("%s: no such config file; nothing to compile" % path)
    text = _decoded(path, data)
    document = _toml_document(text, path)
    _validated(document, _Reader(path, text), "")  # an invalid config is reported, not compiled
    target = compiled_path(path)
    write_atomic(target, compiled_text(document, data))
    return target


def _read_compiled(path, data):
    from .runtime.trusted import Untrusted, read_trusted
    try:
        text = read_trusted(compiled_path(path), 4 * MAX_CONFIG_BYTES)
    except (OSError, Untrusted):
        return None
    return _from_compiled(text, data, path)


# The --config help of every command that reads the policy.
CONFIG_HELP = "config file (default: $MIGRATION_GUARD_CONFIG or %s)" % DEFAULT_PATH


def config_path(explicit=None):
    return explicit or os.environ.get(ENV_VAR) or DEFAULT_PATH


def _read_plain(path):
    """The CLI's read: a regular file (a FIFO never blocks it), at most MAX_CONFIG_BYTES + 1."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError("%s: not a regular file" % path)
        return handle.read(MAX_CONFIG_BYTES + 1)


def _read_config(path, trusted=False):
    """The config's bytes: FileNotFoundError when it is absent, ConfigError when it is over
    MAX_CONFIG_BYTES, unreadable or (trusted) fails guard.runtime.trusted's checks."""
    try:
        if trusted:
            from .runtime.trusted import Untrusted, read_trusted
            try:
                data = read_trusted(path, MAX_CONFIG_BYTES)
            except Untrusted as exc:
                raise ConfigError("config refused: %s" % exc)
        else:
            data = _read_plain(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError("%s: cannot read config: %s" % (path, exc.strerror or exc))
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError("%s: config is over %d bytes" % (path, MAX_CONFIG_BYTES))
    return data


def _decoded(path, data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError("%s: cannot read config: %s" % (path, exc))


def load_config(explicit=None, trusted=False):
    """The config from --config, MIGRATION_GUARD_CONFIG or the default path. A missing
    default file means built-in defaults; a missing named file is an error. trusted (the
    hook): the file must pass guard.runtime.trusted's checks (root's, not writable by others, no
    symlink, in a folder only root can change), and its compiled form is used when it
    matches."""
    path = config_path(explicit)
    try:
        data = _read_config(path, trusted)
    except FileNotFoundError:
        if path == DEFAULT_PATH and not explicit:
            return Config()
        raise ConfigError("%s: no such config file" % path)
    if trusted:
        compiled = _read_compiled(path, data)
        if compiled is not None:
            return compiled
    return parse_config(_decoded(path, data), path)
