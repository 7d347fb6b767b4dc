"""Offline migrations: refusals an offline migration would not meet wait for the `prepare`
hook, which only a live migration reaches (guard.decide.deferral). Measured on two real
libvirt 9.0 daemons (tests/e2e/test_outcome_loop.py): `virsh migrate --offline` runs the
destination's migrate hook with the same arguments and XML as a live migration, and never
its prepare hook. The hook runs here through the installed sh front end, as libvirt runs it."""
import json
import os
import stat
import time

import pytest
from support.helpers import debian12_facts, decide, minimal_guest
from test_hook import BIG, SMALL, Host, needs_root

from guard.config import Config
from guard.decide import outcome
from guard.decide.deferral import deferrable, deferred, offline_deny_codes
from guard.rules import OFFLINE_RULES
from guard.runtime import deferred as markers

OTHER_UUID = "0b8c1f7e-0000-4000-8000-0000000000aa"
BIG_UUID = "8f99e332-06c4-463a-9099-330fb244e1b3"
U1, U2, U3, U4 = ("0b8c1f7e-0000-4000-8000-00000000000%d" % i for i in range(1, 5))
# Refused for a rule libvirt checks on the definition as well: a machine type the
# destination's QEMU does not offer (qemuValidateDomainDef, at parse, offline too).
OLD_MACHINE = minimal_guest(name="old", machine="pc-i440fx-0.1-unknown", memory="2 TiB")


@pytest.fixture
def host(tmp_path):
    return Host(str(tmp_path))


def decisions(host):
    return [r for r in host.records() if r.get("event") == "decision"]


# --- the pure part ---------------------------------------------------------------------------

def test_the_rules_offline_are_those_libvirt_checks_on_a_definition():
    assert OFFLINE_RULES == {"session-connection", "defined-guest", "emulator", "machine-type", "device-support"}


def test_only_an_enforced_deny_of_running_rules_alone_is_deferred():
    big = decide(minimal_guest(memory="2 TiB"), debian12_facts())
    assert big.decision == "deny" and deferrable(big) and offline_deny_codes(big.findings) == []
    both = decide(OLD_MACHINE, debian12_facts())
    assert both.decision == "deny" and not deferrable(both)
    assert offline_deny_codes(both.findings) == ["machine-type"]
    audit = decide(minimal_guest(memory="2 TiB"), debian12_facts(), config=Config(mode="audit"))
    assert audit.decision == "would-deny" and not deferrable(audit)
    assert not deferrable(decide(minimal_guest(), debian12_facts()))  # an allow
    later = deferred(big)
    assert (later.decision, later.exit_code, later.findings) == ("deferred", 0, big.findings)


def test_an_offline_migration_is_judged_by_the_codes_that_hold_for_a_definition():
    offline = outcome.OFFLINE
    assert outcome.classify("deny", ["memory-size[limit]"], "migrated", offline, ()) == "true-allow"
    assert outcome.classify("deny", ["machine-type", "memory-size[limit]"], "migrated", offline,
                            ("machine-type",)) == "false-deny"
    # A live migration, or an entry an older hook left (no offline codes): every code counts.
    assert outcome.classify("deny", ["numa-pinning[cpus]"], "migrated", None, ()) == "false-deny"
    assert outcome.classify("deny", ["numa-pinning[cpus]"], "migrated", offline, None) == "false-deny"


def _marker(boot, decision_id="a" * 32):
    return {"id": decision_id, "time": time.time(), "boot": boot, "lines": [], "record": {}}


def test_sweep_removes_stale_markers_and_those_of_guests_defined_after_them(tmp_path):
    folder = str(tmp_path / "deferred")
    now = markers.boot_clock()
    for name, uuid, when in (("fresh", U1, now), ("stale", U2, now - markers.DEFER_SECONDS - 1),
                             ("offline", U3, now - 5), ("again", U4, now)):
        markers.leave(folder, name, uuid, _marker(when))
    # U3 was defined after its marker (an offline migration); U4's marker is newer than its
    # DEFINED event (a live attempt right after an offline one): it stays.
    removed = markers.sweep(folder, now, markers.DEFER_SECONDS, defined={U3.upper(): now - 1, U4: now - 1})
    assert sorted(removed) == [("offline", U3), ("stale", U2)]
    assert sorted(os.listdir(folder)) == ["again", "fresh"]
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(folder, "fresh")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(folder, "fresh", U1)).st_mode) == 0o600


