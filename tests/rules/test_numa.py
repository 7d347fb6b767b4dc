"""numa-pinning: passing and failing fixtures."""
import pytest
from support.helpers import corpus_facts, debian12_facts
from support.rulecase import Case, corpus, minimal, run_case, source_with
from support.rulehosts import host

from guard.facts.model import Probe

GIB, MIB = 1 << 30, 1 << 20
# corpus_facts: 2 nodes of CPUs 0-5/6-11, 2 MiB and 1 GiB pages reserved per node as captured.
CORPUS_HOST = host(corpus_facts, guest_cpus=tuple(range(12)))
PINNED_13 = "".join("<vcpupin vcpu='%d' cpuset='%d'/>" % (i, 2 + i) for i in range(12)) + \
    "<emulatorpin cpuset='2-23'/>"
TWO_CELLS = ("\n  <cpu><numa><cell id='0' cpus='0' memory='1' unit='GiB'/><cell id='1' cpus='1' memory='1' "
             "unit='GiB'/></numa></cpu>")
MEMNODE = ("\n  <numatune><memnode cellid='0' mode='strict' nodeset='0'/><memnode cellid='1' mode='strict' "
           "nodeset='1'/></numatune>")
HUGE_2M = "\n  <memoryBacking><hugepages><page size='2' unit='MiB'/></hugepages></memoryBacking>"
MIXED = ("\n  <memoryBacking><hugepages><page size='1' unit='GiB' nodeset='0'/><page size='2' unit='MiB' "
         "nodeset='1'/></hugepages></memoryBacking>")
DEFAULT_SIZE = "\n  <memoryBacking><hugepages/></memoryBacking>"


def free(*entries):
    return {"probe": Probe(free_pages=entries, hugetlbfs=(2 * MIB, GIB), default_hugepage_bytes=2 * MIB)}

