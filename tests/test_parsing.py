"""The domain parser and the facts builders on real libvirt documents."""
import glob
import os

import pytest

from guard.cpuset import format_idset, parse_idset
from guard.domain import domain_from_element, parse_domain
from guard.errors import ConfigError, InputError
from guard.facts.build import (
    bios_from_sysinfo,
    domcaps_from_xml,
    facts_from_capabilities,
    network_from_xml,
    nodedev_from_xml,
)
from guard.units import libvirt_bytes, parse_duration, parse_size
from guard.xmlsafe import parse_xml
from helpers import DEBIAN12, corpus_domain_xml, corpus_file, corpus_tests, debian12_facts, read

DOMAIN_FOLDERS = ("qemuxmlconfdata", "qemuxmlactive2xmldata", "qemustatusxml2xmldata", "qemuhotplugtestdomains",
                  "qemumemlockdata")


def test_cpuset_syntax():
    assert parse_idset("0-3,^2,8") == {0, 1, 3, 8}
    assert parse_idset(" 0 , 2-3 ") == {0, 2, 3}
    assert parse_idset("0-7,^2-5") == {0, 1, 6, 7}
    assert format_idset({0, 1, 2, 5, 7, 8}) == "0-2,5,7-8"
    for bad in ("", "a", "3-1", "1,,2", "^", "0-99999999"):
        with pytest.raises(InputError):
            parse_idset(bad)


def test_units():
    assert libvirt_bytes("1", "KB") == 1000
    assert libvirt_bytes("1", "K") == 1024
    assert libvirt_bytes("2", None) == 2048
    assert libvirt_bytes("1", "TiB") == 1 << 40
    assert parse_size("1 TiB") == 1 << 40
    assert parse_size("1 TB") == 10 ** 12
    assert parse_size("512 GiB") == 512 << 30
    assert parse_duration("300ms") == pytest.approx(0.3)
    assert parse_duration("24h") == 86400


@pytest.mark.parametrize("text, seconds", [("1h30m", 5400), ("2d 12h", 216000), ("1m30s", 90), ("1.5h", 5400),
                                           ("10s500ms", 10.5)])
def test_compound_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1h30", "h", "", "1h-30m", "30 minutes", "1y"])
def test_what_is_not_a_duration_says_so(text):
    with pytest.raises(ConfigError, match="is not a duration"):
        parse_duration(text, "--for")


def test_decimal_units_keep_libvirts_meaning_and_config_check_notes_them(tmp_path, capsys):
    """"1 tb" is 10^12 bytes, as libvirt reads TB; `config check` says so, with the IEC spelling."""
    from guard.cli import main
    from guard.units import decimal_size_note
    assert parse_size("1 tb") == 10 ** 12
    assert decimal_size_note("1 TiB") is None and decimal_size_note("1073741824") is None
    config = tmp_path / "c.toml"
    config.write_text('[memory]\nlimit = "1 tb"\n[plan]\nmemory_reserve = "2 GiB"\n')
    assert main(["config", "check", "--config", str(config)]) == 0
    err = capsys.readouterr().err
    assert err == ("note: memory.limit = '1 tb' is 1000000000000 bytes (931.3 GiB): tb is decimal, as in libvirt; "
                   "write \"1 TiB\" for 2^40\n")


def test_every_corpus_domain_parses_or_fails_cleanly():
    parsed = failed = 0
    for folder in DOMAIN_FOLDERS:
        for path in sorted(glob.glob(os.path.join(corpus_tests(), folder, "*.xml"))):
            try:
                parse_domain(read(path), path)
                parsed += 1
            except InputError as exc:
                assert "\n" not in str(exc)
                failed += 1
    assert parsed > 900
    assert failed <= 5  # libvirt's own *-invalid inputs


def test_domain_fields_from_real_guests():
    d = parse_domain(corpus_domain_xml("numatune-memnode"))
    assert [(b.what, sorted(b.nodes), b.mode) for b in d.node_bindings] == [
        ("numatune memory", [0, 1, 2, 3], "strict"), ("numatune memnode 0", [3], "preferred"),
        ("numatune memnode 2", [0, 2], "strict")]
    d = parse_domain(corpus_domain_xml("cputune-numatune"))
    assert d.node_bindings == ()  # placement='auto': numad picks nodes at start, nothing is pinned
    assert [(p.what, sorted(p.cpus)) for p in d.pins] == [("emulatorpin", [1, 2, 3]), ("iothreadpin 1", [2])]
    d = parse_domain(corpus_domain_xml("net-virtio-teaming"))
    assert [(i.type, i.teaming) for i in d.interfaces] == [("user", "persistent")] * 2 + [("hostdev", "transient")] * 2
    d = parse_domain(corpus_domain_xml("firmware-manual-efi-secboot"))
    assert d.firmware.loader_secure is True
    assert d.firmware.nvram_template == "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd"
    d = parse_domain(corpus_domain_xml("launch-security-sev-direct"))
    assert d.launch_security == "sev"
    d = parse_domain(corpus_domain_xml("cpu-numa-no-memory-element"))
    assert d.memory_bytes == sum(c.memory_bytes for c in d.cells) > 0


def test_dropping_blank_text_changes_no_parsed_domain():
    # parse_domain drops whitespace-only text as it parses (a third of the nodes); the domain
    # read with every text node kept must be the same record, for every corpus guest.
    compared = 0
    for folder in DOMAIN_FOLDERS:
        for path in sorted(glob.glob(os.path.join(corpus_tests(), folder, "*.xml"))):
            data = read(path)
            try:
                kept = domain_from_element(parse_xml(data))
            except InputError:
                continue
            assert parse_domain(data) == kept, path
            compared += 1
    assert compared > 900


