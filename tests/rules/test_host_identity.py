"""host-cpu, microcode, bios, qemu-version, kernel-version: passing and failing fixtures."""
import pytest
from support.helpers import corpus_facts, debian12_facts, minimal_guest
from support.rulecase import Case, minimal, run_case, same_source, source_with, with_local

PASSTHROUGH_CPU = "<cpu mode='host-passthrough'/>"
LOCAL = with_local(debian12_facts)
SETTINGS = ("bios[smt]", "bios[boot-mode]", "bios[nested]", "bios[vulnerabilities]", "bios[kernel-cmdline]",
            "bios[vulnerability-notes]")

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
    # Vulnerabilities, per file both hosts list (issue 22: rolling kernel updates).
    Case("bios", "destination vulnerable where the source mitigates", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         dest=with_local(debian12_facts, vulnerabilities=(("meltdown", "Not affected"), ("spectre_v2", "Vulnerable"))),
         source=same_source(LOCAL), expect="bios[vulnerabilities]",
         message_has=("spectre_v2: source 'Mitigation: Enhanced IBRS', destination 'Vulnerable'",)),
    Case("bios", "named-model guest, destination vulnerable: warn", minimal(virt_type="kvm"),
         dest=with_local(debian12_facts, vulnerabilities=(("meltdown", "Not affected"), ("spectre_v2", "Vulnerable"))),
         source=same_source(LOCAL), expect="bios[vulnerabilities]", action="warn"),
    Case("bios", "newer kernel lists more files, each Not affected: a note (5.14.0-503 -> 570)",
         minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         dest=with_local(debian12_facts, vulnerabilities=(
             ("meltdown", "Not affected"), ("spectre_v2", "Mitigation: Enhanced IBRS"), ("gather_data_sampling",
                                                                                          "Not affected"),
             ("reg_file_data_sampling", "Not affected"))),
         source=same_source(LOCAL), expect="bios[vulnerability-notes]", action="info",
         near=("bios[vulnerabilities]",), message_has=("only the destination lists gather_data_sampling",)),
    Case("bios", "destination stronger than the source: a note", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         dest=LOCAL,
         source=source_with(LOCAL, vulnerabilities=(("meltdown", "Not affected"), ("spectre_v2", "Vulnerable"))),
         expect="bios[vulnerability-notes]", action="info", near=("bios[vulnerabilities]",)),
    Case("bios", "mitigations=off on the source", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL,
         source=source_with(LOCAL, cpu_cmdline=("mitigations=off",)), expect="bios[kernel-cmdline]"),
    Case("bios", "same settings", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU), dest=LOCAL, source=same_source(LOCAL),
         near=SETTINGS),
    Case("bios", "settings unknown on the destination are not compared", minimal(virt_type="kvm", cpu=PASSTHROUGH_CPU),
         dest=corpus_facts, source=source_with(corpus_facts, smt="off"), near=SETTINGS),
    Case("qemu-version", "destination QEMU older", minimal(), source=source_with(debian12_facts, qemu_version="8.2.0"),
         expect="qemu-version[older]", message_has=("7.2.22", "8.2.0")),
    Case("qemu-version", "destination QEMU newer: supported, a note", minimal(),
         source=source_with(debian12_facts, qemu_version="7.2.0"), expect="qemu-version[newer]", action="info",
         near=("qemu-version[older]",)),
    Case("qemu-version", "same QEMU", minimal(), source=same_source(debian12_facts),
         near=("qemu-version[older]", "qemu-version[newer]")),
    Case("kernel-version", "destination kernel older", minimal(virt_type="kvm"),
         source=source_with(debian12_facts, kernel_release="6.1.0-41-amd64"), expect="kernel-version[older]"),
    Case("kernel-version", "RHEL release ordering", minimal(virt_type="kvm"), dest=corpus_facts,
         source=source_with(corpus_facts, kernel_release="5.14.0-70.13.1.el9_0.x86_64"),
         expect="kernel-version[newer]", action="info", near=("kernel-version[older]",)),
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


RHEL_503 = (("meltdown", "Not affected"), ("spectre_v2", "Mitigation: Enhanced / Automatic IBRS"),
            ("mds", "Not affected"))
RHEL_570 = RHEL_503 + (("gather_data_sampling", "Not affected"), ("reg_file_data_sampling", "Not affected"))


def test_rolling_kernel_update_moves_a_host_passthrough_guest_and_refuses_a_weaker_destination():
    """Issue 22's rollout: identical hosts but the kernel, 5.14.0-503 to 5.14.0-570, whose
    newer kernel lists more vulnerability files, each "Not affected"."""
    from support.helpers import decide, source_like
    xml = minimal_guest(virt_type="kvm", cpu=PASSTHROUGH_CPU)
    source = source_like(with_local(debian12_facts, vulnerabilities=RHEL_503)(),
                         kernel_release="5.14.0-503.11.1.el9_5.x86_64")
    dest = with_local(debian12_facts, vulnerabilities=RHEL_570)()._replace(
        kernel_release="5.14.0-570.12.1.el9_6.x86_64")
    moved = decide(xml, dest, source)
    assert moved.decision == "allow", [(f.code, f.message) for f in moved.denies]
    assert {f.code: f.action for f in moved.findings if f.rule in ("kernel-version", "bios")} == {
        "kernel-version[newer]": "info", "bios[vulnerability-notes]": "info"}
    weaker = dest._replace(local=dest.local._replace(vulnerabilities=tuple(
        (name, "Vulnerable" if name == "spectre_v2" else state) for name, state in RHEL_570)))
    refused = decide(xml, weaker, source)
    assert refused.decision == "deny" and [f.code for f in refused.denies] == ["bios[vulnerabilities]"]
