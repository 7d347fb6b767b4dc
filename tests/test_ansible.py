"""The Ansible role and playbooks (ansible/): lint (production profile, offline), syntax, and
real runs against localhost (-c local) with the config deployed into a temporary directory:
check mode with --diff, a real run, idempotence, validation before the file is put in place,
the status report, and the evacuation plan. `migration-guard status` and `preflight` are
stand-ins here that print what the documented interfaces print (docs/design.md section 6);
the real pre-flight is tested against real daemons in tests/e2e."""
import datetime
import grp
import json
import os
import pwd
import subprocess
import sys

import pytest
from support.helpers import REPO

from guard.cli.config_cmd import policy_dict
from guard.config import Config, Paths, load_config, parse_config

ANSIBLE = os.path.join(REPO, "ansible")
VENV = os.path.join(REPO, ".venv-ansible", "bin")


@pytest.fixture(scope="module", autouse=True)
def ansible_venv():
    if not os.path.exists(os.path.join(VENV, "ansible-playbook")):
        reason = ("no .venv-ansible (ansible-core, ansible-lint): run scripts/bootstrap.sh, which needs a Python "
                  "3.11 or newer for ansible-core 2.19")
        if os.environ.get("CI"):
            pytest.fail(reason + " (required in CI)")
        pytest.skip(reason)


def ansible(tool, *args, tmp_path, env=None):
    environment = dict(os.environ, PATH=VENV + os.pathsep + os.environ.get("PATH", ""),
                       ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
                       ANSIBLE_CALLBACK_PLUGINS=os.path.join(REPO, "tests", "ansible_plugins"),
                       ANSIBLE_CALLBACKS_ENABLED="record_results", ANSIBLE_NOCOLOR="1",
                       MG_ANSIBLE_RESULTS=str(tmp_path / "results.jsonl"))
    environment.pop("MIGRATION_GUARD_CONFIG", None)
    environment.update(env or {})
    return subprocess.run([os.path.join(VENV, tool)] + list(args), cwd=ANSIBLE, capture_output=True, text=True,
                          env=environment, stdin=subprocess.DEVNULL, timeout=300)


class Run:
    """One ansible-playbook run and the task results it reported."""

    def __init__(self, process, results_file):
        self.process = process
        self.results = []
        if os.path.exists(results_file):
            with open(results_file) as handle:
                self.results = [json.loads(line) for line in handle]
            os.unlink(results_file)

    def task(self, name):
        found = [r for r in self.results if r["task"] == name]
        assert len(found) == 1, (name, [r["task"] for r in self.results], self.process.stdout[-3000:])
        return found[0]

    def changed(self):
        return {r["task"] for r in self.results if r["changed"]}


