"""Collector pieces that need no daemon: local facts, the atomic cache, convergence."""
import os
import signal
import subprocess
import sys
import time

import pytest
from support.helpers import REPO, debian12_facts

from guard.facts.cache import facts_to_json, read_facts_file
from guard.facts.local import bios_from_dmi, microcode_from_cpuinfo, read_local
from guard.rules.convergence import estimate
from guard.runtime.files import write_atomic


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as handle:
        handle.write(text)


def test_local_facts_from_a_host_tree(tmp_path):
    root = str(tmp_path)
    write(root, "proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 mitigations=auto,nosmt tsx=off quiet\n")
    write(root, "proc/cpuinfo", "processor\t: 0\nmicrocode\t: 0x2b000603\n\nprocessor\t: 1\nmicrocode\t: 0x2b000603\n")
    write(root, "sys/devices/system/cpu/smt/control", "off\n")
    write(root, "sys/module/kvm_intel/parameters/nested", "Y\n")
    write(root, "sys/devices/system/cpu/vulnerabilities/spectre_v2", "Mitigation: Enhanced IBRS\n")
    write(root, "sys/devices/system/cpu/vulnerabilities/mds", "Not affected\n")
    write(root, "usr/share/edk2/ovmf/OVMF_CODE.secboot.fd", "")
    write(root, "sys/class/dmi/id/bios_vendor", "Dell Inc.\n")
    write(root, "sys/class/dmi/id/bios_version", "2.19.0\n")
    os.makedirs(os.path.join(root, "sys/firmware/efi"))
    local = read_local(root)
    assert local.microcode == "0x2b000603" and local.smt == "off" and local.nested is True
    assert local.vulnerabilities == (("mds", "Not affected"), ("spectre_v2", "Mitigation: Enhanced IBRS"))
    assert local.boot_mode == "uefi"
    assert "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd" in local.firmware_files
    from guard.facts.fingerprint import cpu_cmdline
    assert cpu_cmdline(local.kernel_cmdline) == ("mitigations=auto,nosmt", "tsx=off")
    bios = bios_from_dmi(root)
    assert (bios.vendor, bios.version, bios.date) == ("Dell Inc.", "2.19.0", None)
    assert microcode_from_cpuinfo("") is None
    assert read_local(str(tmp_path / "empty")).boot_mode == "legacy"


WRITER = """
import sys
from guard.runtime.files import write_atomic
texts = [open(name).read() for name in sys.argv[2:]]
write_atomic(sys.argv[1], texts[0])
print("writing", flush=True)  # the test kills from here on, however slow the start was
i = 1
while True:
    write_atomic(sys.argv[1], texts[i % 2])
    i += 1
"""


def test_killing_the_writer_never_leaves_a_torn_cache(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    path = str(folder / "facts.json")
    texts, sources = [], []
    for n in (1, 5000):  # a short cache and a long one: a torn write of either is neither
        texts.append(facts_to_json(debian12_facts()._replace(hostname="h" * n)))
        sources.append(str(tmp_path / ("text-%d" % n)))
        with open(sources[-1], "w") as handle:
            handle.write(texts[-1])

    def temp_files():
        return {n for n in os.listdir(str(folder)) if n != "facts.json"}

    for round_number in range(25):
        before = temp_files()
        writer = subprocess.Popen([sys.executable, "-c", WRITER, path] + sources, cwd=REPO, stdout=subprocess.PIPE)
        # Killed at a different moment of its write loop each round, counted from its first
        # whole write, not from its start: a loaded machine takes longer than that to start.
        assert writer.stdout.readline() == b"writing\n"
        time.sleep((round_number % 5) * 0.013)  # where in the loop it dies, not a wait for anything
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()
        # The cache is always one whole write, byte for byte, and reads as facts.
        with open(path) as handle:
            assert handle.read() in texts, "round %d: torn cache" % round_number
        assert read_facts_file(path).hostname in ("h", "h" * 5000)
        # A killed writer leaves at most the one temp file it was writing, never more.
        added = temp_files() - before
        assert len(added) <= 1 and all(n.startswith(".facts.json-") for n in added), (round_number, sorted(added))
    # A write that completes leaves no temp file; one that fails leaves none and the old cache.
    before = temp_files()
    write_atomic(path, texts[0])
    assert temp_files() == before
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, texts[1] + "\udc80")  # a lone surrogate: fails once the temp file exists
    assert temp_files() == before
    with open(path) as handle:
        assert handle.read() == texts[0]


