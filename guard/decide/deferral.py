"""Offline migrations: which refusals wait for QEMU to start here. Pure.

What tells an offline migration apart, measured on two real libvirt 9.0 daemons: nothing
the migrate hook sees. `virsh migrate --offline` runs the destination's migrate hook with
the same arguments and the same kind of XML as a live migration, and then libvirt only
defines the guest (DEFINED, no QEMU: qemuMigrationDstFinishOffline). A live migration
starts QEMU here, and libvirt runs the `prepare` hook first (qemuProcessInit, reached from
qemuMigrationDstPrepareActive, which qemuMigrationDstPrepareFresh skips for
VIR_MIGRATE_OFFLINE; src/qemu/qemu_migration.c, libvirt 9.x).

So an offline migration is decided by what matters to moving a definition: at `migrate`
the hook refuses what libvirt refuses even when only the definition moves (the rules
declared `offline`: parsing and validating the XML, adding the guest to its list, RHEL's
session-connection limitation), and defers every other refusal to `prepare`. It leaves a
marker (guard.runtime.deferred) and accepts; the `prepare` hook of the same guest, within
guard.runtime.deferred.DEFER_SECONDS, refuses with the same reasons before QEMU starts,
so the guest stays on its source as with any refusal. An offline migration never reaches
`prepare`: its definition moves, and its marker is dropped: by the collector service as
soon as it sees the guest defined here, by the prepare hook of a later start (the guest's
definition file is newer than the marker: libvirt writes it when an offline migration
finishes, and for a live one only after QEMU ran the migration), or when it expires.
"""
from ..rules import OFFLINE_RULES
from ..rules.findings import DENY

DEFERRED = "deferred"


def denied(finding):
    """A deny finding, or one an exemption, waiver or maintenance window turned down (its
    evidence says would_be=deny)."""
    return finding.action == DENY or dict(finding.evidence).get("would_be") == DENY


def offline_deny_codes(findings):
    """The codes of the deny findings (those an exemption, waiver or maintenance window
    turned down included) that hold for an offline migration too."""
    return sorted({f.code for f in findings if denied(f) and f.rule in OFFLINE_RULES})


def deferrable(outcome):
    """Whether the refusal of `outcome` can wait for `prepare`: a deny in enforce mode (not
    an error, which on_error decides, nor audit mode, which refuses nothing), none of whose
    deny findings libvirt would refuse for an offline migration too."""
    return outcome.decision == DENY and not any(f.rule in OFFLINE_RULES for f in outcome.denies)


def deferred(outcome):
    """The outcome of a refusal left for `prepare`: accepted now, every finding kept."""
    return outcome._replace(decision=DEFERRED, exit_code=0)
