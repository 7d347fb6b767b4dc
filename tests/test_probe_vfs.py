"""The probe's and the collector's reading of SR-IOV VFs (guard.facts.probe), against a sysfs tree laid
out as the kernel lays out a ConnectX-7 PF and its VFs, with libvirt's own network document for
the VF pool (the corpus' networkxml2xmlin/hostdev.xml)."""
import os
import shutil
import time

from support.helpers import corpus_domain_xml, corpus_facts, corpus_file, minimal_guest

from guard.facts.fingerprint import fingerprint_for
from guard.facts.local import read_local
from guard.facts.probe import MLX5_VFIO_PCI, PciFunction, gather, mellanox_pfs, pci_function, vf_pool, vf_probe
from guard.guest.domain import parse_domain

PF, PSID, FIRMWARE = "0000:03:00.0", "MT_0000000834", "28.39.1002"
POOL_VFS = ("0000:03:00.1", "0000:03:00.2", "0000:03:00.3", "0000:03:00.4")  # the corpus network's pool
NET_POOL = "<interface type='network'><source network='hostdev'/><mac address='52:54:00:00:00:01'/></interface>"


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)


def link(root, path, target):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)


def cx7_host(root, bound=MLX5_VFIO_PCI, firmware=FIRMWARE):
    """A ConnectX-7 PF with four VFs, the first bound to `bound`, the rest to mlx5_core; the pool
    network 'hostdev' running over them, its first VF held by a guest's <interface>."""
    devices = "sys/bus/pci/devices"
    write(root, "%s/%s/vendor" % (devices, PF), "0x15b3\n")
    write(root, "%s/%s/device" % (devices, PF), "0x1021\n")
    write(root, "%s/%s/infiniband/mlx5_0/board_id" % (devices, PF), PSID + "\n")
    write(root, "%s/%s/infiniband/mlx5_0/fw_ver" % (devices, PF), firmware + "\n")
    os.makedirs(os.path.join(root, devices, PF, "net", "ens3f0np0"))
    for index, vf in enumerate(POOL_VFS):
        write(root, "%s/%s/vendor" % (devices, vf), "0x15b3\n")
        write(root, "%s/%s/device" % (devices, vf), "0x101e\n")
        link(root, "%s/%s/physfn" % (devices, vf), "../%s" % PF)
        link(root, "%s/%s/virtfn%d" % (devices, PF, index), "../%s" % vf)
        driver = bound if index == 0 else "mlx5_core"
        link(root, "%s/%s/driver" % (devices, vf), "../../../../bus/pci/drivers/%s" % driver)
    os.makedirs(os.path.join(root, "sys/bus/pci/drivers", MLX5_VFIO_PCI))
    os.makedirs(os.path.join(root, "run/libvirt/network"))
    shutil.copy(corpus_file("networkxml2xmlin", "hostdev.xml"), os.path.join(root, "run/libvirt/network/hostdev.xml"))
    write(root, "run/libvirt/hostdevmgr/ens3f0np0_vf0", "{}")  # libvirt's mark: VF 0 is a guest's


def test_a_vf_as_sysfs_shows_it(tmp_path):
    root = str(tmp_path)
    cx7_host(root)
    assert pci_function(POOL_VFS[0], root) == PciFunction("0x15b3", "0x101e", MLX5_VFIO_PCI, PF, "0x1021", PSID,
                                                          FIRMWARE, ("ens3f0np0",), 0)
    assert pci_function(POOL_VFS[2], root).vf_index == 2 and pci_function(POOL_VFS[2], root).driver == "mlx5_core"
    assert pci_function(PF, root).pf is None  # the PF itself: no physfn
    assert pci_function("0000:99:00.0", root) is None  # no such device
    assert pci_function("../../etc", root) is None  # the guest's text is never a path


def test_the_pool_lists_its_free_vfs_in_libvirts_order(tmp_path):
    root = str(tmp_path)
    cx7_host(root)
    pool = vf_pool("hostdev", root)
    assert pool.managed is True and pool.driver_model is None
    assert pool.vfs == POOL_VFS and pool.free == POOL_VFS[1:]  # VF 0 is held
    assert vf_pool("default", root) is None  # no such network running
    assert vf_pool("../hostdev", root) is None


def test_the_hook_reads_the_vfs_the_guest_names_and_its_pools(tmp_path):
    root = str(tmp_path)
    cx7_host(root)
    xml = minimal_guest(virt_type="kvm", extra=NET_POOL + "<hostdev mode='subsystem' type='pci' managed='no'><source>"
                                                          "<address domain='0' bus='3' slot='0' function='1'/>"
                                                          "</source></hostdev>")
    probe = gather(parse_domain(xml), 10.0, root=root)
    assert probe.vfs.mlx5_vfio_pci is True
    assert probe.vfs.functions[POOL_VFS[0]].driver == MLX5_VFIO_PCI
    assert probe.vfs.pools["hostdev"].free == POOL_VFS[1:]
    plain = gather(parse_domain(minimal_guest()), 10.0, root=root)
    assert plain.vfs is None  # no VF, no pool: nothing read


def test_reading_vfs_stops_at_the_deadline(tmp_path):
    root = str(tmp_path)
    cx7_host(root)
    domain = parse_domain(corpus_domain_xml("hostdev-pci-address"))
    late = vf_probe(domain, root, deadline=time.monotonic() - 1)
    assert late.functions == {}  # not read: the rule says so, never a pass


def test_the_collector_records_the_mellanox_pfs_and_a_guest_carries_only_its_own(tmp_path):
    root = str(tmp_path)
    cx7_host(root)
    assert mellanox_pfs(root) == ((PF, "0x1021", PSID, FIRMWARE, POOL_VFS),)
    local = read_local(root)
    assert local.mlx5_pfs == mellanox_pfs(root)
    facts = corpus_facts()._replace(local=local)
    named = parse_domain(minimal_guest(extra="<hostdev mode='subsystem' type='pci'><source><address domain='0' "
                                             "bus='3' slot='0' function='2'/></source></hostdev>"))
    assert fingerprint_for(facts, named).mlx5_vfs == ((POOL_VFS[1], PSID, FIRMWARE),)
    pooled = parse_domain(minimal_guest(extra=NET_POOL))  # the corpus host's network 'hostdev' is a VF pool
    assert fingerprint_for(facts, pooled).mlx5_vfs == (("pool", PSID, FIRMWARE),)
    assert fingerprint_for(facts, parse_domain(minimal_guest())).mlx5_vfs is None
    assert mellanox_pfs(str(tmp_path / "nothing")) is None
