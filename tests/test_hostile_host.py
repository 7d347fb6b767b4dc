"""Issue 21: the hook on a host that misbehaves, and a guest that would use it. Each test is
one reproduction from the issue, run as libvirt runs the hook where the hook is involved
(the installed sh front end, libvirt's environment): a clock stepped back, a hung file
system, an audit record a guest can inflate, and a refusal that names root-only files."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from support.helpers import REPO, debian12_facts, minimal_guest
from test_hook import Host, needs_root, the_record

import guard.rules  # noqa: F401 - declares the rules' codes
from guard.config import Config
from guard.decide.core import Outcome
from guard.facts.cache import facts_to_json, load_cache
from guard.output.audit_record import decision_record, render_record
from guard.rules.findings import finding

# A machine type the Debian 12 host does not offer: refused only with the destination's facts.
NEEDS_FACTS = minimal_guest(name="small", machine="pc-q35-rhel9.6.0")


@pytest.fixture
def host(tmp_path):
    return Host(str(tmp_path))


# --- 3. Time: the facts' age by the boot they were collected in --------------------------

def this_boot():
    with open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()


def write_collected(path, wall_ago=0.0, clock_ago=0.0, boot=None, recorded=True, mode=0o644):
    """A facts cache as the collector writes it: collected wall_ago seconds ago by the wall
    clock and clock_ago seconds ago by the boot's own clock (CLOCK_BOOTTIME), in `boot`
    (this one unless given). recorded=False: as a collector before issue 21 wrote it,
    with the wall-clock time alone."""
    data = json.loads(facts_to_json(debian12_facts()))
    data["collected_at"] = time.time() - wall_ago
    if recorded:
        data.update(boot_id=boot or this_boot(), boot_clock="boottime",
                    collected_boot_s=time.clock_gettime(time.CLOCK_BOOTTIME) - clock_ago)
    with open(path, "w") as handle:
        json.dump(data, handle)
    os.chmod(path, mode)


@needs_root
def test_a_clock_stepped_back_keeps_fresh_facts_and_their_denies(host):
    """Facts collected a moment ago by this boot's clock, an hour ahead by the wall clock
    (the clock was stepped back an hour since): they are fresh, and the machine-type deny
    that needs them stands."""
    write_collected(host.facts, wall_ago=-3600)
    result = host.run(xml=NEEDS_FACTS)
    assert result.returncode == 1 and b"[machine-type]" in result.stderr, result.stderr
    record = the_record(host)
    assert record["decision"] == "deny" and record["facts_problem"] is None
    assert 0 <= record["facts_age"] < 60  # by the boot's clock, not the stepped wall clock


@needs_root
@pytest.mark.parametrize("on_error, code", [("deny", 1), ("allow", 0)])
def test_facts_from_another_boot_are_stale_an_error_on_error_decides(tmp_path, on_error, code):
    """A cache written before a reboot (another boot ID) says nothing about this boot's
    host, whatever the wall clock says: an error, which on_error decides."""
    host = Host(str(tmp_path), 'on_error = "%s"' % on_error)
    write_collected(host.facts, boot="00000000-0000-4000-8000-000000000000")
    result = host.run()
    assert result.returncode == code and b"[error]" in result.stderr, result.stderr
    record = the_record(host)
    assert record["decision"] == "error" and "another boot" in record["facts_problem"]
    assert record["outcome"] == ("refused" if code else "accepted")


UNTRUSTED = {
    "missing": ("missing", lambda path: os.unlink(path)),
    "stale by the boot's clock, fresh by the wall clock": (
        "stale", lambda path: write_collected(path, clock_ago=2 * 86400)),
    "writable by others": ("writable", lambda path: write_collected(path, mode=0o666)),
    "written by an older collector": ("no collection time", lambda path: write_collected(path, recorded=False)),
}


@needs_root
@pytest.mark.parametrize("problem", sorted(UNTRUSTED))
@pytest.mark.parametrize("on_error, code", [("deny", 1), ("allow", 0)])
def test_facts_that_cannot_be_trusted_are_an_error_never_a_quiet_allow(tmp_path, problem, on_error, code):
    """Without trusted facts the machine-type rule cannot run: its deny must not become a
    warning and the migration an allow. An audited error, decided by on_error; what the
    rules that need no facts found is still recorded."""
    host = Host(str(tmp_path), 'on_error = "%s"' % on_error)
    expected, spoil = UNTRUSTED[problem]
    spoil(host.facts)
    result = host.run(xml=NEEDS_FACTS)
    assert result.returncode == code, result.stderr
    assert b"[error] destination facts unusable" in result.stderr
    record = the_record(host)
    assert record["decision"] == "error" and record["outcome"] == ("refused" if code else "accepted")
    assert expected in record["facts_problem"] and expected in record["reason"]
    assert "unverifiable[facts]" in {f["code"] for f in record["findings"]}


def test_facts_judged_by_the_boot_not_the_wall_clock(tmp_path):
    path = str(tmp_path / "facts.json")
    for wall_ago, clock_ago, boot, expected in ((-3600, 0, None, None), (0, 0, "another", "another boot"),
                                                (0, 2 * 86400, None, "stale"), (-3600, -60, None, "ahead")):
        write_collected(path, wall_ago, clock_ago, boot)
        facts, problem = load_cache(path, 86400, trusted_uid=os.geteuid())
        if expected is None:
            assert facts is not None and problem is None
        else:
            assert facts is None and expected in problem, problem


def test_the_collector_records_its_boot_and_clock(tmp_path):
    """What the hook judges the age by, recorded where the facts are collected."""
    from guard.facts.collect import collect
    facts = collect("test:///default", local_root=str(tmp_path))
    assert facts.boot_id == this_boot() and facts.boot_clock == "boottime"
    assert 0 <= time.clock_gettime(time.CLOCK_BOOTTIME) - facts.collected_boot_s < 60


# --- 4. A hung file system ----------------------------------------------------------------

# A FUSE file system whose server answers INIT and then reads every request and never
# answers it: a stat below it waits in the kernel uninterruptibly (request_wait_answer,
# "wait it out" once the server has the request), as on a hung FUSE or hard NFS mount. A
# process with a thread there cannot finish exiting, so its descriptors (libvirt's stderr
# pipe among them) stay open. Run in a private mount namespace: nothing else sees the mount.
HUNG_FUSE = r'''
import ctypes, json, os, select, struct, subprocess, sys, threading, time
mountpoint, limit, argv = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: whatever the hook leaves behind is reaped here
fuse = os.open("/dev/fuse", os.O_RDWR)
options = "fd=%d,rootmode=40000,user_id=0,group_id=0" % fuse
if libc.mount(b"mg-hung", mountpoint.encode(), b"fuse", 6, options.encode()) != 0:  # MS_NOSUID | MS_NODEV
    print(json.dumps({"skip": "cannot mount FUSE here: %s" % os.strerror(ctypes.get_errno())}))
    sys.exit(0)
held = []
stop = threading.Event()


def serve():
    while not stop.is_set():
        if not select.select([fuse], [], [], 0.05)[0]:
            continue  # polled, so that the device can be closed once this thread has stopped
        request = os.read(fuse, 1 << 20)
        _length, opcode, unique = struct.unpack_from("<IIQ", request)
        if opcode == 26:  # FUSE_INIT, answered: from now on requests reach this server
            minor = struct.unpack_from("<I", request, 44)[0]
            body = struct.pack("<IIIIHHII", 7, minor, 0, 0, 0, 0, 4096, 0).ljust(64, b"\0")  # max_write 4 KiB
            os.write(fuse, struct.pack("<IiQ", 16 + len(body), 0, unique) + body)
        else:
            held.append(opcode)  # read, never answered


server = threading.Thread(target=serve, daemon=True)
server.start()
xml = sys.stdin.buffer.read()
started = time.monotonic()
hook = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
hook.stdin.write(xml)
hook.stdin.close()
seen = {"eof": None, "stderr": b""}


def drain():
    seen["stderr"] = hook.stderr.read()
    seen["eof"] = time.monotonic() - started


threading.Thread(target=drain, daemon=True).start()
try:
    code = hook.wait(limit)
    exited = time.monotonic() - started
except subprocess.TimeoutExpired:
    code = exited = None
while seen["eof"] is None and time.monotonic() - started < limit:
    time.sleep(0.01)  # a bounded poll: the drain thread ends at EOF
print(json.dumps({"exited": exited, "eof": seen["eof"], "code": code, "held": len(held),
                  "stderr": seen["stderr"].decode(errors="replace")}), flush=True)
stop.set()
server.join()
os.close(fuse)  # the server goes away: the kernel aborts every request still waiting
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        if os.waitpid(-1, os.WNOHANG) == (0, 0):
            time.sleep(0.01)
    except ChildProcessError:
        break
'''


@needs_root
def test_a_stat_on_a_hung_fuse_mount_cannot_keep_the_hook_alive(tmp_path):
    """A disk on a FUSE mount whose server never answers: the hook decides within its
    timeout, and the process exits and its stderr reaches EOF by then too (libvirt waits
    for both), although the stat never returns."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    host = Host(str(tmp_path), 'timeout = "5s"')
    mountpoint = tmp_path / "hung"
    mountpoint.mkdir()
    disk = "<disk type='file' device='disk'><source file='%s/disk.img'/><target dev='vda'/></disk>" % mountpoint
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                   "MIGRATION_GUARD_CONFIG": host.config}
    result = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", HUNG_FUSE,
                             str(mountpoint), "10", host.hook, "small", "migrate", "begin", "-"],
                            input=minimal_guest(name="small", extra=disk).encode(), capture_output=True,
                            env=environment, timeout=60)
    seen = json.loads(result.stdout.decode().splitlines()[0])
    if "skip" in seen:
        pytest.skip(seen["skip"])
    assert seen["held"] >= 1, "the stat never reached the hung server: nothing was reproduced"
    assert seen["exited"] is not None and seen["exited"] < 5, seen
    assert seen["eof"] is not None and seen["eof"] < 5, seen
    assert seen["code"] == 0
    record = the_record(host)
    assert record["decision"] == "allow"
    assert any(f["code"] == "unverifiable[storage]" for f in record["findings"])


