"""The evacuation plan (`preflight --all --dest A --dest B ...`) on a mixed fleet of
libvirt test-driver hosts, and pre-flight honesty: a destination that cannot be read is
an error for that destination, never an allow."""
import json
import os
import pty
import subprocess
import sys
import threading
import time

import pytest
from support.helpers import minimal_guest

from guard.cli import main as cli_main
from guard.config import Config, parse_config
from guard.decide.core import failed
from guard.errors import GuardError

libvirt = pytest.importorskip("libvirt", reason="preflight needs libvirt-python")

from support.fleet import (  # noqa: E402
    BIG_GUEST_GIB,
    UNREACHABLE,
    facts_with_node_memory,
    fleet,
    guest_kind,
    guest_name,
    write_node,
)

from guard.services import preflight as pf  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUESTS = 40


def run_plan(source, dests, names=(), config=None, read_facts=facts_with_node_memory):
    results = pf.preflight(source, dests, list(names), not names, config or Config(), time.time(),
                           read_facts=read_facts)
    return results, pf.Plan.of(results, dests)


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    return fleet(tmp_path_factory.mktemp("fleet"), GUESTS, big_dests=2, small_dests=2)


def test_mixed_fleet_hostdevs_have_no_destination_and_big_guests_fit_only_big_hosts(hosts):
    source, big, small = hosts
    results, plan = run_plan(source, big + small)
    assert len(results) == GUESTS * 4
    assert plan.guests == [guest_name(i) for i in range(GUESTS)]  # every running guest, by name
    placements = plan.placements()
    for index in range(GUESTS):
        name, kind = guest_name(index), guest_kind(index)
        expected = {"hostdev": [], "big": big, "small": big + small}[kind]
        assert placements[name] == expected, name
        for dest in big + small:
            outcome = plan.cells[name, dest]
            denies = {f.code for f in outcome.denies}
            if kind == "hostdev":
                assert denies == {"device-passthrough[pci]"}
            elif kind == "big" and dest in small:
                assert denies == {"memory-size[host]"}
                finding = outcome.denies[0]
                assert finding.evidence_dict()["guest_bytes"] == BIG_GUEST_GIB << 30
            else:
                assert outcome.decision == "allow" and not denies
    hostdevs = sum(guest_kind(i) == "hostdev" for i in range(GUESTS))
    bigs = sum(guest_kind(i) == "big" for i in range(GUESTS))
    assert plan.summary() == {**{d: {"allow": GUESTS - hostdevs, "deny": hostdevs, "error": 0} for d in big},
                              **{d: {"allow": GUESTS - hostdevs - bigs, "deny": hostdevs + bigs, "error": 0}
                                 for d in small}}
    assert plan.unplaced() == [guest_name(i) for i in range(GUESTS) if guest_kind(i) == "hostdev"]
    assert plan.exit_code() == 1  # some guests have no destination, and every destination said why


def test_an_unreachable_destination_is_an_error_there_and_the_others_are_still_decided(hosts):
    source, big, small = hosts
    _results, decided = run_plan(source, big + small)
    dests = [big[0], UNREACHABLE] + small
    _results, plan = run_plan(source, dests)
    for guest in plan.guests:
        outcome = plan.cells[guest, UNREACHABLE]
        assert outcome.decision == "error" and not outcome.findings
        assert "cannot connect to %s" % UNREACHABLE in outcome.reason
        for dest in [big[0]] + small:
            assert plan.cells[guest, dest] == decided.cells[guest, dest]
    assert plan.summary()[UNREACHABLE] == {"allow": 0, "deny": 0, "error": GUESTS}
    assert plan.placements() == {g: [d for d in placed if d in dests] for g, placed in decided.placements().items()}
    # The hostdev guests have no destination, and one destination gave no verdict for them.
    assert plan.undecided() == plan.unplaced() and plan.exit_code() == 2


