"""`migration-guard preflight`: check guests against destinations from the source, and
with several destinations, an evacuation plan."""
import shlex
import sys
import time
from urllib.parse import urlparse

from ..config import load_config
from ..errors import GuardError
from ..output import escaping
from ..output.report import decision_json, decision_text
from ..rules.source_refusal import MIGRATE_FLAGS
from ..services.evacuation import EXIT_CODES
from ..units import format_bytes


def register(sub):
    parser = sub.add_parser("preflight", help="check guests against destination hosts, from the source",
                            description="For each guest and destination, decide as the destination's hook "
                                        "would, and say which destinations accept each guest. Exit %s."
                                        % "; ".join("%d: %s" % item for item in EXIT_CODES))
    parser.add_argument("domains", nargs="*", metavar="DOMAIN", help="guests of the source to check (or --all)")
    parser.add_argument("--dest", action="append", required=True, metavar="URI",
                        help="destination libvirt URI, e.g. qemu+ssh://hv02/system (repeatable)")
    parser.add_argument("--source", default="qemu:///system", metavar="URI",
                        help="the source's libvirt URI (default qemu:///system: run it on the source)")
    parser.add_argument("--all", action="store_true", help="every running guest of the source")
    parser.add_argument("--plan", action="store_true",
                        help="assign each guest to one destination that accepts it and has room (free memory less "
                             "[plan] memory_reserve, free huge pages, vCPUs up to [plan] vcpu_ratio per CPU), largest "
                             "first; print the moves in order with their virsh commands, and the guests left over")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="the table (and plan), or JSON (README: Pre-flight)")
    parser.add_argument("--details", action="store_true",
                        help="text: every decision with its findings and remedies, before the table")
    parser.add_argument("--config", metavar="FILE", help="policy file for the decisions made here (a destination "
                                                             "that decides itself uses its own)")
    parser.add_argument("--dest-shell", metavar="CMD",
                        help="command prefix that runs a command on a destination, whose own guard then decides each "
                             "guest exactly as its hook will ({host}: the URI's host; 'none': decide here from what "
                             "its libvirt serves, paths and host devices unverifiable). Default: 'ssh -o BatchMode=yes "
                             "[user@]HOST' for qemu+ssh:// URIs, else none")
    for flag in MIGRATE_FLAGS:
        parser.add_argument("--" + flag, dest="flag_" + flag.replace("-", "_"), action="store_true",
                            help="the migration will use virsh migrate --%s (changes what libvirt refuses on the "
                                 "source)" % flag)
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
        labels.append(escaping.word(parsed.hostname or parsed.path.rstrip("/").rsplit("/", 1)[-1] or uri))
    if len(set(labels)) < len(labels):
        labels = ["D%d" % (i + 1) for i in range(len(dests))]
    return labels


def cell_text(outcome):
    """allow | allow, N unverified | deny CODE | would-deny CODE | error."""
    from ..services.preflight import column, unverifiable_count
    if column(outcome) == "deny":
        return "%s %s" % (outcome.decision, outcome.denies[0].code if outcome.denies else "")
    unverified = unverifiable_count(outcome) if column(outcome) == "allow" else 0
    return "allow, %d unverified" % unverified if unverified else column(outcome)


def plan_text(plan):
    """The table (one row per guest: its name escaped and quoted by guard.output.escaping.word, so
    that no name can end a row or fake a cell), each destination's counts, the guests with
    none."""
    labels = dest_labels(plan.dests)
    names = {guest: escaping.word(guest) for guest in plan.guests}
    width = [max([len(labels[i])] + [len(cell_text(plan.cells[g, d])) for g in plan.guests])
             for i, d in enumerate(plan.dests)]
    first = max([len("GUEST")] + [len(name) for name in names.values()])
    lines = ["  ".join(["GUEST".ljust(first)] + [label.ljust(w) for label, w in zip(labels, width)]).rstrip()]
    for guest in plan.guests:
        cells = [cell_text(plan.cells[guest, dest]).ljust(w) for dest, w in zip(plan.dests, width)]
        lines.append("  ".join([names[guest].ljust(first)] + cells).rstrip())
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
        lines.append(escaping.text(line))
    unplaced = plan.unplaced()
    lines.append("")
    if unplaced:
        lines.append("no destination (%d of %d guests):" % (len(unplaced), len(plan.guests)))
        for guest in unplaced:
            line = "  %s: %s" % (names[guest], ", ".join(
                "%s %s" % (label, cell_text(plan.cells[guest, dest])) for label, dest in zip(labels, plan.dests)))
            reasons = {plan.cells[guest, dest].reason for dest in plan.dests}
            if len(reasons) == 1 and None not in reasons and all(
                    plan.cells[guest, dest].decision == "error" for dest in plan.dests) and not any(
                    dest in next(iter(reasons)) for dest in plan.dests):  # a destination's own: on its line
                line += ": %s" % escaping.text(reasons.pop())  # the guest itself (not found, unreadable)
            lines.append(line)
    else:
        lines.append("every guest has a destination (%d guests)" % len(plan.guests))
    from ..services.preflight import column, unverifiable_count
    if any(column(outcome) == "allow" and unverifiable_count(outcome) for outcome in plan.cells.values()):
        lines.append("")
        lines.append("allow, N unverified: allowed on what could be checked from here; N checks (paths, host devices, "
                     "addresses) need the destination itself: give --dest-shell, or run `migration-guard check "
                     "--probe` there")
    return "\n".join(lines)


