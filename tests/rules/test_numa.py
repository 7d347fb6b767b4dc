"""numa-pinning: passing and failing fixtures."""
import pytest

from helpers import corpus_facts, debian12_facts
from rulecase import Case, corpus, minimal, run_case, source_with

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
    Case("numa-pinning", "placement auto is not pinning", corpus("numad-auto-vcpu-no-numatune"),
         near=("numa-pinning[cpus]", "numa-pinning[nodes]")),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
