"""source-refusal: passing and failing fixtures. The source's state is what the pre-flight
reads on the source (guard.services.source_state); the hook never has it, and the rule is then silent."""
import pytest
from support.helpers import codes, decide, minimal_guest
from support.rulecase import Case, minimal, run_case
from support.rulehosts import host

from guard.rules.source_refusal import (
    BLOCK,
    CLUSTER,
    COPY_ALL,
    LOCAL,
    NETWORK,
    NVME,
    OFFLINE,
    SHARED,
    UNSAFE,
    SourceDisk,
    SourceState,
)

CODES = ("source-refusal[unsafe-storage]", "source-refusal[snapshots]")
ROOT_DISK = SourceDisk("vda", "/var/lib/libvirt/images/guest.qcow2", LOCAL, "xfs")


def state(*disks, flags=(), snapshots=0):
    return {"source_state": SourceState(flags=tuple(flags), disks=tuple(disks), snapshots=snapshots)}


CASES = [
    Case("source-refusal", "a disk on the source's own xfs, no flags (minimal XML)", minimal(),
         expect="source-refusal[unsafe-storage]", kwargs=state(ROOT_DISK),
         message_has=("vda", "on xfs", "Migration without shared storage is unsafe")),
    Case("source-refusal", "an NVMe disk, no flags (minimal XML)", minimal(),
         expect="source-refusal[unsafe-storage]", kwargs=state(SourceDisk("vdb", "0000:01:00.0 ns 1", NVME))),
    Case("source-refusal", "snapshot metadata, even when the disks are copied (minimal XML)", minimal(),
         expect="source-refusal[snapshots]", kwargs=state(flags=[COPY_ALL], snapshots=2),
         message_has=("2 snapshots",)),
    Case("source-refusal", "the same disk with --copy-storage-all (minimal XML)", minimal(), near=CODES,
         kwargs=state(ROOT_DISK, flags=[COPY_ALL])),
    Case("source-refusal", "the same disk with --unsafe (minimal XML)", minimal(), near=CODES,
         kwargs=state(ROOT_DISK, flags=[UNSAFE])),
    Case("source-refusal", "an offline migration moves no disk data (minimal XML)", minimal(), near=CODES,
         kwargs=state(ROOT_DISK, flags=[OFFLINE])),
    Case("source-refusal", "NFS, GFS2, Ceph RBD and a block device: all pass (minimal XML)", minimal(), near=CODES,
         kwargs=state(SourceDisk("vda", "/mnt/nfs/a.qcow2", SHARED, "nfs4"),
                      SourceDisk("vdb", "/gfs/b.img", CLUSTER, "gfs2"), SourceDisk("vdc", "rbd/c", NETWORK),
                      SourceDisk("vdd", "/dev/mapper/d", BLOCK))),
    Case("unverifiable", "a disk whose storage the pre-flight could not tell (minimal XML)", minimal(),
         expect="unverifiable[source-refusal]", action="warn",
         kwargs=state(SourceDisk("vda", "/remote/x.qcow2", None)), message_has=("/remote/x.qcow2",)),
    Case("unverifiable", "every disk's storage known (minimal XML)", minimal(), near=("unverifiable[source-refusal]",),
         kwargs=state(ROOT_DISK, flags=[UNSAFE])),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)


def test_silent_in_the_hook():
    """The hook passes no source state: nothing to say, not even unverifiable."""
    outcome = decide(minimal_guest(), None)
    assert not {c for c in codes(outcome) if "source-refusal" in c}


# migration-flags: the destination's migrate_tls_force against the flags the pre-flight is given.
TLS_CODES = ("migration-flags[tls-required]",)
FORCED = host(migrate_tls_force=True)
CERTS = ("migration-flags[tls-certs]",)
MISSING = (("migrate", "/etc/pki/qemu", ("ca-cert.pem", "server-key.pem")),)
IN_PLACE = (("migrate", "/etc/pki/libvirt-migrate", ()),)
FLAG_CASES = [
    Case("migration-flags", "destination forces TLS, no --tls (minimal XML)", minimal(), dest=FORCED,
         expect="migration-flags[tls-required]", kwargs=state(), message_has=("migrate_tls_force",)),
    Case("migration-flags", "destination forces TLS, --tls given (minimal XML)", minimal(), dest=FORCED,
         near=TLS_CODES, kwargs=state(flags=["tls"])),
    Case("migration-flags", "destination forces TLS, --tunnelled (minimal XML)", minimal(), dest=FORCED,
         near=TLS_CODES, kwargs=state(flags=["tunnelled"])),
    Case("migration-flags", "destination does not force TLS (minimal XML)", minimal(),
         dest=host(migrate_tls_force=False), near=TLS_CODES, kwargs=state()),
    Case("migration-flags", "the hook: no flags known, nothing said (minimal XML)", minimal(), dest=FORCED,
         near=TLS_CODES),
    # The migration certificates a TLS migration needs on the destination, its TLS server.
    Case("migration-flags", "--tls, the destination's folder lacks the CA and the key (minimal XML)", minimal(),
         dest=host(tls_certs=MISSING), expect="migration-flags[tls-certs]", kwargs=state(flags=["tls"]),
         message_has=("/etc/pki/qemu lacks ca-cert.pem, server-key.pem",)),
    Case("migration-flags", "--tls, every certificate in place (minimal XML)", minimal(),
         dest=host(tls_certs=IN_PLACE), near=CERTS, kwargs=state(flags=["tls"])),
    Case("migration-flags", "no --tls to a host that does not force it: no certificates needed (minimal XML)",
         minimal(), dest=host(tls_certs=MISSING, migrate_tls_force=False), near=CERTS, kwargs=state()),
    Case("migration-flags", "the hook, a host that forces TLS and lacks its certificates: a warning (minimal XML)",
         minimal(), dest=host(tls_certs=MISSING, migrate_tls_force=True), expect="migration-flags[tls-certs]",
         action="warn", message_has=("unless it is --tunnelled",)),
    Case("migration-flags", "--tunnelled to a host that forces TLS needs no certificates (minimal XML)", minimal(),
         dest=host(tls_certs=MISSING, migrate_tls_force=True), near=CERTS + TLS_CODES, kwargs=state(flags=["tunnelled"])),
]
CASES += FLAG_CASES


@pytest.mark.parametrize("case", FLAG_CASES, ids=str)
def test_flag_fixture(case):
    run_case(case)
