"""Installing on a real host, with real libvirt daemons and real migrations: the hook in
hooks/qemu.d beside an administrator's own hooks/qemu, the %post restart decision
(`migration-guard hook-activate`) with and without a migration in progress, and `status`.

systemd does not run on this machine: the systemctl that activation and status ask is a
stand-in on PATH that reports the test daemon (its pid from the harness's pid file) as the
active libvirtd.service and records what it was asked to do; the restart it is asked for
is then done for real with the harness, as systemctl would."""
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from support.harness import guest_xml, migrate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = '[memory]\nlimit = "100 MiB"\n'


def foreign_log(dest):
    path = os.path.join(os.path.dirname(dest.root), "B-foreign-hook.log")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return handle.read().splitlines()


@pytest.fixture
def env(hosts):
    source, dest, guard = hosts
    guard.write_config(LIMIT)
    yield source, dest, guard
    guard.write_config(LIMIT)
    for host in (source, dest):
        for name in host.running():
            host.virsh("destroy", name, check=False)


def test_migrations_through_qemu_d_beside_a_foreign_hook(env):
    source, dest, guard = env
    foreign = dest.path("etc", "hooks", "qemu")
    with open(foreign) as handle:
        foreign_text = handle.read()
    assert os.path.exists(dest.path("etc", "hooks", "qemu.d", "50-migration-guard"))
    source.define_and_start(guest_xml("inst-ok"))
    source.define_and_start(guest_xml("inst-big", memory_mib=128))
    accepted = migrate(source, dest, "inst-ok")
    assert accepted.returncode == 0, accepted.stderr
    assert "inst-ok" in dest.running()
    refused = migrate(source, dest, "inst-big")
    assert refused.returncode != 0 and "[memory-size[limit]]" in refused.stderr
    assert "qemu.d/50-migration-guard" in refused.stderr  # libvirt names the hook that refused
    assert "inst-big" in source.running() and "inst-big" not in dest.running()
    decisions = {r["domain"]: r["decision"] for r in guard.records() if r["domain"] in ("inst-ok", "inst-big")}
    assert decisions == {"inst-ok": "allow", "inst-big": "deny"}
    # The administrator's hook ran for the same events, and is exactly as it was.
    calls = foreign_log(dest)
    assert "inst-ok migrate begin -" in calls and "inst-big migrate begin -" in calls
    assert "inst-ok prepare begin -" in calls  # and the rest of the accepted guest's lifecycle
    with open(foreign) as handle:
        assert handle.read() == foreign_text


# -- %post: the restart decision -----------------------------------------------------------

STAND_IN = """#!/bin/sh
# systemctl stand-in for the tests (no systemd here): libvirtd.service is the test daemon.
echo "$*" >> %(log)s
case "$1" in
    show) if [ "$3" = libvirtd.service ]; then printf 'ActiveState=active\\nMainPID=%%s\\n' "$(cat %(pidfile)s)";
          else printf 'ActiveState=inactive\\nMainPID=0\\n'; fi ;;
    restart) exit 0 ;;
    is-enabled) echo disabled; exit 1 ;;
    *) exit 1 ;;
esac
"""


