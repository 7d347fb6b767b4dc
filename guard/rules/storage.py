"""storage: the guest's disks and filesystems must be reachable where it lands.

Not the NVRAM file: libvirt makes a missing one from its template when the guest starts on
the destination (src/qemu/qemu_process.c qemuPrepareNVRAM); the template is firmware's to
check, and the directory it is made in host-resource's (docs/blockers.md schema-nvram-file).

Checked by existence on the destination at decision time (guard.facts.probe: a bounded stat in
a child process, so a hung NFS or FUSE mount cannot hang the hook; a path whose stat did
not answer is unverifiable). What libvirt does with a missing source (src/qemu/qemu_migration.c):
- with --copy-storage-all / --copy-storage-inc, qemuMigrationDstPrecreateStorage creates
  each missing disk before QEMU starts (qemuMigrationDstPrecreateDisk): a file in the
  storage pool whose target path is the file's directory (virStoragePoolLookupByTargetPath),
  a type='volume' disk in its named pool (virStoragePoolLookupByName); block devices and
  directories are never created, and read-only disks are not copied (qemuMigrationAnyCopyDisk).
- without copy-storage, QEMU fails to open a missing source on the destination.
The hook cannot tell whether the migration copies storage, so a missing file disk that a
copy could create is `storage[missing]`, a warning by default (an all-shared-storage site
sets it to deny); what no migration can create is denied.
"""
import posixpath

from .base import DENY, WARN, Rule, codes, count, listing

ID = "storage"
PROBE_REMEDY = ("check the mount on the destination (a hung NFS mount shows this way), or run "
                "`migration-guard check --probe` there")


def _pool_status(pools, name):
    pool = next((p for p in pools if p.name == name), None)
    if pool is None:
        return "no such pool"
    return "inactive" if pool.active is False else None


def _dir_pool(pools, path):
    directory = posixpath.dirname(path)
    return any(p.target == directory and p.active is not False for p in pools)


def check(ctx):
    if not ctx.domain.storage:
        return
    pools = ctx.dest.pools
    missing, uncopyable, no_pool, undecided = [], [], [], []
    for item in ctx.domain.storage:
        if item.optional:
            continue  # libvirt drops this missing source on an incoming migration (domain._droppable)
        if item.source == "volume":
            if pools is None:
                undecided.append("<source pool='%s'>" % item.pool)
                continue
            problem = _pool_status(pools, item.pool)
            if problem:
                no_pool.append("<source pool='%s' volume='%s'> (%s)" % (item.pool, item.volume, problem))
            continue
        present = ctx.path_exists(item.path)
        if present is None:
            undecided.append(item.path)
        elif present is False:
            if item.source in ("block", "dir") or item.readonly or item.kind == "filesystem":
                uncopyable.append("<%s> %s" % ("filesystem" if item.kind == "filesystem" else item.kind, item.path))
            elif pools is not None and not _dir_pool(pools, item.path):
                no_pool.append("%s (no active pool has target %s)" % (item.path, posixpath.dirname(item.path)))
            else:
                missing.append("<%s> %s" % (item.kind, item.path))
    # Each message names the paths (for the audit record); the refusal only counts them.
    if uncopyable:
        text = ("%s missing on the destination; no migration creates these (block devices, directories and read-only "
                "images are not copied)")
        yield RULE.finding("uncopyable", text % listing(uncopyable),
                           "make the storage reachable from the destination (shared storage, the same device) before "
                           "migrating", _sources(uncopyable, text), sources=len(uncopyable))
    if no_pool:
        text = "%s: the destination has no active storage pool to create it in, so even --copy-storage-all fails"
        yield RULE.finding("pool", text % listing(no_pool),
                           "define and start the storage pool on the destination (`virsh pool-define`, `pool-start`)",
                           _sources(no_pool, text), sources=len(no_pool))
    if missing:
        text = "%s missing on the destination: only a --copy-storage-all migration (which creates it) can succeed"
        yield RULE.finding("missing", text % listing(missing),
                           "use `virsh migrate --copy-storage-all`, or make the storage shared; sites on shared storage "
                           "only set [rules.\"storage[missing]\"] action = \"deny\"", _sources(missing, text),
                           sources=len(missing))
    if undecided:
        text = "%s not checked on the destination" % count(len(undecided), "storage source")
        yield RULE.unverifiable("%s (%s)" % (text, listing(undecided, 3)),
                                PROBE_REMEDY if ctx.probe is not None else
                                "the hook checks them on the destination; run `check --probe` there to see the same",
                                "%s (named in the audit record)" % text, sources=len(undecided))


def _sources(items, text):
    """The refusal's text: how many, not which (named in the audit record)."""
    return text % ("%s (named in the audit record)" % count(len(items), "storage source"))


RULE = Rule(
    id=ID,
    title="Guest storage",
    limitation="disks must be reachable where the guest lands",
    checks="Disk, CD-ROM and filesystem sources exist on the destination (bounded stat at decision time; "
           "skipped where libvirt drops a missing source on an incoming migration: startupPolicy='requisite', and "
           "'optional' on a CD-ROM or floppy (qemuDomainCheckDiskStartupPolicy; an optional disk is not dropped)). "
           "A missing file that --copy-storage-all would create warns "
           "(qemuMigrationDstPrecreateDisk); block devices, directories and read-only images, which no migration "
           "creates, deny; so does a disk whose storage pool (named, or the one targeting its directory) is "
           "missing or inactive.",
    remedy="Use shared storage, or migrate with --copy-storage-all into an active pool.",
    codes=codes(ID, WARN, "missing") + codes(ID, DENY, "uncopyable", "pool"),
    check=check,
    needs_dest=True,
    may_be_unverifiable=True,
)
