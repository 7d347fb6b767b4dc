"""Issue 21, 7-9: what the guard prints about a hostile guest, and a destination whose
libvirt documents are malformed. A tenant names the guest and writes its XML: C0 and C1
controls (U+009B CSI is ESC [ to a terminal) and the bidi overrides in those values must
reach no terminal or reader raw, one guest is one row of the pre-flight's table, and one
destination's bad document is an error for that destination only. (To be merged into
tests/test_hostile.py.)"""
import json
import os
import shlex
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest
from support.helpers import REPO, debian12_facts, decide, minimal_guest
from test_hook import Host, needs_root, the_record

from guard.cli import main as cli_main
from guard.config import Config
from guard.decide.core import failed
from guard.facts.cache import facts_to_json
from guard.guest.domain import parse_domain
from guard.output.report import MAX_LINE, refusal_lines
from guard.services.evacuation import Move, Unplaced
from guard.services.status import WARN, Check

try:
    import libvirt
except ImportError:  # the pre-flight's tests need it; the others do not
    libvirt = None
else:
    from support.fleet import facts_with_node_memory, node_xml, write_node

    from guard.cli.preflight import moves_text, plan_text
    from guard.facts.collect import collect as real_collect
    from guard.services import preflight as pf
needs_libvirt = pytest.mark.skipif(libvirt is None, reason="preflight needs libvirt-python")

BIDI = "\u061c\u200e\u200f" + "".join(map(chr, range(0x202a, 0x202f))) + "".join(map(chr, range(0x2066, 0x206a)))
CONTROLS = set(map(chr, range(0x20))) | {"\x7f"} | set(map(chr, range(0x80, 0xa0))) | set(BIDI)
# What a tenant can put in a guest's name or XML (XML 1.0 has no ESC, but C1 and bidi
# characters are legal, and libvirt accepts them in a name): CSI "cursor up", "erase
# line", a right-to-left override and an isolate, NEL, and a newline (as &#10;).
NAME = "evil\x9b1A\x9b2K\u202egpu07 allow\u2066x\u2069\x85\nrow"
PAYLOAD = "\x9b1A\u202e\u200f\u061c"
EMULATOR = "/usr/bin/qemu-system-x86_64"


@pytest.fixture
def host(tmp_path):
    return Host(str(tmp_path))


def refs(text):
    """text for an XML document, every character beyond printable ASCII as a reference."""
    return "".join(c if " " <= c < "\x7f" else "&#x%x;" % ord(c) for c in text)


def raw_controls(text):
    """The control and bidi characters in text, the newlines between its lines aside (not
    str.splitlines: it splits on NEL and U+2028 too, hiding them)."""
    return sorted({c for line in text.split("\n") for c in line if c in CONTROLS})


def hostile_guest(name=NAME):
    """A guest whose name, emulator path (in the audit record's messages) and machine type
    (quoted in the refusal itself, which counts paths instead of naming them) carry controls."""
    return minimal_guest(name=refs(name), machine="pc-q35-evil" + refs(PAYLOAD)).replace(
        EMULATOR, "/usr/bin/qemu" + refs(PAYLOAD))


def guard_cli(*args, env=None):
    environment = dict(os.environ)
    environment.pop("MIGRATION_GUARD_CONFIG", None)
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, cwd=REPO,
                          env=environment)


def audit_output(host, *args):
    result = guard_cli("audit", *args, env={"MIGRATION_GUARD_CONFIG": host.config})
    assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    return result.stdout.decode("utf-8")


# --- 7. Controls in guest values, in every output ------------------------------------------

# The hook's Python entry as the sh front end runs it (-I), importing this checkout's guard:
# under -I the venv's editable install would import the checkout it was made from.
THIS_GUARD = [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, %r); from guard.hook import entry; entry()"
              % REPO]


@needs_root
def test_c1_and_bidi_controls_reach_neither_virsh_nor_the_audit_log_raw(host):
    result = host.run(name="evil", xml=hostile_guest(), python_only=THIS_GUARD)
    assert result.returncode == 1
    stderr = result.stderr.decode("utf-8")
    assert raw_controls(stderr) == []
    assert "pc-q35-evil\\x9b1A\\u202e\\u200f\\u061c" in stderr  # shown, escaped
    with open(host.audit, encoding="utf-8") as handle:
        line = handle.read()
    assert line.endswith("\n") and raw_controls(line[:-1]) == []
    assert the_record(host)["domain"] == NAME  # escaped in the JSON, not lost
    out = audit_output(host, "--format", "json")
    assert raw_controls(out) == [] and json.loads(out)["domain"] == NAME
    table = audit_output(host)
    assert raw_controls(table) == [] and len(table.splitlines()) == 3


