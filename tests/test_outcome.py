"""The outcome loop without daemons: judging the evidence, classing, the pending files the
hook leaves, the service's check against libvirt's test driver (a real libvirt, no QEMU),
and the audit, accuracy and metrics views of outcome records. The real migrations are in
tests/e2e/test_outcome_loop.py."""
import json
import os
import stat
import subprocess
import sys
import time

import libvirt
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.helpers import REPO
from test_hook import BIG, SMALL, Host, documented_fields, needs_root

from guard.config import Config, parse_config
from guard.decide import outcome as oc
from guard.output.audit_record import outcome_record, render_record
from guard.rules.findings import Finding
from guard.runtime import pending as pending_module
from guard.runtime.pending import MAX_KEPT, keep_xml, read_pending, remove_pending, touch_heartbeat, write_pending
from guard.services.metrics import count_decisions, render
from guard.services.outcome_watch import OutcomeTracker, daemon_errors_since

T0 = 1_764_686_000.0  # 2025-12-02T14:33:20Z
PENDING = oc.Pending("a" * 32, T0, "web01", "6695eb01-f6a4-8304-79aa-97f2502e193f", "allow", "allow", (), "audit")
# Lines as libvirt 9.0 and QEMU 7.2 wrote them on the rig (tests/e2e/test_outcome_loop.py).
STARTED = "2025-12-02 14:33:20.311+0000: starting up libvirt version: 9.0.0, qemu version: 7.2.22"
FAILED_LINE = "2025-12-02 14:33:20.467+0000: shutting down, reason=failed"
QEMU_ERROR = "2025-12-02T14:33:20.400123Z qemu-system-x86_64: -blockdev {}: Could not open '/d.raw'"


def evidence(**kwargs):
    return oc.Evidence(kwargs.pop("state", None), **kwargs)