def test_a_marker_is_removed_for_its_own_decision_only(tmp_path):
    folder = str(tmp_path / "deferred")
    markers.leave(folder, "web01", U1, _marker(markers.boot_clock(), "b" * 32))  # a retry replaced "a"'s
    assert not markers.remove_decision(folder, "web01", U1, "a" * 32)
    assert markers.remove_decision(folder, "web01", U1, "b" * 32) and not os.path.exists(folder + "/web01")


def test_a_definition_written_after_the_deferral_marks_a_start_not_the_migration(tmp_path):
    config_dir = tmp_path / "qemu"
    config_dir.mkdir()
    before = time.time()
    assert not markers.defined_since("web01", before, str(config_dir))  # not defined here
    (config_dir / "web01.xml").write_text("<domain/>")
    assert markers.defined_since("web01", before - 1, str(config_dir))  # an offline migration defined it
    assert not markers.defined_since("web01", time.time() + 1, str(config_dir))  # defined before the migration


@pytest.mark.parametrize("name, uuid", [("", U1), (".", U1), ("..", U1), ("a/b", U1), ("x" * 256, U1),
                                        ("web01", None), ("web01", "../../etc")])
def test_a_name_or_uuid_that_cannot_name_files_is_never_deferred(name, uuid):
    assert markers.marker_path("/run/x", name, uuid) is None


def test_a_long_name_is_deferred_up_to_the_file_name_limit(tmp_path):
    name = "x" * 255
    markers.leave(str(tmp_path), name, U1, _marker(1.0))
    assert markers.read(str(tmp_path), name, U1)["boot"] == 1.0


# --- through the hook, as libvirt runs it -----------------------------------------------------

@needs_root
def test_a_live_migration_is_refused_at_prepare_with_the_lines_a_migrate_refusal_shows(host, tmp_path):
    migrate = host.run(name="big", xml=BIG, live=False)
    assert (migrate.returncode, migrate.stdout, migrate.stderr) == (0, b"", b"")
    marker = os.path.join(host.deferred, "big", BIG_UUID)
    assert stat.S_IMODE(os.stat(marker).st_mode) == 0o600
    prepare = host.run(name="big", op="prepare", xml=BIG)
    assert prepare.returncode == 1 and b"migration-guard: [memory-size[limit]]" in prepare.stderr
    assert not os.path.exists(os.path.dirname(marker))
    first, refusal = decisions(host)
    assert (first["op"], first["decision"]) == ("migrate begin", "deferred")
    assert (refusal["op"], refusal["decision"], refusal["deferred_from"]) == ("prepare begin", "deny", first["id"])
    assert refusal["findings"] == first["findings"] and refusal["uuid"] == first["uuid"]
    # What virsh shows is what an install that defers nothing (DEFERRED= empty) says at migrate.
    other = tmp_path / "other"
    other.mkdir()
    eager = Host(str(other))
    with open(eager.hook) as handle:
        text = handle.read()
    with open(eager.hook, "w") as handle:
        handle.write(text.replace("DEFERRED=%s" % eager.deferred, "DEFERRED=", 1))
    refused_now = eager.run(name="big", xml=BIG, live=False)
    assert refused_now.returncode == 1 and refused_now.stderr == prepare.stderr
    assert not os.path.exists(eager.deferred)


@needs_root
def test_an_expired_marker_lets_a_start_go_ahead_with_a_warning(host):
    assert host.run(name="big", xml=BIG, live=False).returncode == 0  # `virsh migrate --offline`: migrate only
    marker = os.path.join(host.deferred, "big", BIG_UUID)
    with open(marker) as handle:
        left = json.load(handle)
    left["boot"] -= markers.DEFER_SECONDS + 1  # the guest is started here much later
    left["time"] += 3600  # a wall clock stepped forward changes nothing
    with open(marker, "w") as handle:
        json.dump(left, handle)
    start = host.run(name="big", op="prepare", xml=BIG)
    assert start.returncode == 0 and b"expired" in start.stderr  # the journal's warning (no journal here: stderr)
    assert not os.path.exists(marker) and [r["decision"] for r in decisions(host)] == ["deferred"]