def test_audit_json_escapes_records_written_raw_and_keeps_names_readable(tmp_path):
    """A record an older guard wrote with its controls raw (ensure_ascii=False) is escaped
    when shown; a legitimate non-ASCII name stays readable."""
    host = Host(str(tmp_path), facts=False)
    os.makedirs(os.path.dirname(host.audit))
    with open(host.audit, "w", encoding="utf-8") as handle:
        for name in (NAME, "gäst-Ωmega"):
            handle.write(json.dumps({"time": "2026-11-29T00:00:00Z", "decision": "deny", "domain": name,
                                     "findings": []}, ensure_ascii=False) + "\n")
    out = audit_output(host, "--format", "json")
    assert raw_controls(out) == []
    assert [json.loads(line)["domain"] for line in out.splitlines()] == [NAME, "gäst-Ωmega"]
    assert "gäst-Ωmega" in out
    table = audit_output(host)
    assert raw_controls(table) == [] and len(table.splitlines()) == 4 and "gäst-Ωmega" in table


def test_refusal_lines_are_escaped_before_they_are_bounded():
    """What virsh shows: no raw control, and each line within its bound once escaped (a
    name of 300 CSIs is 1200 characters escaped)."""
    outcome = decide(hostile_guest("x" + "\x9b" * 300), debian12_facts())._replace(decision="deny")
    outcome = outcome._replace(findings=tuple(f._replace(action="deny", message=f.message + outcome.domain_name)
                                              for f in outcome.findings))
    lines = refusal_lines(outcome)
    assert lines and raw_controls("\n".join(lines)) == []
    assert all(len(line) <= MAX_LINE for line in lines)


def test_check_text_and_json_escape_controls_and_keep_names_readable(tmp_path):
    facts = tmp_path / "dest.json"
    facts.write_text(facts_to_json(debian12_facts()))
    for name in (NAME, "gäst-Ωmega"):
        xml = tmp_path / "guest.xml"
        xml.write_text(hostile_guest(name))
        text = guard_cli("check", "--domain-xml", str(xml), "--facts", str(facts))
        assert text.returncode in (0, 1), text.stderr
        out = text.stdout.decode("utf-8")
        assert raw_controls(out) == [] and "\\x9b1A\\u202e" in out
        data = guard_cli("check", "--domain-xml", str(xml), "--facts", str(facts), "--format", "json")
        assert raw_controls(data.stdout.decode("utf-8")) == []
        assert json.loads(data.stdout)["domain"]["name"] == name
    assert out.startswith("gäst-Ωmega (")  # a legitimate name is shown as it is


