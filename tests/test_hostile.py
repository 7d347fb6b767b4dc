"""Issue 11: the hook against hostile guests, broken hosts and a careless operator. Each
test is one reproduction from the issue, run as libvirt runs the hook (the installed sh
front end, libvirt's environment) where the hook is involved."""
import fcntl
import gzip
import json
import os
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from support.helpers import REPO, codes, debian12_facts, decide, minimal_guest, wait_until
from test_hook import BIG, SMALL, Host, needs_root, the_record

from guard.bypass import MAX_BYPASS_SECONDS, login_user, parse_bypass
from guard.config import Config, parse_config
from guard.errors import ConfigError
from guard.facts.cache import as_collected, facts_to_json, load_cache
from guard.facts.fingerprint import fingerprint_of
from guard.guest.metadata import stamp_xml

HOSTDEV = ("<hostdev mode='subsystem' type='pci' managed='yes'><source>"
           "<address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>")
GUARD_NS = "https://migration-guard.dev/xmlns/1"


@pytest.fixture
def host(tmp_path):
    return Host(str(tmp_path))


def unread(pipe):
    """How many bytes written to a pipe its reader has yet to read."""
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def guarded_guest(guard_children, name="guest"):
    """A guest with a PCI hostdev (always a deny) and the given <mguard:guard> children."""
    metadata = "\n  <metadata><mguard:guard xmlns:mguard='%s'>%s</mguard:guard></metadata>" % (GUARD_NS,
                                                                                            guard_children)
    return minimal_guest(name=name, metadata=metadata, extra=HOSTDEV)


def fingerprint_element(text):
    return "<fingerprint>%s</fingerprint>" % text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- 1. Guest metadata never decides ----------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                               max_size=4), max_leaves=20)
FIELDS = sorted(fingerprint_of(debian12_facts())._fields)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(JSON, st.dictionaries(st.sampled_from(FIELDS + ["version"]), JSON, max_size=8)
                 .map(lambda d: dict(d, version=1))))
def test_random_json_fingerprints_never_stop_the_other_rules(shape):
    """Any JSON shape in the fingerprint: the hostdev is still denied by its own rule, and
    a fingerprint that is not usable says so as unverifiable[source-fingerprint]."""
    outcome = decide(guarded_guest(fingerprint_element(json.dumps(shape))), debian12_facts())
    assert outcome.decision == "deny"
    assert "device-passthrough[pci]" in codes(outcome, "deny")
    if outcome.fingerprint is None:
        assert "unverifiable[source-fingerprint]" in codes(outcome)


NAMES = st.sampled_from(["fingerprint", "exemption", "signature", "guard", "x", "rules"])
ATTRS = st.dictionaries(st.sampled_from(["rules", "reason", "until", "version", "x"]),
                        st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30), max_size=4)


@st.composite
def guard_trees(draw, depth=0):
    element = etree.Element(draw(NAMES), draw(ATTRS))
    if draw(st.booleans()):
        element.text = draw(st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
                                              max_size=40), JSON.map(json.dumps)))
    if depth < 3:
        for child in draw(st.lists(guard_trees(depth=depth + 1), max_size=3)):
            element.append(child)
    return element


@pytest.mark.slow  # 200 random trees through the whole decision: over 4 s on a 2-core machine
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(guard_trees(), max_size=5), st.booleans())
def test_random_metadata_shapes_never_stop_the_other_rules(children, opted_in):
    """Random elements, attributes and text under <mguard:guard> (fingerprints, exemptions,
    nonsense): parsing never fails, and the hostdev is still found. Exemptions decide only
    when the config opts in, and then only through a well-formed one naming the rule."""
    xml = guarded_guest("".join(etree.tostring(c, encoding="unicode") for c in children))
    outcome = decide(xml, debian12_facts(), config=Config(allow_metadata_exemptions=opted_in))
    pci = [f for f in outcome.findings if f.code == "device-passthrough[pci]"]
    assert len(pci) == 1
    if not opted_in:
        assert pci[0].action == "deny" and outcome.decision == "deny"
    elif pci[0].action == "info":
        assert "exempted by domain metadata" in pci[0].message


