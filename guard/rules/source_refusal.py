"""source-refusal: what libvirt refuses on the source, before it asks the destination.

The destination's hook never sees these migrations: libvirt stops them in the source's
Begin/Perform phase (src/qemu/qemu_migration.c):
- qemuMigrationSrcIsSafe: a writable disk on a file system that is neither shared nor a
  cluster file system (virFileIsSharedFS: NFS, GFS2, OCFS2, AFS, SMB/CIFS, CephFS, GPFS,
  Quobyte, ACFS, GlusterFS, BeeGFS), or an NVMe disk, unless the migration copies the disks
  (--copy-storage-all/-inc) or says --unsafe (or --offline): "Migration without shared
  storage is unsafe". Network disks and block devices pass (libvirt cannot tell whether a
  block device is shared). Its second refusal, a shared disk with a cache mode other than
  none/directsync, needs a QEMU that cannot drop the page cache: none RHEL 9 ships.
- qemuMigrationSrcIsAllowed: a guest with snapshot metadata: "cannot migrate domain with N
  snapshots" (whatever the flags).
Only the pre-flight, which runs on the source, knows these facts (SourceState, gathered by
guard.services.preflight over the source's libvirt and its mount table); the hook passes none, and
this rule is then silent.
"""
from ..records import struct
from .base import DENY, Rule, codes, count, listing

ID = "source-refusal"

# Flags of `virsh migrate` that change the source's answer.
UNSAFE, OFFLINE, COPY_ALL, COPY_INC = "unsafe", "offline", "copy-storage-all", "copy-storage-inc"
TLS, TUNNELLED = "tls", "tunnelled"  # judged by guard.rules.migration_flags
MIGRATE_FLAGS = (UNSAFE, OFFLINE, COPY_ALL, COPY_INC, TLS, TUNNELLED)

# Where a disk's data lives, as qemuMigrationSrcIsSafe sorts it: local (a file on a file
# system other nodes cannot see), shared / cluster (a file on one they can), network
# (<disk type='network'>), block (a block device, which libvirt accepts), nvme, or None
# when the pre-flight could not tell.
LOCAL, SHARED, CLUSTER, NETWORK, BLOCK, NVME = "local", "shared", "cluster", "network", "block", "nvme"
UNSAFE_STORAGE = (LOCAL, NVME)

# target: the disk's <target dev>; path: its source (or pool/volume); filesystem: the type
# of the file system it is on, where it is a file.
SourceDisk = struct("SourceDisk", "target path storage filesystem", defaults=(None,))


class SourceState(struct("SourceState", "flags disks snapshots", defaults=((), (), None))):
    """flags: the MIGRATE_FLAGS the migration will use; disks: SourceDisk of every writable
    disk with a source; snapshots: how many snapshots libvirt holds for the guest, or None."""

    __slots__ = ()


COPY_OR_UNSAFE = ("copy the disks with `virsh migrate --copy-storage-all` (the destination needs them created "
                  "at the same paths), or put them on storage both hosts share; --unsafe only if the destination "
                  "really sees the same storage")


def check(ctx):
    state = ctx.source_state
    if state is None:  # the hook: the source's state is not known here
        return
    if state.snapshots:
        yield RULE.finding("snapshots",
                           "the guest has %s on the source: libvirt refuses (\"cannot migrate domain with %d snapshots\")"
                           % (count(state.snapshots, "snapshot"), state.snapshots),
                           "delete the snapshot metadata on the source (`virsh snapshot-delete GUEST SNAP --metadata`), "
                           "migrate, then redefine the snapshots on the destination (`virsh snapshot-create GUEST FILE "
                           "--redefine`)", snapshots=state.snapshots)
    flags = set(state.flags)
    if flags & {UNSAFE, OFFLINE, COPY_ALL, COPY_INC}:
        return
    unsafe = [d for d in state.disks if d.storage in UNSAFE_STORAGE]
    if unsafe:
        shown = ["%s (%s%s)" % (d.target, d.path, ", on %s" % d.filesystem if d.filesystem else
                                (", NVMe" if d.storage == NVME else "")) for d in unsafe]
        yield RULE.finding("unsafe-storage",
                           "%s not on shared storage: %s; libvirt refuses without --copy-storage-all or --unsafe "
                           "(\"Migration without shared storage is unsafe\")"
                           % ("disk is" if len(unsafe) == 1 else "%d disks are" % len(unsafe), listing(shown)),
                           COPY_OR_UNSAFE, disks=",".join(d.target or "?" for d in unsafe))
        return
    unknown = [d for d in state.disks if d.storage is None]
    if unknown:
        yield RULE.unverifiable("whether %s shared storage could not be told from here: %s"
                                % ("disk %s is on" % unknown[0].target if len(unknown) == 1
                                   else "%d disks are on" % len(unknown), listing(d.path or "?" for d in unknown)),
                                "run the pre-flight on the source itself, or migrate with --copy-storage-all",
                                disks=",".join(d.target or "?" for d in unknown))


RULE = Rule(
    id=ID,
    title="Refused on the source",
    limitation="libvirt refuses on the source, before the destination is asked: disks on storage that is not "
               "shared (without --copy-storage-all or --unsafe), and guests with snapshot metadata",
    checks="Pre-flight only (it runs on the source): the file system of every writable disk (libvirt's list of "
           "shared and cluster file systems), NVMe disks, the migration flags given to the pre-flight, and the "
           "guest's snapshot count (qemuMigrationSrcIsSafe, qemuMigrationSrcIsAllowed). The hook cannot see "
           "these and never reports them.",
    remedy="Copy the disks (--copy-storage-all) or share them; remove snapshot metadata before migrating.",
    codes=codes(ID, DENY, "unsafe-storage", "snapshots"),
    check=check,
    may_be_unverifiable=True,
)
