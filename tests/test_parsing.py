"""The domain parser and the facts builders on real libvirt documents."""
import glob
import os

import pytest
from support.helpers import DEBIAN12, corpus_domain_xml, corpus_file, corpus_tests, debian12_facts, minimal_guest, read

from guard.errors import ConfigError, InputError
from guard.facts.build import (
    bios_from_sysinfo,
    domcaps_from_xml,
    facts_from_capabilities,
    network_from_xml,
    nodedev_from_xml,
)
from guard.guest.cpuset import format_idset, parse_idset
from guard.guest.domain import domain_from_element, parse_domain
from guard.units import libvirt_bytes, parse_duration, parse_size
from guard.xmlsafe import parse_xml

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


# Corpus guests that between them give every field the parser fills positionally a value
# other than its default, so that a value built into the wrong position shows; the metadata
# fields get theirs from metadata_guests().
POSITIONAL_GUESTS = ("hugepages-memaccess", "q35-pcie-autoadd", "channel-qemu-vdagent-features",
                     "disk-hostdev-scsi-address-conflict", "firmware-auto-efi-enrolled-keys-no-secboot", "hyperv-off",
                     "launch-security-sev-direct", "firmware-manual-efi-secboot", "firmware-manual-efi-nvram-file",
                     "seclabel-dynamic-override", "seclabel-dac-none")


def metadata_guests():
    """A guest with a fingerprint, an exemption and a waiver in its <metadata>, and one whose
    fingerprint is unusable (fingerprint_problem)."""
    from guard.facts.fingerprint import fingerprint_of
    from guard.guest.metadata import stamp_xml
    from guard.guest.waiver import WAIVER_XMLNS, Waiver, waivers_xml
    holder = waivers_xml([Waiver(("cpu-model",), 2000, 1000, "alice", "CHG1")])
    holder = holder.replace("<waivers>", "<w:waivers xmlns:w='%s'>" % WAIVER_XMLNS, 1).replace("</waivers>", "</w:waivers>")
    exemption = "<mg:guard xmlns:mg='https://migration-guard.dev/xmlns/1'><exemption rules='sriov' reason='why'/>%s</mg:guard>"
    stamped = stamp_xml(minimal_guest(name="stamped", metadata="<metadata>%s%s</metadata>" % (exemption % "", holder)),
                        fingerprint_of(debian12_facts()))
    unusable = minimal_guest(name="unusable", metadata="<metadata>%s</metadata>" % (exemption % "<fingerprint>7</fingerprint>"))
    return {"stamped": stamped, "unusable": unusable}


def independently(root):
    """{field: what the XML says}, read with lxml alone, for the Domain fields that are plain
    values, and for the Firmware's."""
    os_type, loader, nvram = root.find("os/type"), root.find("os/loader"), root.find("os/nvram")
    memory = root.find("memory")
    nvram_source = nvram.find("source") if nvram is not None else None
    vcpu, pins = root.find("vcpu"), []
    if vcpu is not None and vcpu.get("cpuset") and vcpu.get("placement") != "auto":
        pins.append(("vcpu cpuset", vcpu.get("cpuset")))
    for pin in root.findall("cputune/*[@cpuset]"):
        what = {"vcpupin": "vcpupin " + str(pin.get("vcpu")), "iothreadpin": "iothreadpin " + str(pin.get("iothread")),
                "emulatorpin": "emulatorpin"}.get(pin.tag)
        if what:
            pins.append((what, pin.get("cpuset")))
    return {
        "pins": tuple((what, cpuset, parse_idset(cpuset)) for what, cpuset in pins),
        "name": root.findtext("name").strip(),
        "uuid": root.findtext("uuid").strip(),
        "virt_type": root.get("type"),
        "arch": os_type.get("arch"),
        "machine": os_type.get("machine"),
        "os_type": os_type.text.strip(),
        "emulator": root.findtext("devices/emulator").strip(),
        "memory_bytes": libvirt_bytes(memory.text.strip(), memory.get("unit"), "KiB"),
        "launch_security": root.find("launchSecurity").get("type") if root.find("launchSecurity") is not None else None,
        "fingerprint_check": None,  # the parser leaves it to guard.guest.metadata.verify_domain
        "security_models": tuple(dict.fromkeys(
            [(s.get("model"), "<seclabel type='%s'>" % s.get("type", "dynamic")) for s in root.findall("seclabel")
             if s.get("model") not in (None, "none")]
            + [(s.get("model"), "<%s><source><seclabel>" % s.getparent().getparent().tag)
               for tag in ("disk", "serial", "parallel", "console", "channel")
               for s in root.findall("devices/%s/source/seclabel" % tag) if s.get("model") not in (None, "none")])),
        "unconfined": tuple(dict.fromkeys(s.get("model") or "" for s in root.findall("seclabel")
                                          if s.get("type") == "none" and s.get("model") != "none")),
        "firmware.firmware": root.find("os").get("firmware"),
        "firmware.loader_path": (loader.text or "").strip() or None if loader is not None else None,
        "firmware.loader_type": loader.get("type") if loader is not None else None,
        "firmware.loader_secure": {None: None, "yes": True, "no": False}[loader.get("secure")] if loader is not None
        else None,
        "firmware.nvram_template": nvram.get("template") if nvram is not None else None,
        "firmware.nvram_path": ((nvram.text or "").strip() or (nvram_source.get("file") if nvram_source is not None
                                                                else None)) if nvram is not None else None,
        "firmware.features": tuple((f.get("name"), f.get("enabled") == "yes") for f in root.findall("os/firmware/feature")),
    }


