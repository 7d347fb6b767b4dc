"""Issue 21: the hook on a host that misbehaves, and a guest that would use it. Each test is
one reproduction from the issue, run as libvirt runs the hook where the hook is involved
(the installed sh front end, libvirt's environment): a clock stepped back, a hung file
system, an audit record a guest can inflate, and a refusal that names root-only files."""
import json
import os
import time

import pytest
from test_hook import Host, needs_root, the_record

from guard.facts.cache import facts_to_json, load_cache
from helpers import debian12_facts, minimal_guest

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
