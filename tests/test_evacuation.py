"""The evacuation plan's assignment (guard.services.evacuation, pure) and what the pre-flight reads
on the source (guard.services.source_state): the figures are given, so each rule of the documented
order is checked on its own."""
from guard.rules.source_refusal import CLUSTER, LOCAL, NETWORK, NVME, SHARED
from guard.services.evacuation import Capacity, Demand, assign
from guard.services.source_state import file_storage, filesystem_of, is_local_uri, mount_table, source_disks

GiB = 1 << 30


def plan(demands, capacities, accepting=None, reserve=0, ratio=4.0):
    dests = list(capacities)
    return assign(list(demands), dests, accepting or (lambda guest: dests), demands, capacities, reserve, ratio,
                  lambda guest: "every destination refused")


def test_largest_first_each_to_the_destination_with_most_free_memory():
    moves, unplaced = plan({"small": Demand(2 * GiB, 1), "big": Demand(40 * GiB, 4), "mid": Demand(10 * GiB, 2)},
                           {"A": Capacity(48 * GiB, 16, 0), "B": Capacity(30 * GiB, 16, 0)})
    assert [(m.order, m.guest, m.dest) for m in moves] == [(1, "big", "A"), (2, "mid", "B"), (3, "small", "B")]
    assert not unplaced


def test_guests_add_up_within_free_memory_less_the_reserve():
    moves, unplaced = plan({"g%d" % i: Demand(10 * GiB, 1) for i in range(4)},
                           {"A": Capacity(32 * GiB, 16, 0)}, reserve=1 * GiB)
    assert [m.guest for m in moves] == ["g0", "g1", "g2"]  # 30 GiB of the 31 left after the reserve
    assert [u.guest for u in unplaced] == ["g3"]
    assert "no room left" in unplaced[0].reason and "A: 1 GiB free after the reserve, needs 10 GiB" in unplaced[0].reason


def test_vcpus_stop_at_the_overcommit_ratio_counting_the_running_guests():
    moves, unplaced = plan({"a": Demand(GiB, 4), "b": Demand(GiB, 4)}, {"A": Capacity(64 * GiB, 2, 1)}, ratio=4.0)
    assert [m.guest for m in moves] == ["a"]  # 2 CPUs x 4 = 8 vCPUs, 1 running: 7 left, then 3
    assert "room for 3 more vCPUs, needs 4" in unplaced[0].reason


def test_huge_page_guests_take_free_pages_not_free_memory():
    two_mib = 2 << 20
    moves, unplaced = plan({"hp1": Demand(GiB, 1, two_mib), "hp2": Demand(GiB, 1, two_mib)},
                           {"A": Capacity(0, 16, 0, {two_mib: 700})})
    assert [m.guest for m in moves] == ["hp1"]  # 512 pages each, 700 free
    assert "188 free 2 MiB huge pages, needs 512" in unplaced[0].reason


def test_only_destinations_that_accept_the_guest_and_unreadable_ones_say_why():
    moves, unplaced = plan({"x": Demand(GiB, 1), "y": Demand(GiB, 1)},
                           {"A": Capacity(64 * GiB, 16, 0), "B": "cannot connect to B"},
                           accepting=lambda guest: ["B"] if guest == "x" else [])
    assert not moves
    reasons = {u.guest: u.reason for u in unplaced}
    assert "B: its free memory could not be read (cannot connect to B)" in reasons["x"]
    assert reasons["y"] == "no destination accepts it: every destination refused"


MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - xfs /dev/sda1 rw
30 22 0:40 / /var/lib/libvirt/images rw shared:2 - nfs4 filer:/images rw
31 22 0:41 / /gfs rw shared:3 - gfs2 /dev/mapper/gfs rw
32 30 0:42 / /var/lib/libvirt/images/local rw shared:4 - ext4 /dev/sdb1 rw
33 22 0:43 / /mnt/with\\040space rw shared:5 - cifs //srv/share rw
"""


def test_the_file_system_of_a_disk_is_its_longest_mount_point():
    mounts = mount_table(MOUNTINFO)
    assert filesystem_of("/var/lib/libvirt/images/a.qcow2", mounts) == "nfs4"
    assert filesystem_of("/var/lib/libvirt/images/local/b.qcow2", mounts) == "ext4"
    assert filesystem_of("/var/lib/libvirt/imagesX/c", mounts) == "xfs"  # a prefix of the name is not a parent
    assert filesystem_of("/mnt/with space/d.img", mounts) == "cifs"


def test_a_disk_not_created_yet_is_judged_by_its_nearest_existing_folder(tmp_path):
    """As libvirt's virFileIsSharedFS: statfs of the nearest folder that exists."""
    mounts = [("/", "xfs"), (str(tmp_path), "gfs2"), (str(tmp_path / "nfs"), "nfs")]
    assert file_storage(str(tmp_path / "new" / "e.img"), mounts) == (CLUSTER, "gfs2")
    assert file_storage(str(tmp_path / "nfs" / "f.img"), mounts) == (CLUSTER, "gfs2")  # nfs/ does not exist
    (tmp_path / "nfs").mkdir()
    assert file_storage(str(tmp_path / "nfs" / "f.img"), mounts) == (SHARED, "nfs")
    assert file_storage("/", [("/", "xfs")]) == (LOCAL, "xfs")


def test_source_disks_sorted_as_libvirt_sorts_them(tmp_path):
    (tmp_path / "nfs").mkdir()
    (tmp_path / "local").mkdir()
    xml = """<domain><devices>
      <disk type='file'><source file='TMP/nfs/a.qcow2'/><target dev='vda'/></disk>
      <disk type='file'><source file='TMP/local/b.img'/><target dev='vdb'/></disk>
      <disk type='file' device='cdrom'><source file='/srv/c.iso'/><readonly/><target dev='sda'/></disk>
      <disk type='file' device='cdrom'><target dev='sdb'/></disk>
      <disk type='network'><source protocol='rbd' name='pool/d'/><target dev='vdc'/></disk>
      <disk type='nvme'><source type='pci' managed='yes' namespace='1'><address domain='0x0000' bus='0x01'
        slot='0x00' function='0x0'/></source><target dev='vdd'/></disk>
      <disk type='volume'><source pool='shared' volume='e'/><target dev='vde'/></disk>
    </devices></domain>""".replace("TMP", str(tmp_path))
    volumes = {("shared", "e"): ("netfs", "/mnt/pool/e")}
    mounts = [("/", "xfs"), (str(tmp_path / "nfs"), "nfs4"), (str(tmp_path / "local"), "ext4")]
    disks = source_disks(xml, mounts, lambda pool, volume: volumes.get((pool, volume)))
    assert [(d.target, d.storage) for d in disks] == [("vda", SHARED), ("vdb", LOCAL), ("vdc", NETWORK),
                                                      ("vdd", NVME), ("vde", SHARED)]
    assert disks[3].path == "NVMe 0000:01:00.0 namespace 1"
    remote = source_disks(xml, None, None)  # a remote source: a file's storage is unknown
    assert [(d.target, d.storage) for d in remote][:2] == [("vda", None), ("vdb", None)]


def test_only_a_source_on_this_machine_has_its_mount_table_read():
    assert is_local_uri("qemu:///system") and is_local_uri("qemu+unix:///system?socket=/run/x")
    assert not is_local_uri("qemu+ssh://hv01/system") and not is_local_uri("test:///default")