class Lab:
    """localhost as a hypervisor, its config dir in tmp_path; a `migration-guard` that is the
    real CLI except for `status`, which prints what status.json holds with the exit in status.rc."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.config_dir = tmp_path / "etc" / "migration-guard"
        self.command = tmp_path / "migration-guard"
        self.set_status([{"name": "facts-cache", "result": "pass", "message": "fresh (12s old)"},
                         {"name": "hook", "result": "warn", "message": "daemon not restarted since install"}], 0)
        self.command.write_text('#!/bin/sh\nif [ "$1" = status ]; then cat "%s"; exit "$(cat "%s")"; fi\n'
                                'PYTHONPATH="%s" exec "%s" -m guard "$@"\n'
                                % (tmp_path / "status.json", tmp_path / "status.rc", REPO, sys.executable))
        self.command.chmod(0o755)
        self.inventory = tmp_path / "inventory.ini"
        self.inventory.write_text("[hypervisors]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n"
                                  % os.path.join(VENV, "python"))

    def set_status(self, checks, rc):
        (self.tmp / "status.json").write_text(json.dumps({"checks": checks}))
        (self.tmp / "status.rc").write_text(str(rc))

    @property
    def config(self):
        return str(self.config_dir / "config.toml")

    def play(self, *args, **variables):
        base = {"migration_guard_config_dir": str(self.config_dir), "migration_guard_command": str(self.command),
                "migration_guard_config_owner": pwd.getpwuid(os.getuid()).pw_name,
                "migration_guard_config_group": grp.getgrgid(os.getgid()).gr_name,
                # staged under tmp_path on purpose: this machine's hook reads none of it
                "migration_guard_require_hook_config_path": False,
                # never touch this machine's real services, whatever its init system
                "migration_guard_manage_services": False, "ansible_become": False}
        base.update(variables)
        extra = self.tmp / "vars.json"
        extra.write_text(json.dumps(base))
        process = ansible("ansible-playbook", "-i", str(self.inventory), "site.yml", "-e", "@%s" % extra, *args,
                          tmp_path=self.tmp)
        return Run(process, str(self.tmp / "results.jsonl"))


EVERY_KEY = {
    "migration_guard_mode": "audit", "migration_guard_profile": "strict", "migration_guard_on_error": "allow",
    "migration_guard_timeout": "3s", "migration_guard_max_facts_age": "2h",
    "migration_guard_allow_metadata_exemptions": True,
    "migration_guard_paths_facts": "/srv/mg/facts.json", "migration_guard_paths_audit_log": "/srv/mg/audit.log",
    "migration_guard_paths_bypass": "/srv/mg/bypass.json",
    "migration_guard_paths_metrics": "/var/lib/node_exporter/textfile_collector/migration_guard.prom",
    "migration_guard_paths_pending": "/run/mg/pending", "migration_guard_paths_false_allows": "/var/lib/mg/fa",
    "migration_guard_outcome_wait": "2h", "migration_guard_outcome_libvirt_log": "/var/log/libvirt/libvirtd.log",
    "migration_guard_fingerprint_key": "/etc/migration-guard/fleet.key",
    "migration_guard_fingerprint_previous_key": "/etc/migration-guard/fleet.key.old",
    "migration_guard_fingerprint_max_age": "15m",
    "migration_guard_memory_limit": "512 GiB", "migration_guard_memory_bandwidth": "1 GiB",
    "migration_guard_memory_max_downtime": "300ms",
    "migration_guard_plan_memory_reserve": "4 GiB", "migration_guard_plan_vcpu_ratio": 2.5,
    "migration_guard_maintenance_until": "2027-01-15T06:00:00Z", "migration_guard_maintenance_reason": "CHG7 BIOS",
    "migration_guard_rules": {"host-cpu": "deny", "mediated-device[present]": "warn"},
    "migration_guard_exemptions": [
        {"domain": "hana-*", "rules": ["memory-size"], "reason": 'validated "big" guests, CHG0012345',
         "until": "2027-03-31T00:00:00Z"},
        {"uuid": "8f99e332-06c4-463a-9099-330fb244e1b3", "rules": ["*"], "reason": "lab"}],
}


def show(path):
    now = datetime.datetime.now(datetime.timezone.utc)
    return {k: v for k, v in policy_dict(load_config(path), now).items() if k not in ("config", "digest")}


def test_lint_production_profile_offline(tmp_path):
    result = ansible("ansible-lint", tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Profile 'production' was required, and it passed" in result.stdout + result.stderr


def test_syntax_check(tmp_path):
    for playbook in ("site.yml", "evacuation_plan.yml"):
        result = ansible("ansible-playbook", "--syntax-check", playbook, "-e", "drain_host=hv01.example.com",
                         tmp_path=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr


def test_check_mode_diff_then_real_run_then_idempotent(tmp_path):
    lab = Lab(tmp_path)
    check = lab.play("--check", "--diff")
    assert check.process.returncode == 0, check.process.stdout[-3000:]
    assert not os.path.exists(str(lab.config_dir))  # check mode changes nothing
    assert check.changed() == {"Create the config directory", "Write config.toml (validated by migration-guard "
                                                                "config check first)"}
    # Not a RedHat host, services not managed: the package and collector steps are skipped.
    assert check.task("Install the package")["status"] == "skipped"
    assert check.task("Enable the collector")["status"] == "skipped"
    # The config the diff shows is valid and is exactly the product's defaults.
    rendered = check.task("Write config.toml (validated by migration-guard config check first)")["result"]["diff"]
    after = tmp_path / "rendered.toml"
    after.write_text([d for d in rendered if "after" in d][0]["after"])
    result = subprocess.run([str(lab.command), "config", "check", "--config", str(after)], capture_output=True,
                            text=True)
    assert (result.returncode, result.stdout) == (0, "config OK: %s\n" % after), result.stderr
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    assert show(str(after)) == show(str(empty))
    # status runs in check mode too (read-only) and its checks are shown.
    assert check.task("Show the status checks")["result"]["msg"] == [
        "PASS facts-cache fresh (12s old)", "WARN hook daemon not restarted since install"]

    real = lab.play()
    assert real.process.returncode == 0, real.process.stdout[-3000:]
    assert real.changed() == check.changed()
    assert oct(os.stat(lab.config).st_mode & 0o777) == "0o644"
    assert show(lab.config) == show(str(empty))
    again = lab.play()
    assert again.process.returncode == 0 and again.changed() == set(), again.changed()


def test_every_config_key_comes_from_a_variable(tmp_path):
    lab = Lab(tmp_path)
    run = lab.play(**EVERY_KEY)
    assert run.process.returncode == 0, run.process.stdout[-3000:]
    config, default = load_config(lab.config), Config()
    # Every key of the config differs from its default: each one is driven by a variable.
    for name in Config._fields:
        if name not in ("source", "digest", "paths"):
            assert getattr(config, name) != getattr(default, name), name
    for name in Paths._fields:
        assert getattr(config.paths, name) != getattr(default.paths, name), name
    assert dict(config.rules) == EVERY_KEY["migration_guard_rules"]
    assert [e.reason for e in config.exemptions] == ['validated "big" guests, CHG0012345', "lab"]
    assert config.exemptions[0].until.isoformat() == "2027-03-31T00:00:00+00:00"
    assert (config.memory_limit, config.bandwidth, config.max_downtime) == (512 << 30, float(1 << 30), 0.3)


def test_an_invalid_policy_is_never_put_in_place(tmp_path):
    lab = Lab(tmp_path)
    assert lab.play().process.returncode == 0
    with open(lab.config) as handle:
        before = handle.read()
    # A value the argument specs cannot judge: `migration-guard config check` refuses it.
    run = lab.play(migration_guard_timeout="forever")
    assert run.process.returncode != 0
    failed = run.task("Write config.toml (validated by migration-guard config check first)")
    assert failed["status"] == "failed"
    assert "'forever' is not a duration" in json.dumps(failed["result"])
    # One they can: refused before any task.
    typo = lab.play(migration_guard_mode="enforcing")
    assert typo.process.returncode != 0 and "enforcing" in typo.process.stdout
    with open(lab.config) as handle:
        assert handle.read() == before
    parse_config(before)  # still the valid one


def test_a_failing_status_fails_the_play_unless_told_to_report_only(tmp_path):
    lab = Lab(tmp_path)
    lab.set_status([{"name": "facts-cache", "result": "fail", "message": "missing"},
                    {"name": "hook", "result": "pass", "message": "installed"}], 1)
    failing = lab.play()
    assert failing.process.returncode != 0  # issue 22: not guarded as configured is a failed rollout
    assert failing.task("Show the status checks")["result"]["msg"] == ["FAIL facts-cache missing", "PASS hook installed"]
    failed = failing.task("Fail on a failing status check (migration_guard_status_fail)")
    assert failed["status"] == "failed" and failed["result"]["msg"] == "migration-guard status failed: facts-cache"
    shown = lab.play(migration_guard_status_fail=False)
    assert shown.process.returncode == 0
    assert shown.task("Fail on a failing status check (migration_guard_status_fail)")["status"] == "skipped"
    lab.set_status([{"name": "hook", "result": "pass", "message": "installed"}], 0)
    assert lab.play().process.returncode == 0


def test_argument_specs_stop_a_typo_before_anything_changes(tmp_path):
    lab = Lab(tmp_path)
    run = lab.play(migration_guard_collector="watcher")
    assert run.process.returncode != 0
    assert "watcher" in run.process.stdout and "choices" in run.process.stdout
    assert not os.path.exists(lab.config)  # validated before the first task


def test_a_config_path_the_hook_does_not_read_is_refused(tmp_path):
    lab = Lab(tmp_path)
    run = lab.play(migration_guard_require_hook_config_path=True)
    assert run.process.returncode != 0
    assert "the hook reads /etc/migration-guard/config.toml only" in run.process.stdout
    assert not os.path.exists(lab.config)


PREFLIGHT = {"results": [], "summary": {"qemu+ssh://hv02/system": {"allow": 1, "deny": 1, "error": 0}},
             "plan": {"web01": ["qemu+ssh://hv02/system", "qemu+ssh://hv03-mig/system"], "db02": []},
             "destinations": {"qemu+ssh://hv02/system": {"decided_by": "destination", "shell": "ssh hv02", "error": None},
                              "qemu+ssh://hv03-mig/system": {"decided_by": "destination", "shell": "ssh hv03-mig",
                                                             "error": "cannot connect to qemu+ssh://hv03-mig/system"}},
             "moves": [{"guest": "web01", "dest": "qemu+ssh://hv02/system", "memory_bytes": 1 << 30, "order": 1}],
             "unplaced": [{"guest": "db02", "reason": "no destination accepts it: hv02 deny memory-size[host]"}]}


def evacuation(tmp_path, rc, *args, output=None):
    """The playbook, with a stand-in for `migration-guard preflight` (which needs the
    destinations' libvirt over SSH): it prints `output` (PREFLIGHT's JSON) and exits rc."""
    stub = tmp_path / "preflight"
    stub.write_text('#!/bin/sh\nprintf "%%s\\n" "$@" > "%s"\ncat "%s"\nexit %d\n'
                    % (tmp_path / "argv", tmp_path / "preflight.json", rc))
    stub.chmod(0o755)
    (tmp_path / "preflight.json").write_text(json.dumps(PREFLIGHT) if output is None else output)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[hypervisors]\nlocalhost ansible_connection=local ansible_python_interpreter=%s\n"
                         "hv02\nhv03 migration_guard_libvirt_uri=qemu+ssh://hv03-mig/system\n"
                         % os.path.join(VENV, "python"))
    process = ansible("ansible-playbook", "-i", str(inventory), "evacuation_plan.yml", "-e", "ansible_become=false",
                      "-e", "evacuation_command=%s" % stub, *args, tmp_path=tmp_path)
    return Run(process, str(tmp_path / "results.jsonl"))


def test_evacuation_plan_against_the_other_hosts(tmp_path):
    run = evacuation(tmp_path, 1, "-e", "drain_host=localhost")
    assert run.process.returncode == 0, run.process.stdout[-3000:]
    argv = (tmp_path / "argv").read_text().splitlines()
    assert argv == ["preflight", "--all", "--plan", "--format", "json", "--dest=qemu+ssh://hv02/system",
                    "--dest=qemu+ssh://hv03-mig/system"]  # never the drained host itself
    assert run.task("Show the moves, in order (guest -> destination)")["result"]["msg"] == [
        "1 web01 qemu+ssh://hv02/system"]
    assert run.task("Show the guests left over, with why")["result"]["msg"] == [
        "db02: no destination accepts it: hv02 deny memory-size[host]"]
    assert run.task("Show the destinations that could not be asked")["result"]["msg"] == [
        "qemu+ssh://hv03-mig/system: cannot connect to qemu+ssh://hv03-mig/system"]
    stuck = evacuation(tmp_path, 1, "-e", "drain_host=localhost", "-e", "evacuation_fail_if_stuck=true")
    assert stuck.process.returncode != 0
    assert "db02" in stuck.task("Fail when a guest has no place (evacuation_fail_if_stuck)")["result"]["msg"]


def test_evacuation_plan_is_printed_on_exit_2_then_fails_and_fails_without_drain_host(tmp_path):
    error = evacuation(tmp_path, 2, "-e", "drain_host=localhost")
    assert error.process.returncode != 0
    assert error.task("Show the moves, in order (guest -> destination)")["result"]["msg"] == [
        "1 web01 qemu+ssh://hv02/system"]  # the plan for the destinations that answered
    failed = error.task("Fail when a destination could not be asked and a guest is left over (exit 2)")
    assert failed["status"] == "failed" and "db02" in failed["result"]["msg"]
    unreadable = evacuation(tmp_path, 2, "-e", "drain_host=localhost", output="")
    unreadable_run = unreadable.task("Run the pre-flight for every guest against every destination, with a plan")
    assert unreadable.process.returncode != 0 and unreadable_run["status"] == "failed"
    (tmp_path / "argv").unlink()
    missing = evacuation(tmp_path, 0)
    assert missing.process.returncode != 0
    assert missing.task("Check that drain_host is given and is one host of the group")["status"] == "failed"
    assert not (tmp_path / "argv").exists()  # the pre-flight never ran