def test_an_unreachable_destination_costs_nothing_when_every_guest_has_another(hosts):
    source, big, small = hosts
    names = [guest_name(i) for i in range(GUESTS) if guest_kind(i) != "hostdev"]
    _results, plan = run_plan(source, [UNREACHABLE] + big, names)
    assert plan.guests == sorted(names)
    assert all(plan.placements()[name] == big for name in names)
    assert plan.summary()[UNREACHABLE]["error"] == len(names)
    assert plan.undecided() == [] and plan.exit_code() == 0


def test_big_guests_with_only_small_destinations_have_none(hosts):
    source, _big, small = hosts
    names = [guest_name(i) for i in range(GUESTS) if guest_kind(i) == "big"]
    _results, plan = run_plan(source, small, names)
    assert plan.unplaced() == sorted(names) and plan.undecided() == [] and plan.exit_code() == 1


def test_each_destination_is_read_once_and_all_of_them_at_the_same_time(hosts):
    source, big, small = hosts
    dests = big + small + big  # named twice: read once, decided once
    barrier = threading.Barrier(4, timeout=20)  # passes only when the four reads overlap
    reads = []

    def read_facts(uri):
        reads.append(uri)
        barrier.wait()
        return facts_with_node_memory(uri)
    results, plan = run_plan(source, dests, [guest_name(1)], read_facts=read_facts)
    assert sorted(reads) == sorted(big + small)
    assert [dest for dest, _outcome in results] == big + small
    assert plan.placements() == {guest_name(1): big}


def test_facts_that_cannot_be_read_are_an_error_never_an_allow(hosts):
    source, big, _small = hosts

    def broken(uri):
        raise GuardError("collecting from %s failed: the daemon went away" % uri)
    _results, plan = run_plan(source, big, [guest_name(3)], read_facts=broken)
    outcome = plan.cells[guest_name(3), big[0]]
    assert outcome.decision == "error" and outcome.reason == "collecting from %s failed: the daemon went away" % big[0]
    assert plan.exit_code() == 2


def test_the_error_outcome_has_the_shape_of_every_other(hosts):
    source, big, _small = hosts
    _results, plan = run_plan(source, [big[0], UNREACHABLE], [guest_name(3)])
    allowed = plan.cells[guest_name(3), big[0]].to_dict()
    error = plan.cells[guest_name(3), UNREACHABLE].to_dict()
    assert error == failed(Config(), error["reason"], allowed["domain"]["name"], allowed["domain"]["uuid"]).to_dict()
    assert set(error) == set(allowed) | {"reason"} and error["domain"] == allowed["domain"]


def test_an_unreachable_source_is_an_error_for_the_run():
    with pytest.raises(GuardError, match="cannot connect"):
        pf.preflight(UNREACHABLE, ["test:///default"], [], True, Config(), time.time())


def test_without_a_dirty_rate_api_the_guests_are_still_decided(hosts):
    """libvirt's test driver refuses virDomainStartDirtyRateCalc: with a bandwidth set the
    guests are decided without the convergence estimate."""
    source, big, _small = hosts
    config = parse_config('[memory]\nbandwidth = "1 GiB"\n')
    assert config.bandwidth
    conn = libvirt.open(source)
    try:
        assert pf.measure_dirty_rates(conn, conn.listAllDomains()) == {}
    finally:
        conn.close()
    _results, plan = run_plan(source, big, [guest_name(3)], config=config)
    outcome = plan.cells[guest_name(3), big[0]]
    assert outcome.decision == "allow" and "memory-size[convergence]" not in {f.code for f in outcome.findings}


class _FakeDom:
    def __init__(self, name, xml=None, error=None):
        self._name, self._xml, self._error = name, xml, error

    def name(self):
        return self._name

    def UUIDString(self):
        return "8f99e332-06c4-463a-9099-330fb244e1b3"

    def snapshotNum(self, flags):
        return 0

    def XMLDesc(self, flags):
        assert flags == libvirt.VIR_DOMAIN_XML_MIGRATABLE
        if self._error:
            raise self._error
        return self._xml