def test_cli_errors_and_status_escape_controls(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "evil\x9b2J\u202e.xml"
    code = cli_main(["check", "--domain-xml", str(bad), "--facts", str(bad)])
    err = capsys.readouterr().err
    assert code == 2 and raw_controls(err) == [] and "evil\\x9b2J\\u202e.xml" in err
    from guard.cli import status
    monkeypatch.setattr(status, "run_checks", lambda *_a, **_k: [Check("bypass", WARN, "set by x: " + NAME)])
    status.run(SimpleNamespace(config=None, hooks_dir=None, marker=None, format="text"))
    out = capsys.readouterr().out
    # The verdict line, then the one check: the newline in the guest's text made no third line.
    assert raw_controls(out) == [] and len(out.splitlines()) == 2 and out.startswith("NOT ENFORCING")
    status.run(SimpleNamespace(config=None, hooks_dir=None, marker=None, format="json"))
    out = capsys.readouterr().out
    assert raw_controls(out) == [] and json.loads(out)["checks"][0]["message"] == "set by x: " + NAME


# --- 8. The pre-flight's table and plan -------------------------------------------------------

UUID = "8f99e332-06c4-463a-9099-330fb244e1b3"


def plan_of(cells):
    """A Plan from {(guest, dest): decision} with stand-in outcomes (as tests/test_plan.py)."""
    results = [(dest, failed(Config(), "x", guest, UUID)._replace(decision=decision))
               for (guest, dest), decision in cells.items()]
    return pf.Plan.of(results, list(dict.fromkeys(dest for _g, dest in cells)))


@needs_libvirt
def test_a_guest_name_cannot_forge_a_row_of_the_preflight_table():
    forged = "evil\ngpu07  allow"
    plan = plan_of({(forged, "test:///hv01.xml"): "deny", ("gpu07", "test:///hv01.xml"): "deny"})
    lines = plan_text(plan).split("\n")
    table = lines[:lines.index("")]
    assert len(table) == 3  # the header, then one row per guest
    assert table[1].startswith("'evil\\x0agpu07  allow'  deny") and table[2].split() == ["gpu07", "deny"]
    assert raw_controls(plan_text(plan)) == []
    assert any(line.startswith("  'evil\\x0agpu07  allow': hv01.xml deny") for line in lines)


@needs_libvirt
def test_the_plans_virsh_commands_name_a_hostile_guest_safely():
    name = "evil\x9b2J\u202e'; reboot #\nx"
    dest = "test:///hv01.xml"
    plan = plan_of({(name, dest): "allow", ("ok", dest): "allow"})
    moves = [Move(name, dest, 1 << 30, 1), Move("ok", dest, 1 << 30, 2)]
    text = moves_text(plan, moves, [Unplaced("left\x9b1A\nover", "no destination accepts it")], "test:///src.xml",
                      [])
    assert raw_controls(text) == []
    commands = [line for line in text.split("\n") if line.startswith("virsh ")]
    assert len(commands) == 2
    for command, guest in zip(commands, (UUID, "ok")):  # virsh takes a UUID where a name would need escaping
        assert shlex.split(command, comments=True)[-2:] == [guest, dest]
    assert "unplaced left\\x9b1A\\x0aover: no destination accepts it" in text


@needs_libvirt
def test_preflight_text_and_json_escape_a_hostile_guests_name(tmp_path, capsys, monkeypatch):
    """End to end on the test driver, whose libvirt takes C1 and bidi characters in a name."""
    source = tmp_path / "source.xml"
    source.write_text(node_xml(512, guests=4).replace("vm0001-big", refs("vm0001\x9b1A\u202e\u2066x\x85y")))
    dest = write_node(tmp_path, "dest", 256)
    monkeypatch.setattr(pf, "collect", lambda uri, conn=None, **kw: (
        facts_with_node_memory(uri) if conn is None else real_collect(uri, conn=conn, **kw)))
    for args in (["--plan"], ["--details"], ["--format", "json"], ["--plan", "--format", "json"]):
        capsys.readouterr()
        code = cli_main(["preflight", "--all", "--source", "test://%s" % source, "--dest", dest] + args)
        out, err = capsys.readouterr()
        assert code in (0, 1) and raw_controls(out) == [] and raw_controls(err) == [], (args, out, err)
        if "json" in args:
            assert "vm0001\x9b1A\u202e\u2066x\x85y" in json.loads(out)["plan"]
        else:
            assert "vm0001\\x9b1A\\u202e\\u2066x\\x85y" in out
        if args == ["--plan"]:  # its virsh command names it by its UUID (tests/fleet.py's)
            command = [line for line in out.split("\n") if line.startswith("virsh ") and "# vm0001" in line]
            assert shlex.split(command[0], comments=True)[-2] == str(uuid.uuid5(uuid.NAMESPACE_DNS, "vm0001-big"))


# --- 9. A destination's malformed document ------------------------------------------------

class Tampered:
    """A destination's libvirt connection (the test driver) that serves one document of the
    test's instead of its own: what a broken or hostile destination could send."""

    def __init__(self, conn, document, text):
        self._conn, self._document, self._text = conn, document, text

    def __getattr__(self, name):
        return getattr(self._conn, name)

    def getCapabilities(self):
        return self._text(self._conn.getCapabilities()) if self._document == "capabilities" else \
            self._conn.getCapabilities()

    def getDomainCapabilities(self, *args):
        if self._document == "domcapabilities":
            return self._text("")
        return self._conn.getDomainCapabilities(*args)

    def getSysinfo(self, flags):
        return self._text("") if self._document == "sysinfo" else self._conn.getSysinfo(flags)


CELLS = "<cells num='0'>\n      </cells>"
MALFORMED = {
    "cell id not a number": ("capabilities", lambda caps: caps.replace(
        CELLS, "<cells num='1'><cell id='x'><memory unit='KiB'>1048576</memory></cell></cells>")),
    "cell without an id": ("capabilities", lambda caps: caps.replace(
        CELLS, "<cells num='1'><cell><memory unit='KiB'>1048576</memory></cell></cells>")),
    "cell pages not a number": ("capabilities", lambda caps: caps.replace(
        CELLS, "<cells num='1'><cell id='0'><memory unit='KiB'>1048576</memory>"
               "<pages unit='KiB' size='4'>many</pages></cell></cells>")),
    "domain without a type": ("capabilities", lambda caps: caps.replace(
        "<domain type='test'/>", "<domain type='test'/><domain/>", 1)),
    "page size not a number": ("capabilities", lambda caps: caps.replace("size='2048'", "size='2M'")),
    "arch without a name": ("capabilities", lambda caps: caps.replace("<arch name='i686'>", "<arch>", 1)),
    "not well-formed": ("capabilities", lambda caps: caps[:len(caps) // 2]),
    "domcapabilities cut short": ("domcapabilities", lambda _: "<domainCapabilities><domain>test"),
    "domcapabilities mode without a name": ("domcapabilities", lambda _: (
        "<domainCapabilities><domain>test</domain><cpu><mode supported='yes'/></cpu></domainCapabilities>")),
    "sysinfo cut short": ("sysinfo", lambda _: "<sysinfo type='smbios'><bios><entry>x</entry></bios>"),
}


@needs_libvirt
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_destinations_malformed_document_is_an_error_for_that_destination_only(tmp_path, case):
    """Simulated: the destination's libvirt (the test driver) serves a malformed document
    in place of its own; the real collector reads it."""
    document, tamper = MALFORMED[case]
    source = write_node(tmp_path, "source", 512, guests=4)
    good, bad = write_node(tmp_path, "good", 256), write_node(tmp_path, "bad", 256)

    def read_facts(uri):
        if uri != bad:
            return facts_with_node_memory(uri)
        conn = libvirt.openReadOnly(uri)
        try:
            return real_collect(uri, conn=Tampered(conn, document, tamper))
        finally:
            conn.close()

    results = pf.preflight(source, [good, bad], [], True, Config(), time.time(), read_facts=read_facts)
    by_dest = {}
    for dest, outcome in results:
        by_dest.setdefault(dest, []).append(outcome)
    assert len(by_dest[good]) == len(by_dest[bad]) == 4
    assert "error" not in {o.decision for o in by_dest[good]}
    assert {o.decision for o in by_dest[bad]} == {"error"}
    reason = by_dest[bad][0].reason
    assert bad in reason and document in reason.replace(bad, "") and "\n" not in reason, reason
    assert not any(kind in reason for kind in ("ValueError", "TypeError", "KeyError", "Traceback")), reason


@needs_libvirt
def test_a_malformed_destination_document_is_no_internal_error_of_the_cli(tmp_path, capsys, monkeypatch):
    source = write_node(tmp_path, "source", 512, guests=4)
    good, bad = write_node(tmp_path, "good", 256), write_node(tmp_path, "bad", 256)
    _document, tamper = MALFORMED["cell id not a number"]

    def collect(uri, conn=None, **kwargs):
        if conn is not None:
            return real_collect(uri, conn=conn, **kwargs)
        if uri == bad:
            own = libvirt.openReadOnly(uri)
            try:
                return real_collect(uri, conn=Tampered(own, "capabilities", tamper))
            finally:
                own.close()
        return facts_with_node_memory(uri)
    monkeypatch.setattr(pf, "collect", collect)
    code = cli_main(["preflight", "--all", "--source", source, "--dest", good, "--dest", bad, "--format", "json"])
    out, err = capsys.readouterr()
    assert "internal error" not in err and code in (1, 2), err
    data = json.loads(out)
    assert data["summary"][bad] == {"allow": 0, "deny": 0, "error": 4}
    assert data["summary"][good]["error"] == 0
    assert "capabilities" in data["destinations"][bad]["error"]


@needs_libvirt
def test_a_destination_shells_answer_nested_too_deep_is_an_error_there():
    """Simulated: the destination's own check answers with JSON nested past Python's
    recursion limit (a broken or hostile destination)."""
    xml = minimal_guest("one")
    guests = [(parse_domain(xml), xml, None, None)]

    def run(argv, **_kwargs):
        return SimpleNamespace(returncode=0, stdout=b"[" * 100000 + b"\n", stderr=b"")
    answers, problem = pf._ask(["fake-shell"], guests, None, "system", Config(), run)
    assert answers is None and "fake-shell" in problem and "\n" not in problem
