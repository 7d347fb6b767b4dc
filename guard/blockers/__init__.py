"""The blocker catalogue: every place QEMU or libvirt refuses or breaks a migration, and
every host resource a domain XML can name, each tied to the rule code that catches it or
to the reason none does. Read from the sources (docs/design.md section 8, "derive, don't
collect"), not learnt one incident at a time; `migration-guard rules --blockers` serves it
and docs/blockers.md is rendered from it (`make docs`). tests/rules/test_blockers.py holds
it and the rules together: an entry with a rule has a failing fixture that reports that
code, and every rule code a domain XML can trigger has an entry.

Three families, one record (guard.blockers.base, re-exported here):
- qemu (guard.blockers.qemu): migrate_add_blocker* call sites and unmigratable vmstate;
- libvirt (guard.blockers.libvirt): refusals on libvirt's migration path
  (qemuMigrationSrcIsAllowed / IsSafe, the destination's prepare, and the start-time
  validation a migrating guest goes through);
- libvirt-schema (guard.blockers.schema): each element or attribute of domaincommon.rng
  that names a host resource, and what libvirt does with it there (`resource`, `access`),
  located in a domain document by `xpath`. The probe checks the resources whose entry's
  rule is host-resource[...] on the destination the way libvirt will use them.

Nothing here is on the hook's path: the schema entries' xpaths reach the parser through
guard/guest/host_resources.py, which `make docs` derives from them.
"""
from .base import (  # noqa: F401 - the record and its vocabulary, re-exported
    ACCESSES,
    COMPONENTS,
    RESOURCES,
    RHEL9_LIBVIRT,
    RHEL9_QEMU,
    Blocker,
)


def catalogue():
    """Every entry, qemu first, then libvirt, then libvirt-schema, each in source order."""
    from . import libvirt, qemu, schema
    return qemu.BLOCKERS + libvirt.BLOCKERS + schema.BLOCKERS


def entry_dict(entry):
    return {key: value for key, value in entry._asdict().items() if value is not None}


NOT_CAUGHT_YET = "not caught yet"


def coverage(entries=None):
    """{component: {"entries", "caught", "not_caught_yet", "other_reason"}}: how much of the
    catalogue a rule code catches (docs/blockers.md, docs/accuracy.md). An entry with a reason
    is either known and left (source-side, out of RHEL 9's scope, not a blocker) or a gap that
    reason says is "not caught yet"."""
    entries = catalogue() if entries is None else entries
    found = {}
    for component in COMPONENTS:
        rows = [e for e in entries if e.component == component]
        gaps = sum(1 for e in rows if not e.rule and (e.reason or "").startswith(NOT_CAUGHT_YET))
        caught = sum(1 for e in rows if e.rule)
        found[component] = {"entries": len(rows), "caught": caught, "not_caught_yet": gaps,
                            "other_reason": len(rows) - caught - gaps}
    return found


def coverage_markdown(entries=None):
    """The coverage table, one row per component and a total."""
    table = coverage(entries)
    lines = ["| component | entries | caught by a rule code | not caught yet | left, with a reason |",
             "|---|---|---|---|---|"]
    totals = dict.fromkeys(("entries", "caught", "not_caught_yet", "other_reason"), 0)
    for component, row in table.items():
        lines.append("| %s | %d | %d | %d | %d |" % (component, row["entries"], row["caught"], row["not_caught_yet"],
                                                     row["other_reason"]))
        for key in totals:
            totals[key] += row[key]
    lines.append("| all | %d | %d | %d | %d |" % (totals["entries"], totals["caught"], totals["not_caught_yet"],
                                                   totals["other_reason"]))
    return "\n".join(lines)
