"""The outcome loop on two real libvirt daemons (issue 23): B's hook in audit mode leaves
each migration it lets proceed pending, and the collector service, running in B's mount
namespace as on a host, records what became of it in the audit log."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from support.harness import guest_xml, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AUDIT = 'mode = "audit"\n[outcome]\nlibvirt_log = "/var/log/libvirt/libvirtd.log"\n'
DISK = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='/var/lib/libvirt/mg-disks/%s.raw'/><target dev='vda' bus='virtio'/></disk>")


def migrate_unsafe(source, dest, name):
    """A live migration without --copy-storage-all of a guest whose disk only A has:
    --unsafe, or libvirt refuses it on A before B is asked."""
    return subprocess.run(["virsh", "-c", source.uri, "migrate", "--live", "--unsafe", name, dest.uri,
                           "--migrateuri", "tcp://127.0.0.1", "--listen-address", "127.0.0.1"],
                          capture_output=True, text=True, timeout=120)


def disk_only_on(host, name):
    """A raw disk in host's own /var/lib/libvirt/mg-disks, which the other host cannot see."""
    subprocess.run(["nsenter", "-t", str(host.pid("libvirtd")), "-m", "sh", "-c",
                    "mkdir -p /var/lib/libvirt/mg-disks && truncate -s 1M /var/lib/libvirt/mg-disks/%s.raw" % name],
                   check=True)
    return DISK % name