class TestJudge:
    def test_resumed_after_migration_is_migrated(self):
        verdict = oc.judge(PENDING, evidence(events=((4, 1, T0 + 2),)), T0 + 3)
        assert (verdict.outcome, verdict.at) == ("migrated", T0 + 2)

    @pytest.mark.parametrize("state, outcome", [((1, 2), "migrated"), ((3, 1), "migrated"), ((3, 2), None),
                                                ((1, 10), None), ((3, 11), None), ((1, 11), "failed")])
    def test_the_guest_here_is_migrated_once_this_attempt_started_it(self, state, outcome):
        verdict = oc.judge(PENDING, evidence(state=state, events=((2, 1, T0 + 0.2),)), T0 + 1)
        assert (verdict.outcome if verdict else None) == outcome

    def test_a_guest_already_running_here_says_nothing_of_this_attempt(self):
        """Same host, or a clash with a running UUID: libvirt fails it after the hook."""
        assert oc.judge(PENDING, evidence(state=(1, 1), watched=True), T0 + 1) is None
        verdict = oc.judge(PENDING, evidence(state=(1, 1), watched=True), T0 + 30)
        assert verdict.outcome == "failed" and "already running" in verdict.reason
        assert oc.judge(PENDING, evidence(state=(1, 1)), T0 + 30).outcome == "unknown"  # not watched

    def test_an_attempt_a_retry_followed_failed_although_the_guest_runs_now(self):
        """Attempt 1 fails in prepare (no event), attempt 2 succeeds: attempt 1's window
        ends at attempt 2, in which nothing of it arrived."""
        verdict = oc.judge(PENDING, evidence(state=(1, 2), watched=True), T0 + 3, superseded=True)
        assert verdict.outcome == "failed" and verdict.where == "here"

    def test_a_failure_after_qemu_ran_the_incoming_migration_is_aborted_unless_qemu_said_why(self):
        started, stopped = (2, 1, T0 + 0.2), (5, 5, T0 + 40)
        verdict = oc.judge(PENDING, evidence(events=(started, stopped)), T0 + 41)
        assert (verdict.outcome, verdict.where) == ("failed", "elsewhere")
        assert oc.classify("allow", (), verdict.outcome, verdict.where) == "aborted"
        load_error = "2025-12-02T14:34:00.100000Z qemu-system-x86_64: load of migration failed: Invalid argument"
        verdict = oc.judge(PENDING, evidence(events=(started, stopped), log=(STARTED, load_error)), T0 + 41)
        assert verdict.where == "here" and "load of migration failed" in verdict.reason
        assert oc.classify("allow", (), verdict.outcome, verdict.where) == "false-allow"

    def test_an_incoming_job_still_running_is_waited_for(self):
        assert oc.judge(PENDING, evidence(arriving=True, defined=True, watched=True), T0 + 300) is None

    def test_absence_counts_only_after_the_grace_period(self):
        assert oc.judge(PENDING, evidence(watched=True), T0 + oc.ABSENCE_GRACE_SECONDS - 1) is None
        verdict = oc.judge(PENDING, evidence(watched=True), T0 + oc.ABSENCE_GRACE_SECONDS + 1)
        assert verdict.outcome == "failed" and "never arrived" in verdict.reason

    def test_a_failed_shutdown_in_the_qemu_log_is_failed_with_its_time_and_words(self):
        log = (STARTED, "-incoming defer \\", QEMU_ERROR, FAILED_LINE)
        verdict = oc.judge(PENDING, evidence(log=log, daemon_errors=("Cannot access storage file '/d.raw'",)),
                           T0 + 30)
        assert verdict.outcome == "failed"
        assert verdict.at == pytest.approx(T0 + 0.467)
        assert verdict.reason == ("Cannot access storage file '/d.raw' / 2025-12-02T14:33:20.400123Z "
                                  "qemu-system-x86_64: -blockdev {}: Could not open '/d.raw'")

    def test_stopped_failed_event_is_failed(self):
        verdict = oc.judge(PENDING, evidence(events=((5, 5, T0 + 1),)), T0 + 2)
        assert verdict.outcome == "failed"

    def test_unwatched_absence_without_a_failure_in_the_log_is_unknown_not_failed(self):
        """The service was down: the guest may have arrived and left since. Only the QEMU
        log can say it failed; another ending is unknown."""
        log = (STARTED, "2025-12-02 14:40:00.000+0000: shutting down, reason=destroyed")
        verdict = oc.judge(PENDING, evidence(log=log), T0 + 600)
        assert verdict.outcome == "unknown" and "reason=destroyed" in verdict.reason

    def test_unwatched_absence_with_no_qemu_start_at_all_is_failed(self):
        verdict = oc.judge(PENDING, evidence(), T0 + 600)
        assert verdict.outcome == "failed" and "never started" in verdict.reason

    def test_a_definition_that_arrived_without_qemu_is_an_offline_migration(self):
        verdict = oc.judge(PENDING, evidence(defined=True, watched=True, events=((0, 0, T0 + 0.1),)), T0 + 20)
        assert verdict.outcome == "migrated" and "offline" in verdict.reason
        # A definition that was here before (no DEFINED since the decision) is no arrival.
        assert oc.judge(PENDING, evidence(defined=True, watched=True), T0 + 20).outcome == "failed"
        assert oc.judge(PENDING, evidence(defined=True), T0 + 20).outcome == "unknown"
        # ... but not when QEMU started and failed here: a live migration's failure.
        verdict = oc.judge(PENDING, evidence(defined=True, watched=True, log=(STARTED, FAILED_LINE)), T0 + 20)
        assert verdict.outcome == "failed"

    def test_expired(self):
        assert oc.expired(PENDING, T0 + 7200, 3600).reason == "no outcome within 1h"

    def test_failure_text_is_bounded(self):
        verdict = oc.judge(PENDING, evidence(daemon_errors=tuple("e%d " % i + "x" * 500 for i in range(20))),
                           T0 + 60)
        assert len(verdict.reason) <= oc.MAX_REASON_CHARS and verdict.reason.startswith("e14 ")


def test_log_lines_since_keep_the_command_line_with_its_banner():
    lines = ["2025-12-02 14:00:00.000+0000: starting up old", "-old \\",
             STARTED, "-incoming defer \\", FAILED_LINE]
    assert oc.lines_since(lines, T0) == lines[2:]
    assert oc.log_time("no time here") is None
    assert oc.failure_time(lines) == pytest.approx(T0 + 0.467)