# What the stat of a path on a hung mount does to whoever makes it, simulated without a mount:
# it never returns, and what its process holds stays open. The stand-in stat starts a process
# that inherits the caller's descriptors (as a thread in uninterruptible sleep keeps them
# all) and waits for it. Whoever reads the caller's stderr (libvirt) must still see EOF as
# soon as the caller exits.
SIMULATED_HANG = r'''
import json, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
from guard.facts.probe import stat_paths


def stat(path):
    if not path.startswith("/hung/"):
        return os.path.exists(path)
    holder = subprocess.Popen(["sleep", "300"], close_fds=False)
    with open(sys.argv[2], "w") as handle:
        handle.write(str(holder.pid))
    holder.wait()
    return True


sys.stdout.write(json.dumps(stat_paths(["/hung/disk.img", os.devnull], 0.5, stat)))
'''


def test_a_stat_that_never_returns_holds_none_of_the_callers_descriptors(tmp_path):
    pidfile = tmp_path / "holder.pid"
    process = subprocess.Popen([sys.executable, "-c", SIMULATED_HANG, REPO, str(pidfile)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=5)  # EOF on both pipes, and the exit
        assert process.returncode == 0, err
        assert json.loads(out) == {"/hung/disk.img": None, os.devnull: True}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        deadline = time.monotonic() + 5
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


# --- 5. Audit records are bounded --------------------------------------------------------------

MAX_RECORD = 64 * 1024
# The caps docs/audit-record.md gives (`truncated`'s `limits`).
LIMITS = {"record_bytes": MAX_RECORD, "notes": 16, "note_chars": 512, "findings": 256, "message_chars": 1024,
          "text_chars": 1024}
GUARD_NS = "https://migration-guard.dev/xmlns/1"
HOSTDEV = ("<hostdev mode='subsystem' type='pci' managed='yes'><source>"
           "<address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source></hostdev>")


def exemption_flood(count=64, width=64 * 1024):
    """A guest with a PCI hostdev (a deny) and `count` exemptions in its own metadata, each
    naming one `width`-character rule of quotes and backslashes (which JSON doubles):
    ignored under the default allow_metadata_exemptions = false, so each would be a note."""
    rule = ('"\\' * (width // 2))
    exemptions = "".join("<exemption rules='%s%d' reason='r'/>" % (rule, i) for i in range(count))
    metadata = "\n  <metadata><mguard:guard xmlns:mguard='%s'>%s</mguard:guard></metadata>" % (GUARD_NS, exemptions)
    return minimal_guest(name="flood", metadata=metadata, extra=HOSTDEV)


@needs_root
def test_ignored_exemptions_cannot_inflate_the_audit_record(host):
    """A 4 MiB XML of ignored exemptions: once about 8 MiB of audit log per attempt. The
    record stays small (a few notes naming a few rules each, the rest counted), and the
    decision stands."""
    xml = exemption_flood()
    assert len(xml) > 4 * 1024 * 1024
    result = host.run(name="flood", xml=xml)
    assert result.returncode == 1 and b"[device-passthrough[pci]]" in result.stderr
    with open(host.audit, "rb") as handle:
        lines = handle.read().splitlines()
    # The migrate hook's deferred decision and the prepare hook's refusal: each bounded.
    assert len(lines) == 2 and all(len(line) + 1 <= MAX_RECORD for line in lines), [len(line) for line in lines]
    assert [json.loads(line)["decision"] for line in lines] == ["deferred", "deny"]
    record = json.loads(lines[1])
    assert record["decision"] == "deny"
    assert "device-passthrough[pci]" in {f["code"] for f in record["findings"]}
    notes = [note for note in record["notes"] if "exemption" in note]
    assert 1 <= len(notes) <= LIMITS["notes"] and all(len(note) <= LIMITS["note_chars"] for note in notes)
    assert any("more exemptions were ignored" in note for note in notes)


def test_every_record_is_bounded_and_says_so():
    """Whatever the outcome holds (thousands of long findings and notes, a long name and
    reason), its record renders within 64 KiB, as valid JSON that says what it left out;
    an ordinary record says nothing was."""
    long = '"\\' * 20000
    findings = tuple(finding("device-passthrough", "pci", "deny", "%d %s" % (i, long)) for i in range(3000))
    outcome = Outcome("error", 1, "enforce", "default", "n" + long, None, findings,
                      tuple("note %d %s" % (i, long) for i in range(500)), None, None, long, long, None, long)

    def rendered(outcome):
        line = render_record(decision_record(outcome, time.time(), "host", "migrate begin", 0, "1", Config(), 1.0))
        assert len(line.encode()) + 1 <= MAX_RECORD
        return json.loads(line)
    record = rendered(outcome)
    assert record["truncated"]["findings"] > 0 and record["truncated"]["notes"] > 0
    assert record["truncated"]["limits"] == LIMITS
    assert len(record["notes"]) <= LIMITS["notes"] and all(len(n) <= LIMITS["note_chars"] for n in record["notes"])
    assert all(len(f["message"]) <= LIMITS["message_chars"] for f in record["findings"])
    assert record["findings"][0]["code"] == "device-passthrough[pci]" and record["decision"] == "error"
    ordinary = outcome._replace(domain_name="n", findings=(findings[0]._replace(message="short"),), notes=(),
                                fingerprint_problem=None, facts_problem=None, reason="r")
    assert rendered(ordinary)["truncated"] is None


# --- 10. The refusal names no host path --------------------------------------------------------

@needs_root
def test_the_refusal_counts_missing_paths_and_only_the_audit_record_names_them(host, tmp_path):
    """The hook stats the guest's paths as root: virsh's error (stderr) says how many are
    missing, never which, so it cannot tell the caller what exists in root-only folders;
    the audit record (root's) names them."""
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    (private / "present.img").write_bytes(b"")
    secret = [str(private / name) for name in ("gone-device", "gone-ro.img", "vmlinuz-gone", "OVMF_CODE-gone.fd")]
    xml = minimal_guest(
        name="small",
        os_extra="<loader readonly='yes' type='pflash'>%s</loader><kernel>%s</kernel>" % (secret[3], secret[2]),
        extra="<disk type='block' device='disk'><source dev='%s'/><target dev='vda'/></disk>"
              "<disk type='file' device='disk'><source file='%s'/><readonly/><target dev='vdb'/></disk>"
              "<disk type='file' device='disk'><source file='%s'/><target dev='vdc'/></disk>"
              % (secret[0], secret[1], private / "present.img"))
    result = host.run(xml=xml)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    for code in ("[storage[uncopyable]]", "[host-resource[file]]", "[firmware[file]]"):
        assert code in stderr, stderr
    assert "2 storage sources" in stderr
    assert str(private) not in stderr and "gone" not in stderr, stderr
    messages = " ".join(f["message"] for f in the_record(host)["findings"])
    assert all(path in messages for path in secret)


@needs_root
def test_the_refusal_names_no_path_under_strict_either(tmp_path):
    """profile strict makes warnings denies: a missing disk a copy could create, and one the
    hook could not stat (a symlink loop: ELOOP, undecided), which says the path exists.
    Counted in the refusal, named in the audit record."""
    host = Host(str(tmp_path), 'profile = "strict"')
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    os.symlink("loop", str(private / "loop"))
    paths = [str(private / "gone.img"), str(private / "loop" / "disk.img")]
    disks = "".join("<disk type='file' device='disk'><source file='%s'/><target dev='vd%s'/></disk>" % (path, letter)
                    for path, letter in zip(paths, "ab"))
    result = host.run(xml=minimal_guest(name="small", extra=disks))
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "[storage[missing]]" in stderr and "[unverifiable[storage]]" in stderr, stderr
    assert str(private) not in stderr, stderr
    record = the_record(host)
    assert all(path in " ".join(f["message"] for f in record["findings"]) for path in paths)
