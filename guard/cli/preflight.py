"""`migration-guard preflight`: check guests against destinations from the source, and
with several destinations, an evacuation plan."""
import json
import sys
import time
from urllib.parse import urlparse

from ..config import load_config
from ..errors import GuardError
from ..report import decision_json, decision_text


def register(sub):
    parser = sub.add_parser("preflight", help="check guests against destination hosts, from the source",
                            description="For each guest and destination, decide as the destination's hook "
                                        "would, and say which destinations accept each guest. Exit 0 every "
                                        "guest has a destination, 1 some guest has none, 2 some guest has none "
                                        "and an unreachable destination (or unreadable guest) could have been "
                                        "its place, or the source could not be read.")
    parser.add_argument("domains", nargs="*", metavar="DOMAIN")
    parser.add_argument("--dest", action="append", required=True, metavar="URI",
                        help="destination libvirt URI, e.g. qemu+ssh://hv02/system (repeatable)")
    parser.add_argument("--source", default="qemu:///system", metavar="URI")
    parser.add_argument("--all", action="store_true", help="every running guest of the source")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--details", action="store_true",
                        help="text: every decision with its findings and remedies, before the table")
    parser.add_argument("--config", metavar="FILE")
    parser.set_defaults(run=run)


class Progress:
    """One self-rewriting stderr line while the pre-flight works; only on a terminal."""

    def __init__(self, stream):
        self.stream = stream
        self.shown = False

    def __call__(self, dests_read, dests, guests_decided, guests):
        self.stream.write("\rpreflight: destinations read %d/%d, guests decided %d/%d "
                          % (dests_read, dests, guests_decided, guests))
        self.stream.flush()
        self.shown = True

    def close(self):
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def dest_labels(dests):
    """Short column names: the host of each URI, or its last path part (test:///x/node.xml),
    or D1, D2... when those are not distinct."""
    labels = []
    for uri in dests:
        parsed = urlparse(uri)
        labels.append(parsed.hostname or parsed.path.rstrip("/").rsplit("/", 1)[-1] or uri)
    if len(set(labels)) < len(labels):
        labels = ["D%d" % (i + 1) for i in range(len(dests))]
    return labels


def cell_text(outcome):
    """allow | deny CODE | would-deny CODE | error."""
    from ..preflight import column
    if column(outcome) == "deny":
        return "%s %s" % (outcome.decision, outcome.denies[0].code if outcome.denies else "")
    return column(outcome)


def plan_text(plan):
    labels = dest_labels(plan.dests)
    width = [max([len(labels[i])] + [len(cell_text(plan.cells[g, d])) for g in plan.guests])
             for i, d in enumerate(plan.dests)]
    first = max([len("GUEST")] + [len(g) for g in plan.guests])
    lines = ["  ".join(["GUEST".ljust(first)] + [label.ljust(w) for label, w in zip(labels, width)]).rstrip()]
    for guest in plan.guests:
        cells = [cell_text(plan.cells[guest, dest]).ljust(w) for dest, w in zip(plan.dests, width)]
        lines.append("  ".join([guest.ljust(first)] + cells).rstrip())
    lines.append("")
    summary = plan.summary()
    for label, dest in zip(labels, plan.dests):
        counts = summary[dest]
        line = "%s (%s): %d allow, %d deny, %d error" % (label, dest, counts["allow"], counts["deny"],
                                                          counts["error"])
        reasons = sorted({plan.cells[g, dest].reason for g in plan.guests
                          if plan.cells[g, dest].decision == "error"})
        if len(reasons) == 1 and counts["error"] == len(plan.guests):
            line += ": %s" % reasons[0]  # the destination itself: one reason for every guest
        lines.append(line)
    unplaced = plan.unplaced()
    lines.append("")
    if unplaced:
        lines.append("no destination (%d of %d guests):" % (len(unplaced), len(plan.guests)))
        for guest in unplaced:
            lines.append("  %s: %s" % (guest, ", ".join(
                "%s %s" % (label, cell_text(plan.cells[guest, dest])) for label, dest in zip(labels, plan.dests))))
    else:
        lines.append("every guest has a destination (%d guests)" % len(plan.guests))
    return "\n".join(lines)


def run(args):
    if not args.domains and not args.all:
        raise GuardError("name the guests to check, or use --all")
    try:
        from ..preflight import Plan, preflight
    except ImportError as exc:
        raise GuardError("preflight needs libvirt-python (python3-libvirt): %s" % exc)
    config = load_config(args.config)
    now = time.time()
    progress = Progress(sys.stderr) if sys.stderr.isatty() else None
    try:
        results = preflight(args.source, args.dest, args.domains, args.all, config, now, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    plan = Plan.of(results, args.dest)
    if args.format == "json":
        print(json.dumps({"results": [decision_json(decision, {"source": args.source, "dest": dest})
                                      for dest, decision in results],
                          "summary": plan.summary(), "plan": plan.placements()}, sort_keys=True))
    elif not results:
        print("no running guests on %s" % args.source)
    else:
        if args.details:
            for dest, decision in results:
                print(decision_text(decision, header="%s -> %s" % (decision.domain_name, dest)))
            print()
        print(plan_text(plan))
    return plan.exit_code()
