"""Policy: profiles, per-rule actions, exemptions, audit mode, and the config file."""

import re

import pytest
from support.helpers import NOW, codes, corpus_domain_xml, debian12_facts, decide, minimal_guest, source_like

from guard.config import Config, load_config, parse_config
from guard.errors import ConfigError

BIG = minimal_guest(name="big", memory="2 TiB")


def test_defaults():
    config = parse_config("")
    assert (config.mode, config.profile, config.on_error) == ("enforce", "default", "deny")
    assert config.timeout == 10 and config.max_facts_age == 86400 and config.memory_limit == 1 << 40
    assert config.paths.facts.startswith("/var/cache/migration-guard")


def test_guest_over_limit_denied_even_with_room_and_allowed_when_limit_raised():
    roomy = debian12_facts().__class__.from_dict(dict(debian12_facts().to_dict(), memory_bytes=4 << 40))
    assert "memory-size[limit]" in codes(decide(BIG, roomy), "deny")
    raised = parse_config('[memory]\nlimit = "3 TiB"\n')
    decision = decide(BIG, roomy, config=raised)
    assert decision.decision == "allow" and "memory-size[limit]" not in codes(decision)


def test_strict_profile_turns_warnings_into_denies():
    xml = minimal_guest()
    assert decide(xml, debian12_facts()).decision == "allow"
    strict = decide(xml, debian12_facts(), config=parse_config('profile = "strict"'))
    assert strict.decision == "deny" and "unverifiable[source-fingerprint]" in codes(strict, "deny")


def test_host_passthrough_microcode_from_source_facts():
    xml = minimal_guest(virt_type="kvm", cpu="<cpu mode='host-passthrough'/>")
    dest = debian12_facts()
    assert decide(xml, dest, source_like(dest)).decision == "allow"
    different = decide(xml, dest, source_like(dest, microcode="0x99"))
    assert different.decision == "deny" and "microcode" in codes(different, "deny")


def test_audit_mode_would_deny():
    decision = decide(BIG, debian12_facts(), config=parse_config('mode = "audit"'))
    assert decision.decision == "would-deny"
    assert "memory-size[limit]" in codes(decision, "deny")


def test_per_rule_and_per_code_actions():
    xml = corpus_domain_xml("hostdev-usb-address")
    assert decide(xml, debian12_facts()).decision == "deny"
    by_code = decide(xml, debian12_facts(), config=parse_config('[rules."device-passthrough[usb]"]\naction = "warn"'))
    assert by_code.decision == "allow" and "device-passthrough[usb]" in codes(by_code, "warn")
    off = decide(xml, debian12_facts(), config=parse_config('[rules.device-passthrough]\naction = "off"'))
    assert "device-passthrough[usb]" not in codes(off)


def test_exemptions_active_and_expired():
    active = parse_config('[[exemptions]]\ndomain = "bi?"\nrules = ["memory-size"]\nreason = "SAP HANA, validated"\n'
                          'until = 2027-01-01T00:00:00Z\n')
    decision = decide(BIG, debian12_facts(), config=active)
    assert decision.decision == "allow"
    exempted = [f for f in decision.findings if f.code == "memory-size[limit]"]
    assert exempted[0].action == "info" and "SAP HANA" in exempted[0].message
    expired = parse_config('[[exemptions]]\ndomain = "big"\nrules = ["memory-size"]\nreason = "old"\n'
                           'until = 2026-01-01T00:00:00Z\n')
    decision = decide(BIG, debian12_facts(), config=expired)
    assert decision.decision == "deny" and any("expired" in n for n in decision.notes)
    other = parse_config('[[exemptions]]\ndomain = "web*"\nrules = ["*"]\nreason = "x"\n')
    assert decide(BIG, debian12_facts(), config=other).decision == "deny"


def test_metadata_exemptions_need_opt_in():
    meta = ("\n  <metadata><mguard:guard xmlns:mguard='https://migration-guard.dev/xmlns/1'>"
            "<mguard:exemption rules='memory-size' reason='validated pair'/></mguard:guard></metadata>")
    xml = minimal_guest(name="big", memory="2 TiB", metadata=meta)
    refused = decide(xml, debian12_facts())
    assert refused.decision == "deny" and any("ignored" in n for n in refused.notes)
    allowed = decide(xml, debian12_facts(), config=parse_config("allow_metadata_exemptions = true"))
    assert allowed.decision == "allow"