def moves_text(plan, moves, unplaced, source, flags):
    """The plan's moves in order, the guests left over, then the virsh commands."""
    labels = dict(zip(plan.dests, dest_labels(plan.dests)))
    lines = ["", "plan: %d of %d guests placed" % (len(moves), len(plan.guests))]
    if moves:
        names = {m.guest: escaping.word(m.guest) for m in moves}
        width = max(len(name) for name in names.values())
        lines.append("  ORDER  %s  DESTINATION  MEMORY" % "GUEST".ljust(width))
        for move in moves:
            lines.append("  %5d  %s  %s  %s" % (move.order, names[move.guest].ljust(width),
                                                labels[move.dest].ljust(11), format_bytes(move.memory_bytes)))
    for item in unplaced:
        reason = item.reason
        for dest in sorted(plan.dests, key=len, reverse=True):  # the longest first: one URI may start another
            reason = reason.replace(dest, labels[dest])
        lines.append("  unplaced %s: %s" % (escaping.word(item.guest), escaping.text(reason)))
    if moves:
        lines.append("")
        options = " ".join(["--live", "--persistent", "--undefinesource"] + ["--" + flag for flag in flags])
        for move in moves:
            domain, comment = _domain_word(plan, move)
            lines.append("virsh -c %s migrate %s %s %s%s" % (escaping.shell_word(source), options, domain,
                                                             escaping.shell_word(move.dest), comment))
    return "\n".join(lines)


def _domain_word(plan, move):
    """(virsh's domain argument, a comment to end the command with): the guest's name,
    quoted for the shell; for a name a terminal would act on (a control or bidi character),
    its UUID, which virsh takes as well and any shell and terminal pass as it is, with the
    name escaped in the comment (else bash's $'...', when the UUID is not known)."""
    if escaping.text(move.guest) == move.guest:
        return shlex.quote(move.guest), ""
    uuid = plan.cells[move.guest, move.dest].domain_uuid
    if not uuid:
        return escaping.shell_word(move.guest), ""
    return shlex.quote(uuid), "  # %s" % escaping.text(move.guest)


def run(args):
    if not args.domains and not args.all:
        raise GuardError("name the guests to check, or use --all")
    try:
        from ..services.preflight import Plan, preflight
    except ImportError as exc:
        raise GuardError("preflight needs libvirt-python (python3-libvirt): %s" % exc)
    config = load_config(args.config)
    now = time.time()
    progress = Progress(sys.stderr) if sys.stderr.isatty() else None
    flags = [flag for flag in MIGRATE_FLAGS if getattr(args, "flag_" + flag.replace("-", "_"))]
    capacities, demands = ({}, {}) if args.plan else (None, None)
    try:
        results = preflight(args.source, args.dest, args.domains, args.all, config, now, progress=progress,
                            flags=flags, dest_shell=args.dest_shell, capacities=capacities, demands=demands)
    finally:
        if progress is not None:
            progress.close()
    plan = Plan.of(results, args.dest)
    moves, unplaced = plan.assign(demands, capacities, config) if args.plan else (None, None)
    if args.format == "json":
        data = {"results": [decision_json(decision, {"source": args.source, "dest": dest})
                            for dest, decision in results],
                "summary": plan.summary(), "plan": plan.placements(),
                "destinations": {dest: destination_json(plan, dest, args.dest_shell) for dest in plan.dests}}
        if args.plan:
            data["moves"] = [{"guest": m.guest, "dest": m.dest, "memory_bytes": m.memory_bytes, "order": m.order}
                             for m in moves]
            data["unplaced"] = [{"guest": u.guest, "reason": u.reason} for u in unplaced]
        print(escaping.dumps(data, sort_keys=True))
    elif not results:
        print(escaping.text("no running guests on %s" % args.source))
    else:
        if args.details:
            for dest, decision in results:
                print(decision_text(decision, header="%s -> %s" % (decision.domain_name, dest)))
            print()
        print(plan_text(plan))
        if args.plan:
            print(moves_text(plan, moves, unplaced, args.source, flags))
    return plan.exit_code(unplaced)


def destination_json(plan, dest, dest_shell):
    """How a destination was decided, and why it could not be, if it could not."""
    from ..services.preflight import dest_shell_for
    errors = sorted({plan.cells[g, dest].reason for g in plan.guests if plan.cells[g, dest].decision == "error"})
    shell = dest_shell_for(dest, dest_shell)
    return {"decided_by": "destination" if shell else "source",
            "shell": " ".join(shlex.quote(a) for a in shell) if shell else None,
            "error": errors[0] if plan.guests and len(errors) == 1 and all(
                plan.cells[g, dest].decision == "error" for g in plan.guests) else None}
