"""Unit tests of what installation adds: the bundled structlog import, the collector's
journal output, the %post activation decisions and `status` checks that need no daemon.
systemd does not run here: systemctl is a stand-in script on PATH (written per test) that
answers as a host with the given units would."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from support.helpers import REPO

from guard.output import journal
from guard.services import activation, status


def stand_in_systemctl(tmp_path, monkeypatch, show="ActiveState=inactive\\nMainPID=0", enabled=()):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "systemctl.log"
    cases = "".join("%s) echo enabled; exit 0 ;; " % unit for unit in enabled)
    (bin_dir / "systemctl").write_text(
        '#!/bin/sh\necho "$*" >> %s\ncase "$1" in\n  show) printf "%s\\n" ;;\n'
        '  is-enabled) case "$2" in %s*) echo disabled; exit 1 ;; esac ;;\n  *) exit 0 ;;\nesac\n'
        % (log, show, cases))
    (bin_dir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, os.environ["PATH"]))
    return log


def test_bundled_structlog_is_used_only_when_none_is_installed(tmp_path):
    fake = tmp_path / "bundled"
    (fake / "structlog").mkdir(parents=True)
    (fake / "structlog" / "__init__.py").write_text("WHICH = 'bundled'\n")
    system = tmp_path / "system"
    (system / "structlog").mkdir(parents=True)
    (system / "structlog" / "__init__.py").write_text("WHICH = 'system'\n")
    code = ("import sys; sys.path.insert(0, %r); from guard.runtime.bundled import import_structlog; "
            "m = import_structlog(%r); print(m.WHICH, %r in sys.path)" % (REPO, str(fake), str(fake)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # -S: no site-packages. No structlog anywhere: the bundled copy, appended last.
    alone = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env)
    assert alone.stdout.split() == ["bundled", "True"], alone.stderr
    # A structlog installed on the system wins, and the bundle is not even put on the path.
    installed = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                               env=dict(env, PYTHONPATH=str(system)))
    assert installed.stdout.split() == ["system", "False"], installed.stderr


def test_watch_logs_to_the_journal_with_priority_and_message_id(tmp_path):
    from guard.services import watch
    path = str(tmp_path / "journal.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    try:
        watch.configure_logging(watch.ServiceLogger(native=True, socket_path=path))
        watch.log.warning("stamp failed", domain="web01", error="busy")
        warning = dict(line.split("=", 1) for line in server.recv(65536).decode().splitlines())
        watch.log.info("facts refreshed", output="/x", changed=False)
        info = dict(line.split("=", 1) for line in server.recv(65536).decode().splitlines())
    finally:
        server.close()
    assert warning["PRIORITY"] == "4" and warning["MESSAGE_ID"] == journal.STAMP_FAILED
    assert warning["MG_DOMAIN"] == "web01" and warning["MG_EVENT"] == "stamp failed"
    assert info["PRIORITY"] == "6" and info["MESSAGE_ID"] == journal.FACTS_REFRESHED


def test_activation_without_a_hook_or_a_daemon_restarts_nothing(tmp_path, monkeypatch):
    log = stand_in_systemctl(tmp_path, monkeypatch)
    said = []
    hooks = tmp_path / "hooks"
    assert activation.activate(hooks_dir=str(hooks), marker=str(tmp_path / "m"), say=said.append) == "no-hook"
    (hooks / "qemu.d").mkdir(parents=True)
    (hooks / "qemu.d" / activation.HOOK_NAME).write_text("#!/bin/sh\nexit 0\n")
    assert activation.activate(hooks_dir=str(hooks), marker=str(tmp_path / "m"), say=said.append) == "no-daemon"
    assert "enforcement starts when virtqemud" in said[-1]
    assert "restart" not in log.read_text()


def test_activation_that_cannot_ask_the_daemon_for_jobs_does_not_restart(tmp_path, monkeypatch):
    # This test process plays the daemon: it started before the hook appeared.
    time.sleep(0.05)
    hooks = tmp_path / "hooks"
    (hooks / "qemu.d").mkdir(parents=True)
    (hooks / "qemu.d" / activation.HOOK_NAME).write_text("#!/bin/sh\nexit 0\n")
    log = stand_in_systemctl(tmp_path, monkeypatch, show="ActiveState=active\\nMainPID=%d" % os.getpid())
    said = []
    outcome = activation.activate(uri="qemu+unix:///system?socket=%s/absent-sock" % tmp_path, hooks_dir=str(hooks),
                                  marker=str(tmp_path / "m"), say=said.append)
    assert outcome == "deferred-unknown", said
    assert not [line for line in log.read_text().splitlines() if line.startswith("restart")]
    assert "systemctl restart virtqemud" in said[-1]


def test_the_rpm_step_never_restarts_and_says_to_run_activate(tmp_path, monkeypatch, capsys):
    """hook-activate (%post) restarts nothing, even with no job in progress (issue 22): it
    says the hook is not live and to run `migration-guard activate`; exit 0 always. The
    public `activate` would restart here; its exit is 1 while not live."""
    from guard.cli import main
    time.sleep(0.05)  # this test process plays a daemon that started before the hook appeared
    hooks = tmp_path / "hooks"
    (hooks / "qemu.d").mkdir(parents=True)
    (hooks / "qemu.d" / activation.HOOK_NAME).write_text("#!/bin/sh\nexit 0\n")
    log = stand_in_systemctl(tmp_path, monkeypatch, show="ActiveState=active\\nMainPID=%d" % os.getpid())
    monkeypatch.setattr(activation, "active_jobs", lambda uri: [])  # no job in progress: a restart would be safe
    args = ["--hooks-dir", str(hooks), "--marker", str(tmp_path / "m")]
    assert main(["hook-activate"] + args) == 0
    said = capsys.readouterr().out
    assert "not live until virtqemud restarts" in said and "run `migration-guard activate`" in said
    assert not [line for line in log.read_text().splitlines() if line.startswith("restart")]
    assert main(["activate"] + args) == 0  # restarted: the stand-in systemctl succeeds
    assert [line for line in log.read_text().splitlines() if line.startswith("restart")] == [
        "restart virtqemud.service"]
    monkeypatch.setattr(activation, "active_jobs", lambda uri: [("web01", "outgoing migration")])
    assert main(["activate"] + args) == 1
    assert "web01: outgoing migration" in capsys.readouterr().out


@pytest.mark.skipif(os.geteuid() != 0, reason="the marker must be root-owned to be trusted")
def test_a_marker_for_the_running_daemon_keeps_an_upgraded_hook_live(tmp_path):
    hooks = tmp_path / "hooks"
    (hooks / "qemu.d").mkdir(parents=True)
    started = activation.process_start(os.getpid())
    (hooks / "qemu.d" / activation.HOOK_NAME).write_text("#!/bin/sh\nexit 0\n")  # replaced after the start
    marker = str(tmp_path / "hook-live.json")
    assert activation.daemon_runs_hook(os.getpid(), started, str(hooks), marker)[0] is False
    activation.write_marker(os.getpid(), started, "checked before an upgrade", marker)
    live, why = activation.daemon_runs_hook(os.getpid(), started, str(hooks), marker)
    assert live and "before it was replaced" in why
    assert activation.daemon_runs_hook(os.getpid() + 1, started, str(hooks), marker)[0] is False  # another daemon


@pytest.mark.parametrize("enabled, result", [((), "warn"), (("migration-guard-watch.service",), "pass"),
                                             (("migration-guard-collect.timer",), "pass"),
                                             (("migration-guard-watch.service", "migration-guard-collect.timer"),
                                              "warn")])
def test_collector_check(tmp_path, monkeypatch, enabled, result):
    stand_in_systemctl(tmp_path, monkeypatch, enabled=enabled)
    check = status.check_collector()
    assert check.result == result, check
    if len(enabled) == 2:
        assert "disable --now migration-guard-collect.timer" in check.message


@pytest.mark.parametrize("on_error, result", [("deny", "fail"), ("allow", "warn")])
def test_missing_facts_fail_unless_on_error_allows(tmp_path, on_error, result):
    """The hook makes unusable facts an error: with on_error deny (the default) every
    migration is refused until the collector runs."""
    from guard.config import parse_config
    config = parse_config('on_error = "%s"\n[paths]\nfacts = "%s/none.json"\n' % (on_error, tmp_path))
    check = status.check_facts(config)
    assert check.result == result and "missing" in check.message


def test_hook_naming_a_missing_interpreter_fails(tmp_path):
    folder = tmp_path / "qemu.d"
    folder.mkdir()
    hook = folder / activation.HOOK_NAME
    hook.write_text("#!/bin/sh\nPYTHON=/nonexistent/python3\n")
    assert status.check_hook(str(tmp_path)).result == "fail"  # not executable
    hook.chmod(0o755)
    check = status.check_hook(str(tmp_path))
    assert check.result == "fail" and "/nonexistent/python3" in check.message
    hook.write_text("#!/bin/sh\nPYTHON=%s\n" % sys.executable)
    assert status.check_hook(str(tmp_path)).result == "pass"


def test_status_json_shape_and_exit_code(tmp_path, monkeypatch):
    stand_in_systemctl(tmp_path, monkeypatch, enabled=("migration-guard-watch.service",))
    config = tmp_path / "config.toml"
    config.write_text('[paths]\nfacts = "%s/f.json"\naudit_log = "%s/a.log"\nbypass = "%s/b.json"\n'
                      % (tmp_path, tmp_path, tmp_path))
    result = subprocess.run([sys.executable, "-m", "guard", "status", "--format", "json", "--config", str(config),
                             "--hooks-dir", str(tmp_path / "hooks"), "--marker", str(tmp_path / "m")],
                            capture_output=True, text=True, cwd=REPO)
    checks = json.loads(result.stdout)["checks"]
    assert all(set(c) == {"name", "result", "message"} and c["result"] in ("pass", "warn", "fail") for c in checks)
    by_name = {c["name"]: c["result"] for c in checks}
    assert by_name["hook"] == "fail" and result.returncode == 1
    assert {"hook", "daemon", "config", "facts", "audit-log", "bypass", "collector"} <= set(by_name)


def test_status_says_enforcing_not_enforcing_or_unknown_first_with_its_exit(tmp_path, monkeypatch):
    """Issue 22: one verdict line, `enforcing` in JSON, exit 0/1/2. This process plays a
    daemon that started before the hook appeared; libvirt having run the hook since
    (hook-called, beside the marker) makes it live, whatever the hook's ctime says."""
    from support.helpers import debian12_facts

    from guard.facts.cache import as_collected, facts_to_json
    hooks = tmp_path / "hooks"
    (hooks / "qemu.d").mkdir(parents=True)
    (hooks / "qemu.d" / activation.HOOK_NAME).write_text("#!/bin/sh\nexit 0\n")
    (hooks / "qemu.d" / activation.HOOK_NAME).chmod(0o755)
    facts = tmp_path / "f.json"
    facts.write_text(facts_to_json(as_collected(debian12_facts())))
    config = tmp_path / "config.toml"
    config.write_text('[paths]\nfacts = "%s"\naudit_log = "%s/a.log"\nbypass = "%s/b.json"\n'
                      % (facts, tmp_path, tmp_path))

    def status(*extra):
        result = subprocess.run([sys.executable, "-m", "guard", "status", "--config", str(config), "--hooks-dir",
                                 str(hooks), "--marker", str(tmp_path / "m")] + list(extra),
                                capture_output=True, text=True, cwd=REPO)
        return result.returncode, result.stdout
    stand_in_systemctl(tmp_path, monkeypatch, show="ActiveState=active\\nMainPID=%d" % os.getpid(),
                       enabled=("migration-guard-watch.service",))
    code, out = status()
    assert code == 1 and out.startswith("NOT ENFORCING: failing: daemon")
    (tmp_path / "hook-called").write_text("")  # what hooks/qemu does on every call libvirt makes
    code, out = status()
    assert code == 0 and out.startswith("ENFORCING: ") and "libvirt ran the hook" in out
    code, out = status("--format", "json")
    assert code == 0 and json.loads(out)["enforcing"] is True
    config.write_text('mode = "audit"\n' + config.read_text())
    code, out = status()
    assert code == 1 and out.startswith("NOT ENFORCING: audit mode")
    config.write_text(config.read_text().replace('mode = "audit"\n', ""))
    monkeypatch.setenv("PATH", "/nonexistent")  # no systemctl: which daemon runs cannot be told
    code, out = status("--format", "json")
    assert code == 2 and json.loads(out)["enforcing"] is None and json.loads(out)["verdict"] == "UNKNOWN"
