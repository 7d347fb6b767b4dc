"""The hook run as libvirt runs it: argv, XML on stdin, exit code, stderr, and stdout
that must stay empty. Real processes; the config points every path at a temp folder."""
import concurrent.futures
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.helpers import REPO, corpus_domain_xml, debian12_facts, minimal_guest

from guard.facts.cache import as_collected, facts_to_json
from guard.facts.fingerprint import fingerprint_of
from guard.guest.metadata import stamp_xml

HOOK = os.path.join(REPO, "hooks", "qemu")
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="run as root: the hook trusts only root-owned facts caches")
SMALL = minimal_guest(name="small")
UNPRIVILEGED = ("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups")
BIG = minimal_guest(name="big", memory="2 TiB")


class Host:
    """A destination's config, facts cache, audit log and bypass file, in one temp folder."""

    def __init__(self, folder, config_extra="", facts=None):
        self.folder = folder
        os.chmod(folder, 0o755)
        self.hook = installed_hook(folder)
        self.facts = os.path.join(folder, "facts.json")
        self.audit = os.path.join(folder, "log", "audit.log")
        self.bypass = os.path.join(folder, "bypass.json")
        self.pending = os.path.join(folder, "pending")
        self.config = os.path.join(folder, "config.toml")
        self.write_config(config_extra)
        if facts is not False:
            self.write_facts(facts or debian12_facts())

    def write_config(self, extra="", paths=True):
        with open(self.config, "w") as handle:
            handle.write(extra + "\n")
            if paths:
                handle.write('[paths]\nfacts = "%s"\naudit_log = "%s"\nbypass = "%s"\npending = "%s"\n'
                             % (self.facts, self.audit, self.bypass, self.pending))

    def write_facts(self, facts, mode=0o644):
        with open(self.facts, "w") as handle:
            handle.write(facts_to_json(as_collected(facts)))  # now, as the collector records it
        os.chmod(self.facts, mode)

    def run(self, name="small", op="migrate", xml=SMALL, env=None, timeout=60, prefix=(), python_only=None,
            live=True):
        """The hook as libvirt runs it for `op`. A live migration (op migrate, live) is what
        libvirt does on the destination: the migrate hook, then, if it accepted, the
        prepare hook before QEMU starts, where a deferred refusal is made
        (guard.decide.deferral); the result is that sequence's: the last exit code, both
        hooks' output. live=False: the migrate hook alone (what an offline migration runs)."""
        # libvirt's environment (LC_ALL=C and PATH), plus the test's config path.
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                       "MIGRATION_GUARD_CONFIG": self.config}
        environment.update(env or {})
        data = xml.encode() if isinstance(xml, str) else xml
        argv = [self.hook] if python_only is None else python_only
        result = subprocess.run(list(prefix) + argv + [name, op, "begin", "-"], input=data,
                                capture_output=True, env=environment, timeout=timeout)
        if op != "migrate" or not live or result.returncode != 0 or python_only is not None:
            return result
        prepared = subprocess.run(list(prefix) + argv + [name, "prepare", "begin", "-"], input=data,
                                  capture_output=True, env=environment, timeout=timeout)
        return subprocess.CompletedProcess(result.args, prepared.returncode, result.stdout + prepared.stdout,
                                           result.stderr + prepared.stderr)

    @property
    def deferred(self):
        return os.path.join(self.folder, "deferred")

    def records(self):
        if not os.path.exists(self.audit):
            return []
        with open(self.audit) as handle:
            return [json.loads(line) for line in handle]


@pytest.fixture
def host(tmp_path):
    return Host(str(tmp_path))


# The interpreter the installed hook names by default: this test run's Python, importing
# guard from this tree. Under -I the interpreter ignores the working directory and
# PYTHONPATH and finds guard through the venv's editable install, which points at the
# checkout that made the venv: from a second worktree the hook would run another tree's code.
TREE_PYTHON = """#!/bin/sh
[ "$1" = -I ] && [ "$2" = -c ] || exec %(python)s "$@"
code=$3
shift 3
exec %(python)s -I -c 'import sys; sys.path.insert(0, sys.argv.pop(1)); exec(compile(sys.argv.pop(1), "<hook>", "exec"))' \\
    %(repo)s "$code" "$@"
"""


