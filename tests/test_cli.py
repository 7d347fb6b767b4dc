"""The command line as a user runs it: real processes, exit codes, stdout and stderr."""
import json
import os
import subprocess
import sys

import pytest
from support.helpers import REPO, corpus_domain_xml, debian12_facts, minimal_guest, source_like

from guard.facts.cache import facts_to_json


def run(*args, stdin=None, env=None):
    environment = dict(os.environ)
    environment.pop("MIGRATION_GUARD_CONFIG", None)
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "guard"] + list(args), input=stdin, capture_output=True,
                          text=True, cwd=REPO, env=environment)


@pytest.fixture
def files(tmp_path):
    dest = tmp_path / "dest.json"
    dest.write_text(facts_to_json(debian12_facts()))
    other_microcode = debian12_facts()._replace(cpu=debian12_facts().cpu._replace(microcode="0x99"))
    src = tmp_path / "source.json"
    src.write_text(facts_to_json(other_microcode))
    same = tmp_path / "same.json"
    same.write_text(facts_to_json(debian12_facts()))
    passthrough = tmp_path / "passthrough.xml"
    passthrough.write_text(minimal_guest(virt_type="kvm", cpu="<cpu mode='host-passthrough'/>"))
    usb = tmp_path / "usb.xml"
    usb.write_text(corpus_domain_xml("hostdev-usb-address"))
    return {"dest": str(dest), "source": str(src), "same": str(same), "passthrough": str(passthrough),
            "usb": str(usb), "tmp": tmp_path}


def test_check_allow_deny_and_json(files):
    allowed = run("check", "--domain-xml", files["passthrough"], "--facts", files["dest"], "--source-facts",
                  files["same"])
    assert allowed.returncode == 0, allowed.stderr
    assert "ALLOW" in allowed.stdout
    denied = run("check", "--domain-xml", files["usb"], "--facts", files["dest"], "--format", "json")
    assert denied.returncode == 1
    data = json.loads(denied.stdout)
    assert data["decision"] == "deny" and data["domain"]["name"] == "QEMUGuest1"
    assert {"rule", "code", "action", "message", "evidence"} <= set(data["findings"][0])
    assert any(f["code"] == "device-passthrough[usb]" and f["action"] == "deny" for f in data["findings"])


def test_microcode_from_source_facts_and_from_stamp_agree(files):
    by_facts = run("check", "--domain-xml", files["passthrough"], "--facts", files["dest"], "--source-facts",
                   files["source"], "--format", "json")
    stamped = run("stamp", "--domain-xml", files["passthrough"], "--facts", files["source"])
    assert stamped.returncode == 0, stamped.stderr
    assert "https://migration-guard.dev/xmlns/1" in stamped.stdout
    path = files["tmp"] / "stamped.xml"
    path.write_text(stamped.stdout)
    by_stamp = run("check", "--domain-xml", str(path), "--facts", files["dest"], "--format", "json")
    assert by_facts.returncode == by_stamp.returncode == 1
    a, b = json.loads(by_facts.stdout), json.loads(by_stamp.stdout)
    assert a["findings"] == b["findings"]
    assert any(f["rule"] == "microcode" and f["action"] == "deny" for f in a["findings"])
    # Stamping again replaces the fingerprint rather than adding a second one.
    again = run("stamp", "--domain-xml", str(path), "--facts", files["same"])
    assert again.stdout.count("fingerprint>") == 2  # one open, one close tag
    path.write_text(again.stdout)
    assert run("check", "--domain-xml", str(path), "--facts", files["dest"]).returncode == 0


def test_no_fingerprint_warns_by_default_and_denies_when_strict(files):
    warned = run("check", "--domain-xml", files["passthrough"], "--facts", files["dest"], "--format", "json")
    assert warned.returncode == 0
    assert any(f["code"] == "unverifiable[source-fingerprint]" and f["action"] == "warn"
               for f in json.loads(warned.stdout)["findings"])
    strict = files["tmp"] / "strict.toml"
    strict.write_text('profile = "strict"\n')
    denied = run("check", "--domain-xml", files["passthrough"], "--facts", files["dest"], "--config", str(strict))
    assert denied.returncode == 1 and "unverifiable[source-fingerprint]" in denied.stdout


def test_audit_mode_exits_zero_with_would_deny(files):
    audit = files["tmp"] / "audit.toml"
    audit.write_text('mode = "audit"\n')
    result = run("check", "--domain-xml", files["usb"], "--facts", files["dest"], "--format", "json",
                 env={"MIGRATION_GUARD_CONFIG": str(audit)})
    assert result.returncode == 0 and json.loads(result.stdout)["decision"] == "would-deny"