@pytest.fixture
def fresh_install(hosts, tmp_path):
    """Host A "installs" the package while its daemon runs: the hook appears in its qemu.d
    after the daemon started, so libvirt does not run it yet. A systemctl stand-in on PATH."""
    source, dest, guard = hosts
    hook = source.install_hook(os.path.join(REPO, "hooks", "qemu"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    (bin_dir / "systemctl").write_text(STAND_IN % {"log": log, "pidfile": source.path("libvirtd.pid")})
    (bin_dir / "systemctl").chmod(0o755)
    env = dict(os.environ, PATH="%s:%s" % (bin_dir, os.environ["PATH"]))
    marker = str(tmp_path / "hook-live.json")

    def guard_cli(*args):
        return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True,
                              cwd=REPO, env=env, timeout=120)

    def activate(command="activate", expect=(0, 1)):
        result = guard_cli(command, "--uri", source.uri, "--hooks-dir", source.path("etc", "hooks"),
                           "--marker", marker)
        assert result.returncode in expect, result.stderr
        return result.stdout

    def status():
        result = guard_cli("status", "--format", "json", "--hooks-dir", source.path("etc", "hooks"),
                           "--marker", marker, "--config", guard.config)
        return result.returncode, {c["name"]: c for c in json.loads(result.stdout)["checks"]}

    def restarts():
        return [line for line in log.read_text().splitlines() if line.startswith("restart")] if log.exists() else []

    yield source, dest, activate, status, restarts
    os.unlink(hook)
    for host in (source, dest):
        for name in host.running():
            host.virsh("destroy", name, check=False)
    slow = dest.path("etc", "hooks", "qemu.d", "10-slow")
    if os.path.exists(slow):
        os.unlink(slow)


def test_install_restarts_nothing_and_activate_only_when_no_migration_job_is_active(fresh_install):
    source, dest, activate, status, restarts = fresh_install
    code, checks = status()
    assert code == 1 and checks["daemon"]["result"] == "fail"
    assert "before the hook appeared" in checks["daemon"]["message"]
    assert "systemctl restart libvirtd" in checks["daemon"]["message"]
    # The RPM's %post step: no job in progress, and still no restart (issue 22).
    said = activate("hook-activate", expect=(0,))
    assert restarts() == [] and "run `migration-guard activate`" in said

    # A real migration in progress out of A: B's own slow site hook (qemu.d/10-slow, run
    # before the guard) holds it in its migrate phase for 20 s.
    slow = dest.path("etc", "hooks", "qemu.d", "10-slow")
    with open(slow, "w") as handle:
        handle.write('#!/bin/sh\n[ "$2" = migrate ] && sleep 20\nexit 0\n')
    os.chmod(slow, 0o755)
    source.define_and_start(guest_xml("inst-moving"))
    outcome = {}
    mover = threading.Thread(target=lambda: outcome.setdefault("result", migrate(source, dest, "inst-moving")))
    mover.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            info = source.virsh("domjobinfo", "inst-moving", check=False).stdout
            if "Unbounded" in info:
                break
            time.sleep(0.2)
        assert "Unbounded" in info, info
        said = activate(expect=(1,))  # not live yet: exit 1
        assert restarts() == []  # a restart now would cancel the migration
        assert "not restarted" in said and "inst-moving: outgoing migration" in said
        assert "enforcement starts at its next restart" in said.lower()
        assert "systemctl restart libvirtd" in said
    finally:
        mover.join(120)
    os.unlink(slow)
    assert outcome["result"].returncode == 0, outcome["result"].stderr  # the migration was not disturbed
    assert "inst-moving" in dest.running()

    # No job in progress: the restart is asked for.
    said = activate(expect=(0,))
    assert restarts() == ["restart libvirtd.service"], said
    assert "restarting libvirtd" in said
    source.restart_libvirtd()  # what systemctl would do
    code, checks = status()
    assert checks["daemon"]["result"] == "pass", checks["daemon"]
    assert ("libvirt ran the hook" in checks["daemon"]["message"]
            or "when the daemon" in checks["daemon"]["message"]), checks["daemon"]
    assert checks["hook"]["result"] == "pass" and checks["config"]["result"] == "pass"
    # Already live: a second run (a reinstall) restarts nothing.
    said = activate(expect=(0,))
    assert restarts() == ["restart libvirtd.service"] and "enforcement is live" in said


def test_status_judges_the_hook_live_by_what_libvirt_registered_not_its_ctime(hosts, tmp_path):
    """Issue 22: a chmod, touch or restorecon of the hook once read as "not live". What
    counts is what was in qemu.d when the daemon started, and hooks/qemu (B started with the
    administrator's): libvirt then lists qemu.d at every call."""
    source, dest, guard = hosts
    from guard.services import activation
    pid = dest.pid("libvirtd")
    started = activation.process_start(pid)
    ours = dest.path("etc", "hooks", "qemu.d", "50-migration-guard")
    os.utime(ours)  # a touch: the hook's mtime and ctime are now after the daemon's start
    os.chmod(ours, 0o755)
    assert os.stat(ours).st_ctime > started
    live, why = activation.daemon_runs_hook(pid, started, dest.path("etc", "hooks"), str(tmp_path / "none"))
    assert live and "when the daemon" in why, why
    # Something added to qemu.d since the start: then hooks/qemu, there before it, is the proof.
    extra = dest.path("etc", "hooks", "qemu.d", "99-added-later")
    with open(extra, "w") as handle:
        handle.write("#!/bin/sh\nexit 0\n")
    os.unlink(extra)
    live, why = activation.daemon_runs_hook(pid, started, dest.path("etc", "hooks"), str(tmp_path / "none"))
    assert live and "lists qemu.d at every call" in why, why
    # No hook at all: not live.
    live, why = activation.daemon_runs_hook(pid, started, str(tmp_path / "no-hooks"), str(tmp_path / "none"))
    assert not live