def test_a_guest_that_cannot_be_read_is_an_error_for_that_guest_only(monkeypatch, hosts):
    """A guest that vanishes between the listing and the read, or whose XML we refuse."""
    _source, big, _small = hosts
    gone = libvirt.libvirtError("Domain not found")
    doms = [_FakeDom("b-gone", error=gone), _FakeDom("a-fine", minimal_guest("a-fine", virt_type="test")),
            _FakeDom("c-bad", "<domain>")]

    class Conn:
        def listAllDomains(self, flags):
            return list(doms)

    monkeypatch.setattr(pf, "collect", lambda uri, conn=None: facts_with_node_memory("test:///default"))
    _fingerprint, guests = pf.read_source(Conn(), "test:///source.xml", [], True, False)
    assert [g[0] for g in guests] == ["a-fine", "b-gone", "c-bad"]
    assert guests[0][2] is not None and guests[0][4] is None
    assert guests[1][2] is None and "reading b-gone on test:///source.xml failed" in guests[1][4]
    assert guests[2][2] is None and "c-bad" in guests[2][4]


def _plan_of(cells):
    """A Plan from {(guest, dest): decision} with stand-in outcomes."""
    results = [(dest, failed(Config(), "x", guest)._replace(decision=decision)) for (guest, dest), decision in cells.items()]
    return pf.Plan.of(results, list(dict.fromkeys(dest for _g, dest in cells)))


@pytest.mark.parametrize("cells, code", [
    ({("g", "A"): "allow", ("g", "B"): "error"}, 0),         # placed; B is only one fewer choice
    ({("g", "A"): "deny", ("g", "B"): "deny"}, 1),           # nowhere, and both said why
    ({("g", "A"): "deny", ("g", "B"): "error"}, 2),          # nowhere, but B never answered
    ({("g", "A"): "error"}, 2),                              # a single unreachable destination
    ({("g", "A"): "would-deny", ("h", "A"): "allow"}, 1),    # audit mode: a limitation applies
    ({("g", "A"): "allow", ("h", "A"): "deny", ("h", "B"): "error", ("g", "B"): "allow"}, 2),
])
def test_exit_codes(cells, code):
    assert _plan_of(cells).exit_code() == code