@pytest.mark.parametrize("said, codes, outcome, kind", [
    ("allow", (), "migrated", "true-allow"),
    ("allow", (), "failed", "false-allow"),
    ("deny", ("storage[missing]",), "failed", "true-deny"),
    ("deny", ("storage[missing]",), "migrated", "false-deny"),
    ("deny", ("memory-size[limit]",), "migrated", "policy"),
    ("error", (), "migrated", "guard-error"),
    ("allow", (), "unknown", "unknown"),
])
def test_classes_match_the_differential_suites(said, codes, outcome, kind):
    assert oc.classify(said, codes, outcome) == kind


def test_summary_rates_and_false_allows():
    records = [{"class": "true-allow"}] * 6 + [{"class": "false-allow", "domain": "db1", "reason": "r",
                                                  "decision_id": "x"}] + [{"class": "true-deny"}] * 3 + \
        [{"class": "false-deny"}, {"class": "policy"}, {"said": "allow", "outcome": "failed", "deny_codes": []}]
    summary = oc.summarize(records, refused=4)
    assert summary["classes"]["false-allow"] == 2 and summary["refused"] == 4
    assert summary["false_allow_rate"] == round(2 / 5, 4)  # of the 5 that failed
    assert summary["false_deny_rate"] == round(1 / 7, 4)  # of the 7 that migrated for a reason of their own
    assert summary["agreement"] == round(10 / 13, 4)
    assert [item["domain"] for item in summary["false_allows"]] == ["db1", None]


def test_said_counts_exempted_and_waived_denies():
    plain = Finding.from_tuple(("storage", "storage[missing]", "warn", "m", "", (), "deny", None))
    exempted = plain._replace(action="info", evidence=(("exempted", "ok"), ("would_be", "deny")))
    assert pending_module.said("allow", (plain,)) == "allow" and pending_module.denied_codes((plain,)) == []
    assert pending_module.said("allow", (exempted,)) == "deny"
    assert pending_module.denied_codes((exempted,)) == ["storage[missing]"]
    assert pending_module.said("would-deny", ()) == "deny" and pending_module.said("bypassed", ()) == "deny"
    assert pending_module.said("error", ()) == "error"


def test_policy_marks_what_an_exemption_turned_down():
    """What `said` reads: the policy's own evidence on an exempted finding."""
    from guard.decide.policy import apply
    from guard.guest.domain import parse_domain
    config = parse_config('[[exemptions]]\ndomain = "*"\nreason = "known"\nrules = ["memory-size"]\n')
    found = Finding.from_tuple(("memory-size", "memory-size[limit]", "deny", "m", "", (), "deny", None))
    domain = parse_domain(SMALL)
    _verdict, kept, _notes = apply(domain, (found,), config, T0)
    assert kept[0].action == "info" and dict(kept[0].evidence)["would_be"] == "deny"