@pytest.mark.parametrize("memory_gib, dirty_mib, bandwidth_mib, downtime, converges", [
    (4, 0, 1024, 0.3, True),       # idle guest: one round
    (4, 100, 1024, 0.3, True),     # dirty rate well under bandwidth
    (4, 1024, 1024, 0.3, False),   # dirties as fast as the link
    (64, 2048, 1024, 0.3, False),  # faster than the link
    (4, 900, 1024, 0.3, True),     # 21 rounds, about 31 s
    (4, 990, 1024, 0.3, False),    # would need about 77 rounds
])
def test_convergence_estimate(memory_gib, dirty_mib, bandwidth_mib, downtime, converges):
    result = estimate(memory_gib << 30, dirty_mib << 20, bandwidth_mib << 20, downtime)
    assert result.converges is converges
    if converges:
        assert result.rounds >= 1 and result.seconds >= (memory_gib << 30) / (bandwidth_mib << 20)


def test_convergence_known_figures():
    # 8 GiB at 1 GiB/s with 128 MiB/s dirtied: 8 s, then 1 s, then 0.125 s ... under 0.3 s * 1 GiB.
    result = estimate(8 << 30, 128 << 20, 1 << 30, 0.3)
    assert result.converges and result.rounds == 2
    assert result.seconds == pytest.approx(8 + 1 + 0.125)


def test_convergence_finding_in_the_engine():
    from support.helpers import debian12_facts, decide, minimal_guest

    from guard.config import parse_config
    config = parse_config('[memory]\nbandwidth = "100 MiB"\nmax_downtime = "300ms"\n')
    decision = decide(minimal_guest(), debian12_facts(), config=config, dirty_rate=float(200 << 20))
    found = [f for f in decision.findings if f.code == "memory-size[convergence]"]
    assert found and found[0].action == "warn" and decision.decision == "allow"
    quiet = decide(minimal_guest(), debian12_facts(), config=config, dirty_rate=float(1 << 20))
    assert "memory-size[convergence]" not in {f.code for f in quiet.findings}


FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 192.0.2.0
        /24 link UNICAST
     |-- 192.0.2.10
        /32 host LOCAL
Local:
  +-- 127.0.0.0/8 2 0 2
     |-- 127.0.0.1
        /32 host LOCAL
"""


def host_tree(root):
    """A destination's /proc and /sys as the collector and the probe read them."""
    write(root, "proc/net/fib_trie", FIB_TRIE)
    write(root, "proc/net/if_inet6", "20010db8000000000000000000000010 02 40 00 80 eth0\n"
                                     "00000000000000000000000000000001 01 80 10 80 lo\n")
    write(root, "proc/meminfo", "MemTotal: 1 kB\nHugepagesize:       2048 kB\n")
    write(root, "proc/mounts", "hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
                               "none /mnt/huge hugetlbfs rw 0 0\nproc /proc proc rw 0 0\n")
    for node, free in ((0, 12), (1, 3)):
        write(root, "sys/devices/system/node/node%d/hugepages/hugepages-2048kB/free_hugepages" % node, "%d\n" % free)
        write(root, "sys/devices/system/node/node%d/hugepages/hugepages-1048576kB/free_hugepages" % node, "0\n")
    write(root, "sys/class/net/eth0/address", "52:54:00:00:00:01\n")
    write(root, "sys/class/net/br0/bridge/bridge_id", "8000.1\n")
    write(root, "sys/fs/cgroup/cpuset/machine/cpuset.effective_cpus", "0-3,8\n")
    write(root, "sys/fs/cgroup/cpuset/cpuset.effective_cpus", "0-15\n")


