"""emulator, machine-type, firmware, confidential-computing: passing and failing fixtures."""
import pytest
from support.helpers import corpus_facts, debian12_facts, minimal_guest
from support.rulecase import Case, corpus, minimal, run_case, with_local

from guard.facts.model import LocalFacts, Probe

LOADER = "<loader readonly='yes' type='pflash'>%s</loader>"
# The corpus has SEV guests only; SEV-SNP, s390-pv and TDX are minimal XML after libvirt's docs.
SNP = "\n  <launchSecurity type='sev-snp'><policy>0x00030000</policy></launchSecurity>"

def no_secmodels(**local):
    """The Debian 12 host as facts from a collector before the capabilities' <secmodel> list."""
    return lambda: debian12_facts()._replace(security_models=None, local=LocalFacts(**local))


def with_confinement(required):
    """The Debian 12 host, its qemu.conf's security_require_confined as given (None: not read)."""
    return lambda: debian12_facts()._replace(local=LocalFacts(security_require_confined=required))


CASES = [
    Case("emulator", "RHEL's /usr/libexec/qemu-kvm on a Debian host", lambda: minimal_guest().replace(
        "/usr/bin/qemu-system-x86_64", "/usr/libexec/qemu-kvm"), expect="emulator[binary]",
        kwargs={"probe": Probe(paths={"/usr/libexec/qemu-kvm": False})}),
    Case("emulator", "an emulator outside capabilities that exists there is fine (issue 14)",
         lambda: minimal_guest().replace("/usr/bin/qemu-system-x86_64", "/opt/qemu/bin/qemu-system-x86_64"),
         near=("emulator[binary]",), kwargs={"probe": Probe(paths={"/opt/qemu/bin/qemu-system-x86_64": True})}),
    Case("emulator", "listed emulator gone from the disk at decision time (minimal XML)", minimal(),
         expect="emulator[binary]", kwargs={"probe": Probe(paths={"/usr/bin/qemu-system-x86_64": False})}),
    Case("emulator", "a Xen PV guest, <os><type>linux (minimal XML)",
         lambda: minimal_guest().replace(">hvm<", ">linux<"), expect="emulator[os-type]"),
    Case("emulator", "<type> without arch means the host's arch (minimal XML)",
         lambda: minimal_guest().replace("arch='x86_64' ", ""), near=("emulator[domain-type]", "emulator[os-type]",
                                                                     "emulator[binary]")),
    Case("emulator", "domain type the host does not offer", lambda: minimal_guest().replace(
        "type='qemu'", "type='xen'", 1), expect="emulator[domain-type]"),
    Case("emulator", "ordinary guest", minimal(), near=("emulator[binary]", "emulator[domain-type]", "emulator[os-type]")),
    Case("machine-type", "RHEL machine type on a Debian QEMU", minimal(machine="pc-q35-rhel9.4.0"),
         expect="machine-type", message_has=("pc-q35-rhel9.4.0",)),
    Case("machine-type", "machine the corpus QEMU 2.x lacks", corpus("x86_64-q35-minimal"), dest=corpus_facts,
         expect="machine-type"),
    Case("machine-type", "alias pc", corpus("x86_64-pc-minimal"), near=("machine-type",)),
    Case("machine-type", "versioned machine", minimal(machine="pc-i440fx-7.2"), near=("machine-type",)),
    Case("firmware", "efi on a host without firmware descriptors", corpus("firmware-auto-efi-enrolled-keys-no-secboot"),
         expect="firmware[type]"),
    Case("firmware", "even bios on a host with an empty firmware list", minimal(os_attrs=" firmware='bios'"),
         expect="firmware[type]"),
    Case("firmware", "secure boot where the host has no secure firmware", minimal(
        machine="q35", os_attrs=" firmware='efi'",
        os_extra="<firmware><feature enabled='yes' name='secure-boot'/></firmware>"),
        dest=corpus_facts, expect="firmware[secure-boot]"),
    Case("firmware", "efi where the host offers it", minimal(machine="q35", os_attrs=" firmware='efi'"),
         dest=corpus_facts, near=("firmware[type]", "firmware[secure-boot]")),
    Case("firmware", "explicit loader the destination lacks (minimal XML)",
         minimal(os_extra=LOADER % "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"), dest=with_local(debian12_facts),
         expect="firmware[file]", message_has=("OVMF_CODE_4M.ms.fd",),
         kwargs={"probe": Probe(paths={"/usr/share/OVMF/OVMF_CODE_4M.ms.fd": False})}),
    Case("firmware", "loader outside the firmware globs that exists there (issue 14)",
         corpus("firmware-manual-efi-loader-path-nonstandard"), dest=corpus_facts, near=("firmware[file]",),
         kwargs={"probe": Probe(paths={"/path/to/OVMF_CODE.fd": True, "/path/to/OVMF_VARS.fd": True})}),
    Case("firmware", "nonstandard NVRAM template the destination lacks",
         corpus("firmware-manual-efi-nvram-template-nonstandard"), dest=corpus_facts, expect="firmware[file]",
         message_has=("/path/to/OVMF_VARS.fd",),
         kwargs={"probe": Probe(paths={"/usr/share/edk2/ovmf/OVMF_CODE.fd": True, "/path/to/OVMF_VARS.fd": False})}),
    Case("firmware", "explicit loader the destination has (minimal XML)",
         minimal(os_extra=LOADER % "/usr/share/OVMF/OVMF_CODE.fd"), dest=with_local(debian12_facts),
         near=("firmware[file]",)),
    Case("confidential-computing", "SEV guest", corpus("launch-security-sev-direct"),
         expect="confidential-computing[sev]"),
    Case("confidential-computing", "SEV-SNP guest", minimal(top=SNP), expect="confidential-computing[sev-snp]"),
    Case("confidential-computing", "s390 protected virtualization",
         minimal(top="\n  <launchSecurity type='s390-pv'/>"), expect="confidential-computing[s390-pv]"),
    Case("confidential-computing", "TDX guest", minimal(top="\n  <launchSecurity type='tdx'><policy>0x10000000</policy>"
                                                            "</launchSecurity>"), expect="confidential-computing[tdx]"),
    Case("confidential-computing", "a launchSecurity type this guard does not know (minimal XML)",
         minimal(top="\n  <launchSecurity type='cca'/>"), expect="confidential-computing[unknown]",
         message_has=("cca",)),
    Case("confidential-computing", "ordinary guest", corpus("x86_64-q35-headless"),
         near=("confidential-computing[sev]", "confidential-computing[sev-snp]", "confidential-computing[s390-pv]",
               "confidential-computing[tdx]", "confidential-computing[unknown]")),
    # Security drivers: the real Debian 12 capture stacks none and dac, the corpus host selinux and dac.
    Case("security-driver", "an SELinux guest to a host without SELinux (corpus seclabel-dynamic, Debian 12)",
         corpus("seclabel-dynamic"), expect="security-driver[model]",
         message_has=("no selinux security driver", "its capabilities list dac, none")),
    Case("security-driver", "the same to an SELinux host (corpus seclabel-dynamic, corpus host)",
         corpus("seclabel-dynamic"), dest=corpus_facts, near=("security-driver[model]",)),
    Case("security-driver", "an SELinux label on a disk source (corpus seclabel-dynamic-override, Debian 12)",
         corpus("seclabel-dynamic-override"), expect="security-driver[model]",
         message_has=("<disk><source><seclabel> model='selinux'",)),
    Case("security-driver", "DAC labels on character devices, a host with DAC (corpus chardev-label, Debian 12)",
         corpus("chardev-label"), near=("security-driver[model]",)),
    Case("security-driver", "model 'none' always passes (corpus seclabel-dynamic-none, Debian 12)",
         corpus("seclabel-dynamic-none"), near=("security-driver[model]",)),
    Case("security-driver", "a seclabel without a model takes the host's (corpus seclabel-dynamic-relabel, Debian 12)",
         corpus("seclabel-dynamic-relabel"), near=("security-driver[model]",)),
    Case("security-driver", "qemu.conf security_driver = \"none\" leaves DAC, facts without capabilities' list "
         "(corpus seclabel-multiple)", corpus("seclabel-multiple"), dest=no_secmodels(security_driver=("none",)),
         expect="security-driver[model]", message_has=("its qemu.conf gives dac, none",)),
    Case("security-driver", "qemu.conf security_driver = \"selinux\", facts without capabilities' list "
         "(corpus seclabel-multiple)", corpus("seclabel-multiple"), dest=no_secmodels(security_driver=("selinux",)),
         near=("security-driver[model]",)),
    # security_require_confined: the Debian 12 host with the qemu.conf setting added.
    Case("security-driver", "an unconfined guest to a host that requires confined guests (corpus seclabel-none)",
         corpus("seclabel-none"), dest=with_confinement(True), expect="security-driver[unconfined]",
         message_has=("<seclabel type='none'>", "security_require_confined")),
    Case("security-driver", "DAC off for the guest, the same host (corpus seclabel-dac-none)",
         corpus("seclabel-dac-none"), dest=with_confinement(True), expect="security-driver[unconfined]",
         message_has=("model='dac'",)),
    Case("security-driver", "an unconfined guest to a host that allows them (corpus seclabel-none)",
         corpus("seclabel-none"), dest=with_confinement(False), near=("security-driver[unconfined]",)),
    Case("security-driver", "a confined guest to a host that requires it (corpus seclabel-dynamic-relabel)",
         corpus("seclabel-dynamic-relabel"), dest=with_confinement(True), near=("security-driver[unconfined]",)),
    Case("security-driver", "qemu.conf not read: no refusal on a guess (corpus seclabel-none)",
         corpus("seclabel-none"), dest=with_confinement(None), near=("security-driver[unconfined]",)),
    Case("unverifiable", "qemu.conf not read: said so (corpus seclabel-none)", corpus("seclabel-none"),
         dest=with_confinement(None), expect="unverifiable[security-driver]", action="warn",
         message_has=("security_require_confined",)),

]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