@needs_root
@pytest.mark.parametrize("fingerprint", ['{"version": 1, "kernel_release": 5}', '{"version": 1, "cpu_features": 7}',
                                         '{"version": 1, "host": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_odd_fingerprint_with_on_error_allow_still_refuses_a_hostdev_guest(tmp_path, fingerprint):
    host = Host(str(tmp_path), 'on_error = "allow"')
    result = host.run(xml=guarded_guest(fingerprint_element(fingerprint)))
    assert result.returncode == 1 and b"[device-passthrough[pci]]" in result.stderr
    record = the_record(host)
    assert record["decision"] == "deny" and record["fingerprint"] is False
    assert "unverifiable[source-fingerprint]" in {f["code"] for f in record["findings"]}


# --- 2. The decision stands ---------------------------------------------------------------

@needs_root
def test_audit_log_fifo_neither_blocks_nor_changes_the_decision(host):
    os.makedirs(os.path.dirname(host.audit))
    os.mkfifo(host.audit)
    host.write_config('timeout = "1s"')  # any hang would hit the backstop: exit by on_error
    for name, xml, code in (("small", SMALL, 0), ("big", BIG, 1)):
        started = time.monotonic()
        result = host.run(name=name, xml=xml)
        assert time.monotonic() - started < 3
        assert result.returncode == code and result.stdout == b""
        assert b"not a regular file" in result.stderr and b"stands" in result.stderr


JOURNAL_STALL = r'''
import os, socket, subprocess, sys, time
os.makedirs("/run/systemd/journal")
path = "/run/systemd/journal/socket"
server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
server.bind(path)  # never read: journald stalled
filler = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
filler.setblocking(False)
try:
    while True:
        filler.sendto(b"MESSAGE=x\n", path)
except BlockingIOError:
    pass
started = time.monotonic()
result = subprocess.run(sys.argv[1:], input=sys.stdin.buffer.read(), capture_output=True)
sys.stderr.buffer.write(result.stderr)
print("%d %.2f" % (result.returncode, time.monotonic() - started))
'''


@needs_root
def test_stalled_journal_cannot_change_the_decision(host):
    """journald's socket exists but takes nothing: the decision is still the exit code."""
    host.write_config('timeout = "1s"')
    script = "mount -t tmpfs tmpfs /run && exec \"$@\""
    # The big guest's refusal is deferred to prepare (guard.decide.deferral): both hook runs.
    for name, xml, op, code in (("small", SMALL, "migrate", 0), ("big", BIG, "migrate", 0), ("big", BIG, "prepare", 1)):
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                       "MIGRATION_GUARD_CONFIG": host.config}
        result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "stall",
                                 sys.executable, "-c", JOURNAL_STALL, host.hook, name, op, "begin", "-"],
                                input=xml.encode(), capture_output=True, env=environment, timeout=60)
        returncode, elapsed = result.stdout.split()
        assert int(returncode) == code, result.stderr
        assert float(elapsed) < 3
        assert b"journal did not take the summary" in result.stderr
    assert [r["decision"] for r in host.records()] == ["allow", "deferred", "deny"]


@needs_root
def test_a_fragment_never_swallows_the_next_record(host):
    """A short write (disk full) left a fragment without a newline: the next record is
    whole on its own line, and `audit` counts the fragment."""
    os.makedirs(os.path.dirname(host.audit), mode=0o750)
    with open(host.audit, "w") as handle:
        handle.write('{"schema": 1, "time": "2026-11-29T00:00:00Z", "deci')
    os.chmod(host.audit, 0o640)
    assert host.run().returncode == 0
    with open(host.audit) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["decision"] == "allow"
    table = audit_cli(host)
    assert "(1 records; 1 fragment skipped)" in table.stdout


HOLD_LOCK = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
os.lockf(fd, os.F_LOCK, 0)
os.write(fd, b'{"half": ')  # a writer caught mid-record, its newline not yet written
print("locked", flush=True)
if sys.stdin.readline():
    os.write(fd, b'"whole"}\\n')
