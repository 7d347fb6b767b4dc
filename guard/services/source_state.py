"""What libvirt checks on the source before it asks the destination, read by the pre-flight
(which runs on the source): a shell around guard.rules.source_refusal.

Disks are sorted the way qemuMigrationSrcIsSafe sorts them (src/qemu/qemu_migration.c):
empty and read-only disks are skipped; a file is judged by the file system it is on
(virFileIsSharedFS / virFileIsClusterFS in src/util/virfile.c, which statfs the nearest
existing folder); network disks, block devices and directories pass; NVMe disks do not. A
volume (<disk type='volume'>) is what its pool makes it. The file system is read from
this machine's mount table, so only when the source URI names this machine: for a remote
source a file's storage is unknown (the rule then says `unverifiable`).
"""
import os
from urllib.parse import urlparse

from lxml import etree

from ..rules.source_refusal import BLOCK, CLUSTER, LOCAL, NETWORK, NVME, SHARED, SourceDisk, SourceState

# virFileIsSharedFS's list, by the names /proc/self/mountinfo gives them, and the cluster
# file systems among them (virFileIsClusterFS), on which any cache mode is safe.
CLUSTER_FILESYSTEMS = frozenset(("gfs2", "gfs", "ocfs2", "ceph", "fuse.glusterfs", "glusterfs"))
SHARED_FILESYSTEMS = CLUSTER_FILESYSTEMS | frozenset((
    "nfs", "nfs4", "afs", "smb3", "smbfs", "cifs", "gpfs", "fuse.quobyte", "acfs", "beegfs"))

# Storage pool types (virStoragePoolType) by what their volumes are to qemuMigrationSrcIsSafe.
POOL_FILE_TYPES = frozenset(("dir", "fs"))
POOL_SHARED_TYPES = frozenset(("netfs", "gluster", "vstorage"))
POOL_NETWORK_TYPES = frozenset(("rbd", "sheepdog", "iscsi-direct"))


def is_local_uri(uri):
    """True when the URI's daemon runs on this machine, whose mount table then describes the
    guest's paths (a test:// driver's guests are fiction: not local)."""
    parsed = urlparse(uri)
    return not parsed.scheme.startswith("test") and (parsed.hostname or "localhost") in ("localhost", "127.0.0.1",
                                                                                          "::1")


def _unescape(field):
    """mountinfo escapes space, tab, newline and backslash as octal (\\040)."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def mount_table(text):
    """[(mount point, file system type)] from /proc/self/mountinfo text, in its order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            dash = fields.index("-")
            mounts.append((_unescape(fields[4]), fields[dash + 1]))
        except (ValueError, IndexError):
            continue
    return mounts


def filesystem_of(path, mounts):
    """The type of the file system `path` is on: the last-mounted of the longest mount
    points containing it (a later mount over the same point hides the earlier)."""
    best, kind = -1, None
    for point, fstype in mounts:
        inside = path == point or point == "/" or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best:
            best, kind = len(point), fstype
    return kind


def _nearest_existing(path):
    """libvirt statfs's the nearest folder that exists when the file does not (yet)."""
    path = os.path.realpath(path)
    while not os.path.exists(path) and path != "/":
        path = os.path.dirname(path)
    return path


def file_storage(path, mounts):
    """(storage, file system type) of a disk file on this machine."""
    fstype = filesystem_of(_nearest_existing(path), mounts)
    if fstype is None:
        return None, None
    if fstype in CLUSTER_FILESYSTEMS:
        return CLUSTER, fstype
    return (SHARED if fstype in SHARED_FILESYSTEMS else LOCAL), fstype


def source_disks(xml, local_mounts=None, volume_of=None):
    """SourceDisk of every writable disk with a source in the guest's XML (text or bytes).
    local_mounts: this machine's mount_table when the source is this machine, else None;
    volume_of(pool, volume): (pool type, path) or None when libvirt cannot say."""
    root = etree.fromstring(xml.encode() if isinstance(xml, str) else xml,
                            etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    disks = []
    for disk in root.iterfind("devices/disk"):
        source = disk.find("source")
        if source is None or disk.find("readonly") is not None:
            continue
        kind = disk.get("type", "file")
        target = disk.find("target")
        dev = target.get("dev") if target is not None else None
        path, fstype = None, None
        if kind == "file":
            path = source.get("file")
            if not path:
                continue
            storage, fstype = file_storage(path, local_mounts) if local_mounts is not None else (None, None)
        elif kind == "network":
            path, storage = "%s:%s" % (source.get("protocol"), source.get("name") or ""), NETWORK
        elif kind == "nvme":
            address = source.find("address")
            pci = "?" if address is None else "%s:%s:%s.%s" % tuple(
                address.get(k, "0x?").replace("0x", "") for k in ("domain", "bus", "slot", "function"))
            path, storage = "NVMe %s namespace %s" % (pci, source.get("namespace", "?")), NVME
        elif kind == "volume":
            pool, volume = source.get("pool"), source.get("volume")
            if not pool or not volume:
                continue
            path, storage = "%s/%s" % (pool, volume), None
            found = volume_of(pool, volume) if volume_of is not None else None
            if found is not None:
                pool_type, volume_path = found
                if pool_type in POOL_FILE_TYPES and volume_path and local_mounts is not None:
                    path = volume_path
                    storage, fstype = file_storage(volume_path, local_mounts)
                elif pool_type in POOL_SHARED_TYPES:
                    storage = SHARED
                elif pool_type in POOL_NETWORK_TYPES:
                    storage = NETWORK
                elif pool_type not in POOL_FILE_TYPES:
                    storage = BLOCK  # logical, disk, iscsi, scsi, mpath, zfs: block devices
        elif kind in ("block", "dir"):
            path, storage = source.get("dev") or source.get("dir"), BLOCK
        else:  # vhostuser, vhostvdpa: passed by libvirt
            continue
        disks.append(SourceDisk(dev, path, storage, fstype))
    return tuple(disks)


def read_mounts(path="/proc/self/mountinfo"):
    try:
        with open(path) as handle:
            return mount_table(handle.read())
    except OSError:
        return None


def volume_reader(conn):
    """volume_of(pool, volume) over the source's libvirt."""
    import libvirt

    def volume_of(pool_name, volume_name):
        try:
            pool = conn.storagePoolLookupByName(pool_name)
            kind = etree.fromstring(pool.XMLDesc(0).encode()).get("type")
            return kind, pool.storageVolLookupByName(volume_name).path()
        except (libvirt.libvirtError, etree.XMLSyntaxError):
            return None
    return volume_of


def source_state(dom, xml, flags, local_mounts, volume_of):
    """The SourceState of one guest, read over the source's libvirt connection."""
    import libvirt
    try:
        snapshots = dom.snapshotNum(0)
    except libvirt.libvirtError:
        snapshots = None
    return SourceState(flags=tuple(flags), disks=source_disks(xml, local_mounts, volume_of), snapshots=snapshots)