def tree_python(folder):
    """sys.executable, as the hook's front end runs it (-I -c CODE), importing guard from REPO."""
    path = os.path.join(folder, "python-of-this-tree")
    with open(path, "w") as handle:
        handle.write(TREE_PYTHON % {"python": shlex.quote(sys.executable), "repo": shlex.quote(REPO)})
    os.chmod(path, 0o755)
    return path


def installed_hook(folder, python=None):
    """hooks/qemu as packaging installs it: its one PYTHON= line naming the interpreter
    (by default this run's, importing this tree's guard: tree_python)."""
    if python is None:
        python = tree_python(folder)
    with open(HOOK) as handle:
        text = handle.read()
    path = os.path.join(folder, "50-migration-guard")
    text = text.replace("DEFERRED=/run/migration-guard/deferred", "DEFERRED=%s" % os.path.join(folder, "deferred"), 1)
    with open(path, "w") as handle:
        handle.write(text.replace("PYTHON=/usr/bin/python3", "PYTHON=%s" % python, 1))
    os.chmod(path, 0o755)
    return path


def the_record(host):
    """The decision of the one migration the host saw: its migrate hook's record, or, for a
    refusal deferred to prepare, the prepare hook's refusal that names it."""
    records = [r for r in host.records() if r.get("event") == "decision"]
    if len(records) == 2 and records[0]["decision"] == "deferred":
        assert records[1]["deferred_from"] == records[0]["id"] and records[1]["op"] == "prepare begin", records
        return records[1]
    assert len(records) == 1, records
    return records[0]


@pytest.mark.parametrize("op", ["prepare", "start", "started", "stopped", "release", "restore", "reconnect",
                                "attach", ""])
def test_non_migrate_ops_exit_0_silently_even_with_garbage(host, op):
    result = host.run(op=op, xml=b"\x00garbage<<<" * 1000)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert host.records() == []


def test_reconnect_survives_a_broken_install(host, tmp_path):
    """An interpreter without the guard (a half-installed package): every other op still
    exits 0 without starting Python, and a migration is refused with a clear line."""
    bare_python = os.path.join(sys.base_prefix, "bin", "python3")  # the venv's base: no guard there
    host.hook = installed_hook(str(tmp_path), python=bare_python)
    result = host.run(op="reconnect")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    migrate = host.run()
    assert migrate.returncode == 1 and migrate.stdout == b""
    assert b"cannot load" in migrate.stderr and b"ModuleNotFoundError" in migrate.stderr


def test_nothing_the_interpreter_prints_reaches_stdout(host, tmp_path):
    """stdout would replace the domain XML: the front end points fd 1 at stderr before the
    interpreter starts, so even a stray print of a broken interpreter cannot reach it."""
    noisy = tmp_path / "noisy-python"
    noisy.write_text("#!/bin/sh\necho LEAK\nprintf 'LEAK-printf'\nexit 1\n")
    noisy.chmod(0o755)
    host.hook = installed_hook(str(tmp_path), python=str(noisy))
    migrate = host.run()
    assert migrate.returncode == 1 and migrate.stdout == b""
    assert b"LEAK" in migrate.stderr and b"LEAK-printf" in migrate.stderr


def test_non_migrate_ops_never_start_python(host, tmp_path):
    missing = str(tmp_path / "no-such-python")
    host.hook = installed_hook(str(tmp_path), python=missing)
    for op in ("prepare", "start", "started", "stopped", "release", "reconnect", "restore", "attach"):
        result = host.run(op=op)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b""), op
    migrate = host.run()
    assert migrate.returncode != 0 and b"no-such-python" in migrate.stderr  # fail closed


@needs_root
def test_accepted_migration_leaves_one_allow_record(host):
    result = host.run()
    assert (result.returncode, result.stdout) == (0, b"")
    record = the_record(host)
    assert record["decision"] == "allow" and record["domain"] == "small" and record["op"] == "migrate begin"
    assert record["fingerprint"] is False and record["facts_problem"] is None and record["facts_age"] >= 0
    assert {"time", "host", "uuid", "mode", "profile", "findings", "guard_version", "config_digest",
            "duration_ms"} <= set(record)
    assert any(f["code"] == "unverifiable[source-fingerprint]" for f in record["findings"])
    assert stat.S_IMODE(os.stat(host.audit).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(os.path.dirname(host.audit)).st_mode) == 0o750