class TestPendingFiles:
    def test_written_root_only_and_read_back(self, tmp_path):
        folder = str(tmp_path / "pending")
        write_pending(folder, {"id": "b" * 32, "time": T0, "uuid": "u"}, b"<domain/>")
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
        for name in os.listdir(folder):
            assert stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) == 0o600
        entries, problems = read_pending(folder)
        assert [e["id"] for e in entries] == ["b" * 32] and problems == []
        remove_pending(folder, "b" * 32)
        assert os.listdir(folder) == []

    def test_a_planted_symlink_is_never_followed(self, tmp_path):
        folder = tmp_path / "pending"
        folder.mkdir(mode=0o700)
        target = tmp_path / "elsewhere"
        (folder / ("c" * 32 + ".xml")).symlink_to(target)
        with pytest.raises(OSError):
            write_pending(str(folder), {"id": "c" * 32, "time": T0}, b"<domain/>")
        assert not target.exists()

    def test_an_entry_others_could_write_is_a_problem_not_acted_on(self, tmp_path):
        folder = tmp_path / "pending"
        folder.mkdir(mode=0o700)
        planted = folder / ("d" * 32 + ".json")
        planted.write_text(json.dumps({"id": "d" * 32, "time": T0}))
        planted.chmod(0o666)
        entries, problems = read_pending(str(folder))
        assert entries == [] and "writable by group or others" in problems[0]

    def test_an_entry_naming_another_id_is_a_problem(self, tmp_path):
        folder = str(tmp_path / "pending")
        write_pending(folder, {"id": "e" * 32, "time": T0}, None)
        os.rename(os.path.join(folder, "e" * 32 + ".json"), os.path.join(folder, "f" * 32 + ".json"))
        entries, problems = read_pending(folder)
        assert entries == [] and "not a pending decision" in problems[0]

    def test_a_huge_xml_is_cut_and_said(self, tmp_path):
        from guard.runtime.pending import MAX_XML_BYTES
        folder = str(tmp_path / "pending")
        write_pending(folder, {"id": "1" * 32, "time": T0}, b"x" * (MAX_XML_BYTES + 10))
        with open(os.path.join(folder, "1" * 32 + ".xml"), "rb") as handle:
            data = handle.read()
        assert data.startswith(b"x" * 100) and b"cut at" in data and len(data) < MAX_XML_BYTES + 100

    def test_kept_xml_is_bounded_to_the_newest(self, tmp_path):
        folder, kept = str(tmp_path / "pending"), str(tmp_path / "kept")
        for index in range(MAX_KEPT + 3):
            decision_id = "%032x" % index
            write_pending(folder, {"id": decision_id, "time": T0}, b"<domain/>")
            path = keep_xml(folder, decision_id, kept)
            os.utime(path, (T0 + index, T0 + index))
        names = sorted(os.listdir(kept))
        assert len(names) == MAX_KEPT and names[0] == "%032x.xml" % 3


def _config(tmp_path, extra=""):
    text = '[paths]\naudit_log = "%s/audit.log"\npending = "%s/pending"\nfalse_allows = "%s/kept"\n' % (
        tmp_path, tmp_path, tmp_path)
    return parse_config(text + '[outcome]\nlibvirt_log = ""\n' + extra)


class Log:
    def __init__(self):
        self.lines = []

    def __getattr__(self, level):
        return lambda event, **kw: self.lines.append((level, event, kw))


