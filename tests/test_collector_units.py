"""Collector pieces that need no daemon: local facts, the atomic cache, convergence."""
import os
import signal
import subprocess
import sys
import time

import pytest

from guard.convergence import estimate
from guard.facts.cache import read_facts_file
from guard.facts.local import bios_from_dmi, microcode_from_cpuinfo, read_local
from helpers import REPO


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
    from guard.fingerprint import cpu_cmdline
    assert cpu_cmdline(local.kernel_cmdline) == ("mitigations=auto,nosmt", "tsx=off")
    bios = bios_from_dmi(root)
    assert (bios.vendor, bios.version, bios.date) == ("Dell Inc.", "2.19.0", None)
    assert microcode_from_cpuinfo("") is None
    assert read_local(str(tmp_path / "empty")).boot_mode == "legacy"


WRITER = """
import sys
sys.path.insert(0, %r)
from helpers import debian12_facts
from guard.facts.cache import facts_to_json, write_atomic
texts = [facts_to_json(debian12_facts()._replace(hostname="h" * n)) for n in (1, 5000)]
i = 0
while True:
    write_atomic(sys.argv[1], texts[i %% 2])
    i += 1
"""


def test_killing_the_writer_never_leaves_a_torn_cache(tmp_path):
    path = str(tmp_path / "facts.json")
    script = WRITER % os.path.join(REPO, "tests")
    for round_number in range(25):
        writer = subprocess.Popen([sys.executable, "-c", script, path], cwd=REPO)
        time.sleep(0.25 + (round_number % 5) * 0.03)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        if os.path.exists(path):
            facts = read_facts_file(path)  # raises on a torn or partial file
            assert facts.hostname in ("h", "h" * 5000)
    assert os.path.exists(path)
    leftovers = [n for n in os.listdir(str(tmp_path)) if n.startswith(".facts-")]
    assert len(leftovers) <= 25  # temp files of killed writers, never the cache itself


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
    from guard.config import parse_config
    from helpers import debian12_facts, decide, minimal_guest
    config = parse_config('[memory]\nbandwidth = "100 MiB"\nmax_downtime = "300ms"\n')
    decision = decide(minimal_guest(), debian12_facts(), config=config, dirty_rate=float(200 << 20))
    found = [f for f in decision.findings if f.code == "memory-size[convergence]"]
    assert found and found[0].action == "warn" and decision.decision == "allow"
    quiet = decide(minimal_guest(), debian12_facts(), config=config, dirty_rate=float(1 << 20))
    assert "memory-size[convergence]" not in {f.code for f in quiet.findings}
