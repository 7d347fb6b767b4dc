"""cpu-model: passing and failing fixtures."""
import pytest
from support.helpers import corpus_facts, debian12_facts
from support.rulecase import Case, corpus, minimal, run_case

QEMU64 = "\n  <cpu mode='custom' match='exact'><model>qemu64</model>%s</cpu>"


def kvm(load):
    return lambda: load().replace("<domain type='qemu'>", "<domain type='kvm'>", 1)

CASES = [
    Case("cpu-model", "Haswell under TCG, blockers named (QEMU 9.2)", corpus("cpu-Haswell", to_qemu=True),
         dest=corpus_facts, expect="cpu-model[unusable]", message_has=("Haswell", "hle", "rtm")),
    Case("cpu-model", "Haswell under TCG on libvirt 9.0 (no blockers listed)", corpus("cpu-Haswell", to_qemu=True),
         expect="cpu-model[unusable]", message_has=("usable='no'",)),
    Case("cpu-model", "host-passthrough under TCG", corpus("cpu-host-passthrough", to_qemu=True),
         expect="cpu-model[mode]", message_has=("host-passthrough",)),
    Case("cpu-model", "check='none' is still a custom model", minimal(
        cpu="\n  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>Haswell</model></cpu>"),
        expect="cpu-model[unusable]"),
    Case("cpu-model", "model unknown to the destination", minimal(
        cpu="\n  <cpu mode='custom' match='exact'><model>NoSuchCPU-v9</model></cpu>"),
        expect="cpu-model[unknown-model]"),
    Case("cpu-model", "requires vme, which TCG's host-model disables (minimal XML)",
         minimal(cpu=QEMU64 % "<feature policy='require' name='vme'/>"), expect="cpu-model[feature-missing]",
         message_has=("vme",)),
    Case("cpu-model", "forbids hypervisor, which the destination always has (minimal XML)",
         minimal(cpu=QEMU64 % "<feature policy='forbid' name='hypervisor'/>"), expect="cpu-model[feature-forbidden]",
         message_has=("hypervisor",)),
    Case("cpu-model", "AMD vendor on an Intel KVM host (minimal XML)",
         minimal(virt_type="kvm", cpu=QEMU64 % "<vendor>AMD</vendor>"), dest=corpus_facts,
         expect="cpu-model[vendor]", message_has=("AMD", "Intel")),
    Case("cpu-model", "usable qemu64 under TCG", minimal(cpu=QEMU64 % ""),
         near=("cpu-model[unusable]", "cpu-model[unknown-model]", "cpu-model[mode]", "cpu-model[vendor]")),
    Case("cpu-model", "features the destination has and lacks as asked", minimal(
        cpu=QEMU64 % "<feature policy='require' name='hypervisor'/><feature policy='forbid' name='vme'/>"),
        near=("cpu-model[feature-missing]", "cpu-model[feature-forbidden]")),
    Case("cpu-model", "host-passthrough under KVM", corpus("cpu-host-passthrough"), dest=corpus_facts,
         near=("cpu-model[mode]",)),
    Case("cpu-model", "Hyper-V evmcs on a KVM host whose QEMU 9.2 does not offer it (corpus hyperv under KVM)",
         kvm(corpus("hyperv")), dest=corpus_facts, expect="cpu-model[hyperv]", message_has=("evmcs",)),
    Case("cpu-model", "Hyper-V enlightenments the Debian 12 KVM host does not offer (corpus hyperv under KVM)",
         kvm(corpus("hyperv")), dest=debian12_facts, expect="cpu-model[hyperv]", message_has=("vpindex", "synic")),
    Case("cpu-model", "Hyper-V relaxed and vapic: libvirt only warns when QEMU lacks them (minimal XML, KVM)",
         minimal(virt_type="kvm", top="\n  <features><hyperv mode='custom'><relaxed state='on'/><vapic state='on'/>"
                                       "</hyperv></features>"),
         dest=lambda: debian12_facts()._replace(domcaps=tuple(d._replace(hyperv=()) for d in debian12_facts().domcaps)),
         near=("cpu-model[hyperv]",)),
    Case("cpu-model", "Hyper-V under TCG, as virt-install --osinfo win11 --virt-type qemu makes it: domcapabilities "
         "describe KVM's, and the guest started with its set on the source (corpus hyperv)", corpus("hyperv"),
         dest=debian12_facts, near=("cpu-model[hyperv]",)),
    Case("cpu-model", "evmcs offered but the CPU is AMD (minimal XML)", minimal(
        virt_type="kvm", top="\n  <features><hyperv mode='custom'><evmcs state='on'/></hyperv></features>"),
        dest=lambda: corpus_facts()._replace(
            cpu=corpus_facts().cpu._replace(vendor="AMD"),
            domcaps=tuple(d._replace(hyperv=(d.hyperv or ()) + ("evmcs",)) for d in corpus_facts().domcaps)),
        expect="cpu-model[hyperv]", message_has=("Intel", "AMD")),
    Case("cpu-model", "Hyper-V enlightenments the destination offers", corpus("hyperv-stimer-direct"),
         dest=corpus_facts, near=("cpu-model[hyperv]",)),
    Case("cpu-model", "Hyper-V enlightenments all off", corpus("hyperv-off"), near=("cpu-model[hyperv]",)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