@needs_root
def test_refused_migration_says_why_on_stderr(host):
    result = host.run(name="big", xml=BIG)
    assert result.returncode == 1 and result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert lines and all(line.startswith("migration-guard: [") for line in lines)
    assert any("[memory-size[limit]]" in line and "remedy" not in line and "; " in line for line in lines)
    record = the_record(host)
    assert record["decision"] == "deny"
    assert {"memory-size[limit]", "memory-size[host]"} <= {f["code"] for f in record["findings"]}


@needs_root
def test_audit_mode_accepts_and_records_would_deny(host):
    host.write_config('mode = "audit"')
    result = host.run(name="big", xml=BIG)
    assert (result.returncode, result.stdout) == (0, b"")
    assert the_record(host)["decision"] == "would-deny"


@needs_root
def test_exempted_migration_is_accepted(host):
    host.write_config('[[exemptions]]\ndomain = "big"\nrules = ["memory-size"]\nreason = "lab"\n')
    result = host.run(name="big", xml=BIG)
    assert result.returncode == 0
    record = the_record(host)
    assert record["decision"] == "allow"
    assert {f["action"] for f in record["findings"] if f["rule"] == "memory-size"} == {"info"}


@needs_root
def test_bypass_accepts_and_audits_every_finding(host):
    cli = subprocess.run([sys.executable, "-m", "guard", "bypass", "--for", "30m", "--reason", "evacuation INC42"],
                         capture_output=True, text=True, cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
    assert cli.returncode == 0, cli.stderr
    result = host.run(name="big", xml=BIG)
    assert (result.returncode, result.stdout) == (0, b"")
    record = the_record(host)
    assert record["decision"] == "bypassed" and record["bypass"]["reason"] == "evacuation INC42"
    assert "memory-size[limit]" in {f["code"] for f in record["findings"] if f["action"] == "deny"}
    status = subprocess.run([sys.executable, "-m", "guard", "bypass", "--status"], capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
    assert "bypass active" in status.stdout
    subprocess.run([sys.executable, "-m", "guard", "bypass", "--clear"], check=True, cwd=REPO,
                   env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config), capture_output=True)
    assert host.run(name="big", xml=BIG).returncode == 1
    events = [(r["event"], r.get("decision")) for r in host.records()]
    assert events == [("bypass-set", None), ("decision", "bypassed"), ("bypass-clear", None), ("decision", "deferred"),
                      ("decision", "deny")]
    set_record, clear_record = host.records()[0], host.records()[2]
    assert set_record["bypass"]["reason"] == clear_record["bypass"]["reason"] == "evacuation INC42"
    assert set_record["by"] == record["bypass"]["by"] == clear_record["by"]


@needs_root
def test_expired_bypass_is_ignored(host):
    with open(host.bypass, "w") as handle:
        json.dump({"until": time.time() - 5, "reason": "old", "created": 0}, handle)
    assert host.run(name="big", xml=BIG).returncode == 1
    assert any("expired" in n for n in host.records()[0]["notes"])


@needs_root
def test_stamped_source_with_other_microcode_is_refused(host):
    source = debian12_facts()._replace(cpu=debian12_facts().cpu._replace(microcode="0x77"))
    xml = stamp_xml(minimal_guest(virt_type="kvm", cpu="<cpu mode='host-passthrough'/>"), fingerprint_of(source))
    result = host.run(xml=xml)
    assert result.returncode == 1 and b"[microcode]" in result.stderr
    assert the_record(host)["fingerprint"] is True


def test_xxe_is_refused_and_the_file_never_leaks(host, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4242")
    xxe = ('<?xml version="1.0"?>\n<!DOCTYPE domain [<!ENTITY x SYSTEM "file://%s">]>\n'
           '<domain type="qemu"><name>&x;</name><memory>65536</memory></domain>' % secret)
    result = host.run(xml=xxe)
    assert result.returncode == 1 and result.stdout == b""
    assert b"TOPSECRET" not in result.stderr and b"DOCTYPE" in result.stderr
    with open(host.audit) as handle:
        log = handle.read()
    assert "TOPSECRET" not in log and json.loads(log)["decision"] == "error"


def run_measured(host, data, name="small", timeout=60):
    """The hook run as host.run runs it: (exit code, stdout, stderr, its own rusage). The
    rusage is os.wait4's for this one process, not RUSAGE_CHILDREN, which keeps the peak of
    every child this pytest process ever waited for (an earlier test's ansible-lint, say)."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "MIGRATION_GUARD_CONFIG": host.config}
    process = subprocess.Popen([host.hook, name, "migrate", "begin", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    try:
        # Not communicate(): it would reap the process, and its rusage with it.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            out, err = pool.submit(process.stdout.read), pool.submit(process.stderr.read)
            try:
                process.stdin.write(data)
                process.stdin.close()
            except BrokenPipeError:
                pass
            out, err = out.result(timeout), err.result(timeout)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if process.returncode is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    return process.returncode, out, err, usage


def test_entity_bomb_is_refused_fast_with_bounded_memory(host):
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    for level in range(1, 10):
        bomb += '<!ENTITY lol%d "%s">' % (level, ("&lol%s;" % (level - 1 if level > 1 else "")) * 10)
    bomb += ']>\n<domain><name>&lol9;</name><memory>1</memory></domain>'
    # Fast by the hook's own measures, which a loaded machine's slow interpreter start does
    # not change: refused by the parser inside a 5 s timeout (the hook's clock, from its
    # start), on under 5 s of its own CPU time, with its own peak RSS under 300 MiB.
    host.write_config('timeout = "5s"')
    code, out, err, usage = run_measured(host, bomb.encode())
    assert code == 1 and out == b""
    assert b"] incoming domain XML" in err and b"timed out" not in err, err
    cpu = usage.ru_utime + usage.ru_stime
    assert cpu < 5, "refused after %.1fs of CPU; the timeout is 5s" % cpu
    assert usage.ru_maxrss < 300 * 1024, "hook peak RSS %d KiB" % usage.ru_maxrss


@needs_root
def test_64_concurrent_hooks_leave_64_whole_records(host):
    xmls = [minimal_guest(name="g%02d" % i, memory="2 TiB" if i % 2 else "64 MiB") for i in range(64)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: host.run(name="g%02d" % i, xml=xmls[i]), range(64)))
    # On failure, say which hooks strayed and what they printed (a timeout, a lock wait?).
    strays = [(i, r.returncode, r.stderr[-300:]) for i, r in enumerate(results) if r.returncode != i % 2]
    assert strays == []
    records = host.records()  # json.loads on every line: a torn line would fail here
    # 96 records: each refusal is deferred at migrate and made at prepare.
    final = [r["domain"] for r in records if r["decision"] != "deferred"]
    assert sorted(final) == sorted("g%02d" % i for i in range(64)), [
        r.stderr[-300:] for r in results if b"audit" in r.stderr]
    assert sorted(r["domain"] for r in records if r["decision"] == "deferred") == ["g%02d" % i for i in range(1, 64, 2)]


@needs_root
def test_read_only_audit_directory_keeps_the_decision(host):
    os.makedirs(os.path.dirname(host.audit))
    script = ('mount -t tmpfs -o size=64k,ro tmpfs %s && exec "$@"' % os.path.dirname(host.audit))
    result = host.run(name="big", xml=BIG, prefix=("unshare", "-m", "--propagation", "private", "sh", "-c",
                                                   script, "hook"))
    assert result.returncode == 1 and result.stdout == b""
    assert b"[memory-size[limit]]" in result.stderr and b"audit log" in result.stderr
    accepted = host.run(prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", script, "hook"))
    assert accepted.returncode == 0 and b"audit log" in accepted.stderr


@needs_root
def test_full_audit_filesystem_keeps_the_decision(host):
    os.makedirs(os.path.dirname(host.audit))
    script = ('mount -t tmpfs -o size=4k tmpfs %s && (head -c 1000000 /dev/zero > %s/filler || true) && exec "$@"'
              % (os.path.dirname(host.audit), os.path.dirname(host.audit)))
    result = host.run(name="big", xml=BIG, prefix=("unshare", "-m", "--propagation", "private", "sh", "-c",
                                                   script, "hook"))
    assert result.returncode == 1 and b"[memory-size[limit]]" in result.stderr and b"audit log" in result.stderr
    assert result.stdout == b""


@needs_root
@pytest.mark.parametrize("problem", ["world-writable", "foreign-owned", "missing", "corrupt", "stale", "schema"])
def test_unusable_facts_are_an_error_and_xml_only_rules_still_refuse(host, problem):
    """Without usable facts the rules that need them cannot run: an error, which on_error
    (deny by default) decides, naming why; the rules that need only the XML still refuse
    with their own codes."""
    if problem == "world-writable":
        os.chmod(host.facts, 0o666)
    elif problem == "foreign-owned":
        os.chown(host.facts, 65534, 65534)
    elif problem == "missing":
        os.unlink(host.facts)
    elif problem == "corrupt":
        with open(host.facts, "w") as handle:
            handle.write('{"schema": 1, "cpu": ')
    elif problem == "stale":
        with open(host.facts, "w") as handle:
            collected = as_collected(debian12_facts())
            handle.write(facts_to_json(collected._replace(collected_boot_s=collected.collected_boot_s - 90000)))
    elif problem == "schema":
        with open(host.facts, "w") as handle:
            handle.write('{"schema": 99}')
    ordinary = host.run()
    assert ordinary.returncode == 1 and b"[error] destination facts unusable" in ordinary.stderr, ordinary.stderr
    record = host.records()[-1]
    expected = {"world-writable": "writable", "foreign-owned": "owned by uid 65534", "missing": "missing",
                "corrupt": "not valid JSON", "stale": "stale", "schema": "schema version"}[problem]
    assert record["decision"] == "error" and expected in record["facts_problem"] and expected in record["reason"]
    assert any(f["code"] == "unverifiable[facts]" and expected in f["message"] for f in record["findings"])
    # XML-only rules still refuse what they can see without facts.
    usb = host.run(name="QEMUGuest1", xml=corpus_domain_xml("hostdev-usb-address"))
    assert usb.returncode == 1 and b"[device-passthrough[usb]]" in usb.stderr


def run_with_open_stdin(host, data, seconds=10):
    """The hook with stdin that never ends (a writer that hangs): (exit code, stderr, elapsed)."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "MIGRATION_GUARD_CONFIG": host.config}
    started = time.monotonic()
    process = subprocess.Popen([host.hook, "small", "migrate", "begin", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment)
    try:
        process.stdin.write(data)
        process.stdin.flush()
        out, err = process.stdout.read(), process.stderr.read()  # both end when the hook exits
        process.wait(seconds)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdin.close()
    assert out == b""
    return process.returncode, err, time.monotonic() - started


@needs_root
def test_timeout_applies_on_error(host):
    host.write_config('timeout = "500ms"')
    code, err, elapsed = run_with_open_stdin(host, SMALL.encode()[:100])
    assert elapsed < 5
    assert code == 1 and b"timed out" in err
    assert the_record(host)["decision"] == "error"
    host.write_config('timeout = "500ms"\non_error = "allow"')
    code, err, elapsed = run_with_open_stdin(host, SMALL.encode()[:100])
    assert code == 0 and b"allowed (on_error = allow)" in err


def test_invalid_config_fails_closed_and_is_audited(host):
    host.write_config('colour = "blue"')
    result = host.run()
    assert result.returncode == 1 and result.stdout == b""
    assert b"colour: unknown key" in result.stderr and len(result.stderr.splitlines()) == 1
    assert the_record(host)["decision"] == "error"


@needs_root
def test_config_syntax_error_goes_to_the_default_audit_log(host):
    host.write_config("mode = \n", paths=False)
    # The default log is /var/log/migration-guard/audit.log: a private tmpfs on /var/log
    # catches it without touching the machine's own logs.
    script = 'mount -t tmpfs tmpfs /var/log && "$@"; rc=$?; cat /var/log/migration-guard/audit.log >&2; exit $rc'
    result = host.run(prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", script, "hook"))
    assert result.returncode == 1 and result.stdout == b""
    assert b"TOML syntax error" in result.stderr
    assert b'"decision":"error"' in result.stderr.replace(b" ", b"")


def test_oversized_stdin_is_refused(host):
    huge = b"<domain>" + b" " * (17 * 1024 * 1024) + b"</domain>"
    result = host.run(xml=huge)
    assert result.returncode == 1 and b"over" in result.stderr and result.stdout == b""


def test_session_daemon_hook_is_a_session_connection(tmp_path):
    if not ROOT or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the hook as an unprivileged user")
    probe = subprocess.run(list(UNPRIVILEGED) + [sys.executable, "-c", "pass"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this interpreter cannot run as uid 65534 here (%s); the test runs under the other Python"
                    % probe.stderr.decode(errors="replace").strip()[:120])
    folder = tempfile.mkdtemp(prefix="mg-session-")
    try:
        host = Host(folder)
        # The sh front end cannot exec the venv's interpreter (under /root, 0700) as uid
        # 65534; a session daemon's hook runs /usr/bin/python3. So this runs the hook's
        # Python entry as the front end would, with -I, as that user.
        result = host.run(prefix=UNPRIVILEGED, python_only=[sys.executable, "-I", "-c",
                                                           "from guard.hook import entry; entry()"])
        assert result.returncode == 1 and result.stdout == b""
        assert b"[session-connection[destination]]" in result.stderr
        assert b"audit log" in result.stderr  # a session user cannot write the root-owned log
    finally:
        shutil.rmtree(folder)


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["migrate", "reconnect", "start"]))
def test_garbage_stdin_never_writes_stdout(blob, op):
    folder = tempfile.mkdtemp(prefix="mg-garbage-")
    try:
        result = Host(folder).run(op=op, xml=blob)
        assert result.stdout == b"" and result.returncode in (0, 1)
        assert b"Traceback" not in result.stderr
    finally:
        shutil.rmtree(folder)


@needs_root
def test_bypass_file_anyone_could_write_is_ignored(host):
    with open(host.bypass, "w") as handle:
        json.dump({"until": time.time() + 600, "reason": "planted", "created": 0}, handle)
    os.chmod(host.bypass, 0o666)
    assert host.run(name="big", xml=BIG).returncode == 1
    assert any("bypass ignored" in n and "writable" in n for n in host.records()[0]["notes"])


def documented_fields(section="decision"):
    """{field: (types, presence)} from docs/audit-record.md's table of decision records (the
    first), or with section="outcome" the table under "## Outcome records"."""
    import re
    with open(os.path.join(REPO, "docs", "audit-record.md")) as handle:
        text = handle.read()
    decisions, _heading, outcomes = text.partition("\n## Outcome records\n")
    rows = re.findall(r"^\| `(\w+)` \| ([\w|]+) \| (\w+) \|", outcomes if section == "outcome" else decisions,
                      re.M)
    return {name: (set(types.split("|")), presence) for name, types, presence in rows}


JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict,
              "null": type(None)}


@needs_root
def test_real_records_match_the_documented_schema(host):
    host.run(name="small")  # allow
    host.run(name="big", xml=BIG)  # deferred at migrate, deny at prepare
    host.run(name="bad", xml="<domain")  # error
    host.write_config("mode = \"audit\"")
    host.run(name="big", xml=BIG)  # would-deny
    fields = documented_fields()
    records = host.records()
    assert [r["decision"] for r in records] == ["allow", "deferred", "deny", "error", "would-deny"]
    for record in records:
        assert set(record) <= set(fields), set(record) - set(fields)
        for name, (types, presence) in fields.items():
            if presence == "always" or (presence == "error" and record["decision"] == "error"):
                assert name in record, name
            if presence == "prepare":
                assert (name in record) == (record["op"] == "prepare begin"), (name, record["op"])
            if name in record:
                value = record[name]
                assert any(isinstance(value, JSON_TYPES[t]) and not (t in ("integer", "number") and
                                                                     isinstance(value, bool)) for t in types), (name, value)
        assert record["schema"] == 1