CASES = [
    Case("numa-pinning", "emulatorpin to CPUs the host lacks", corpus("cputune-numatune"),
         expect="numa-pinning[cpus]", message_has=("2-3",)),
    Case("numa-pinning", "numatune nodes the host lacks", corpus("numatune-memnode"), dest=corpus_facts,
         expect="numa-pinning[nodes]", message_has=("2-3",)),
    Case("numa-pinning", "strict nodes too small", minimal(
        memory="40 GiB", top="\n  <numatune><memory mode='strict' nodeset='0'/></numatune>"),
        dest=corpus_facts, expect="numa-pinning[memory]"),
    Case("numa-pinning", "preferred nodes may be too small", minimal(
        memory="40 GiB", top="\n  <numatune><memory mode='preferred' nodeset='0'/></numatune>"),
        dest=corpus_facts, near=("numa-pinning[memory]", "numa-pinning[nodes]")),
    Case("numa-pinning", "huge pages not reserved", corpus("hugepages-default-2M"), expect="numa-pinning[hugepages]"),
    Case("numa-pinning", "no huge pages asked for", corpus("x86_64-pc-minimal"), near=("numa-pinning[hugepages]",)),
    Case("numa-pinning", "pinned guest between hosts of different shape",
         minimal(vcpu="<vcpu cpuset='0'>1</vcpu>"),
         source=source_with(debian12_facts, numa=((0, 2, 1 << 32), (1, 2, 1 << 32))),
         expect="numa-pinning[shape]", action="warn"),
    Case("numa-pinning", "pinned guest between hosts of the same shape", minimal(vcpu="<vcpu cpuset='0'>1</vcpu>"),
         source=source_with(debian12_facts), near=("numa-pinning[shape]", "numa-pinning[cpus]")),
    Case("numa-pinning", "pins inside the host's CPUs", minimal(vcpu="<vcpu cpuset='0-1,^1'>1</vcpu>"),
         near=("numa-pinning[cpus]",)),
    Case("numa-pinning", "13 bad pins: one finding in ranges", minimal(top="\n  <cputune>%s</cputune>" % PINNED_13,
                                                                        vcpu="<vcpu>12</vcpu>"),
         dest=host(guest_cpus=(0, 1)), expect="numa-pinning[cpus]",
         message_has=("13 CPU pins", "vCPUs 0-11", "<emulatorpin>", "2-23", "0-1")),
    Case("numa-pinning", "pin on a CPU that exists but machine.slice does not allow (issue 14)",
         minimal(vcpu="<vcpu cpuset='1'>1</vcpu>"), dest=host(guest_cpus=(0,)), expect="numa-pinning[cpus]",
         message_has=("does not let guests use", "machine partition")),
    Case("numa-pinning", "dimm with <source><nodemask> the host lacks", corpus("memory-hotplug-dimm"),
         dest=corpus_facts, expect="numa-pinning[nodes]", message_has=("<memory model='dimm'> nodemask='1-3'",)),
    Case("numa-pinning", "virtio-mem with a nodemask the host lacks", corpus("memory-hotplug-virtio-mem"),
         dest=corpus_facts, expect="numa-pinning[nodes]", message_has=("2-3",)),
    Case("numa-pinning", "2 MiB pages reserved but not free (issue 14, minimal XML)",
         minimal(memory="1 GiB", top=HUGE_2M), dest=CORPUS_HOST, expect="numa-pinning[hugepages]",
         message_has=("free",), kwargs=free((0, 2 * MIB, 10), (1, 2 * MIB, 10))),
    Case("numa-pinning", "2 MiB pages free enough (minimal XML)", minimal(memory="1 GiB", top=HUGE_2M),
         dest=CORPUS_HOST, near=("numa-pinning[hugepages]",), kwargs=free((0, 2 * MIB, 300), (1, 2 * MIB, 300))),
    Case("numa-pinning", "1 GiB pages reserved with no hugetlbfs of that size (issue 14, minimal XML)",
         minimal(memory="1 GiB", top="\n  <memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages>"
                                     "</memoryBacking>"), dest=CORPUS_HOST, expect="numa-pinning[hugepages]",
         message_has=("hugetlbfs",), kwargs={"probe": Probe(free_pages=((0, GIB, 4),), hugetlbfs=(2 * MIB,))}),
    Case("numa-pinning", "strict memnode: cell 1's pages must be free on host node 1 (minimal XML)",
         minimal(memory="2 GiB", cpu=TWO_CELLS, top=MEMNODE + HUGE_2M, vcpu="<vcpu>2</vcpu>"), dest=CORPUS_HOST,
         expect="numa-pinning[hugepages]", message_has=("host nodes 1", "<cell id='1'>"),
         kwargs=free((0, 2 * MIB, 1024), (1, 2 * MIB, 100))),
    Case("numa-pinning", "mixed page sizes, each against its own share (minimal XML)",
         minimal(memory="2 GiB", cpu=TWO_CELLS, top=MEMNODE + MIXED, vcpu="<vcpu>2</vcpu>"), dest=CORPUS_HOST,
         near=("numa-pinning[hugepages]",), kwargs=free((0, GIB, 1), (1, 2 * MIB, 512))),
    Case("numa-pinning", "mixed page sizes, the 1 GiB share does not fit (minimal XML)",
         minimal(memory="2 GiB", cpu=TWO_CELLS, top=MEMNODE + MIXED, vcpu="<vcpu>2</vcpu>"), dest=CORPUS_HOST,
         expect="numa-pinning[hugepages]", message_has=("1 GiB huge pages",),
         kwargs=free((0, GIB, 0), (1, GIB, 4), (1, 2 * MIB, 512))),
    Case("numa-pinning", "<hugepages/> at the default size on a host with none free (minimal XML)",
         minimal(top=DEFAULT_SIZE), dest=CORPUS_HOST, expect="numa-pinning[hugepages]", message_has=("2 MiB",),
         kwargs=free((0, 2 * MIB, 0), (1, 2 * MIB, 0))),
    Case("numa-pinning", "placement auto is not pinning", corpus("numad-auto-vcpu-no-numatune"),
         near=("numa-pinning[cpus]", "numa-pinning[nodes]")),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
