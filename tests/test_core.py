"""One decision core: the hook, `check` and `preflight` decide alike by construction, and
the core touches no I/O. Runs all three entry points over every corpus guest."""
import glob
import io
import json
import os
import subprocess
import sys
import time

import pytest
from support.helpers import corpus_file, debian12_facts, minimal_guest

from guard import hook
from guard.cli import main as cli_main
from guard.config import Config
from guard.errors import InputError
from guard.facts.cache import as_collected, facts_to_json
from guard.facts.fingerprint import fingerprint_of
from guard.guest.domain import parse_domain
from guard.guest.metadata import stamp_xml

preflight = pytest.importorskip("guard.services.preflight", reason="preflight needs libvirt-python")

FINGERPRINT_AT = "<metadata><mguard:guard xmlns:mguard='https://migration-guard.dev/xmlns/1'>" \
                 "<fingerprint>%s</fingerprint></mguard:guard></metadata>"
ODD_FINGERPRINTS = {
    "version 2": '{"version": 2}',
    "kernel release a number": '{"version": 1, "kernel_release": 5}',
    "cpu features a number": '{"version": 1, "cpu_features": 7}',
    "numa of strings": '{"version": 1, "numa": [["a", "b", "c"]]}',
    "deep nesting": '{"version": 1, "host": ' + "[" * 5000 + "]" * 5000 + "}",
    "not JSON": "{version: 1",
    "an array": "[1, 2, 3]",
    "null": "null",
    "empty": "",
}


def outcome_key(decision, findings):
    return decision, sorted((f["code"], f["action"]) for f in findings)


class Paths:
    """A destination host for the three entry points: facts file/cache, config, audit log."""

    def __init__(self, folder, facts):
        self.facts = os.path.join(folder, "facts.json")
        with open(self.facts, "w") as handle:
            handle.write(facts_to_json(as_collected(facts)))
        self.audit = os.path.join(folder, "audit.log")
        self.config = os.path.join(folder, "config.toml")
        with open(self.config, "w") as handle:
            handle.write('[paths]\nfacts = "%s"\naudit_log = "%s"\nbypass = "%s/none"\npending = "%s/pending"\n'
                         % (self.facts, self.audit, folder, folder))


def via_hook(paths, xml, monkeypatch):
    monkeypatch.setenv("MIGRATION_GUARD_CONFIG", paths.config)
    code = hook.main(["guest", "migrate", "begin", "-"], stdin=io.BytesIO(xml.encode()), stderr=io.StringIO())
    with open(paths.audit) as handle:
        record = json.loads(handle.readlines()[-1])
    return code, outcome_key(record["decision"], record["findings"])


def via_check(paths, xml_file, capsys, source_facts=None, probe=True):
    """check on the destination itself (--probe, as the hook), or against facts alone (as preflight)."""
    capsys.readouterr()
    argv = ["check", "--domain-xml", xml_file, "--facts", paths.facts, "--config", paths.config, "--format", "json"]
    if probe:
        argv.append("--probe")
    if source_facts:
        argv += ["--source-facts", source_facts]
    code = cli_main(argv)
    data = json.loads(capsys.readouterr().out)
    return code, outcome_key(data["decision"], data["findings"])


def via_preflight(paths, xml, source=None):
    from guard.config import load_config
    with open(paths.facts) as handle:
        from guard.facts.cache import facts_from_json
        facts = facts_from_json(handle.read())
    outcome = preflight.decide_pair(parse_domain(xml), facts, None, source, load_config(paths.config), time.time(),
                                    "qemu:///system", "qemu+ssh://dest/system")
    return outcome.exit_code, outcome_key(outcome.decision, [f.to_dict() for f in outcome.findings])


