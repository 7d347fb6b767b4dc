"""Judge the differential run (conftest.py runs it once): the rig made every difference it
promises, the guard decided every guest, nothing was left behind, and, last, the guard's
decisions agree with what libvirt really did: no false allow, no false deny."""
import os
import re
import subprocess

import pytest
from guests import GUESTS
from report import FALSE_ALLOW, FALSE_DENY, as_preflight, classify, guard_text, outcome_text
from rig import HUGEPAGE_POOLS, cgroup_mounts

# The destination differences the suite must cover (issue 14), by guest category.
CATEGORIES = ("baseline", "policy", "firmware", "emulator", "network", "bridge", "macvtap", "listen", "storage",
              "cpuset", "hugepages",
              # host resources (the host-resource rule)
              "chardev-file", "chardev-socket", "bind-address", "tap", "kernel", "rng", "partition", "fw-cfg", "nvdimm",
              "defined-guest", "tpm",
              # guests libvirt migrates that an older guard refused: they must stay true-allow
              "false-deny-guards")
# Categories whose guests all go one way: the others need a guest that migrates and one that fails.
# tpm: a TPM guest migrates only to a destination with swtpm, and B lacks it (a second
# destination would be needed for one that migrates).
ONE_WAY = {"baseline": {True}, "policy": {True}, "false-deny-guards": {True}, "tpm": {False}}


def by_name(suite):
    return {r["name"]: r for r in suite.results}


def test_enough_guests_cover_every_difference(differential):
    if differential.subset:
        pytest.skip("MG_DIFFERENTIAL_ONLY ran a subset of the guests")
    assert len(differential.results) == len(GUESTS) >= 25
    covered = {r["category"] for r in differential.results if r["started"]}
    assert set(CATEGORIES) <= covered, "not covered: %s" % sorted(set(CATEGORIES) - covered)
    for category in CATEGORIES:
        outcomes = {r["migrated"] for r in differential.results if r["category"] == category and r["started"]}
        if category in ONE_WAY:
            assert outcomes == ONE_WAY[category], "%s: every guest should %s" % (
                category, "migrate" if True in ONE_WAY[category] else "fail")
        else:
            assert outcomes == {True, False}, "%s: need a guest that migrates and one that fails" % category


@pytest.mark.parametrize("name", [g.name for g in GUESTS])
def test_destination_difference_is_real(differential, name):
    """The guest started on A and libvirt did what the rig was built to make it do, for the
    intended reason: the difference exists on B (this checks the rig, not the guard)."""
    if name not in by_name(differential):
        pytest.skip("not selected by MG_DIFFERENTIAL_ONLY")
    result = by_name(differential)[name]
    assert result["started"], "did not start on A: %s" % result.get("start_error")
    if result["expected_libvirt"] == "migrates":
        assert result["migrated"], "expected to migrate: %s" % outcome_text(result)
        assert result["on_b"] and not result["on_a"]
    else:
        assert not result["migrated"], "expected libvirt to refuse it on B, but it migrated"
        assert result["on_a"] and not result["on_b"], "a failed migration leaves the guest running on A"
        assert re.search(result["expected_error"], result["error"]), (
            "failed for another reason than the rig's difference: %s" % result["error"])


def test_guard_decided_every_guest(differential):
    """`check` ran in B's namespaces on B's collected facts and answered allow or deny (exit 0/1)."""
    problems = ["%s: %s" % (r["name"], guard_text(r)) for r in differential.results
                if r["started"] and (r["decision"] not in ("allow", "deny") or r.get("guard_exit") not in (0, 1))]
    assert not problems, "\n".join(problems)


def test_nothing_left_behind(differential):
    """Processes, cgroups and huge page pools: what the rig started or changed is gone or
    restored (the veth, bridges, macvtaps and mounts die with the namespaces)."""
    assert not differential.cleanup_problems, differential.cleanup_problems
    rig = differential.rig
    for host in rig.hosts.values():
        for daemon in ("libvirtd", "virtlogd"):
            pid = host.pid(daemon)
            assert pid is None or not os.path.exists("/proc/%d" % pid) or _zombie(pid), (
                "%s's %s (pid %d) still running" % (host.name, daemon, pid))
        for pid in host.swtpm_pids():  # the pid files of swtpms libvirt started, if it left any
            assert not os.path.exists("/proc/%d" % pid) or _zombie(pid) or not _is_swtpm(pid), (
                "%s's swtpm (pid %d) still running" % (host.name, pid))
    leftover = [os.path.join(m, d) for m in cgroup_mounts() for d in os.listdir(m) if d.startswith(rig.tag)]
    assert not leftover, leftover
    for pool, value in rig.saved_pools.items():
        with open(HUGEPAGE_POOLS[pool]) as handle:
            assert int(handle.read()) == value, "huge page pool %s not restored" % pool
    ours = subprocess.run(["pgrep", "-f", rig.base], capture_output=True, text=True).stdout.split()
    assert not ours, "processes still running from %s: %s" % (rig.base, ours)


def _is_swtpm(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return b"swtpm" in handle.read().split(b"\0")[0]
    except OSError:
        return False


def _zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_no_false_verdicts(differential):
    """The issue's goal: the guard's decision on the destination's facts agrees with what
    libvirt really does. Fails while the guard has false allows or false denies."""
    wrong = [r for r in differential.results if classify(r) in (FALSE_ALLOW, FALSE_DENY)]
    assert not wrong, "%d false verdicts:\n%s" % (len(wrong), "\n".join(
        "%s %s (B lacks %s): libvirt %s; guard %s" % (classify(r), r["name"], r["lacks"], outcome_text(r),
                                                     guard_text(r)) for r in wrong))


def test_preflight_decided_every_guest(differential):
    """`preflight` on A, with B deciding through --dest-shell, answered allow or deny
    (exit 0 or 1) for every guest that started."""
    problems = ["%s: %s" % (r["name"], guard_text(as_preflight(r))) for r in differential.results
                if r["started"] and (r.get("pre_decision") not in ("allow", "deny") or r.get("pre_exit") not in (0, 1))]
    assert not problems, "\n".join(problems)


def test_preflight_no_false_verdicts(differential):
    """Issue 20: the plan is as right as the enforcement. The pre-flight, run on the source
    as an operator would, agrees with what libvirt really does on every guest."""
    wrong = [r for r in differential.results if classify(as_preflight(r)) in (FALSE_ALLOW, FALSE_DENY)]
    assert not wrong, "%d false pre-flight verdicts:\n%s" % (len(wrong), "\n".join(
        "%s %s (B lacks %s): libvirt %s; pre-flight %s" % (
            classify(as_preflight(r)), r["name"], r["lacks"], outcome_text(r), guard_text(as_preflight(r)))
        for r in wrong))