@pytest.mark.parametrize("text, fragment", [
    ('colour = "blue"\n', "config.toml:1: colour: unknown key"),
    ('mode = "enforce"\n\n[paths]\nfacts = "/x"\nfact = "/y"\n', "config.toml:5: paths.fact: unknown key"),
    ('mode = "loud"\n', "mode: must be one of"),
    ('[memory]\nlimit = "lots"\n', "memory.limit"),
    ('timeout = "10 fortnights"\n', "timeout"),
    ('[rules.no-such-rule]\naction = "warn"\n', "rules.no-such-rule: unknown rule"),
    ('[rules.sriov]\naction = "maybe"\n', "action: must be one of"),
    ('[[exemptions]]\ndomain = "x"\nrules = ["sriov"]\n', "reason: is required"),
    ('mode = \n', "TOML syntax error"),
])
def test_bad_config_names_file_line_and_key(text, fragment):
    with pytest.raises(ConfigError) as info:
        parse_config(text, "/etc/migration-guard/config.toml")
    assert fragment in str(info.value)


def test_config_path_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("MIGRATION_GUARD_CONFIG", raising=False)
    assert load_config() == Config()  # the default path is absent here: built-in defaults
    path = tmp_path / "c.toml"
    path.write_text('mode = "audit"\n')
    monkeypatch.setenv("MIGRATION_GUARD_CONFIG", str(path))
    assert load_config().mode == "audit"
    with pytest.raises(ConfigError):
        load_config(str(tmp_path / "missing.toml"))


def test_shipped_config_is_valid_and_states_the_defaults():
    import os

    from support.helpers import REPO
    config = load_config(os.path.join(REPO, "config", "config.toml"))
    assert (config.mode, config.profile, config.on_error, config.timeout, config.max_facts_age,
            config.memory_limit) == ("enforce", "default", "deny", 10, 86400, 1 << 40)


def test_exemption_until_dates_are_compared_in_utc():
    config = parse_config('[[exemptions]]\nuuid = "8F99E332-06C4-463A-9099-330FB244E1B3"\nrules = ["memory-size"]\n'
                          'reason = "r"\nuntil = 2026-11-28T12:00:01Z\n')
    assert config.exemptions[0].until.timestamp() == NOW + 1
    assert decide(BIG, debian12_facts(), config=config).decision == "allow"


def test_unverifiable_codes_are_configurable():
    config = parse_config('[rules."unverifiable[source-fingerprint]"]\naction = "off"\n'
                          '[rules."unverifiable[cpu-model]"]\naction = "deny"\n')
    decision = decide(minimal_guest(), debian12_facts(), config=config)
    assert "unverifiable[source-fingerprint]" not in codes(decision)
    with pytest.raises(ConfigError):
        parse_config('[rules."unverifiable[<rule>]"]\naction = "off"\n')


def test_a_maintenance_window_makes_firmware_differences_warnings_until_it_ends():
    """Issue 22: microcode and BIOS differences are refused as the seed says; a site that
    accepts the risk during a declared window gets warnings, audited with its reason."""
    import datetime

    from support.rulecase import with_local
    xml = minimal_guest(virt_type="kvm", cpu="<cpu mode='host-passthrough'/>")
    dest = with_local(debian12_facts)()
    source = source_like(dest, microcode="0x2b000603", bios_version="2.18")
    until = datetime.datetime.fromtimestamp(NOW + 3600, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    window = parse_config('[maintenance]\nuntil = %s\nreason = "CHG0042 BIOS rollout"\n' % until)
    refused = decide(xml, dest, source)
    assert refused.decision == "deny" and {"microcode"} <= {f.code for f in refused.denies}
    during = decide(xml, dest, source, config=window)
    assert during.decision == "allow"
    micro = [f for f in during.findings if f.code == "microcode"][0]
    assert micro.action == "warn" and "maintenance window until" in micro.message and "CHG0042" in micro.message
    after = decide(xml, dest, source, config=window, now=NOW + 7200)
    assert after.decision == "deny" and any("maintenance window ended" in n for n in after.notes)
    # Only firmware: other denies stand during the window.
    other = decide(minimal_guest(virt_type="kvm", memory="2 TiB"), dest, source, config=window)
    assert other.decision == "deny"
    with pytest.raises(ConfigError, match="needs until"):
        parse_config('[maintenance]\nuntil = 2026-12-05\n')


@pytest.mark.parametrize("text, fragment", [
    ('[rules."numa-pining"]\naction = "warn"\n', "did you mean numa-pinning"),
    ('profle = "strict"\n', "unknown key (did you mean profile?)"),
    ('[[exemptions]]\ndomain = "x"\nrules = ["microcod"]\nreason = "r"\n', "did you mean microcode"),
])
def test_misspelt_names_in_the_config_get_a_suggestion(text, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        parse_config(text)