def test_records_built_positionally_equal_records_built_by_name():
    from guard.core import Inputs
    from guard.domain import Domain, Firmware, Pin

    assert Inputs(1, 2, 3, 4) == Inputs(domain=1, dest=2, config=3, now=4)
    assert Inputs(1, 2, 3, 4).probe is None and Inputs(1, 2, 3, 4, "why").facts_problem == "why"
    with pytest.raises(TypeError):
        Inputs(1, 2)
    assert Pin.from_tuple(("vcpupin 0", "1-2", None)) == Pin(what="vcpupin 0", cpuset="1-2", cpus=None)
    firmware = Firmware(*range(7))
    assert Firmware.from_tuple(tuple(range(7))) == firmware and type(firmware) is Firmware
    guest = parse_domain(corpus_domain_xml("firmware-manual-efi-secboot"))
    assert Domain(**guest._asdict()) == guest


def test_status_wrapper_is_accepted():
    path = sorted(glob.glob(os.path.join(corpus_tests(), "qemustatusxml2xmldata", "*.xml")))[0]
    assert read(path).lstrip().startswith(b"<domstatus")
    assert parse_domain(read(path)).name


@pytest.mark.parametrize("bad, fragment", [
    (b"", "empty"), (b"<domain>", "not well-formed"), (b"<network/>", "expected a <domain>"),
    (b"<domain type='kvm'><memory>1</memory></domain>", "no <name>"),
    (b"<domain><name>x</name><memory unit='parsec'>1</memory></domain>", "unknown unit"),
    (b"<domain><name>x</name><memory>1</memory><vcpu cpuset='z'>1</vcpu></domain>", "cpu/node list"),
])
def test_malformed_domains_give_one_line_errors(bad, fragment):
    with pytest.raises(InputError) as info:
        parse_domain(bad)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_capabilities_of_every_corpus_host_parse():
    for folder in ("capabilityschemadata", "vircaps2xmldata", "qemucaps2xmloutdata"):
        for path in glob.glob(corpus_file(folder, "*.xml")):
            facts_from_capabilities(read(path), path)
    facts = facts_from_capabilities(read(corpus_file("vircaps2xmldata", "vircaps-x86_64-basic.xml")))
    assert [c.id for c in facts.cells] == [0, 1, 2, 3]
    assert facts.cells[1].cpus == (4, 5, 6, 7)
    assert facts.cells[0].pages_of(2 << 20) == 4096


def test_capabilities_host_cpu_and_machines():
    facts = facts_from_capabilities(read(corpus_file("capabilityschemadata", "caps-qemu-kvm.xml")))
    assert (facts.cpu.model, facts.cpu.vendor, facts.cpu.microcode) == ("Haswell-noTSX", "Intel", "45")
    assert facts.cpu_ids() == set(range(16))
    x86 = facts.guest_support("x86_64", "kvm")[0]
    assert {"pc", "pc-0.11"} <= x86.machine_names()
    debian = debian12_facts()
    assert debian.cpu.signature == "6/207/2"
    assert "pc-i440fx-7.2" in debian.guest_support("x86_64", "qemu")[0].machine_names()


def test_domcapabilities_every_corpus_document():
    for path in glob.glob(corpus_file("domaincapsdata", "*.xml")):
        caps = domcaps_from_xml(read(path), path)
        assert caps.virt_type in ("kvm", "qemu", "hvf")
    tcg = domcaps_from_xml(read(corpus_file("domaincapsdata", "qemu_9.2.0-tcg.x86_64.xml")))
    assert tcg.mode_supported("host-passthrough") is False
    haswell = tcg.cpu_model("Haswell")
    assert haswell.usable == "no" and "rtm" in haswell.blockers
    assert tcg.firmware == ("bios", "efi")
    sev = domcaps_from_xml(read(corpus_file("domaincapsdata", "qemu_9.2.0-q35.x86_64+amdsev.xml")))
    assert sev.sev and "sev-snp" in sev.launch_security
    # libvirt 9.0 lists usable='no' without blockers, and Debian 12 has no firmware descriptors.
    old = domcaps_from_xml(read(os.path.join(DEBIAN12, "domcapabilities-qemu-pc.xml")))
    assert old.cpu_model("Haswell").usable == "no" and old.cpu_model("Haswell").blockers is None
    assert old.firmware == ()


def test_sysinfo_networks_nodedevs():
    bios = bios_from_sysinfo(read(corpus_file("sysinfodata", "x86sysinfo.expect")))
    assert (bios.vendor, bios.version, bios.date) == ("LENOVO", "6DET62WW (3.12 )", "01/12/2010")
    for path in glob.glob(corpus_file("sysinfodata", "*.expect")):
        bios_from_sysinfo(read(path), path)
    assert network_from_xml(read(corpus_file("networkxml2xmlin", "hostdev.xml"))).forward_mode == "hostdev"
    assert network_from_xml(read(corpus_file("networkxml2xmlin", "isolated-network.xml"))).forward_mode is None
    for path in glob.glob(corpus_file("networkxml2xmlin", "*.xml")):
        network_from_xml(read(path), path)
    mdevs = nodedev_from_xml(read(corpus_file("nodedevschemadata", "mdev_d069d019_36ea_4111_8f0a_8c9a70e21366.xml")))
    assert mdevs[0].uuid == "d069d019-36ea-4111-8f0a-8c9a70e21366" and mdevs[0].type == "i915-GVTg_V5_8"
    assert nodedev_from_xml(read(corpus_file("nodedevschemadata", "pci_0000_02_10_7_mdev_types.xml"))) == ()
    for path in glob.glob(corpus_file("nodedevschemadata", "*.xml")):
        nodedev_from_xml(read(path), path)
