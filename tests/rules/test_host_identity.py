"""host-cpu, microcode, bios, qemu-version, kernel-version: passing and failing fixtures."""
import pytest

from helpers import corpus_facts, debian12_facts
from rulecase import Case, minimal, run_case, same_source, source_with, with_local

PASSTHROUGH_CPU = "<cpu mode='host-passthrough'/>"
LOCAL = with_local(debian12_facts)
SETTINGS = ("bios[smt]", "bios[boot-mode]", "bios[nested]", "bios[vulnerabilities]", "bios[kernel-cmdline]")

CASES = [
    Case("host-cpu", "passthrough guest, different host CPU model", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         source=source_with(debian12_facts, cpu_model="Skylake-Server"), expect="host-cpu[model]"),
    Case("host-cpu", "named-model guest, different host CPU: warn", minimal(virt_type="kvm"),
         source=source_with(debian12_facts, cpu_model="Skylake-Server"), expect="host-cpu[model]", action="warn"),
    Case("host-cpu", "passthrough guest from an AMD host", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         source=source_with(debian12_facts, cpu_vendor="AMD"), expect="host-cpu[vendor]"),
    Case("host-cpu", "passthrough guest, other CPU stepping", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         source=source_with(debian12_facts, cpu_signature="6/207/1"), expect="host-cpu[signature]"),
    Case("host-cpu", "passthrough guest, destination lacks amx-tile", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         source=lambda: source_with(debian12_facts,
                                    cpu_features=debian12_facts().cpu.features + ("amx-tile",))(),
         expect="host-cpu[features]", message_has=("amx-tile",)),
    Case("host-cpu", "identical hosts", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), source=same_source(debian12_facts),
         near=("host-cpu[vendor]", "host-cpu[model]", "host-cpu[signature]", "host-cpu[features]")),
    Case("microcode", "passthrough guest, different microcode", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         source=source_with(debian12_facts, microcode="0x2b000603"), expect="microcode", message_has=("0x2b000603",)),
    Case("microcode", "same microcode", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), source=same_source(debian12_facts),
         near=("microcode",)),
    Case("bios", "different BIOS version", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=corpus_facts,
         source=source_with(corpus_facts, bios_version="6DET70WW (3.20 )"), expect="bios[version]"),
    Case("bios", "different BIOS vendor", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=corpus_facts,
         source=source_with(corpus_facts, bios_vendor="Dell Inc."), expect="bios[vendor]"),
    Case("bios", "different BIOS date", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=corpus_facts,
         source=source_with(corpus_facts, bios_date="02/02/2022"), expect="bios[date]"),
    Case("bios", "same BIOS", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=corpus_facts, source=same_source(corpus_facts),
         near=("bios[vendor]", "bios[version]", "bios[date]")),
    Case("bios", "SMT off on the source", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL,
         source=source_with(LOCAL, smt="off"), expect="bios[smt]"),
    Case("bios", "legacy boot on the source", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL,
         source=source_with(LOCAL, boot_mode="legacy"), expect="bios[boot-mode]"),
    Case("bios", "nested virtualization on the source", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL,
         source=source_with(LOCAL, nested=True), expect="bios[nested]"),
    Case("bios", "other mitigation state", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL,
         source=source_with(LOCAL, vulnerabilities=(("meltdown", "Not affected"), ("spectre_v2", "Vulnerable"))),
         expect="bios[vulnerabilities]", message_has=("spectre_v2",)),
    Case("bios", "mitigations=off on the source", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL,
         source=source_with(LOCAL, cpu_cmdline=("mitigations=off",)), expect="bios[kernel-cmdline]"),
    Case("bios", "same settings", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL, source=same_source(LOCAL),
         near=SETTINGS),
    Case("bios", "settings unknown on the destination are not compared", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         dest=corpus_facts, source=source_with(corpus_facts, smt="off"), near=SETTINGS),
    Case("qemu-version", "destination QEMU older", minimal(), source=source_with(debian12_facts, qemu_version="8.2.0"),
         expect="qemu-version[older]", message_has=("7.2.22", "8.2.0")),
    Case("qemu-version", "destination QEMU newer: warn", minimal(),
         source=source_with(debian12_facts, qemu_version="7.2.0"), expect="qemu-version[newer]", action="warn"),
    Case("qemu-version", "same QEMU", minimal(), source=same_source(debian12_facts),
         near=("qemu-version[older]", "qemu-version[newer]")),
    Case("kernel-version", "destination kernel older", minimal(virt_type="kvm"),
         source=source_with(debian12_facts, kernel_release="6.1.0-41-amd64"), expect="kernel-version[older]"),
    Case("kernel-version", "RHEL release ordering", minimal(virt_type="kvm"), dest=corpus_facts,
         source=source_with(corpus_facts, kernel_release="5.14.0-70.13.1.el9_0.x86_64"),
         expect="kernel-version[newer]", action="warn"),
    Case("kernel-version", "same kernel", minimal(virt_type="kvm"), source=same_source(debian12_facts),
         near=("kernel-version[older]", "kernel-version[newer]")),
    # TCG: QEMU's emulated CPU, not the host's, is what the guest sees.
    Case("host-cpu", "TCG guest between hosts with different CPUs (minimal XML)", minimal(),
         source=source_with(debian12_facts, cpu_model="Skylake-Server", cpu_vendor="AMD"),
         near=("host-cpu[vendor]", "host-cpu[model]")),
    Case("microcode", "TCG guest, different microcode (minimal XML)", minimal(),
         source=source_with(debian12_facts, microcode="0x2b000603"), near=("microcode",)),
    Case("bios", "TCG guest, different BIOS and settings (minimal XML)", minimal(), dest=LOCAL,
         source=source_with(LOCAL, smt="off", bios_version="X"), near=SETTINGS + ("bios[version]",)),
    Case("kernel-version", "TCG guest, older destination kernel (minimal XML)", minimal(),
         source=source_with(debian12_facts, kernel_release="6.1.0-41-amd64"), near=("kernel-version[older]",)),
    Case("qemu-version", "TCG guest, older destination QEMU still denied (minimal XML)", minimal(),
         source=source_with(debian12_facts, qemu_version="8.2.0"), expect="qemu-version[older]"),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
