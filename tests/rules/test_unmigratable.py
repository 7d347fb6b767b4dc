"""unmigratable: passing and failing fixtures (minimal XML: the corpus has no such guest)."""
import pytest
from support.rulecase import Case, corpus, minimal, run_case

INVTSC = "<cpu mode='custom' match='exact'><model>Skylake-Client</model><feature policy='require' name='invtsc'/></cpu>"
PASSTHROUGH_OFF = "<cpu mode='host-passthrough' migratable='off'/>"
TSC = "<clock offset='utc'><timer name='tsc' frequency='2400000000'/></clock>"
TRANSIENT = ("<disk type='file' device='disk'><source file='/var/lib/libvirt/images/t.qcow2'/><target dev='vda'/>"
             "<transient/></disk>")
CODES = ("unmigratable[invtsc]", "unmigratable[transient-disk]")
DEVICE_CODES = ("unmigratable[virgl]", "unmigratable[virtio-sound]", "unmigratable[qemu-vdagent]")
HV_PASSTHROUGH = "\n  <features><hyperv mode='passthrough'/></features>"
REENLIGHTENMENT = "\n  <features><hyperv mode='custom'><reenlightenment state='on'/></hyperv></features>"

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
    Case("unmigratable", "Hyper-V passthrough under KVM (minimal XML)", minimal(virt_type="kvm", top=HV_PASSTHROUGH),
         expect="unmigratable[hyperv-passthrough]"),
    Case("unmigratable", "Hyper-V with listed enlightenments under KVM (corpus hyperv under KVM)",
         lambda: corpus("hyperv")().replace("<domain type='qemu'>", "<domain type='kvm'>", 1),
         near=("unmigratable[hyperv-passthrough]",)),
    Case("unmigratable", "re-enlightenment without a TSC frequency (minimal XML)", minimal(top=REENLIGHTENMENT),
         expect="unmigratable[reenlightenment]", action="warn"),
    Case("unmigratable", "re-enlightenment with a TSC frequency (minimal XML)",
         minimal(top=REENLIGHTENMENT + "\n  " + TSC), near=("unmigratable[reenlightenment]",)),
    Case("unmigratable", "virtio GPU with 3D acceleration (minimal XML)",
         minimal(extra="<video><model type='virtio' heads='1'><acceleration accel3d='yes'/></model></video>"),
         expect="unmigratable[virgl]"),
    Case("unmigratable", "virtio GPU without 3D acceleration, ich9 sound, a spicevmc channel (minimal XML)",
         minimal(extra="<video><model type='virtio' heads='1'><acceleration accel3d='no'/></model></video>"
                       "<sound model='ich9'/><channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/>"
                       "</channel>"), near=DEVICE_CODES),
    Case("unmigratable", "virtio sound (minimal XML)", minimal(extra="<sound model='virtio'/>"),
         expect="unmigratable[virtio-sound]"),
    Case("unmigratable", "QEMU's built-in vdagent channel (minimal XML)",
         minimal(extra="<channel type='qemu-vdagent'><source><clipboard copypaste='yes'/></source>"
                       "<target type='virtio' name='com.redhat.spice.0'/></channel>"),
         expect="unmigratable[qemu-vdagent]"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
