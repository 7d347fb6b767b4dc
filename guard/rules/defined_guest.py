"""defined-guest: the destination must not already have another guest by this name or UUID.

libvirt adds the incoming guest to its list right after the migrate hook
(src/qemu/qemu_migration.c qemuMigrationDstPrepareFresh -> virDomainObjListAdd with
VIR_DOMAIN_OBJ_LIST_ADD_LIVE | ADD_CHECK_LIVE, src/conf/virdomainobjlist.c) and refuses:
- "domain 'X' already exists with uuid U": another guest of the same name, another UUID;
- "domain 'X' is already defined with uuid U": the same UUID under another name;
- "domain 'X' is already active": the same guest, already running there.
The same guest defined there but shut off is fine: the migration replaces its definition.
Known from the destination's own files at decision time (guard.facts.probe.defined_guests).
"""
from .base import DENY, Rule, codes

ID = "defined-guest"
RENAME = "migrate under another name (`virsh migrate --dname NEW`), or undefine the other guest on the destination"


def check(ctx):
    domain = ctx.domain
    known = ctx.probe.guests if ctx.probe is not None else None
    if known is None:
        # Nobody looked (preflight, check without --probe), or the destination's libvirt keeps
        # no guest files where the system daemon does: nothing to say either way.
        return
    uuid = (domain.uuid or "").lower()
    for name, other_uuid, active in known:
        if name == domain.name and uuid and other_uuid and other_uuid != uuid:
            yield RULE.finding("name",
                               "the destination already has a guest named %s, with another UUID (%s): libvirt refuses "
                               "(\"domain '%s' already exists with uuid %s\")" % (name, other_uuid, name, other_uuid),
                               RENAME, uuid=other_uuid)
        elif uuid and other_uuid == uuid and name != domain.name:
            yield RULE.finding("uuid",
                               "the destination already has this guest's UUID %s as %s: libvirt refuses (\"domain '%s' is "
                               "already defined with uuid %s\")" % (uuid, name, name, uuid),
                               "undefine %s on the destination if it is a stale copy of this guest" % name, name=name)
        elif name == domain.name and active and (not other_uuid or not uuid or other_uuid == uuid):
            yield RULE.finding("active",
                               "%s is already running on the destination: libvirt refuses (\"domain '%s' is already "
                               "active\")" % (name, name),
                               "stop the copy running on the destination first; two copies of one guest corrupt its disks")


RULE = Rule(
    id=ID,
    title="Guest already on the destination",
    limitation="libvirt refuses a guest whose name or UUID the destination already uses",
    checks="The destination's own guests (its /etc/libvirt/qemu definitions and /run/libvirt/qemu status files, "
           "read at decision time) hold no other guest of this name, no other name with this UUID, and not this "
           "guest running already (virDomainObjListAdd).",
    remedy="Migrate under another name (--dname), or undefine the stale guest on the destination.",
    codes=codes(ID, DENY, "name", "uuid", "active"),
    check=check,
    needs_dest=False,  # the probe's answer alone: unusable facts must not silence it
    offline=True,  # virDomainObjListAdd runs for `virsh migrate --offline` too
)
