"""`migration-guard audit`: query the audit log and its rotations."""
import datetime
import sys

from ..config import CONFIG_HELP, load_config
from ..errors import GuardError
from ..output import escaping
from ..output.audit import Counts, Filter, findings_of, parse_time, read_records
from ..units import parse_duration

TIME_HELP = "ISO time or date, -1h / 30m (ago), today, yesterday, now"


def register(sub):
    parser = sub.add_parser("audit", help="query the audit log",
                            description="Print audit records (the log and its rotations: .N, .N.gz, -YYYYMMDD, "
                                        "-YYYYMMDD.gz), oldest first. Lines that are not a record (the remains of "
                                        "a write cut short) are counted and skipped.")
    parser.add_argument("--since", help=TIME_HELP)
    parser.add_argument("--until", help=TIME_HELP)
    parser.add_argument("--domain", help="guest name (glob)")
    parser.add_argument("--decision", choices=("allow", "deny", "would-deny", "bypassed", "deferred", "error"),
                        help="only decisions of this kind")
    parser.add_argument("--outcome", choices=("migrated", "failed", "unknown"),
                        help="only outcome records of this kind: what became of a migration the hook let "
                             "proceed (the collector service records them)")
    parser.add_argument("--rule", help="rule id or code")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="a table, or the records as stored (one JSON object a line)")
    parser.add_argument("--log", help="audit log path (default: paths.audit_log of the config)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.set_defaults(run=run)
    parser.__class__ = _with_relative_times(type(parser))


def _with_relative_times(parser_class):
    """argparse takes `--since -1h` for two options; journalctl users type it. Join a
    value that starts with "-" to its --since/--until, as --since=-1h."""
    class Parser(parser_class):
        def parse_known_args(self, args=None, namespace=None):
            args, joined = list(args or ()), []
            while args:
                word = args.pop(0)
                if word in ("--since", "--until") and args and args[0][:1] == "-" and args[0][1:2].isdigit():
                    word = "%s=%s" % (word, args.pop(0))
                joined.append(word)
            return parser_class.parse_known_args(self, joined, namespace)
    return Parser


def when(text, now):
    """An aware datetime from what a journalctl user types: an ISO time or date, a duration
    ago ("30m", "-1h", "2d ago"), "now", "today", "yesterday" or "tomorrow" (local midnight)."""
    if not text:
        return None
    word = text.strip().lower()
    local = now.astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    days = {"today": 0, "yesterday": -1, "tomorrow": 1}
    if word == "now":
        return now
    if word in days:
        # journalctl's meaning: 00:00 of that day, local time (a DST day is not 24 h).
        day = midnight.date() + datetime.timedelta(days=days[word])
        return datetime.datetime.combine(day, datetime.time()).astimezone()
    try:
        return parse_time(text)
    except (ValueError, OverflowError):
        pass
    ago = word[:-len(" ago")].strip() if word.endswith(" ago") else word
    ago = ago[1:].strip() if ago.startswith("-") else ago
    try:
        return now - datetime.timedelta(seconds=parse_duration(ago, "time"))
    except (GuardError, OverflowError):
        raise GuardError("%r is not a time (%s)" % (text, TIME_HELP))


def shown(value, width=None):
    """A value for the table: control and bidi characters escaped (a newline in a guest
    name cannot forge a row), cut to width."""
    text = escaping.text(value)
    return text[:width] if width else text


def _time(value):
    """A record's time for the 25-character column: the fraction to milliseconds, the zone
    kept (2026-11-29T18:16:54.123Z); cut at the width, it lost the zone."""
    text = str(value)
    head, dot, rest = text.partition(".")
    digits = len(rest) - len(rest.lstrip("0123456789"))
    if dot and digits > 3:
        text = head + dot + rest[:3] + rest[digits:]
    return text


def _rules(record):
    """"deny: a,b; warn: c": what refused and what only warned, told apart."""
    found = findings_of(record)
    parts = []
    for action in ("deny", "warn"):
        codes = sorted({str(f.get("code", "?")) for f in found if f.get("action") == action})
        if codes:
            parts.append("%s: %s" % (action, ",".join(codes)))
    return "; ".join(parts)


def _detail(record):
    """The last column: the rules that denied or warned, an error's reason, or for a
    bypass record who set or cleared it and why."""
    if record.get("event") == "outcome":
        # "false-allow after allow: the reason" (the class, the decision it follows, why).
        return "%s after %s%s" % (record.get("class"), record.get("decided"),
                                  ": %s" % record["reason"] if record.get("reason") else "")
    rules = _rules(record)
    if rules:
        return rules
    if record.get("reason"):
        return record.get("reason")
    bypass = record.get("bypass")
    if str(record.get("event", "")).startswith("bypass") and isinstance(bypass, dict):
        return "by %s: %s" % (record.get("by"), bypass.get("reason"))
    return ""


def run(args):
    if args.rule:
        from ..rules import known_rule, suggestion
        if not known_rule(args.rule):
            # Silently listing 0 records for a misspelt code would read as "never happened";
            # the log may still hold a code an older version reported, so it is searched anyway.
            sys.stderr.write("migration-guard: note: this version has no rule or code %s%s; `migration-guard "
                             "rules` lists them\n" % (escaping.text(repr(args.rule)), suggestion(args.rule)))
    path = args.log or load_config(args.config).paths.audit_log
    now = datetime.datetime.now(datetime.timezone.utc)
    record_filter = Filter(when(args.since, now), when(args.until, now), args.domain, args.decision, args.rule,
                           args.outcome)
    counts = Counts()
    count = 0
    if args.format == "text":
        print("%-25s %-12s %-24s %-16s %s" % ("TIME", "DECISION", "DOMAIN", "HOST", "RULES"))
    for line, record in read_records(path, record_filter, counts):
        count += 1
        if args.format == "json":
            # As the log holds it, but with what an older guard (or anything else that
            # wrote the log) left raw escaped: the same JSON to a parser.
            print(escaping.json_text(line))
            continue
        decision = record.get("decision") or record.get("event") or "?"
        if record.get("event") == "outcome":
            decision = str(record.get("outcome"))
        print("%-25s %-12s %-24s %-16s %s" % (shown(_time(record.get("time", "?")), 25), shown(decision, 12),
                                              shown(record.get("domain"), 24), shown(record.get("host"), 16),
                                              shown(_detail(record))))
    skipped = []
    if counts.fragments:
        skipped.append("%d fragment%s skipped" % (counts.fragments, "" if counts.fragments == 1 else "s"))
    for name in counts.unreadable:
        skipped.append("unreadable past some point: %s" % name)
    if args.format == "text":
        print("(%d records%s)" % (count, "".join("; " + shown(s) for s in skipped)))
    elif skipped:
        print("migration-guard: audit: %s" % shown("; ".join(skipped)), file=sys.stderr)
    return 0