def test_records_built_positionally_put_each_value_in_its_field():
    """parse_domain builds Domain by name and Firmware, Interface and StoragePath with
    from_tuple (every field, in order, and no check): a value one position off would land in
    another field. Each field is compared with the
    XML read independently, or, for a field holding records, checked to hold records of its
    own type; the guests give every field a value other than its default."""
    from guard.facts.fingerprint import Fingerprint, fingerprint_of
    from guard.guest.metadata import Exemption
    from guard.guest.model import (
        CpuFeature,
        Domain,
        Firmware,
        GuestCell,
        GuestCpu,
        HostBacked,
        HostDev,
        HostResource,
        HugePage,
        Interface,
        Listen,
        MemoryDevice,
        NodeBinding,
        Pin,
        Platform,
        StoragePath,
    )
    from guard.guest.waiver import Waiver

    holds = {"pins": Pin, "node_bindings": NodeBinding, "hugepages": HugePage, "cells": GuestCell, "hostdevs": HostDev,
             "interfaces": Interface, "exemptions": Exemption, "memory_devices": MemoryDevice, "backed": HostBacked,
             "storage": StoragePath, "listens": Listen, "resources": HostResource, "waivers": Waiver}
    is_a = {"cpu": GuestCpu, "firmware": Firmware, "platform": Platform, "fingerprint": Fingerprint,
            "fingerprint_problem": str, "hyperv": tuple, "device_values": tuple}
    documents = {name: corpus_domain_xml(name) for name in POSITIONAL_GUESTS}
    documents.update(metadata_guests())
    not_default, firmware_not_default = set(), set()
    assert set(Domain._fields) == set(independently(parse_xml(documents["stamped"]))) - {
        "firmware." + f for f in Firmware._fields} | set(holds) | set(is_a), "a field nobody checks"
    for name, xml in documents.items():
        guest = parse_domain(xml)
        assert type(guest) is Domain and len(guest) == len(Domain._fields), name
        assert len(guest.firmware) == len(Firmware._fields), name
        expected = independently(parse_xml(xml, name, drop_blanks=True))
        for field in Domain._fields:
            value = getattr(guest, field)
            if value != Domain._field_defaults.get(field, None):
                not_default.add(field)
            if field in expected:
                assert value == expected[field], (name, field, value)
            if field in holds:
                assert isinstance(value, tuple) and all(type(v) is holds[field] for v in value), (name, field, value)
            elif field in is_a and value is not None:
                assert isinstance(value, is_a[field]), (name, field, value)
        for field in Firmware._fields:
            assert getattr(guest.firmware, field) == expected["firmware." + field], (name, field)
            if getattr(guest.firmware, field) != Firmware._field_defaults[field]:
                firmware_not_default.add(field)
        assert all(type(f) is CpuFeature for f in (guest.cpu.features if guest.cpu else ())), name
        assert all(len(v) == 3 and all(isinstance(part, str) for part in v) for v in guest.device_values), name
    # Every field held something other than its default in some guest, so a swap could not
    # hide (os_type's default "hvm", what every guest here has, is no other field's value; the
    # parser leaves fingerprint_check None).
    assert not_default == set(Domain._fields) - {"fingerprint_check", "os_type"}
    assert firmware_not_default == set(Firmware._fields)
    assert parse_domain(documents["stamped"]).fingerprint == fingerprint_of(debian12_facts())
    # A record built with the wrong number of positional values is refused, not padded or cut.
    guest = parse_domain(documents["hugepages-memaccess"])
    with pytest.raises(TypeError):
        Domain(*guest, None)
    with pytest.raises(TypeError):
        Domain._make(tuple(guest)[:-1])
    with pytest.raises(TypeError):
        Firmware(*range(8))
    with pytest.raises(TypeError):
        Pin("vcpupin 0", "1-2")


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
