"""migration-flags: what the destination refuses for the flags the migration is run with.

qemuMigrationDstPrepareAny (src/qemu/qemu_migration.c) refuses an incoming migration that is
neither --tls nor --tunnelled when the destination's qemu.conf sets migrate_tls_force = 1:
"this libvirtd instance allows migration only with VIR_MIGRATE_TLS flag". The hook never
sees the flags; the pre-flight is given them (`preflight --tls`, `--tunnelled`) and passes
them in the source state (guard.rules.source_refusal.SourceState.flags). The destination's
setting comes from its collected facts (guard.facts.qemu_conf): known where the decision is
made on the destination itself (`--dest-shell`), unknown otherwise (then nothing is said:
the pre-flight has no flags to judge without it).
"""
from ..findings import DENY, finding
from .base import Rule, codes
from .source_refusal import TLS, TUNNELLED

ID = "migration-flags"


def check(ctx):
    state = ctx.source_state
    if state is None:  # the hook: the migration's flags are not known here
        return
    if ctx.host("migrate_tls_force") and not {TLS, TUNNELLED} & set(state.flags):
        yield finding(ID, "tls-required", DENY,
                      "the destination's qemu.conf sets migrate_tls_force = 1 and the migration is neither --tls nor "
                      "--tunnelled: libvirt refuses (\"this libvirtd instance allows migration only with "
                      "VIR_MIGRATE_TLS flag\")",
                      "migrate with `virsh migrate --tls` (both hosts need the migration TLS certificates), or "
                      "choose another destination")


RULE = Rule(
    id=ID,
    title="Migration flags the destination requires",
    limitation="libvirt refuses a migration whose flags the destination's qemu.conf forbids",
    checks="Pre-flight only: the destination's migrate_tls_force (qemu.conf, in its facts) against the flags the "
           "pre-flight is given (--tls, --tunnelled) (qemuMigrationDstPrepareAny). The hook cannot see the flags.",
    remedy="Migrate with --tls to a host that forces TLS.",
    codes=codes(ID, DENY, "tls-required"),
    check=check,
)