@pytest.mark.parametrize("args, fragment", [
    (["check", "--domain-xml", "/nonexistent.xml", "--facts", "{dest}"], "cannot read /nonexistent.xml"),
    (["check", "--domain-xml", "{usb}", "--facts", "/nonexistent.json"], "cannot read /nonexistent.json"),
    (["check", "--domain-xml", "{dest}", "--facts", "{dest}"], "not well-formed"),
    (["check", "--domain-xml", "{usb}", "--facts", "{usb}"], "not valid JSON"),
    (["check", "--domain-xml", "{usb}"], "--facts"),
    (["check", "--domain-xml", "{usb}", "--facts", "{dest}", "--config", "{bad_config}"], "colour: unknown key"),
    (["explain", "no-such-rule"], "unknown rule"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(files, args, fragment):
    bad_config = files["tmp"] / "bad.toml"
    bad_config.write_text('colour = "blue"\n')
    args = [a.format(bad_config=bad_config, **{k: v for k, v in files.items() if k != "tmp"}) for a in args]
    result = run(*args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_facts_build_from_documents(tmp_path):
    from support.helpers import DEBIAN12
    result = run("facts", "build", "--capabilities", os.path.join(DEBIAN12, "capabilities.xml"),
                 "--domcapabilities", os.path.join(DEBIAN12, "domcapabilities-qemu-pc.xml"),
                 "--qemu-version", "7.2.22", "--kernel-release", "6.1.0-40-amd64")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema"] == 1 and data["qemu_version"] == "7.2.22" and data["cpu"]["model"] == "Broadwell"
    assert data["domcaps"][0]["virt_type"] == "qemu"


def test_rules_and_explain():
    listing = run("rules", "--format", "json")
    ids = [r["id"] for r in json.loads(listing.stdout)]
    assert "numa-pinning" in ids and "unverifiable" in ids
    explain = run("explain", "device-passthrough[pci]")
    assert explain.returncode == 0 and "Device passthrough" in explain.stdout


def test_stamped_source_roundtrip_uses_same_fingerprint():
    from guard.facts.fingerprint import fingerprint_of
    from guard.guest.domain import parse_domain
    from guard.guest.metadata import stamp_xml
    facts = debian12_facts()
    domain = parse_domain(stamp_xml(minimal_guest(), fingerprint_of(facts)))
    assert domain.fingerprint == source_like(facts)


@pytest.mark.parametrize("field, value, named", [
    ("memory_bytes", '"lots"', "memory_bytes must be an integer, not 'lots'"),
    ("cells", '[{"id": 0, "memory_bytes": 1, "cpus": ["x"]}]', "cells[0].cpus[0] must be an integer"),
    ("guests", "7", "guests must be a list, not 7"),
    ("cpu", '{"features": "sse"}', "cpu.features must be a list"),
])
def test_a_facts_field_of_the_wrong_type_is_one_line_naming_it(files, field, value, named):
    data = json.loads(facts_to_json(debian12_facts()))
    data[field] = json.loads(value)
    bad = files["tmp"] / "bad.json"
    bad.write_text(json.dumps(data))
    result = run("check", "--domain-xml", files["passthrough"], "--facts", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and named in result.stderr and "Traceback" not in result.stderr


def test_a_bug_is_one_line_and_its_traceback_only_with_debug(files, tmp_path):
    # A stand-in bug: a sitecustomize that breaks the `rules` command's printing (only
    # this test's interpreter sees it).
    (tmp_path / "sitecustomize.py").write_text(
        "import guard.cli.rules as r\n"
        "def boom(args):\n    raise ZeroDivisionError('simulated bug')\n"
        "r.run_rules = boom\n")
    env = {"PYTHONPATH": str(tmp_path)}
    plain = run("rules", env=env)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1
    assert "internal error (ZeroDivisionError: simulated bug); please report it" in plain.stderr
    debug = run("--debug", "rules", env=env)
    assert debug.returncode == 2 and "Traceback" in debug.stderr and "please report it" in debug.stderr


def test_a_closed_pipe_ends_quietly(tmp_path):
    """`migration-guard audit | head -1` on a log far larger than a pipe's buffer."""
    log = tmp_path / "audit.log"
    record = {"schema": 1, "time": "2026-11-28T00:00:00.000000Z", "domain": "web", "decision": "deny", "findings": []}
    log.write_text("".join(json.dumps(dict(record, domain="web%05d" % i)) + "\n" for i in range(20000)))
    result = subprocess.run(["sh", "-c", "%s -m guard audit --log %s | head -n 1" % (sys.executable, log)],
                            capture_output=True, text=True, cwd=REPO)
    assert result.stdout.count("\n") == 1 and result.stderr == ""


def test_one_version_everywhere():
    import guard
    with open(os.path.join(REPO, "packaging", "migration-guard.spec")) as handle:
        spec = handle.read()
    assert "Version:        %s\n" % guard.__version__ in spec
    assert run("--version").stdout.strip() == "migration-guard %s" % guard.__version__


def test_explain_suggests_the_rule_meant(capsys):
    from guard.cli import main
    assert main(["explain", "numa-pining"]) == 2
    assert "did you mean numa-pinning" in capsys.readouterr().err
    assert main(["explain", "memory-size[limt]"]) == 2
    assert "did you mean memory-size[limit]" in capsys.readouterr().err
    assert main(["explain", "memory-size[limit]"]) == 0
