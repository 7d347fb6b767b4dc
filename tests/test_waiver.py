"""Waivers (guard.guest.waiver, `migration-guard waive`): one guest, some codes, signed with the
fleet key, honoured by any destination's hook only when they verify and are in force."""
import pytest
from support.helpers import NOW, debian12_facts, decide, minimal_guest

from guard.config import parse_config
from guard.guest.domain import parse_domain
from guard.guest.waiver import WAIVER_XMLNS, Waiver, sign, waivers_xml
from guard.services.incoming import authenticated

UUID = "8f99e332-06c4-463a-9099-330fb244e1b3"  # minimal_guest's
KEY, OTHER = b"k" * 32, b"o" * 32


def guest_with(*waivers, memory="64 MiB"):
    holder = waivers_xml(waivers).replace("<waivers>", "<mgwaiver:waivers xmlns:mgwaiver='%s'>" % WAIVER_XMLNS, 1)
    holder = holder.replace("</waivers>", "</mgwaiver:waivers>")
    return minimal_guest(name="big", memory=memory, metadata="\n  <metadata>%s</metadata>" % holder)


def waiver(codes=("memory-size[limit]",), until=NOW + 3600, key=KEY, uuid=UUID):
    return sign(Waiver(tuple(codes), int(until), int(NOW - 60), "alice", "CHG0042"), uuid, key)


def decided(xml, tmp_path, key=KEY):
    path = tmp_path / "fleet.key"
    path.write_bytes(key)
    path.chmod(0o600)
    config = parse_config('[memory]\nlimit = "32 MiB"\n[fingerprint]\nkey = "%s"\n[rules."source-fingerprint"]\n'
                          'action = "off"\n' % path)
    return decide(authenticated(parse_domain(xml), config, NOW), debian12_facts(), config=config)


def test_a_signed_waiver_waives_its_codes_for_its_guest_only(tmp_path):
    outcome = decided(guest_with(waiver()), tmp_path)
    assert outcome.decision == "allow"
    limit = [f for f in outcome.findings if f.code == "memory-size[limit]"][0]
    assert limit.action == "info" and "a signed waiver" in limit.message and "by alice" in limit.message


def test_a_waiver_names_only_its_codes(tmp_path):
    outcome = decided(guest_with(waiver(codes=("microcode",))), tmp_path)
    assert outcome.decision == "deny" and "memory-size[limit]" in {f.code for f in outcome.denies}


@pytest.mark.parametrize("bad, why", [
    (lambda: waiver(key=OTHER), "not signed with the fleet key"),
    (lambda: waiver(uuid="0b2a6e1c-2f8e-4e2c-9d55-7d2f5d1e7a10"), "not signed with the fleet key"),  # copied
    (lambda: waiver(until=NOW - 1), "expired"),
    (lambda: waiver()._replace(reason="CHG9999"), "not signed"),  # altered after signing
    (lambda: waiver()._replace(signature=None), "not signed"),
])
def test_a_waiver_that_does_not_verify_is_ignored_and_said(tmp_path, bad, why):
    outcome = decided(guest_with(bad()), tmp_path)
    assert outcome.decision == "deny"
    assert any("waiver" in note and "ignored" in note for note in outcome.notes), outcome.notes


def test_without_a_fleet_key_no_waiver_is_honoured():
    outcome = decide(parse_domain(guest_with(waiver())), debian12_facts(), config=parse_config(
        '[memory]\nlimit = "32 MiB"\n'))
    assert outcome.decision == "deny"
    assert any("no [fingerprint] key is configured" in note for note in outcome.notes)


def test_waive_writes_a_signed_waiver_into_the_guest_and_refuses_without_a_key(tmp_path, capsys):
    libvirt = pytest.importorskip("libvirt")
    from guard.cli import main
    key = tmp_path / "fleet.key"
    key.write_bytes(KEY)
    key.chmod(0o600)
    config = tmp_path / "c.toml"
    config.write_text('[paths]\naudit_log = "%s"\n[fingerprint]\nkey = "%s"\n' % (tmp_path / "audit.log", key))
    args = ["waive", "test", "--uri", "test:///default", "--config", str(config)]
    conn = libvirt.open("test:///default")  # the test driver's default host lives as long as one connection
    try:
        assert main(args + ["--rule", "microcode", "--rule", "bios[version]", "--for", "1h30m", "--reason",
                            "CHG1 rollout"]) == 0
        xml = conn.lookupByName("test").XMLDesc(0)
        domain = parse_domain(xml)
        assert [w.codes for w in domain.waivers] == [("microcode", "bios[version]")]
        assert domain.waivers[0].until - domain.waivers[0].issued_at == 5400
        assert main(args + ["--list"]) == 0
        assert "microcode,bios[version] until" in capsys.readouterr().out
        assert main(args + ["--rule", "*", "--for", "1h", "--reason", "x"]) == 2
        assert main(args + ["--rule", "microcod", "--for", "1h", "--reason", "x"]) == 2
        assert "did you mean microcode" in capsys.readouterr().err
        assert (tmp_path / "audit.log").read_text().count('"event": "waiver-set"') == 1
        assert main(args + ["--clear"]) == 0
        assert parse_domain(conn.lookupByName("test").XMLDesc(0)).waivers == ()
        config.write_text('[paths]\naudit_log = "%s"\n' % (tmp_path / "audit.log"))
        assert main(args + ["--rule", "microcode", "--for", "1h", "--reason", "x"]) == 2
        assert "waivers must be signed" in capsys.readouterr().err
    finally:
        conn.close()


def test_the_domain_parser_knows_the_waiver_namespace():
    from guard.guest import domain, waiver
    assert domain._WAIVERS == "{%s}waivers" % waiver.WAIVER_XMLNS