class TestTrackerOnLibvirtsTestDriver:
    """The service's check against a real libvirt connection (the test driver: its
    running guest "test"), the pending files and the QEMU log as the hook and libvirt leave them."""

    def setup_method(self):
        self.conn = libvirt.open("test:///default")
        self.test_uuid = self.conn.lookupByName("test").UUIDString()

    def teardown_method(self):
        self.conn.close()

    def tracker(self, tmp_path, connected_at=None):
        tracker = OutcomeTracker(_config(tmp_path), Log(), qemu_logs=str(tmp_path / "qemu"), host="hv02",
                                 deferred=str(tmp_path / "deferred"))
        tracker.connected(self.conn)
        if connected_at is not None:
            tracker.connected_since = connected_at
        return tracker

    def leave(self, tmp_path, uuid, name, when, said="allow"):
        decision_id = os.urandom(16).hex()
        write_pending(str(tmp_path / "pending"), {"id": decision_id, "time": when, "domain": name, "uuid": uuid,
                                                  "decision": "allow", "said": said, "deny_codes": [],
                                                  "mode": "audit"}, b"<domain><name>%s</name></domain>" % name.encode())
        return decision_id

    def records(self, tmp_path):
        with open(tmp_path / "audit.log") as handle:
            return [json.loads(line) for line in handle]

    def test_a_guest_running_here_is_migrated_and_the_files_go(self, tmp_path):
        now = time.time()
        decision_id = self.leave(tmp_path, self.test_uuid, "test", now - 1)
        tracker = self.tracker(tmp_path)
        tracker.on_event(self.test_uuid.lower(), 2, 1)  # STARTED/MIGRATED: this attempt started it
        written = tracker.check(now)
        assert [(r["decision_id"], r["outcome"], r["class"]) for r in written] == [(decision_id, "migrated",
                                                                                    "true-allow")]
        assert self.records(tmp_path)[0]["decision_id"] == decision_id
        assert os.listdir(tmp_path / "pending") == [".watching"]

    def test_an_absent_guest_waits_for_the_grace_period_then_is_a_false_allow_with_its_xml(self, tmp_path):
        now = time.time()
        uuid = "0b8c1f7e-0000-4000-8000-000000000001"
        decision_id = self.leave(tmp_path, uuid, "gone", now - 2)
        tracker = self.tracker(tmp_path, connected_at=now - 60)
        assert tracker.check(now) == []  # within the grace period: nothing said yet
        os.makedirs(tmp_path / "qemu")
        (tmp_path / "qemu" / "gone.log").write_text(
            "%s: shutting down, reason=failed\n" % time.strftime("%Y-%m-%d %H:%M:%S.000+0000", time.gmtime(now)))
        [record] = tracker.check(now + 20)
        assert (record["outcome"], record["class"]) == ("failed", "false-allow")
        assert record["kept_xml"] == str(tmp_path / "kept" / (decision_id + ".xml"))
        with open(record["kept_xml"], "rb") as handle:
            assert handle.read() == b"<domain><name>gone</name></domain>"
        assert tracker.check(now + 30) == []  # at most one outcome
        assert len(self.records(tmp_path)) == 1

    def test_nothing_is_decided_while_libvirt_is_away_except_expiry(self, tmp_path):
        now = time.time()
        self.leave(tmp_path, "0b8c1f7e-0000-4000-8000-000000000002", "gone", now - 100)
        tracker = self.tracker(tmp_path)
        tracker.disconnected()
        assert tracker.check(now) == []
        [record] = tracker.check(now + 7 * 3600)
        assert record["outcome"] == "unknown" and record["reason"] == "no outcome within 6h"

    def test_a_late_outcome_is_still_judged_before_it_expires(self, tmp_path):
        now = time.time()
        self.leave(tmp_path, self.test_uuid, "test", now - 8 * 3600)
        tracker = self.tracker(tmp_path)
        tracker.events[self.test_uuid.lower()] = [(2, 1, now - 8 * 3600 + 1)]
        [record] = tracker.check(now)
        assert record["outcome"] == "migrated"

    def test_a_decision_that_cannot_be_removed_is_recorded_once(self, tmp_path, monkeypatch):
        import guard.runtime.pending as pending_files
        now = time.time()
        self.leave(tmp_path, "0b8c1f7e-0000-4000-8000-000000000003", "gone", now - 100)
        tracker = self.tracker(tmp_path, connected_at=now - 200)
        monkeypatch.setattr(pending_files.os, "unlink", lambda path: (_ for _ in ()).throw(PermissionError(path)))
        assert len(tracker.check(now)) == 1
        assert tracker.check(now + 5) == [] and len(self.records(tmp_path)) == 1

    def test_records_match_the_documented_schema(self, tmp_path):
        now = time.time()
        self.leave(tmp_path, self.test_uuid, "test", now - 1)
        tracker = self.tracker(tmp_path)
        tracker.on_event(self.test_uuid.lower(), 4, 1)
        [record] = tracker.check(now)
        fields = documented_fields("outcome")
        assert set(record) == set(fields)
        for name, (types, _presence) in fields.items():
            assert any(isinstance(record[name], {"string": str, "integer": int, "number": (int, float),
                                                 "array": list, "object": dict, "null": type(None)}[t])
                       for t in types), name

    def test_a_guest_defined_here_drops_its_deferred_refusal_and_stale_ones_go(self, tmp_path):
        from guard.runtime import deferred as markers
        folder = str(tmp_path / "deferred")
        boot = markers.boot_clock()
        other, old = "0b8c1f7e-0000-4000-8000-0000000000bb", "0b8c1f7e-0000-4000-8000-0000000000cc"
        for name, uuid, when in (("test", self.test_uuid, boot - 1), ("other", other, boot),
                                 ("old", old, boot - markers.DEFER_SECONDS - 1)):
            markers.leave(folder, name, uuid, {"id": "a" * 32, "time": 0, "boot": when, "lines": [], "record": {}})
        tracker = self.tracker(tmp_path)
        tracker.check()
        assert sorted(os.listdir(folder)) == ["other", "test"]  # the stale one went
        tracker.on_event(self.test_uuid.lower(), 0, 0)  # DEFINED/ADDED after the marker: an offline migration
        tracker.check()
        assert os.listdir(folder) == ["other"]

    def test_a_deferred_attempt_judged_over_drops_its_refusal(self, tmp_path):
        from guard.runtime import deferred as markers
        now = time.time()
        uuid = "0b8c1f7e-0000-4000-8000-0000000000dd"
        decision_id = self.leave(tmp_path, uuid, "gone", now - 100)
        entry = str(tmp_path / "pending" / (decision_id + ".json"))
        with open(entry) as handle:
            data = json.load(handle)
        data["decision"] = "deferred"
        with open(entry, "w") as handle:
            json.dump(data, handle)
        markers.leave(str(tmp_path / "deferred"), "gone", uuid,
                      {"id": decision_id, "time": now - 100, "boot": markers.boot_clock(), "lines": [], "record": {}})
        tracker = self.tracker(tmp_path, connected_at=now - 200)
        [record] = tracker.check(now)  # never arrived: failed before prepare (the source gave up, say)
        assert record["outcome"] == "failed"
        assert not os.path.exists(tmp_path / "deferred" / "gone")  # a later start here does not meet it

    def test_the_qemu_log_is_not_read_while_an_incoming_job_runs_and_no_event_settles_it(self, tmp_path,
                                                                                         monkeypatch):
        # The test driver cannot run an incoming migration job: _job_running is the one
        # stand-in here, saying a job runs for the guest "test".
        import guard.services.outcome_watch as outcome_watch
        monkeypatch.setattr(outcome_watch, "_job_running", lambda dom, libvirt: True)
        reads = []
        real_read = outcome_watch.qemu_log_since
        monkeypatch.setattr(outcome_watch, "qemu_log_since", lambda *args, **kw: reads.append(args) or
                            real_read(*args, **kw))
        now = time.time()
        self.leave(tmp_path, self.test_uuid, "test", now - 60)
        tracker = self.tracker(tmp_path, connected_at=now - 120)
        assert tracker.check(now) == [] and tracker.check(now + 2) == []
        assert reads == []  # a long migration: no 256 KiB tail every 2 s
        tracker.on_event(self.test_uuid.lower(), 5, 5)  # STOPPED/FAILED settles it: now the log says why
        [record] = tracker.check(now + 4)
        assert record["outcome"] == "failed" and reads and reads[0][0] == "test"


