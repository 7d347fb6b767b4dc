"""The audit trail on disk: one JSON object per decision, one line, one O_APPEND write;
and the reading side of `migration-guard audit`. Records are built by guard.audit_record."""
import datetime
import fnmatch
import json
import os

from .trusted import open_append


def append_record(path, line):
    """Append one line with a single write(2) on an O_APPEND descriptor, so concurrent
    hooks never interleave. Creates the directory 0750 and the file 0640; refuses a
    symlink, a FIFO or a file another user could have planted (guard.trusted.Untrusted).
    If the log ends in a fragment (an earlier short write: disk full), the record starts
    on a line of its own rather than being glued to it."""
    data = (line.rstrip("\n") + "\n").encode("utf-8")
    fd = open_append(path)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        written = os.write(fd, data)
        if written != len(data):
            raise OSError("short write to %s (%d of %d bytes)" % (path, written, len(data)))
    finally:
        os.close(fd)


def log_files(path):
    """The audit log and its rotations, oldest first: path.N[.gz] ... path.1, path."""
    import glob  # `audit` only: the hook never reads rotations
    rotated = []
    for candidate in glob.glob(glob.escape(path) + ".*"):
        suffix = candidate[len(path) + 1:]
        number = suffix[:-3] if suffix.endswith(".gz") else suffix
        if number.isdigit():
            rotated.append((int(number), candidate))
    files = [name for _n, name in sorted(rotated, reverse=True)]
    if os.path.exists(path):
        files.append(path)
    return files


def _open(name):
    if name.endswith(".gz"):
        import gzip  # only `audit` reads rotated logs; the hook never needs it
        return gzip.open(name, "rt", encoding="utf-8", errors="replace")
    return open(name, "r", encoding="utf-8", errors="replace")


def parse_time(text):
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.astimezone()


class Filter:
    def __init__(self, since=None, until=None, domain=None, decision=None, rule=None):
        self.since, self.until = since, until
        self.domain, self.decision, self.rule = domain, decision, rule

    def matches(self, record):
        if self.decision and record.get("decision") != self.decision:
            return False
        if self.domain and not fnmatch.fnmatchcase(str(record.get("domain") or ""), self.domain):
            return False
        if self.rule and not any(self.rule in (f.get("rule"), f.get("code")) for f in record.get("findings") or ()):
            return False
        if self.since or self.until:
            try:
                when = parse_time(record.get("time", ""))
            except (TypeError, ValueError):
                return False
            if (self.since and when < self.since) or (self.until and when > self.until):
                return False
        return True


def read_records(path, record_filter):
    """(line, record) for each matching record, streamed, oldest first; bad lines skipped."""
    for name in log_files(path):
        with _open(name) as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record_filter.matches(record):
                    yield line.rstrip("\n"), record
