"""session-connection: libvirt session (unprivileged) connections on either side."""
from .base import DENY, Rule, codes

ID = "session-connection"


def check(ctx):
    for side, connection in (("destination", ctx.connection), ("source", ctx.source_connection)):
        if connection == "session":
            yield RULE.finding(side,
                               "the %s is a libvirt session (unprivileged) connection; RHEL 9 says migrating VMs "
                               "from or to a session connection is unreliable" % side,
                               "migrate between qemu:///system connections", side=side, connection=connection)


RULE = Rule(
    id=ID,
    title="Session connection",
    limitation="Migrating VMs from or to a session connection of libvirt is unreliable.",
    checks="The hook runs under a non-root (session) daemon; a pre-flight URI names /session.",
    remedy="Use qemu:///system on both hosts.",
    codes=codes(ID, DENY, "destination", "source"),
    check=check,
    offline=True,  # RHEL 9's limitation names migration, not live migration
)