def test_daemon_errors_from_a_log_file_between_two_times(tmp_path):
    log = tmp_path / "libvirtd.log"
    log.write_text("\n".join([
        "2025-12-02 14:33:19.000+0000: 7: error : virSysinfoRead:1 : before the decision",
        "2025-12-02 14:33:20.300+0000: 7: info : something : not an error",
        "2025-12-02 14:33:20.310+0000: 7: error : qemuProcessPrepareHost:1 : Cannot access storage file '/d'",
        "2025-12-02 14:35:00.000+0000: 7: error : virNetSocketReadWire:1 : after the failure",
    ]) + "\n")
    assert daemon_errors_since(str(log), T0, T0 + 1) == ("Cannot access storage file '/d'",)
    assert daemon_errors_since("", T0, T0 + 1) == ()
    assert daemon_errors_since(str(tmp_path / "none"), T0, T0 + 1) == ()


def test_config_keys_and_their_errors():
    config = parse_config('[paths]\npending = ""\n[outcome]\nwait = "2h"\nlibvirt_log = "/var/log/x.log"\n')
    assert (config.paths.pending, config.outcome_wait, config.outcome_libvirt_log) == ("", 7200.0, "/var/log/x.log")
    assert Config().paths.pending == "/run/migration-guard/pending"
    for bad in ('[outcome]\nlibvirt_log = "relative"\n', '[outcome]\nwaiting = "1h"\n', '[paths]\nfalse_allows = ""\n'):
        with pytest.raises(Exception) as info:
            parse_config(bad)
        assert "outcome" in str(info.value) or "false_allows" in str(info.value)


def _outcome_line(kind, outcome, decided="allow", domain="web01", decision_id="a" * 32):
    pending = PENDING._replace(id=decision_id, domain=domain, decision=decided)
    return render_record(outcome_record(pending, oc.Verdict(outcome, "why" if outcome != "migrated" else None,
                                                            T0 + 5), kind, T0 + 5, "hv02", "1"))


