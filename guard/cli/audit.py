"""`migration-guard audit`: query the audit log and its rotations."""
import datetime

from ..audit import Filter, parse_time, read_records
from ..config import load_config
from ..errors import GuardError
from ..units import parse_duration


def register(sub):
    parser = sub.add_parser("audit", help="query the audit log",
                            description="Print audit records (the log and its rotated .N and .N.gz files), "
                                        "oldest first.")
    parser.add_argument("--since", help="ISO time, or a duration ago such as 30m, 24h")
    parser.add_argument("--until", help="ISO time, or a duration ago")
    parser.add_argument("--domain", help="guest name (glob)")
    parser.add_argument("--decision", choices=("allow", "deny", "would-deny", "bypassed", "error"))
    parser.add_argument("--rule", help="rule id or code")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--log", help="audit log path (default: paths.audit_log of the config)")
    parser.add_argument("--config", metavar="FILE")
    parser.set_defaults(run=run)


def _when(text, now):
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        pass
    try:
        return now - datetime.timedelta(seconds=parse_duration(text, "time"))
    except GuardError:
        raise GuardError("%r is neither an ISO time nor a duration like 30m" % text)


def run(args):
    path = args.log or load_config(args.config).paths.audit_log
    now = datetime.datetime.now(datetime.timezone.utc)
    record_filter = Filter(_when(args.since, now), _when(args.until, now), args.domain, args.decision, args.rule)
    count = 0
    if args.format == "text":
        print("%-25s %-10s %-24s %-16s %s" % ("TIME", "DECISION", "DOMAIN", "HOST", "RULES"))
    for line, record in read_records(path, record_filter):
        count += 1
        if args.format == "json":
            print(line)
            continue
        rules = ",".join(sorted({f.get("code", "?") for f in record.get("findings") or ()
                                 if f.get("action") in ("deny", "warn")}))
        print("%-25s %-10s %-24s %-16s %s" % (str(record.get("time", "?"))[:25], record.get("decision"),
                                              str(record.get("domain"))[:24], str(record.get("host"))[:16],
                                              rules or record.get("reason", "")))
    if args.format == "text":
        print("(%d records)" % count)
    return 0