def test_local_facts_record_what_the_rules_need(tmp_path):
    root = str(tmp_path)
    host_tree(root)
    local = read_local(root)
    assert local.addresses == ("0:0:0:0:0:0:0:1", "127.0.0.1", "192.0.2.10", "2001:db8:0:0:0:0:0:10")
    assert local.netdevs == ("br0", "eth0") and local.bridges == ("br0",)
    assert local.guest_cpus == (0, 1, 2, 3, 8)  # libvirt's partition, not every CPU
    assert local.hugetlbfs == (2 << 20,) and local.default_hugepage_bytes == 2 << 20
    assert set(local.free_pages) == {(0, 2 << 20, 12), (1, 2 << 20, 3), (0, 1 << 30, 0), (1, 1 << 30, 0)}


def test_cgroup_v2_machine_slice_wins(tmp_path):
    from guard.facts.probe import guest_cpus
    root = str(tmp_path)
    write(root, "sys/fs/cgroup/machine.slice/cpuset.cpus.effective", "2-5\n")
    write(root, "sys/fs/cgroup/cpuset.cpus.effective", "0-7\n")
    assert guest_cpus(root) == (2, 3, 4, 5)
    assert guest_cpus(str(tmp_path / "none")) is None


def test_probe_looks_only_at_what_the_guest_needs(tmp_path):
    from support.helpers import minimal_guest

    from guard.facts.probe import gather
    from guard.guest.domain import parse_domain
    root = str(tmp_path)
    host_tree(root)
    write(root, "images/present.qcow2", "")
    xml = minimal_guest(extra="<disk type='file'><source file='/images/present.qcow2'/><target dev='vda'/></disk>"
                              "<disk type='file'><source file='/images/gone.qcow2'/><target dev='vdb'/></disk>"
                              "<interface type='bridge'><source bridge='br0'/></interface>"
                              "<interface type='direct'><source dev='ens9' mode='bridge'/></interface>"
                              "<graphics type='vnc' listen='192.0.2.10'/>",
                        top="\n  <memoryBacking><hugepages/></memoryBacking>")
    probe = gather(parse_domain(xml), 10.0, root=root)
    assert probe.paths["/images/present.qcow2"] is True and probe.paths["/images/gone.qcow2"] is False
    assert probe.paths["/usr/bin/qemu-system-x86_64"] is False  # not in the tree
    assert probe.netdevs == {"br0": "bridge", "ens9": None}
    assert "192.0.2.10" in probe.addresses
    assert (1, 2 << 20, 3) in probe.free_pages and probe.hugetlbfs == (2 << 20,)
    plain = gather(parse_domain(minimal_guest()), 10.0, root=root)
    assert plain.netdevs is None and plain.addresses is None and plain.free_pages is None


def test_a_stat_that_hangs_is_undecided_within_the_budget():
    """A dead NFS mount blocks stat() forever: the probe answers None for it in time, and the
    other paths are still decided by the other threads."""
    import threading

    from guard.facts.probe import budget_for, stat_paths
    release = threading.Event()

    def stat(path):
        if path.startswith("/nfs/"):
            release.wait(30)
        return path.endswith("ok")

    started = time.monotonic()
    try:
        result = stat_paths(["/nfs/dead.img", "/local/ok", "/local/gone"], 0.3, stat)
    finally:
        release.set()
    assert time.monotonic() - started < 1.0
    assert result == {"/nfs/dead.img": None, "/local/ok": True, "/local/gone": False}
    assert budget_for(10.0) == 2.0 and budget_for(1.0) == pytest.approx(0.2)