@needs_root
def test_audit_outcome_filter_accuracy_and_metrics_over_a_real_hook_log(tmp_path):
    host = Host(str(tmp_path))
    touch_heartbeat(host.pending)  # the collector service runs
    assert host.run(name="small", xml=SMALL).returncode == 0
    assert host.run(name="big", xml=BIG).returncode == 1
    allowed, deferred, refused = host.records()
    assert len(allowed["id"]) == 32 and len({allowed["id"], deferred["id"], refused["id"]}) == 3
    assert (deferred["decision"], refused["decision"], refused["deferred_from"]) == ("deferred", "deny", deferred["id"])
    pending = sorted(os.listdir(host.pending))
    # The refused guest: nothing (the prepare hook removed what its migrate hook left).
    assert pending == [".watching", allowed["id"] + ".json", allowed["id"] + ".xml"]
    with open(os.path.join(host.pending, allowed["id"] + ".xml")) as handle:
        assert handle.read() == SMALL
    with open(host.audit, "a") as handle:
        handle.write(_outcome_line("false-allow", "failed", decision_id=allowed["id"], domain="small") + "\n")
        handle.write(_outcome_line("true-allow", "migrated", decision_id="b" * 32) + "\n")

    def cli(*args):
        result = subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True,
                                cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
        assert result.returncode == 0, result.stderr
        return result.stdout
    failed = [json.loads(line) for line in cli("audit", "--outcome", "failed", "--format", "json").splitlines()]
    assert [r["decision_id"] for r in failed] == [allowed["id"]]
    assert [json.loads(line)["event"] for line in cli("audit", "--decision", "allow", "--format",
                                                      "json").splitlines()] == ["decision"]
    table = cli("audit", "--outcome", "failed")
    assert "failed" in table and "false-allow after allow: why" in table
    summary = json.loads(cli("accuracy", "--format", "json"))
    assert summary["decisions"] == {"total": 2, "refused": 1, "awaiting": 0}
    assert summary["classes"]["false-allow"] == 1 and summary["classes"]["true-allow"] == 1
    text = cli("accuracy")
    assert "false-allow      1" in text and "small" in text and "false-allow rate 100.0%" in text
    with open(host.audit) as handle:
        counts = count_decisions(json.loads(line) for line in handle)
    families = {f.name: f for f in text_string_to_metric_families(render(counts, False, None, False, T0))}
    samples = {(s.labels["decision"], s.labels["outcome"]): s.value for s in families["migration_guard_outcomes"].samples}
    assert samples == {("allow", "failed"): 1.0, ("allow", "migrated"): 1.0}
    assert counts.decisions == {"allow": 1, "deferred": 1, "deny": 1}  # outcomes are not decisions


@needs_root
def test_no_pending_file_while_no_collector_service_runs(tmp_path):
    """A host with the collector timer only (no heartbeat), or a stale one: nothing left in /run."""
    host = Host(str(tmp_path))
    assert host.run(name="small", xml=SMALL).returncode == 0
    assert not os.path.exists(host.pending)
    touch_heartbeat(host.pending)
    os.utime(os.path.join(host.pending, ".watching"), (time.time() - 3600, time.time() - 3600))
    assert host.run(name="small", xml=SMALL).returncode == 0
    assert os.listdir(host.pending) == [".watching"]


def test_kept_xml_has_no_graphics_password(tmp_path):
    folder, kept = str(tmp_path / "pending"), str(tmp_path / "kept")
    write_pending(folder, {"id": "2" * 32, "time": T0}, b"<graphics type='vnc' passwd='s3cret' port='-1'/>")
    with open(keep_xml(folder, "2" * 32, kept), "rb") as handle:
        assert handle.read() == b"<graphics type='vnc' passwd='(removed)' port='-1'/>"


@needs_root
def test_no_pending_file_when_tracking_is_off(tmp_path):
    host = Host(str(tmp_path))
    host.write_config('[paths]\nfacts = "%s"\naudit_log = "%s"\npending = ""\n' % (host.facts, host.audit), paths=False)
    assert host.run(name="small", xml=SMALL).returncode == 0
    assert host.records()[0]["decision"] == "allow" and not os.path.exists(host.pending)