class WatchInB:
    """`migration-guard facts watch` in B's mount namespace, started and stopped by pid."""

    def __init__(self, dest, guard, tmp_path):
        self.dest, self.guard, self.output = dest, guard, str(tmp_path / "watch-facts.json")
        self.log = tmp_path / "watch.log"
        self.process = None

    def start(self):
        env = dict(os.environ, MIGRATION_GUARD_CONFIG=self.guard.config, PYTHONPATH=REPO)
        self.process = subprocess.Popen(
            ["nsenter", "-t", str(self.dest.pid("libvirtd")), "-m", sys.executable, "-m", "guard", "facts", "watch",
             "--uri", self.dest.uri, "--output", self.output, "--config", self.guard.config],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        assert wait_for(lambda: os.path.exists(self.output) or self.process.poll() is not None, 60)
        assert self.process.poll() is None, self.log.read_text()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def outcome_env(hosts, tmp_path):
    source, dest, guard = hosts
    guard.write_config(AUDIT)
    watch = WatchInB(dest, guard, tmp_path)
    watch.start()
    yield source, dest, guard, watch
    watch.stop()
    guard.write_config()
    for host in (source, dest):
        for name in host.running():
            host.virsh("destroy", name, check=False)


@pytest.fixture
def disk_pool_on_b(outcome_env):
    """An active pool on B targeting the folder of the disks only A has: so --copy-storage-all
    could create them, and the guard only warns that they are missing (storage[missing])."""
    _source, dest, guard, _watch = outcome_env
    dest.virsh("pool-create-as", "mg-disks", "dir", "--target", "/var/lib/libvirt/mg-disks", "--build")
    guard.guard("facts", "collect", "--uri", dest.uri, "--output", guard.facts)
    yield outcome_env
    dest.virsh("pool-destroy", "mg-disks", check=False)
    guard.guard("facts", "collect", "--uri", dest.uri, "--output", guard.facts)


def decision_of(guard, name):
    decisions = [r for r in guard.records() if r.get("event") == "decision" and r["domain"] == name]
    assert decisions, "no decision for %s" % name
    return decisions[-1]


def outcome_of(guard, decision, seconds=60):
    def found():
        return [r for r in guard.records() if r.get("event") == "outcome" and r["decision_id"] == decision["id"]]
    return (wait_for(found, seconds) or [None])[0]


def test_a_guest_that_migrates_gets_a_migrated_outcome_linked_to_its_decision(outcome_env):
    source, dest, guard, _watch = outcome_env
    source.define_and_start(guest_xml("out-ok"))
    result = subprocess.run(["virsh", "-c", source.uri, "migrate", "--live", "out-ok", dest.uri, "--migrateuri",
                             "tcp://127.0.0.1", "--listen-address", "127.0.0.1"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    decision = decision_of(guard, "out-ok")
    assert decision["decision"] == "allow" and len(decision["id"]) == 32
    outcome = outcome_of(guard, decision)
    assert outcome is not None, "no outcome recorded"
    assert (outcome["outcome"], outcome["class"], outcome["decided"]) == ("migrated", "true-allow", "allow")
    assert outcome["uuid"] == decision["uuid"] and outcome["seconds"] < 60
    assert os.listdir(guard.pending) == [".watching"], "the pending decision was not removed"


def test_an_allowed_guest_that_fails_on_b_is_a_false_allow_with_libvirts_error(disk_pool_on_b):
    source, dest, guard, _watch = disk_pool_on_b
    source.define_and_start(guest_xml("out-disk", extra_devices=disk_only_on(source, "out-disk")))
    result = migrate_unsafe(source, dest, "out-disk")
    assert result.returncode != 0 and "Cannot access storage file" in result.stderr, result.stderr
    assert "out-disk" in source.running()
    decision = decision_of(guard, "out-disk")
    # storage[missing] warns by default (shared storage may be mounted later): allowed.
    assert decision["decision"] == "allow", decision["findings"]
    assert "storage[missing]" in [f["code"] for f in decision["findings"]]
    outcome = outcome_of(guard, decision)
    assert outcome is not None, "no outcome recorded"
    assert (outcome["outcome"], outcome["class"]) == ("failed", "false-allow")
    assert "Cannot access storage file" in outcome["reason"], outcome["reason"]
    assert outcome["kept_xml"] and os.path.exists(outcome["kept_xml"])
    assert oct(os.stat(outcome["kept_xml"]).st_mode & 0o777) == "0o600"
    with open(outcome["kept_xml"]) as handle:
        assert "out-disk.raw" in handle.read()
    listed = guard.guard("audit", "--outcome", "failed", "--format", "json").stdout.splitlines()
    assert [json.loads(line)["decision_id"] for line in listed] == [decision["id"]]
    accuracy = json.loads(guard.guard("accuracy", "--format", "json").stdout)
    assert accuracy["classes"]["false-allow"] >= 1
    assert decision["id"] in [item["decision_id"] for item in accuracy["false_allows"]]


def test_a_would_deny_that_fails_on_b_is_a_true_deny(disk_pool_on_b):
    source, dest, guard, _watch = disk_pool_on_b
    guard.write_config(AUDIT + '[rules."storage[missing]"]\naction = "deny"\n')
    source.define_and_start(guest_xml("out-deny", extra_devices=disk_only_on(source, "out-deny")))
    assert migrate_unsafe(source, dest, "out-deny").returncode != 0
    decision = decision_of(guard, "out-deny")
    assert decision["decision"] == "would-deny"
    outcome = outcome_of(guard, decision)
    assert outcome is not None and (outcome["outcome"], outcome["class"]) == ("failed", "true-deny")
    assert outcome["deny_codes"] == ["storage[missing]"] and outcome["kept_xml"] is None


def test_outcomes_are_decided_from_state_after_the_service_was_down(disk_pool_on_b):
    """Migrations while the service is stopped: once it is back, the one that runs here is
    migrated and the one whose QEMU log says reason=failed is failed; nothing is lost."""
    source, dest, guard, watch = disk_pool_on_b
    watch.stop()
    source.define_and_start(guest_xml("out-late-ok"))
    source.define_and_start(guest_xml("out-late-disk", extra_devices=disk_only_on(source, "out-late-disk")))
    assert migrate_unsafe(source, dest, "out-late-ok").returncode == 0
    assert migrate_unsafe(source, dest, "out-late-disk").returncode != 0
    time.sleep(1)
    assert len([n for n in os.listdir(guard.pending) if n.endswith(".json")]) == 2  # both left pending
    watch.start()
    ok = outcome_of(guard, decision_of(guard, "out-late-ok"))
    assert ok is not None and ok["outcome"] == "migrated"
    failed = outcome_of(guard, decision_of(guard, "out-late-disk"))
    assert failed is not None and failed["outcome"] == "failed", failed


def test_every_decision_has_at_most_one_outcome_and_the_log_stays_json_lines(outcome_env):
    _source, _dest, guard, _watch = outcome_env
    lines = guard.guard("audit", "--format", "json").stdout.splitlines()
    records = [json.loads(line) for line in lines]  # one JSON object a line
    assert all(isinstance(r, dict) for r in records)
    links = [r["decision_id"] for r in records if r.get("event") == "outcome"]
    assert links and len(links) == len(set(links))
    decisions = {r["id"] for r in records if r.get("event") == "decision" and r.get("id")}
    assert set(links) <= decisions
    only_decisions = guard.guard("audit", "--decision", "allow", "--format", "json").stdout.splitlines()
    assert all(json.loads(line)["event"] == "decision" for line in only_decisions)


def test_an_offline_migration_is_migrated_not_failed(outcome_env):
    """`virsh migrate --offline` runs B's migrate hook too, then only defines the guest:
    no QEMU, no event but DEFINED. Its outcome is the definition's arrival, judged by what
    holds for a definition: over B's memory limit is a would-deny that a live migration
    would meet, not this one (guard.decide.deferral), so the offline move is a true allow."""
    source, dest, guard, _watch = outcome_env
    guard.write_config(AUDIT + '[memory]\nlimit = "100 MiB"\n')
    path = source.path("out-offline.xml")
    with open(path, "w") as handle:
        handle.write(guest_xml("out-offline", memory_mib=128))
    source.virsh("define", path)
    result = subprocess.run(["virsh", "-c", source.uri, "migrate", "--offline", "--persistent", "out-offline",
                             dest.uri], capture_output=True, text=True, timeout=120)
    try:
        assert result.returncode == 0, result.stderr
        decision = decision_of(guard, "out-offline")
        assert decision["decision"] == "would-deny"
        outcome = outcome_of(guard, decision)
        assert outcome is not None and (outcome["outcome"], outcome["class"]) == ("migrated", "true-allow"), outcome
        assert "offline" in outcome["reason"]
    finally:
        guard.write_config(AUDIT)
        for host in (source, dest):
            host.virsh("undefine", "out-offline", check=False)


def test_a_guest_already_running_on_b_does_not_make_the_attempt_migrated(outcome_env):
    """The same guest (its UUID) already runs on B: libvirt refuses the migration after the
    hook. The guest runs on B all along, but this attempt started nothing there."""
    source, dest, guard, _watch = outcome_env
    xml = guest_xml("out-twice").replace("<name>out-twice</name>",
                                         "<name>out-twice</name><uuid>5f0c6f8e-7b64-4c39-9d55-3a1d2c0e9b71</uuid>")
    source.define_and_start(xml)
    dest.define_and_start(xml)
    result = subprocess.run(["virsh", "-c", source.uri, "migrate", "--live", "out-twice", dest.uri, "--migrateuri",
                             "tcp://127.0.0.1", "--listen-address", "127.0.0.1"], capture_output=True, text=True)
    assert result.returncode != 0
    decisions = [r for r in guard.records() if r.get("event") == "decision" and r["domain"] == "out-twice"]
    assert decisions, "B's hook did not run: %s" % result.stderr.strip()
    outcome = outcome_of(guard, decisions[-1])
    assert outcome is not None and (outcome["outcome"], outcome["class"]) == ("failed", "true-deny"), outcome
    assert outcome["reason"], outcome