os.close(fd)
"""


def _holder(path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_an_append_waits_for_a_record_another_writer_is_writing(tmp_path):
    """A concurrent record caught between its size growing and its newline landing is not
    taken for a fragment: the append waits for the writer's lock, so no blank line and no
    record split in two."""
    import threading

    from guard.output.audit import append_record
    path = str(tmp_path / "audit.log")
    open(path, "w").close()
    os.chmod(path, 0o640)
    holder = _holder(path)
    appender = threading.Thread(target=append_record, args=(path, '{"mine": 1}'))
    appender.start()
    time.sleep(0.2)  # the append is at the lock (or, without one, already done) when the writer finishes
    holder.stdin.write("finish\n")
    holder.stdin.close()
    holder.wait()
    appender.join(30)
    with open(path) as handle:
        assert handle.read().splitlines() == ['{"half": "whole"}', '{"mine": 1}']


def test_a_lock_never_released_costs_a_line_break_not_a_hung_migration(tmp_path):
    import threading

    from guard.output.audit import append_record
    path = str(tmp_path / "audit.log")
    open(path, "w").close()
    os.chmod(path, 0o640)
    holder = _holder(path)
    try:
        appender = threading.Thread(target=append_record, args=(path, '{"mine": 1}'))
        appender.start()
        appender.join(30)
        assert not appender.is_alive()
        with open(path) as handle:
            assert handle.read().splitlines() == ['{"half": ', '{"mine": 1}']
    finally:
        holder.stdin.close()
        holder.wait()


# --- 3. Trusted files ---------------------------------------------------------------------

LOG_MARK = b"--- default audit log ---\n"


def run_with_private_var_log(host, **kwargs):
    """The hook with a private tmpfs on /var/log: a config the hook refuses is not trusted
    for its audit_log either, so the record goes to the default log, caught here without
    touching the machine's. (result with the hook's own stderr, records of that log)."""
    script = ('mount -t tmpfs tmpfs /var/log && "$@"; rc=$?; printf -- "--- default audit log ---\\n" >&2; '
              'cat /var/log/migration-guard/audit.log >&2; exit $rc')
    result = host.run(prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", script, "hook"), **kwargs)
    stderr, _mark, log = result.stderr.partition(LOG_MARK)
    result.stderr = stderr
    return result, [json.loads(line) for line in log.decode().splitlines()]

@needs_root
def test_world_writable_config_is_not_obeyed(host):
    host.write_config('on_error = "allow"\nmode = "audit"')
    os.chmod(host.config, 0o666)
    result, records = run_with_private_var_log(host, name="big", xml=BIG)
    assert result.returncode == 1 and b"config refused" in result.stderr and b"writable" in result.stderr
    assert [r["decision"] for r in records] == ["error"] and host.records() == []


@needs_root
def test_config_in_a_folder_others_can_write_is_not_obeyed(tmp_path):
    host = Host(str(tmp_path), 'mode = "audit"')
    os.chmod(str(tmp_path), 0o777)
    result, records = run_with_private_var_log(host, name="big", xml=BIG)
    assert result.returncode == 1 and b"config refused" in result.stderr and b"folder" in result.stderr
    assert [r["decision"] for r in records] == ["error"]


@needs_root
def test_symlink_at_the_audit_path_is_not_followed(host, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.makedirs(os.path.dirname(host.audit), mode=0o750)
    os.symlink(str(victim), host.audit)
    result = host.run(name="big", xml=BIG)
    assert result.returncode == 1 and b"[memory-size[limit]]" in result.stderr
    assert b"symlink" in result.stderr and b"decision deny stands" in result.stderr
    assert victim.read_text() == "precious\n"


@needs_root
@pytest.mark.parametrize("what", ["facts", "bypass"])
def test_fifo_at_a_read_path_is_refused_without_blocking(host, what):
    path = host.facts if what == "facts" else host.bypass
    if os.path.exists(path):
        os.unlink(path)
    os.mkfifo(path)
    started = time.monotonic()
    result = host.run()
    # Facts it cannot read are an error (on_error deny refuses); an unreadable bypass is a note.
    assert time.monotonic() - started < 3 and result.returncode == (1 if what == "facts" else 0)
    record = the_record(host)
    problem = record["facts_problem"] if what == "facts" else " ".join(record["notes"])
    assert "not a regular file" in problem


@needs_root
def test_facts_in_a_folder_others_can_write_are_refused(host, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(str(shared), 0o777)
    facts = shared / "facts.json"
    facts.write_text(facts_to_json(as_collected(debian12_facts())))
    host.facts = str(facts)
    host.write_config()
    assert host.run().returncode == 1  # unusable facts: an error, on_error (deny) decides
    assert "another user could replace it" in the_record(host)["facts_problem"]
    os.chmod(str(shared), 0o1777)  # sticky: others cannot replace root's file
    host.run()
    assert host.records()[-1]["facts_problem"] is None


@needs_root
@pytest.mark.parametrize("config", ["fifo", "/dev/zero", "huge"])
def test_config_that_would_hang_or_grow_is_refused_under_the_deadline(host, config):
    if config == "fifo":
        os.unlink(host.config)
        os.mkfifo(host.config)
        path, expected = host.config, b"not a regular file"
    elif config == "huge":
        with open(host.config, "w") as handle:
            handle.write("# padding\n" * 40000)
        path, expected = host.config, b"over 262144 bytes"
    else:
        path, expected = config, b"not a regular file"
    started = time.monotonic()
    result, records = run_with_private_var_log(host, env={"MIGRATION_GUARD_CONFIG": path})
    assert time.monotonic() - started < 5
    assert result.returncode == 1 and expected in result.stderr and result.stdout == b""
    assert [r["decision"] for r in records] == ["error"]


# --- 6. Time ------------------------------------------------------------------------------

def test_facts_aged_by_the_boot_clock_or_without_a_time_are_judged(tmp_path):
    """The facts' age is judged by the boot they were collected in and its clock (issue 21):
    an hour ahead by the wall clock (a clock stepped back since) is fresh."""
    now = time.time()
    collected = as_collected(debian12_facts())
    for written, expected in ((collected._replace(collected_at=now + 3600), None),
                              (collected._replace(boot_id=None, collected_boot_s=None), "no collection time"),
                              (collected._replace(collected_boot_s=collected.collected_boot_s - 2 * 86400), "stale"),
                              (collected._replace(collected_boot_s=collected.collected_boot_s - 60), None)):
        path = tmp_path / "facts.json"
        path.write_text(facts_to_json(written))
        os.chmod(str(path), 0o644)
        facts, problem = load_cache(str(path), 86400, trusted_uid=os.geteuid())
        if expected is None:
            assert facts is not None and problem is None
        else:
            assert facts is None and expected in problem


@pytest.mark.parametrize("text, key", [
    ('max_facts_age = "0s"\n', "max_facts_age"),
    ('timeout = "0s"\n', "timeout"),
    ('timeout = "%sd"\n' % ("9" * 400), "timeout"),
    ('timeout = "100000d"\n', "timeout"),
    ('[memory]\nmax_downtime = "48h"\n', "memory.max_downtime"),
    ('[memory]\nbandwidth = "%s TiB"\n' % ("9" * 400), "memory.bandwidth"),
    ('[memory]\nlimit = "0 B"\n', "memory.limit"),
    ('paths = 5\n', "paths"),
    ('[[exemptions]]\n', "exemptions[0].reason"),
    ('exemptions = [1]\n', "exemptions[0]"),
    ('[fingerprint]\nkey = "relative.key"\n', "fingerprint.key"),
])
def test_out_of_range_config_values_are_errors_naming_the_key(text, key):
    with pytest.raises(ConfigError) as error:
        parse_config(text, "/etc/migration-guard/config.toml")
    assert ": %s: " % key in str(error.value) and "\n" not in str(error.value)


@needs_root
def test_overflowing_timeout_is_an_audited_error_not_a_crash(host):
    host.write_config('timeout = "%sd"' % ("9" * 400))
    result = host.run()
    assert result.returncode == 1 and b"Traceback" not in result.stderr and b"timeout" in result.stderr
    assert the_record(host)["decision"] == "error"


ABSURD_BYPASSES = {
    "until a huge integer": '{"until": %s, "reason": "r"}' % ("9" * 400),
    "until infinity": '{"until": Infinity, "reason": "r"}',
    "until NaN": '{"until": NaN, "reason": "r"}',
    "until 1e400": '{"until": 1e400, "reason": "r"}',
    "created minus infinity": '{"until": %d, "created": -Infinity, "reason": "r"}',
    "decades": '{"until": %d, "created": %d, "reason": "r"}',
    "created in the future": '{"until": %d, "created": %d, "reason": "r"}',
    "an array": "[1, 2]",
    "deep": "[" * 100000 + "]" * 100000,
    "reason a number": '{"until": %d, "reason": 5}',
}


@pytest.mark.parametrize("name", sorted(ABSURD_BYPASSES))
def test_absurd_bypass_values_are_ignored_with_a_note(name):
    now = 2_000_000_000.0
    text = ABSURD_BYPASSES[name]
    if name == "decades":
        text = text % (now + 20 * 365 * 86400, now)
    elif name == "created in the future":
        text = text % (now + 7200, now + 3600)
    elif "%d" in text:
        text = text % (now + 600)
    state, note = parse_bypass(text.encode(), now)
    assert state is None and note and "ignored" in note


@needs_root
def test_root_owned_bypass_with_a_huge_number_is_ignored_by_the_hook(host):
    with open(host.bypass, "w") as handle:
        handle.write('{"until": %s, "reason": "planted", "created": 0}' % ("9" * 400))
    result = host.run(name="big", xml=BIG)
    assert result.returncode == 1 and b"[memory-size[limit]]" in result.stderr
    assert any("corrupt" in note for note in the_record(host)["notes"])


def test_the_hook_caps_a_bypass_like_the_cli():
    now = 2_000_000_000.0
    ok, _ = parse_bypass(json.dumps({"until": now + MAX_BYPASS_SECONDS - 1, "created": now, "reason": "r"}).encode(),
                         now)
    too_long, note = parse_bypass(json.dumps({"until": now + MAX_BYPASS_SECONDS + 60, "created": now,
                                              "reason": "r"}).encode(), now)
    assert ok is not None and too_long is None and "7-day" in note


# --- Forged lines ---------------------------------------------------------------------------

@needs_root
def test_a_newline_in_a_guest_value_cannot_forge_a_line(host):
    # The machine type reaches the refusal (a missing emulator's path no longer does: issue 21).
    xml = minimal_guest(name="evil&#10;decision allow", machine="pc-q35-9&#10;migration-guard: [fake] all is well")
    result = host.run(name="evil", xml=xml)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert not any(line.startswith("migration-guard: [fake]") for line in lines)
    assert any("\\x0amigration-guard: [fake]" in line for line in lines)
    table = audit_cli(host).stdout.splitlines()
    assert len(table) == 3 and "evil\\x0adecision allow" in table[1]


# --- 7. Signals and closed stdio --------------------------------------------------------------

@needs_root
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("on_error, code", [("deny", 1), ("allow", 0)])
def test_a_signal_mid_decision_is_an_audited_error(host, signum, on_error, code):
    host.write_config('on_error = "%s"' % on_error)
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "MIGRATION_GUARD_CONFIG": host.config}
    process = subprocess.Popen([host.hook, "small", "migrate", "begin", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    try:
        process.stdin.write(SMALL.encode()[:50])  # the XML never ends: the hook is mid-decision
        process.stdin.flush()
        # Mid-decision once it has read those bytes (its handlers are set before it reads):
        # waited for, not slept on, since a loaded machine can take longer than any fixed
        # sleep to start Python.
        wait_until(lambda: process.poll() is not None or unread(process.stdin) == 0, "the hook to read its stdin")
        assert process.poll() is None, process.communicate()
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code and out == b""
    record = the_record(host)
    assert record["decision"] == "error" and record["reason"] == "interrupted by %s" % signal.Signals(signum).name


@needs_root
@pytest.mark.parametrize("closed", ["<&-", "2>&-", "<&- 2>&-"])
def test_closed_stdio_is_an_audited_error(host, closed):
    result = host.run(prefix=("sh", "-c", 'exec "$@" %s' % closed, "closer"))
    assert result.returncode == 1 and result.stdout == b""
    record = the_record(host)
    assert record["decision"] == "error" and record["reason"].startswith("the caller closed")
    for name in ("stdin", "stderr"):
        assert (name in record["reason"]) == (("<&-" if name == "stdin" else "2>&-") in closed)


# --- 8. Bypass records and who --------------------------------------------------------------

def test_bypass_by_is_the_login_user_never_an_environment_variable(tmp_path):
    loginuid = tmp_path / "loginuid"
    loginuid.write_text("0")
    assert login_user(str(loginuid), {"USER": "mallory", "LOGNAME": "mallory"}) == "root"
    loginuid.write_text("4294967295")  # no login session (a service): the real user
    assert login_user(str(loginuid), {"USER": "mallory"}) == login_user(str(tmp_path / "absent"), {})
    if os.getuid() == 0:
        assert login_user(str(loginuid), {"SUDO_USER": "alice", "SUDO_UID": "1000"}) == "alice (via sudo, as root)"


# --- 9. Signed fingerprints -------------------------------------------------------------------

def keyed_host(folder, profile="default"):
    key = os.path.join(folder, "fleet.key")
    with open(key, "wb") as handle:
        handle.write(b"k" * 32)
    os.chmod(key, 0o600)
    return Host(folder, 'profile = "%s"\n[fingerprint]\nkey = "%s"\n' % (profile, key)), key


def stamp(host, xml, tmp_path, signed=True):
    source = tmp_path / "source.json"
    source.write_text(facts_to_json(debian12_facts()))
    guest = tmp_path / "guest.xml"
    guest.write_text(xml)
    argv = [sys.executable, "-m", "guard", "stamp", "--domain-xml", str(guest), "--facts", str(source)]
    if signed:
        argv += ["--config", host.config]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_root
def test_signed_fingerprint_is_used_and_a_forged_one_is_not(tmp_path):
    host, _key = keyed_host(str(tmp_path), "strict")
    guest = minimal_guest(name="small", virt_type="kvm", cpu="<cpu mode='host-passthrough'/>")
    signed = stamp(host, guest, tmp_path)
    assert host.run(xml=signed).returncode in (0, 1)
    assert host.records()[-1]["fingerprint"] is True
    unsigned = stamp(host, guest, tmp_path, signed=False)
    result = host.run(xml=unsigned)
    assert result.returncode == 1 and b"[unverifiable[source-fingerprint]]" in result.stderr
    assert "not signed" in host.records()[-1]["fingerprint_problem"]
    # The signed fingerprint copied onto another guest, or edited: refused.
    other = signed.replace("8f99e332-06c4-463a-9099-330fb244e1b3", "11111111-06c4-463a-9099-330fb244e1b3")
    edited = signed.replace('"kernel_release":"6.1.0-40-amd64"', '"kernel_release":"9.9.9"')
    assert edited != signed
    for forged in (other, edited):
        result = host.run(xml=forged)
        assert result.returncode == 1 and "does not match" in host.records()[-1]["fingerprint_problem"]


@needs_root
def test_unsigned_fingerprint_is_refused_under_default_with_a_fleet_key(tmp_path):
    """Issue 21: a configured key means fingerprints are signed on this fleet, so an unsigned
    one is refused whatever the profile (it was a warning under default: the tenant could
    drop its fingerprint, or write its own, and choose which comparisons ran)."""
    host, key = keyed_host(str(tmp_path))
    unsigned = stamp_xml(minimal_guest(name="small"), fingerprint_of(debian12_facts()))
    result = host.run(xml=unsigned)
    assert result.returncode == 1 and b"[source-fingerprint[unsigned]]" in result.stderr
    record = the_record(host)
    assert record["fingerprint"] is False and "not signed" in record["fingerprint_problem"]
    findings = {(f["code"], f["action"]) for f in record["findings"]}
    assert ("source-fingerprint[unsigned]", "deny") in findings
    assert ("unverifiable[source-fingerprint]", "warn") in findings  # what was not compared, as before
    os.chmod(key, 0o644)  # a key others can read is no secret: nothing can be verified
    host.run(xml=stamp(host, minimal_guest(name="small"), tmp_path, signed=False))
    assert "readable by group or others" in host.records()[-1]["fingerprint_problem"]


# --- 5. audit ---------------------------------------------------------------------------------

def audit_cli(host, *args):
    result = subprocess.run([sys.executable, "-m", "guard", "audit"] + list(args), capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


ODD_LINES = ['{"time": 5, "decision": "deny"}', '{"findings": 5, "decision": "deny"}', '{"findings": [5, null]}',
             '{"time": null}', '[1, 2]', '"text"', '{"domain": "a\\u001b[31mred\\nrow"}', '{"bypass": 5, "event": 1}',
             "[" * 50000, "\x00\x01garbage"]


@pytest.mark.parametrize("args", [[], ["--since", "1h"], ["--rule", "x"], ["--decision", "deny"],
                                  ["--format", "json"], ["--until", "today"]])
def test_audit_survives_odd_lines_and_truncated_rotations(tmp_path, args):
    host = Host(str(tmp_path), facts=False)
    os.makedirs(os.path.dirname(host.audit))
    good = json.dumps({"time": "2026-11-29T00:00:00Z", "decision": "deny", "domain": "ok",
                       "findings": [{"code": "x", "rule": "x", "action": "deny"}]})
    with open(host.audit, "w") as handle:
        handle.write("\n".join(ODD_LINES + [good]) + "\n")
    data = gzip.compress(((good + "\n") * 2000).encode())
    with open(host.audit + ".1.gz", "wb") as handle:
        handle.write(data[:len(data) // 2])  # truncated by a crash mid-rotation
    result = audit_cli(host, *args)
    if not args or args == ["--until", "today"]:
        assert "unreadable past some point" in result.stdout and "\x1b" not in result.stdout
        assert "fragments skipped" in result.stdout


def test_audit_table_escapes_control_characters(tmp_path):
    host = Host(str(tmp_path), facts=False)
    os.makedirs(os.path.dirname(host.audit))
    with open(host.audit, "w") as handle:
        handle.write(json.dumps({"time": "2026-11-29T00:00:00Z", "decision": "deny",
                                 "domain": "a\x1b[2J\nFAKE ROW", "findings": []}) + "\n")
    lines = audit_cli(host).stdout.splitlines()
    assert len(lines) == 3 and "\\x1b[2J\\x0aFAKE ROW" in lines[1]


def test_audit_times_as_journalctl_users_type_them(tmp_path):
    host = Host(str(tmp_path), facts=False)
    os.makedirs(os.path.dirname(host.audit))
    now = time.time()

    def at(seconds_ago):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - seconds_ago))
    with open(host.audit, "w") as handle:
        for ago, name in ((3 * 86400, "old"), (7200, "two-hours"), (60, "minute")):
            handle.write(json.dumps({"time": at(ago), "decision": "allow", "domain": name}) + "\n")

    def names(*args):
        return [json.loads(line)["domain"] for line in audit_cli(host, "--format", "json", *args).stdout.splitlines()]
    assert names("--since", "-1h") == ["minute"]
    assert names("--since", "1h ago") == ["minute"]
    assert names("--until", "-1h") == ["old", "two-hours"]
    assert names("--since", "3h", "--until", "now") == ["two-hours", "minute"]
    assert names("--until", "yesterday") == ["old"]
    assert "old" not in names("--since", "yesterday")
    midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
    assert names("--since", "today") == [name for ago, name in ((7200, "two-hours"), (60, "minute"))
                                         if now - ago >= midnight]
    assert names("--since", time.strftime("%Y-%m-%d", time.gmtime(now - 4 * 86400))) == ["old", "two-hours", "minute"]


def test_audit_reads_every_logrotate_naming_oldest_first(tmp_path):
    """Issue 12 item 7: .N, .N.gz, -YYYYMMDD, -YYYYMMDD.gz (RHEL's logrotate uses dateext)."""
    host = Host(str(tmp_path), facts=False)
    os.makedirs(os.path.dirname(host.audit))

    def write(suffix, domain):
        line = (json.dumps({"time": "2026-11-29T00:00:00Z", "decision": "allow", "domain": domain}) + "\n").encode()
        with open(host.audit + suffix, "wb") as handle:
            handle.write(gzip.compress(line) if suffix.endswith(".gz") else line)
    write(".2.gz", "n2")
    write(".1", "n1")
    write("-20261101.gz", "d1101")
    write("-20261108.gz", "d1108")
    write("-20261115", "d1115")
    write("", "current")
    write(".bak", "ignored")
    write("-old", "ignored")
    got = [json.loads(line)["domain"] for line in audit_cli(host, "--format", "json").stdout.splitlines()]
    assert got == ["n2", "n1", "d1101", "d1108", "d1115", "current"]


# --- 10. CI ---------------------------------------------------------------------------------

@pytest.mark.skipif(os.geteuid() != 0, reason="a PID namespace of its own needs root")
def test_ci_leftover_check_fails_with_a_process_of_that_name(tmp_path):
    """In a PID namespace of its own (other test runs' daemons are not seen): the check
    passes with nothing running, and fails naming a dummy called qemu-system-x86_64 (the
    kernel cuts it to qemu-system-x86) or virtlogd."""
    check = os.path.join(REPO, ".ci", "leftover")
    clean = subprocess.run(["unshare", "-pf", "--mount-proc", check], capture_output=True, text=True, timeout=30)
    assert clean.returncode == 0 and "nothing left running" in clean.stdout
    for name in ("qemu-system-x86_64", "virtlogd", "libvirtd"):
        dummy = tmp_path / name
        dummy.write_bytes(open("/bin/sleep", "rb").read())
        dummy.chmod(0o755)
        # The check runs once the dummy has exec'd (before, the forked shell has the shell's
        # name): polled, for at most 10 s, not a fixed sleep.
        script = ('"$1" 30 & tries=0; until [ "$(readlink /proc/$!/exe)" = "$1" ]; do '
                  'tries=$((tries + 1)); [ $tries -le 1000 ] || { echo "no exec" >&2; exit 3; }; sleep 0.01; done; '
                  '"$2"; echo "rc=$?"; kill $!')
        found = subprocess.run(["unshare", "-pf", "--mount-proc", "sh", "-c", script, "sh", str(dummy), check],
                               capture_output=True, text=True, timeout=30)
        assert "rc=1" in found.stdout and str(dummy) in found.stderr, (found.stdout, found.stderr)


@needs_root
def test_check_verifies_signed_fingerprints_as_the_hook_does(tmp_path):
    host, _key = keyed_host(str(tmp_path), "strict")
    guest = minimal_guest(name="small", virt_type="kvm", cpu="<cpu mode='host-passthrough'/>")
    signed = stamp(host, guest, tmp_path)
    forged = signed.replace('"kernel_release":"6.1.0-40-amd64"', '"kernel_release":"9.9.9"')
    for xml in (signed, stamp(host, guest, tmp_path, signed=False), forged):
        hooked = host.run(xml=xml)
        record = host.records()[-1]
        path = tmp_path / "guest.xml"
        path.write_text(xml)
        checked = subprocess.run([sys.executable, "-m", "guard", "check", "--domain-xml", str(path), "--facts",
                                  host.facts, "--config", host.config, "--format", "json"], capture_output=True,
                                 text=True, cwd=REPO)
        decision = json.loads(checked.stdout)
        assert (checked.returncode, decision["decision"]) == (hooked.returncode, record["decision"])
        assert sorted(f["code"] for f in decision["findings"]) == sorted(f["code"] for f in record["findings"])


# --- 4. resource bounds at libvirt's maximums --------------------------------------------

# A live migration's hooks as libvirt runs them: migrate, then (if it accepted) prepare,
# where a deferred refusal is made. Prints the last exit code, the seconds of both, the
# larger peak RSS and the bytes of stderr both wrote.
MEASURE = """
import resource, subprocess, sys, time
hook, name = sys.argv[1:3]
xml = sys.stdin.buffer.read()
started = time.monotonic()
result = subprocess.run([hook, name, "migrate", "begin", "-"], input=xml, capture_output=True)
stderr = result.stderr
if result.returncode == 0:
    result = subprocess.run([hook, name, "prepare", "begin", "-"], input=xml, capture_output=True)
    stderr += result.stderr
sys.stdout.write("%d %.2f %d %d\\n" % (result.returncode, time.monotonic() - started,
                                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, len(stderr)))
"""


@needs_root
def test_thousands_of_wide_pins_decide_in_bounded_time_memory_and_text(tmp_path):
    """4,096 vCPU pins, an emulatorpin and 64 iothread pins, each to its own cpuset as wide as
    the guard accepts ("0-65535,^N"): once a gigabyte of expanded sets and hundreds of KB of
    stderr. Decided well inside the timeout, under 256 MiB, with a refusal under 2 KB."""
    vcpus = 4096
    pins = "".join("<vcpupin vcpu='%d' cpuset='0-65535,^%d'/>" % (i, i) for i in range(vcpus))
    pins += "<emulatorpin cpuset='2-65535'/>"
    pins += "".join("<iothreadpin iothread='%d' cpuset='%d-65535'/>" % (i, i + 2) for i in range(1, 65))
    xml = minimal_guest(name="wide", vcpu="<vcpu placement='static'>%d</vcpu><iothreads>64</iothreads>"
                                        "<cputune>%s</cputune>" % (vcpus, pins))
    host = Host(str(tmp_path))
    # A fresh measuring process: its only child is this hook, so RUSAGE_CHILDREN is the hook's.
    measured = subprocess.run([sys.executable, "-c", MEASURE, host.hook, "wide"],
                              input=xml.encode(), capture_output=True, text=False, timeout=120,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                                   "MIGRATION_GUARD_CONFIG": host.config})
    code, seconds, peak_kib, stderr_bytes = measured.stdout.split()
    assert int(code) == 1, measured.stderr
    assert float(seconds) < 5.0, "decided in %ss; the timeout is 10s" % seconds
    assert int(peak_kib) < 256 * 1024, "hook peak RSS %s KiB" % peak_kib
    assert int(stderr_bytes) <= 2048, "refusal of %s bytes" % stderr_bytes
    record = the_record(host)
    assert record["decision"] == "deny" and "numa-pinning[cpus]" in {f["code"] for f in record["findings"]}
    message = next(f["message"] for f in record["findings"] if f["code"] == "numa-pinning[cpus]")
    assert "4161 CPU pins" in message and len(message) < 1000, message
