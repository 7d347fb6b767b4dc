"""unmigratable: passing and failing fixtures (minimal XML: the corpus has no such guest)."""
import pytest

from rulecase import Case, minimal, run_case

INVTSC = "<cpu mode='custom' match='exact'><model>Skylake-Client</model><feature policy='require' name='invtsc'/></cpu>"
PASSTHROUGH_OFF = "<cpu mode='host-passthrough' migratable='off'/>"
TSC = "<clock offset='utc'><timer name='tsc' frequency='2400000000'/></clock>"
TRANSIENT = ("<disk type='file' device='disk'><source file='/var/lib/libvirt/images/t.qcow2'/><target dev='vda'/>"
             "<transient/></disk>")
CODES = ("unmigratable[invtsc]", "unmigratable[transient-disk]")

CASES = [
    Case("unmigratable", "invtsc required, no TSC frequency (minimal XML)", minimal(cpu=INVTSC),
         expect="unmigratable[invtsc]", message_has=("TSC frequency",)),
    Case("unmigratable", "invtsc required with a TSC frequency (minimal XML)", minimal(cpu=INVTSC, top=TSC),
         near=CODES),
    Case("unmigratable", "host-passthrough migratable='off' under KVM, no TSC frequency (minimal XML)",
         minimal(virt_type="kvm", cpu=PASSTHROUGH_OFF), expect="unmigratable[invtsc]"),
    Case("unmigratable", "host-passthrough migratable='on' (minimal XML)",
         minimal(virt_type="kvm", cpu="<cpu mode='host-passthrough' migratable='on'/>"), near=CODES),
    Case("unmigratable", "transient disk (minimal XML)", minimal(extra=TRANSIENT), expect="unmigratable[transient-disk]",
         message_has=("vda",)),
    Case("unmigratable", "an ordinary disk (minimal XML)", minimal(extra=TRANSIENT.replace("<transient/>", "")),
         near=CODES),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