@pytest.fixture
def dest(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the hook trusts only a root-owned facts cache: run as root (CI does)")
    return Paths(str(tmp_path), debian12_facts())


@pytest.mark.slow  # every corpus guest three ways: 25 s on a 2-core machine
def test_every_corpus_guest_is_decided_alike_by_hook_check_and_preflight(dest, tmp_path, capsys, monkeypatch):
    source = debian12_facts()._replace(kernel_release="6.1.0-99-amd64", qemu_version="8.0.0")
    compared = 0
    for path in sorted(glob.glob(corpus_file("qemuxmlconfdata", "*.xml"))):
        with open(path, "rb") as handle:
            raw = handle.read()
        try:
            xml = stamp_xml(raw, fingerprint_of(source))  # as the source's collector stamps it
            parse_domain(xml)
        except InputError:
            continue  # malformed for us: check exits 2 and the hook's on_error decides (tested elsewhere)
        xml_file = str(tmp_path / "guest.xml")
        with open(xml_file, "w") as handle:
            handle.write(xml)
        hooked = via_hook(dest, xml, monkeypatch)
        checked = via_check(dest, xml_file, capsys)
        # Preflight cannot look at the destination's disks, devices or addresses: it decides
        # what check decides from the facts alone.
        pre = via_preflight(dest, xml)
        assert hooked == checked, os.path.basename(path)
        assert pre == via_check(dest, xml_file, capsys, probe=False), os.path.basename(path)
        compared += 1
    assert compared > 800


@pytest.mark.parametrize("name", sorted(ODD_FINGERPRINTS))
def test_odd_fingerprints_are_decided_alike_and_never_decide_alone(name, dest, tmp_path, capsys, monkeypatch):
    """A guest's metadata cannot fail the decision: an unusable fingerprint is
    unverifiable[source-fingerprint] and every other rule still runs (here: the PCI hostdev)."""
    hostdev = ("<hostdev mode='subsystem' type='pci' managed='yes'><source>"
               "<address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>")
    text = ODD_FINGERPRINTS[name].replace("&", "&amp;").replace("<", "&lt;")
    xml = minimal_guest(metadata="\n  " + FINGERPRINT_AT % text, extra=hostdev)
    xml_file = str(tmp_path / "odd.xml")
    with open(xml_file, "w") as handle:
        handle.write(xml)
    hooked = via_hook(dest, xml, monkeypatch)
    assert hooked == via_check(dest, xml_file, capsys) == via_preflight(dest, xml)  # no path or device to probe
    code, (decision, findings) = hooked
    assert (code, decision) == (1, "deny")
    assert ("device-passthrough[pci]", "deny") in findings
    assert ("unverifiable[source-fingerprint]", "warn") in findings
    # Given the source's facts, check and preflight agree again.
    source_file = str(tmp_path / "source.json")
    with open(source_file, "w") as handle:
        handle.write(facts_to_json(debian12_facts()))
    assert via_check(dest, xml_file, capsys, source_file, probe=False) == via_preflight(
        dest, xml, fingerprint_of(debian12_facts()))


def test_the_core_imports_no_io_libvirt_journal_or_cli_module():
    core = ["guard.decide.core", "guard.decide.policy", "guard.decide.engine", "guard.rules.findings", "guard.rules",
            "guard.guest.domain",
            "guard.guest.metadata", "guard.facts.fingerprint", "guard.facts.model", "guard.facts.build", "guard.records",
            "guard.rules.network", "guard.rules.storage",
            "guard.output.audit_record", "guard.output.report"]
    code = "import json, sys\n%s\nprint(json.dumps(sorted(sys.modules)))" % "\n".join("import " + m for m in core)
    loaded = set(json.loads(subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                                           check=True).stdout))
    forbidden = {"libvirt", "structlog", "socket", "subprocess", "syslog", "tempfile", "guard.hook", "guard.cli",
                 "guard.output.journal", "guard.output.audit", "guard.bypass", "guard.config", "guard.facts.cache",
                 "guard.facts.collect", "guard.facts.local", "guard.services.preflight", "guard.services.watch",
                 "guard.services.stamping", "guard.facts.probe", "threading"}
    assert not loaded & forbidden, loaded & forbidden
    assert not any(m.startswith("guard.cli.") for m in loaded)


def test_a_config_is_all_the_core_needs():
    """Config defaults are plain values: the core decides without reading a file."""
    from guard.decide.core import Inputs, decide
    outcome = decide(Inputs(parse_domain(minimal_guest()), None, Config(), 0.0))
    assert outcome.decision == "allow" and outcome.exit_code == 0
    assert [f.code for f in outcome.findings] == ["unverifiable[facts]"]  # it names the skipped rules