def cli(capsys, *argv):
    capsys.readouterr()
    code = cli_main(["preflight"] + list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_has_results_summary_and_plan(hosts, capsys, monkeypatch):
    source, big, small = hosts
    monkeypatch.setattr(pf, "collect", _collect_with_memory())
    names = [guest_name(i) for i in (0, 1, 3)]
    code, out, err = cli(capsys, *names, "--source", source, "--dest", big[0], "--dest", small[0], "--dest",
                         UNREACHABLE, "--format", "json")
    assert err == ""
    data = json.loads(out)
    assert set(data) == {"results", "summary", "plan", "destinations"}
    assert data["plan"] == {names[0]: [], names[1]: [big[0]], names[2]: [big[0], small[0]]}
    assert data["summary"] == {big[0]: {"allow": 2, "deny": 1, "error": 0},
                               small[0]: {"allow": 1, "deny": 2, "error": 0},
                               UNREACHABLE: {"allow": 0, "deny": 0, "error": 3}}
    assert len(data["results"]) == 9
    errors = [r for r in data["results"] if r["dest"] == UNREACHABLE]
    assert {r["decision"] for r in errors} == {"error"} and all(r["source"] == source for r in errors)
    assert code == 2  # the hostdev guest has no destination and the third one gave no verdict


def test_a_single_unreachable_destination_exits_2(hosts, capsys):
    source, _big, _small = hosts
    code, out, _err = cli(capsys, "--all", "--source", source, "--dest", UNREACHABLE, "--format", "json")
    data = json.loads(out)
    assert code == 2
    assert {r["decision"] for r in data["results"]} == {"error"} and len(data["results"]) == GUESTS
    assert data["plan"] == {guest_name(i): [] for i in range(GUESTS)}
    code, out, _err = cli(capsys, guest_name(3), "--source", source, "--dest", UNREACHABLE)
    assert code == 2 and "error" in out.splitlines()[1]


def _collect_with_memory():
    real = pf.collect

    def collect(uri, conn=None, **kwargs):
        if conn is None:
            return facts_with_node_memory(uri)
        return real(uri, conn=conn, **kwargs)
    return collect


def test_text_is_a_table_then_destinations_then_the_guests_with_none(hosts, capsys, monkeypatch):
    source, big, small = hosts
    monkeypatch.setattr(pf, "collect", _collect_with_memory())
    names = [guest_name(i) for i in (0, 1, 3)]
    code, out, _err = cli(capsys, *names, "--source", source, "--dest", big[0], "--dest", small[0])
    lines = out.splitlines()
    assert lines[0].split() == ["GUEST", "big0.xml", "small0.xml"]
    assert lines[1].split() == [names[0], "deny", "device-passthrough[pci]", "deny", "device-passthrough[pci]"]
    assert lines[2].split() == [names[1], "allow", "deny", "memory-size[host]"]
    assert lines[3].split() == [names[2], "allow", "allow"]
    assert lines[4] == ""
    assert lines[5] == "big0.xml (%s): 2 allow, 1 deny, 0 error" % big[0]
    assert lines[6] == "small0.xml (%s): 1 allow, 2 deny, 0 error" % small[0]
    assert lines[8:] == ["no destination (1 of 3 guests):",
                         "  %s: big0.xml deny device-passthrough[pci], small0.xml deny device-passthrough[pci]"
                         % names[0]]
    assert code == 1
    code, out, _err = cli(capsys, names[2], "--source", source, "--dest", big[0], "--details")
    assert code == 0
    assert out.startswith("%s -> %s: ALLOW\n" % (names[2], big[0]))
    assert out.rstrip().endswith("every guest has a destination (1 guests)")


def test_progress_goes_to_stderr_only_when_it_is_a_terminal(hosts):
    source, big, small = hosts
    argv = [sys.executable, "-m", "guard", "preflight", "--all", "--source", source, "--format", "json"]
    for dest in big + small:
        argv += ["--dest", dest]
    piped = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert piped.returncode == 1 and piped.stderr == ""
    primary, secondary = pty.openpty()
    try:
        on_tty = subprocess.run(argv, stdout=subprocess.PIPE, stderr=secondary, text=True, cwd=REPO)
        os.close(secondary)
        secondary = None
        shown = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the other side is closed and everything was read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(primary)
        if secondary is not None:
            os.close(secondary)
    assert on_tty.returncode == 1 and json.loads(on_tty.stdout) == json.loads(piped.stdout)
    text = shown.decode()
    assert "destinations read 4/4" in text
    assert "guests decided %d/%d" % (GUESTS, GUESTS) in text
    assert text.endswith("\r\x1b[K")  # the line is cleared at the end


def test_no_running_guests(tmp_path, capsys):
    empty = write_node(tmp_path, "empty", 64)
    code, out, _err = cli(capsys, "--all", "--source", empty, "--dest", "test:///default")
    assert (code, out) == (0, "no running guests on %s\n" % empty)


def test_plan_places_guests_within_each_destinations_memory_and_prints_with_one_down(hosts, capsys, tmp_path):
    """`--plan`: every guest one destination with room; a destination down is named, and the
    others are still planned (exit 2: guests are left over and an error stood in)."""
    source, big, small = hosts
    config = tmp_path / "plan.toml"
    config.write_text('[plan]\nmemory_reserve = "2 GiB"\nvcpu_ratio = 64\n')
    code, out, _err = cli(capsys, "--all", "--plan", "--source", source, "--dest", big[0], "--dest", small[0],
                          "--dest", UNREACHABLE, "--format", "json", "--config", str(config))
    data = json.loads(out)
    assert code == 2
    assert data["destinations"][UNREACHABLE]["error"].startswith("cannot connect to")
    assert data["destinations"][big[0]]["error"] is None
    moves, unplaced = data["moves"], {u["guest"]: u["reason"] for u in data["unplaced"]}
    assert [m["order"] for m in moves] == list(range(1, len(moves) + 1))
    assert len(moves) + len(unplaced) == GUESTS
    # Each destination's moves fit in its memory (256 and 32 GiB, no guests running there).
    for dest, gib in ((big[0], 256), (small[0], 32)):
        assert sum(m["memory_bytes"] for m in moves if m["dest"] == dest) <= (gib - 2) << 30
    placed = {m["guest"]: m["dest"] for m in moves}
    for index in range(GUESTS):
        name = guest_name(index)
        if guest_kind(index) == "hostdev":
            assert "no destination accepts it" in unplaced[name] and UNREACHABLE + " error" in unplaced[name]
        elif guest_kind(index) == "big" and name in placed:
            assert placed[name] == big[0]  # a small host refused it
    bigs = [guest_name(i) for i in range(GUESTS) if guest_kind(i) == "big"]
    assert sum(1 for name in bigs if name in placed) == (256 - 2) // BIG_GUEST_GIB  # five 48 GiB guests fit
    assert all("no room left" in unplaced[name] for name in bigs if name not in placed)
    # Largest first: the moves' memory never grows.
    sizes = [m["memory_bytes"] for m in moves]
    assert sizes == sorted(sizes, reverse=True)
    code, text, _err = cli(capsys, "--all", "--plan", "--source", source, "--dest", big[0], "--dest", small[0],
                           "--dest", UNREACHABLE, "--config", str(config))
    assert code == 2 and "plan: %d of %d guests placed" % (len(moves), GUESTS) in text
    assert "virsh -c %s migrate --live --persistent --undefinesource %s %s" % (
        source, moves[0]["guest"], moves[0]["dest"]) in text


def _guard_shell(tmp_path, facts_uri):
    """A destination shell that runs this checkout's guard with a config of its own, as
    `ssh HOST` would run the destination's: the facts cache is collected from facts_uri."""
    facts = tmp_path / "dest-facts.json"
    subprocess.run([sys.executable, "-m", "guard", "facts", "collect", "--uri", facts_uri, "--output", str(facts)],
                   check=True, capture_output=True, cwd=REPO)
    config = tmp_path / "dest.toml"
    config.write_text('[paths]\nfacts = "%s"\nbypass = "%s"\n' % (facts, tmp_path / "no-bypass.json"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "migration-guard"
    wrapper.write_text("#!/bin/sh\ncd %s && exec %s -m guard \"$@\"\n" % (REPO, sys.executable))
    wrapper.chmod(0o755)
    return "env PATH=%s:/usr/bin:/bin MIGRATION_GUARD_CONFIG=%s" % (bin_dir, config), facts, config


def test_a_destination_with_a_shell_decides_each_guest_as_its_hook_would(tmp_path, capsys):
    """Parity by construction: with --dest-shell the destination's own `check --probe
    --batch` decides, and says what `check --probe` on its cached facts says of the same
    XML; without a shell the same guest is decided here, its paths unverifiable."""
    dest = "test:///default"
    shell, facts, config = _guard_shell(tmp_path, dest)
    code, out, _err = cli(capsys, "test", "--source", dest, "--dest", dest, "--dest-shell", shell, "--format", "json")
    remote = json.loads(out)
    assert remote["destinations"][dest] == {"decided_by": "destination", "error": None, "shell": shell}
    decided = remote["results"][0]
    xml = tmp_path / "test.xml"
    xml.write_text(libvirt.open(dest).lookupByName("test").XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE))
    source_facts = tmp_path / "source.json"
    source_facts.write_text(facts.read_text())
    direct = subprocess.run([sys.executable, "-m", "guard", "check", "--probe", "--domain-xml", str(xml), "--facts",
                             str(facts), "--source-facts", str(source_facts), "--config", str(config), "--format",
                             "json"], capture_output=True, text=True, cwd=REPO)
    expected = json.loads(direct.stdout)
    assert decided["decision"] == expected["decision"] == "deny"
    assert {f["code"] for f in decided["findings"] if f["code"] != "unverifiable[source-refusal]"} == {
        f["code"] for f in expected["findings"]}
    assert "storage[pool]" in {f["code"] for f in decided["findings"]}  # its disk path, stat'ed there
    assert code == 1
    code, out, _err = cli(capsys, "test", "--source", dest, "--dest", dest, "--dest-shell", "none", "--format", "json")
    here = json.loads(out)
    assert here["destinations"][dest]["decided_by"] == "source"
    assert "storage[pool]" not in {f["code"] for f in here["results"][0]["findings"]}


def test_a_failing_destination_shell_is_an_error_for_that_destination_only(tmp_path, capsys, hosts):
    source, big, _small = hosts
    code, out, _err = cli(capsys, guest_name(3), "--source", source, "--dest", big[0], "--dest-shell", "false",
                          "--format", "json")
    data = json.loads(out)
    assert code == 2 and data["results"][0]["decision"] == "error"
    assert "the destination's own check (false) failed (exit 1)" in data["results"][0]["reason"]
    assert data["destinations"][big[0]]["error"] == data["results"][0]["reason"]


def test_ssh_is_the_default_shell_for_ssh_uris_only():
    assert pf.dest_shell_for("qemu+ssh://root@hv02:2222/system") == [
        "ssh", "-o", "BatchMode=yes", "-p", "2222", "root@hv02"]
    assert pf.dest_shell_for("qemu+ssh://hv02/system") == ["ssh", "-o", "BatchMode=yes", "hv02"]
    assert pf.dest_shell_for("qemu+tls://hv02/system") is None
    assert pf.dest_shell_for("qemu+ssh://hv02/system", "none") is None
    assert pf.dest_shell_for("qemu+tls://hv02/system", "ssh -l admin {host}") == ["ssh", "-l", "admin", "hv02"]


def test_batch_answers_every_guest_in_order_a_bad_one_with_its_own_error(tmp_path):
    shell, _facts, _config = _guard_shell(tmp_path, "test:///default")
    from guard.services.incoming import request
    body = request([(minimal_guest("one"), None, None), ("<domain>", None, None), (minimal_guest("two"), 5e6, None)])
    done = subprocess.run(shell.split() + ["migration-guard", "check", "--probe", "--batch"], input=body,
                          capture_output=True)
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert done.returncode == 0, done.stderr
    assert [d["domain"]["name"] for d in lines][::2] == ["one", "two"]
    assert {d["decision"] for d in lines[::2]} <= {"allow", "deny"}  # decided, on the test driver's facts
    assert lines[1]["decision"] == "error" and "guest 2 of the request" in lines[1]["reason"]
    misuse = subprocess.run(shell.split() + ["migration-guard", "check", "--batch"], input=body, capture_output=True)
    assert misuse.returncode == 2 and b"--batch decides as this host's hook" in misuse.stderr
    wrong = subprocess.run(shell.split() + ["migration-guard", "check", "--probe", "--batch"], input=b'{"guests": []}',
                           capture_output=True)
    assert wrong.returncode == 2 and b"request protocol None" in wrong.stderr


def test_without_a_shell_the_destinations_libvirt_answers_what_it_can(tmp_path, capsys, hosts):
    """No shell: the destination's own guests come from its libvirt (here it runs copies of
    the first guests already: libvirt would refuse them), and paths it cannot vouch for
    stay unverifiable."""
    source, _big, _small = hosts
    crowded = write_node(tmp_path, "crowded", 256, guests=4)  # vm0000..vm0003, same names and UUIDs
    code, out, _err = cli(capsys, guest_name(3), guest_name(4), "--source", source, "--dest", crowded,
                          "--format", "json")
    data = json.loads(out)
    by_guest = {r["domain"]["name"]: r for r in data["results"]}
    assert data["destinations"][crowded]["decided_by"] == "source"
    assert "defined-guest[active]" in {f["code"] for f in by_guest[guest_name(3)]["findings"]}
    assert by_guest[guest_name(4)]["decision"] == "allow"
    assert code == 1


def test_a_missing_guest_is_an_error_for_it_alone(hosts, capsys):
    source, big, _small = hosts
    code, out, _err = cli(capsys, guest_name(3), "no-such-guest", "--source", source, "--dest", big[0])
    assert code == 2  # no place for it, and an error stood in
    assert "no-such-guest: big0.xml error: no-such-guest on %s: Domain not found" % source in out
    assert [line for line in out.splitlines() if line.startswith(guest_name(3))][0].split()[1] == "allow"