@needs_root
def test_a_wall_clock_step_does_not_drop_a_deferred_refusal(host):
    assert host.run(name="big", xml=BIG, live=False).returncode == 0
    marker = os.path.join(host.deferred, "big", BIG_UUID)
    with open(marker) as handle:
        left = json.load(handle)
    left["time"] += 3600  # NTP stepped the clock back an hour between the two hooks
    with open(marker, "w") as handle:
        json.dump(left, handle)
    assert host.run(name="big", op="prepare", xml=BIG).returncode == 1


@needs_root
def test_another_guest_by_that_name_neither_meets_nor_removes_the_refusal(host):
    assert host.run(name="big", xml=BIG, live=False).returncode == 0
    other = BIG.replace(BIG_UUID, OTHER_UUID)
    # A second migration by the same name (another guest) is deferred beside it...
    assert host.run(name="big", xml=other, live=False).returncode == 0
    assert sorted(os.listdir(os.path.join(host.deferred, "big"))) == sorted([BIG_UUID, OTHER_UUID])
    # ...and each prepare meets its own guest's refusal only.
    assert host.run(name="big", op="prepare", xml=BIG).returncode == 1
    assert os.listdir(os.path.join(host.deferred, "big")) == [OTHER_UUID]
    small_other = minimal_guest(name="big").replace(BIG_UUID, "0b8c1f7e-0000-4000-8000-0000000000ff")
    assert host.run(name="big", op="prepare", xml=small_other).returncode == 0  # a third guest: no marker
    assert host.run(name="big", op="prepare", xml=other).returncode == 1


@needs_root
def test_a_retry_decided_without_deferral_drops_the_earlier_refusal(host):
    assert host.run(name="big", xml=BIG, live=False).returncode == 0  # the attempt died before prepare
    fixed = minimal_guest(name="big")  # the same guest, shrunk at the source
    assert host.run(name="big", xml=fixed).returncode == 0  # migrate allowed, prepare meets nothing
    assert not os.path.exists(os.path.join(host.deferred, "big"))
    assert [r["decision"] for r in decisions(host)] == ["deferred", "allow"]


@needs_root
def test_a_refusal_libvirt_makes_offline_too_is_made_at_migrate(host):
    result = host.run(name="old", xml=OLD_MACHINE, live=False)
    assert result.returncode == 1 and b"[machine-type]" in result.stderr and b"[memory-size[limit]]" in result.stderr
    assert not os.path.exists(host.deferred)
    assert [r["decision"] for r in decisions(host)] == ["deny"]


@needs_root
def test_audit_mode_defers_nothing(host):
    host.write_config('mode = "audit"')
    assert host.run(name="big", xml=BIG).returncode == 0
    assert [r["decision"] for r in decisions(host)] == ["would-deny"] and not os.path.exists(host.deferred)


@needs_root
def test_a_marker_that_cannot_be_left_keeps_the_refusal_at_migrate(host):
    with open(host.deferred, "w"):
        pass  # a file where the folder should be
    result = host.run(name="big", xml=BIG, live=False)
    assert result.returncode == 1 and b"[memory-size[limit]]" in result.stderr
    assert [r["decision"] for r in decisions(host)] == ["deny"]


@needs_root
def test_a_marker_in_a_folder_others_can_write_is_not_acted_on(host):
    assert host.run(name="big", xml=BIG, live=False).returncode == 0
    os.chmod(host.deferred, 0o777)
    result = host.run(name="big", op="prepare", xml=BIG)
    # An error, decided by on_error (deny by default); the planted file's reasons are not shown.
    assert result.returncode == 1 and b"[error]" in result.stderr and b"memory-size" not in result.stderr
    assert decisions(host)[-1]["decision"] == "error"


@needs_root
def test_the_front_end_starts_python_for_prepare_only_when_a_marker_exists(host):
    # The front end as packaged, its interpreter pointed nowhere.
    with open(host.hook) as handle:
        text = handle.read()
    with open(host.hook, "w") as handle:
        handle.write("\n".join("PYTHON=/nonexistent/python3" if line.startswith("PYTHON=") else line
                               for line in text.splitlines()) + "\n")
    assert host.run(name="small", op="prepare", xml=SMALL).returncode == 0  # no Python: no failure
    os.makedirs(os.path.join(host.deferred, "small"), mode=0o700)
    started = host.run(name="small", op="prepare", xml=SMALL)
    assert started.returncode == 127 and b"nonexistent" in started.stderr
