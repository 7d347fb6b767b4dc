"""The audit trail on disk: one JSON object per decision, one line, one O_APPEND write;
and the reading side of `migration-guard audit`. Records are built by guard.output.audit_record."""
import json
import os
import time

from ..runtime.trusted import open_append


def append_record(path, line):
    """Append one line with a single write(2) on an O_APPEND descriptor, so concurrent
    hooks never interleave. Creates the directory 0750 and the file 0640; refuses a
    symlink, a FIFO or a file another user could have planted (guard.runtime.trusted.Untrusted).
    If the log ends in a fragment (an earlier short write: disk full), the record starts
    on a line of its own rather than being glued to it."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = open_append(path)
    try:
        _lock_briefly(fd)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        written = os.write(fd, data)
        if written != len(data):
            raise OSError("short write to %s (%d of %d bytes)" % (path, written, len(data)))
    finally:
        os.close(fd)


LOCK_TRIES, LOCK_PAUSE = 200, 0.005


def _lock_briefly(fd):
    """Hold the log's write lock from the look at its last byte through the append: another
    writer's record caught half-copied (its size already grown, its newline not yet there)
    would otherwise read as a fragment and earn a spurious blank line. Bounded (about 1 s):
    the hook has no timeout, so a lock some other program holds on the log costs at worst
    that blank line, never a hung migration. Released by the caller's close."""
    for _ in range(LOCK_TRIES):
        try:
            os.lockf(fd, os.F_TLOCK, 0)
            return
        except (BlockingIOError, PermissionError):
            time.sleep(LOCK_PAUSE)
        except OSError:
            return  # a filesystem without locks: append as before


def record_action(path, record, summary, **journal_fields):
    """An administrator's action (setting or clearing a bypass or a waiver): its audit
    record (guard.output.audit_record) and a journal entry. A log that cannot be written is said on
    stderr; the action stands."""
    import sys

    from ..runtime.trusted import Untrusted
    from .audit_record import render_record
    from .journal import send
    try:
        append_record(path, render_record(record))
    except (OSError, ValueError, Untrusted) as exc:
        sys.stderr.write("migration-guard: audit log %s not written (%s)\n" % (path, getattr(exc, "strerror", None)
                                                                               or exc))
    send(summary, priority=4, MG_EVENT=record["event"], MG_BY=record["by"], **journal_fields)


def log_files(path):
    """The audit log and its rotations, oldest first, in every naming logrotate uses:
    path.N[.gz] (highest N oldest), then path-YYYYMMDD[.gz] (dateext, RHEL's default;
    oldest date first), then path itself."""
    import glob  # `audit` only: the hook never reads rotations
    import re
    numbered, dated = [], []
    for candidate in glob.glob(glob.escape(path) + ".*") + glob.glob(glob.escape(path) + "-*"):
        suffix = candidate[len(path):]
        match = re.match(r"^\.(\d+)(\.gz)?$", suffix)
        if match:
            numbered.append((int(match.group(1)), candidate))
            continue
        match = re.match(r"^-(\d{8,14})(\.gz)?$", suffix)
        if match:
            dated.append((match.group(1), candidate))
    files = [name for _n, name in sorted(numbered, reverse=True)] + [name for _d, name in sorted(dated)]
    if os.path.exists(path):
        files.append(path)
    return files


def _open(name):
    if name.endswith(".gz"):
        import gzip  # only `audit` reads rotated logs; the hook never needs it
        return gzip.open(name, "rt", encoding="utf-8", errors="replace")
    return open(name, "r", encoding="utf-8", errors="replace")


def parse_time(text):
    """An aware datetime from ISO 8601 text ("Z" allowed); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("not a time: %r" % (text,))
    import datetime  # reading the log only: the hook, which only appends, does not load it
    value = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.astimezone()


def findings_of(record):
    """The record's findings that are objects (a damaged record may hold anything)."""
    findings = record.get("findings")
    if not isinstance(findings, list):
        return []
    return [f for f in findings if isinstance(f, dict)]


class Filter:
    """outcome: only outcome records (guard.decide.outcome) with this outcome; decision: only
    decision records with this decision (an outcome record carries its decision's verdict
    under `decided`, so it never matches)."""

    def __init__(self, since=None, until=None, domain=None, decision=None, rule=None, outcome=None):
        self.since, self.until = since, until
        self.domain, self.decision, self.rule, self.outcome = domain, decision, rule, outcome

    def matches(self, record):
        if self.decision and record.get("decision") != self.decision:
            return False
        if self.outcome and (record.get("event") != "outcome" or record.get("outcome") != self.outcome):
            return False
        if self.domain and not _fnmatch(str(record.get("domain") or ""), self.domain):
            return False
        if self.rule and not any(self.rule in (f.get("rule"), f.get("code")) for f in findings_of(record)):
            return False
        if self.since or self.until:
            try:
                when = parse_time(record.get("time"))
                if (self.since and when < self.since) or (self.until and when > self.until):
                    return False
            except (TypeError, ValueError, OverflowError):
                return False
        return True


class Counts:
    """What a query skipped: fragments (lines that are not a JSON object, such as the
    remains of a short write) and files it could not read to the end."""

    def __init__(self):
        self.fragments = 0
        self.unreadable = []


def read_records(path, record_filter, counts=None):
    """(line, record) for each matching record, streamed, oldest first. Fragments are
    counted and skipped; a file that fails part-way (a truncated .gz) keeps what was read
    and is named in counts.unreadable. Never raises for what is in the files."""
    import zlib  # `audit` only
    counts = counts if counts is not None else Counts()
    for name in log_files(path):
        try:
            with _open(name) as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except (ValueError, RecursionError):
                        record = None
                    if not isinstance(record, dict):
                        counts.fragments += 1
                        continue
                    if record_filter.matches(record):
                        yield line.rstrip("\n"), record
        except (OSError, EOFError, zlib.error) as exc:
            counts.unreadable.append("%s (%s)" % (name, getattr(exc, "strerror", None) or exc))


def _fnmatch(name, pattern):
    import fnmatch  # reading the log only
    return fnmatch.fnmatchcase(name, pattern)