def test_facts_build_takes_local_details_as_options(tmp_path, capsys):
    import json

    from support.helpers import DEBIAN12

    from guard.cli import main as cli_main
    interfaces = tmp_path / "interfaces"
    interfaces.write_text("lo\neth0\nbr0\n")
    code = cli_main(["facts", "build", "--capabilities", os.path.join(DEBIAN12, "capabilities.xml"),
                     "--interfaces", str(interfaces), "--bridge", "br0", "--address", "192.0.2.10",
                     "--guest-cpus", "0-1", "--hugetlbfs", "2M", "--free-pages", "0:2M:512",
                     "--firmware-file", "/opt/fw/CODE.fd"])
    assert code == 0
    local = json.loads(capsys.readouterr().out)["local"]
    assert local["netdevs"] == ["lo", "eth0", "br0"] and local["bridges"] == ["br0"]
    assert local["guest_cpus"] == [0, 1] and local["free_pages"] == [[0, 2097152, 512]]
    assert local["hugetlbfs"] == [2097152] and local["firmware_files"] == ["/opt/fw/CODE.fd"]


def test_mount_table_reads_mountinfo_as_the_kernel_writes_it():
    from guard.facts.probe import mount_table
    text = ("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
            "36 22 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
            "40 22 0:50 / /var/lib/images rw - nfs4 srv:/images rw\n"
            "41 40 0:51 / /var/lib/images rw - tmpfs tmpfs rw\n")  # mounted over the NFS one: on top
    assert mount_table(text) == {"/": "ext4", "/mnt/my disk": "ext3", "/var/lib/images": "tmpfs"}


def test_a_path_resolves_locally_only_if_no_step_leaves_local_file_systems(tmp_path):
    """Each component and each symbolic link's target is looked at, up to the first step on
    a network or FUSE mount, which is never touched (its lstat could hang as the stat would)."""
    from guard.facts.probe import resolves_locally
    local, net = tmp_path / "local", tmp_path / "net"
    local.mkdir()
    net.mkdir()
    (local / "disk.img").write_text("")
    (local / "to-net").symlink_to(net / "disk.img")
    (local / "up-to-net").symlink_to("../net/disk.img")
    (local / "to-local").symlink_to("disk.img")
    mounts = {"/": "ext4", str(net): "nfs4"}
    assert resolves_locally(str(local / "disk.img"), mounts)
    assert resolves_locally(str(local / "to-local"), mounts)
    assert resolves_locally(str(local / "gone.img"), mounts)  # fails at once: fine here
    assert not resolves_locally(str(net / "disk.img"), mounts)
    assert not resolves_locally(str(local / "to-net"), mounts)
    assert not resolves_locally(str(local / "up-to-net"), mounts)
    assert not resolves_locally(str(local / "disk.img"), {"/": "fuse.sshfs"})
    assert not resolves_locally("relative/disk.img", mounts)
    loop = local / "loop"
    loop.symlink_to("loop")
    assert resolves_locally(str(loop), mounts)  # ELOOP: the stat fails at once


def test_local_paths_are_stated_without_the_child_and_the_others_in_it(tmp_path, monkeypatch):
    from guard.facts import probe
    children = []
    real = probe._stat_in_child
    monkeypatch.setattr(probe, "_stat_in_child", lambda stat, paths, budget: children.append(paths) or
                        real(stat, paths, budget))
    (tmp_path / "disk.img").write_text("")
    net = tmp_path / "net"
    net.mkdir()
    mounts = {"/": "ext4", str(net): "nfs4"}
    found = probe.stat_paths([str(tmp_path / "disk.img"), str(tmp_path / "gone"), str(net / "x")], 1.0,
                             mounts=mounts)
    assert found == {str(tmp_path / "disk.img"): True, str(tmp_path / "gone"): False, str(net / "x"): False}
    assert children == [[str(net / "x")]]  # only the path on the network mount went to the child
    children.clear()
    assert probe.stat_paths([str(tmp_path / "disk.img")], 1.0) == {str(tmp_path / "disk.img"): True}
    assert children == [[str(tmp_path / "disk.img")]]  # no mount table: every path in the child
