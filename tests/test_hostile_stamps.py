"""Issue 21: signed source fingerprints against a hostile tenant, who controls its guest's XML
and <metadata> (live included). Each test is one reproduction from the issue: the collector
service re-signing what the tenant wrote, stamps replayed after they were issued, `facts
watch --config` signing with another config's key, and a guest without a verified
fingerprint let through while a fleet key is configured; then key rotation and `status`.
The hook runs as libvirt runs it (the installed sh front end, libvirt's environment); the
collector service runs against libvirt's test driver."""
import json
import os
import subprocess
import sys
import time

import libvirt
import pytest
from lxml import etree
from support.helpers import REPO, debian12_facts, minimal_guest
from test_hook import Host, needs_root, the_record
from test_hostile import keyed_host, stamp

import guard.services.watch
from guard import XMLNS, XMLNS_PREFIX
from guard.cli import main
from guard.config import load_config, parse_config
from guard.errors import ConfigError
from guard.facts.cache import facts_to_json
from guard.facts.fingerprint import fingerprint_of
from guard.guest.metadata import metadata_xml, signature_of, stamp_xml
from guard.services import status

GUEST_UUID = "8f99e332-06c4-463a-9099-330fb244e1b3"  # helpers.minimal_guest's
THIS_HOST = debian12_facts()  # the source host the collector service runs on: QEMU 7.2.22


@pytest.fixture
def host(tmp_path):
    return Host(str(tmp_path))


def write_key(folder, name, data):
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)
    return path


def fingerprint_section(key, *lines):
    return "[fingerprint]\nkey = \"%s\"\n%s" % (key, "".join(line + "\n" for line in lines))


def _write(path, text):
    path.write_text(text)
    return path


def stamp_of(xml):
    """The <fingerprint> JSON text of a stamped domain XML."""
    return etree.fromstring(xml.encode()).find("metadata/{%s}guard/fingerprint" % XMLNS).text


# --- 2. Signed stamps are dated and expire (critical, design) ------------------------------

def stamp_at(host, xml, tmp_path, when, config=None, facts=THIS_HOST):
    """`migration-guard stamp --config` run with the clock at `when` (epoch seconds)."""
    source = tmp_path / "source.json"
    source.write_text(facts_to_json(facts))
    guest = tmp_path / "guest.xml"
    guest.write_text(xml)
    code = ("import sys, time; time.time = lambda: %r; from guard.cli import main; sys.exit(main(sys.argv[1:]))"
            % float(when))
    result = subprocess.run([sys.executable, "-c", code, "stamp", "--domain-xml", str(guest), "--facts", str(source),
                             "--config", config or host.config], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_root
@pytest.mark.parametrize("age, accepted", [(-5, True), (20 * 60, True), (40 * 60, False), (30 * 86400, False),
                                           (-86400, False)])
def test_a_signed_stamp_is_accepted_only_while_fresh(tmp_path, age, accepted):
    """A stamp the fleet key signed 40 minutes ago (the default max_age is 30m), a month ago,
    or a day in the future (a source clock set ahead to make stamps outlive max_age) is
    treated like an unsigned one: refused under the default profile."""
    host, _key = keyed_host(str(tmp_path))
    result = host.run(xml=stamp_at(host, minimal_guest(name="small"), tmp_path, time.time() - age))
    record = host.records()[-1]
    if accepted:
        assert result.returncode == 0 and record["fingerprint"] is True, result.stderr
    else:
        assert result.returncode == 1 and b"[source-fingerprint[expired]]" in result.stderr, result.stderr
        assert record["fingerprint"] is False
        assert ("ago" if age > 0 else "future") in record["fingerprint_problem"]


@needs_root
def test_max_age_is_configurable(tmp_path):
    host, key = keyed_host(str(tmp_path))
    host.write_config(fingerprint_section(key, 'max_age = "10m"'))
    for age, code in ((5 * 60, 0), (15 * 60, 1)):
        result = host.run(xml=stamp_at(host, minimal_guest(name="small"), tmp_path, time.time() - age))
        assert result.returncode == code, result.stderr
    assert "max_age 10m" in host.records()[-1]["fingerprint_problem"]


@needs_root
def test_a_stamp_signed_without_a_date_is_refused(tmp_path):
    """What a guard before issue 21 signed: no issued_at, so it can be replayed forever."""
    host, _key = keyed_host(str(tmp_path))
    undated = stamp_xml(minimal_guest(name="small"), fingerprint_of(THIS_HOST), b"k" * 32)
    assert '"signature":"hmac-sha256:' in undated and "issued_at" not in undated
    result = host.run(xml=undated)
    assert result.returncode == 1 and b"[source-fingerprint[expired]]" in result.stderr, result.stderr
    assert "not dated" in host.records()[-1]["fingerprint_problem"]


@needs_root
def test_the_issue_date_and_issuer_are_signed(tmp_path):
    host, _key = keyed_host(str(tmp_path))
    now = time.time()
    fresh = stamp_at(host, minimal_guest(name="small"), tmp_path, now)
    stamped = json.loads(stamp_of(fresh))
    assert stamped["issued_at"] == int(now) and stamped["issued_by"] == os.uname().nodename
    for edited in (fresh.replace('"issued_at":%d' % int(now), '"issued_at":%d' % (int(now) + 3600)),
                   fresh.replace('"issued_by":"%s"' % os.uname().nodename, '"issued_by":"elsewhere"')):
        assert edited != fresh
        result = host.run(xml=edited)
        assert result.returncode == 1 and "does not match" in host.records()[-1]["fingerprint_problem"]


@pytest.mark.parametrize("text", ['[fingerprint]\nmax_age = "0s"\n', '[fingerprint]\nmax_age = "30d"\n',
                                  '[fingerprint]\nmax_age = 5\n', '[fingerprint]\nprevious_key = "rel.key"\n',
                                  '[fingerprint]\nprevious_key = "/etc/migration-guard/old.key"\n'])
def test_fingerprint_settings_out_of_range_are_errors_naming_the_key(text):
    with pytest.raises(ConfigError) as error:
        parse_config(text, "/etc/migration-guard/config.toml")
    assert ": fingerprint." in str(error.value) and "\n" not in str(error.value)


# --- With a fleet key, no verified fingerprint is a deny, whatever the profile -----------------

def guest_with(kind, tmp_path, host):
    guest = minimal_guest(name="small")
    if kind == "missing":
        return guest
    if kind == "unsigned":
        return stamp(host, guest, tmp_path, signed=False)
    if kind == "signature":  # signed with a key that is not the fleet's
        other = tmp_path / "other.toml"
        other.write_text(fingerprint_section(write_key(str(tmp_path), "other.key", b"x" * 32)))
        return stamp_at(host, guest, tmp_path, time.time(), config=str(other))
    return stamp_at(host, guest, tmp_path, time.time() - 86400)  # expired


@needs_root
@pytest.mark.parametrize("profile", ["default", "strict"])
@pytest.mark.parametrize("kind", ["missing", "unsigned", "signature", "expired"])
def test_with_a_fleet_key_a_guest_without_a_verified_fingerprint_is_refused(tmp_path, kind, profile):
    host, _key = keyed_host(str(tmp_path), profile)
    result = host.run(xml=guest_with(kind, tmp_path, host))
    assert result.returncode == 1, result.stderr
    assert ("[source-fingerprint[%s]]" % kind).encode() in result.stderr, result.stderr
    record = the_record(host)
    assert record["decision"] == "deny" and record["fingerprint"] is False
    assert ("source-fingerprint[%s]" % kind, "deny") in {(f["code"], f["action"]) for f in record["findings"]}


@needs_root
def test_with_a_fleet_key_the_host_that_cannot_read_it_refuses(tmp_path):
    host, key = keyed_host(str(tmp_path))
    os.chmod(key, 0o644)  # a key others can read is no secret: nothing can be verified
    result = host.run(xml=stamp(host, minimal_guest(name="small"), tmp_path, signed=False))
    assert result.returncode == 1 and b"[source-fingerprint[key]]" in result.stderr, result.stderr
    assert "readable by group or others" in host.records()[-1]["fingerprint_problem"]


@needs_root
def test_without_a_fleet_key_a_missing_fingerprint_stays_a_warning(host):
    result = host.run()
    assert result.returncode == 0
    codes = {(f["code"], f["action"]) for f in the_record(host)["findings"]}
    assert ("unverifiable[source-fingerprint]", "warn") in codes
    assert not any(code.startswith("source-fingerprint[") for code, _action in codes)


@needs_root
def test_audit_mode_turns_the_fingerprint_deny_into_a_would_deny(tmp_path):
    host, key = keyed_host(str(tmp_path))
    host.write_config('mode = "audit"\n' + fingerprint_section(key))
    assert host.run().returncode == 0
    assert the_record(host)["decision"] == "would-deny"


# --- Key rotation ----------------------------------------------------------------------------

@needs_root
def test_rotation_accepts_the_current_and_the_previous_key_and_signs_with_the_current(tmp_path):
    old = write_key(str(tmp_path), "old.key", b"o" * 32)
    new = write_key(str(tmp_path), "new.key", b"n" * 32)
    third = write_key(str(tmp_path), "third.key", b"t" * 32)
    host = Host(str(tmp_path))
    host.write_config(fingerprint_section(new, 'previous_key = "%s"' % old))
    guest = minimal_guest(name="small")

    def signer(path, name):
        signer_config = tmp_path / name
        signer_config.write_text(fingerprint_section(path))
        return stamp_at(host, guest, tmp_path, time.time(), config=str(signer_config))
    for xml, code in ((signer(new, "new.toml"), 0), (signer(old, "old.toml"), 0), (signer(third, "third.toml"), 1)):
        result = host.run(xml=xml)
        assert result.returncode == code, result.stderr
    assert [(r["fingerprint"], r["decision"]) for r in host.records()] == [(True, "allow"), (True, "allow"),
                                                                           (False, "deferred"), (False, "deny")]
    assert b"[source-fingerprint[signature]]" in result.stderr
    # Signed during the rotation: with the current key alone.
    rotating = stamp_at(host, guest, tmp_path, time.time())
    stamped = json.loads(stamp_of(rotating))
    from guard.facts.fingerprint import fingerprint_from_data
    assert stamped["signature"] == signature_of(fingerprint_from_data(stamped), GUEST_UUID, b"n" * 32)


@needs_root
def test_an_unusable_previous_key_does_not_stop_the_current_one(tmp_path):
    new = write_key(str(tmp_path), "new.key", b"n" * 32)
    host = Host(str(tmp_path))
    host.write_config(fingerprint_section(new, 'previous_key = "%s/gone.key"' % tmp_path))
    assert host.run(xml=stamp_at(host, minimal_guest(name="small"), tmp_path, time.time())).returncode == 0
    assert the_record(host)["fingerprint"] is True


# --- `status` checks the key files ------------------------------------------------------------

def key_checks(tmp_path, config_text):
    config = _write(tmp_path / "status.toml", config_text + '[paths]\nfacts = "%s/f.json"\naudit_log = "%s/a.log"\n'
                    'bypass = "%s/b.json"\n' % (tmp_path, tmp_path, tmp_path))
    checks = status.run_checks(str(config), hooks_dir=str(tmp_path / "hooks"), marker=str(tmp_path / "m"))
    return {c.name: c for c in checks if c.name.startswith("fingerprint")}


@pytest.mark.parametrize("state, result", [("0600", "pass"), ("0400", "pass"), ("missing", "fail"),
                                           ("empty", "fail"), ("0640", "fail"), ("0644", "fail"),
                                           ("not root's", "fail"), ("symlink", "fail"), ("0700", "warn")])
@pytest.mark.parametrize("which", ["key", "previous_key"])
def test_status_checks_the_key_files(tmp_path, state, result, which):
    if os.geteuid() != 0 and state != "missing":
        pytest.skip("root-owned key files need root")
    good = write_key(str(tmp_path), "good.key", b"g" * 32)
    path = str(tmp_path / "checked.key")
    if state == "symlink":
        os.symlink(good, path)
    elif state != "missing":
        write_key(str(tmp_path), "checked.key", b"" if state == "empty" else b"c" * 32)
        if state == "not root's":
            os.chown(path, 65534, 65534)
        elif state.startswith("0"):
            os.chmod(path, int(state, 8))
    if which == "key":
        text = fingerprint_section(path)
    else:
        text = fingerprint_section(good, 'previous_key = "%s"' % path)
    checks = key_checks(tmp_path, text)
    name = "fingerprint-key" if which == "key" else "fingerprint-previous-key"
    assert checks[name].result == result, checks[name]
    assert path in checks[name].message
    if which == "previous_key":
        assert checks["fingerprint-key"].result == "pass"


def test_status_without_a_fleet_key_has_no_key_check(tmp_path):
    assert key_checks(tmp_path, "") == {}


# --- 6. `stamp --config FILE` signs with FILE's key --------------------------------------------

@needs_root
def test_stamp_signs_with_the_key_of_its_config_file(tmp_path, monkeypatch):
    host, _key = keyed_host(str(tmp_path))
    monkeypatch.setenv("MIGRATION_GUARD_CONFIG", str(_write(tmp_path / "other.toml", 'mode = "enforce"\n')))
    signed_xml = stamp(host, minimal_guest(name="small"), tmp_path)
    assert '"signature":"hmac-sha256:' in signed_xml
    assert host.run(xml=signed_xml).returncode == 0 and host.records()[-1]["fingerprint"] is True


# === The collector service (`facts watch`), run once as it starts ================================

TEST_URI = "test:///default"  # libvirt's test driver: one running guest, "test", shared in this process
TEST_UUID = "6695eb01-f6a4-8304-79aa-97f2502e193f"


def service_config(folder, text):
    """A config file for the collector service: `text`, its facts cache in `folder`."""
    path = os.path.join(str(folder), "config.toml")
    with open(path, "w") as handle:
        handle.write(text + '[paths]\nfacts = "%s/facts.json"\n' % folder)
    return path


@pytest.fixture
def test_guest():
    """The test driver's running guest, its live metadata cleared before and after."""
    conn = libvirt.open(TEST_URI)
    dom = conn.lookupByUUIDString(TEST_UUID)

    def clear():
        dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None, XMLNS, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    clear()
    yield dom
    clear()
    conn.close()


def tenant_writes(dom, fingerprint):
    """What a tenant with write access to its live XML does (`virsh metadata --live`)."""
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata_xml(fingerprint), XMLNS_PREFIX, XMLNS,
                    libvirt.VIR_DOMAIN_AFFECT_LIVE)


def carried(dom):
    """The live XML's <fingerprint> as the guest carries it: the stamp's JSON."""
    found = etree.fromstring(dom.XMLDesc(0)).find("metadata/{%s}guard/{%s}fingerprint" % (XMLNS, XMLNS))
    return None if found is None else json.loads(found.text)


def watch_once(monkeypatch, facts, argv=()):
    """`migration-guard facts watch ARGV` as the service starts it, for one refresh: the
    CLI, its config handling and the Watcher are the real ones; only the loop (a refresh
    and nothing more) and the facts collected (`facts`) stand in. The facts cache goes to
    the config's paths.facts."""
    monkeypatch.setattr(guard.services.watch, "collect", lambda uri, memo=None: facts)
    monkeypatch.setattr(guard.services.watch.signal, "signal", lambda *args: None)

    def one_refresh(self):
        self.conn = libvirt.open(self.uri)
        try:
            self.refresh()
        finally:
            self.conn.close()
            self.conn = None
        return 0
    monkeypatch.setattr(guard.services.watch.Watcher, "run", one_refresh)
    assert main(["facts", "watch", "--uri", TEST_URI] + list(argv)) == 0


def decided_at_destination(tmp_path, dom, config, dest_qemu):
    """`migration-guard check` (which verifies as the hook does) of a KVM guest carrying the
    test guest's UUID and live stamp, against a destination running QEMU dest_qemu."""
    xml = minimal_guest(name="small", virt_type="kvm").replace(GUEST_UUID, TEST_UUID)
    root = etree.fromstring(xml)
    metadata = etree.fromstring(dom.XMLDesc(0)).find("metadata")
    root.find("uuid").addnext(metadata)
    guest = tmp_path / "arrived.xml"
    guest.write_text(etree.tostring(root, encoding="unicode"))
    dest = tmp_path / "dest.json"
    dest.write_text(facts_to_json(THIS_HOST._replace(qemu_version=dest_qemu)))
    result = subprocess.run([sys.executable, "-m", "guard", "check", "--domain-xml", str(guest), "--facts", str(dest),
                             "--config", config, "--format", "json"], capture_output=True, text=True, cwd=REPO)
    assert result.returncode in (0, 1), result.stderr
    return {(f["code"], f["action"]) for f in json.loads(result.stdout)["findings"]}


# --- 1. The watch signs only what it verified (critical) -----------------------------------

def tenant_writes_text(dom, text):
    guard_element = etree.Element("guard")
    etree.SubElement(guard_element, "fingerprint").text = text
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, etree.tostring(guard_element, encoding="unicode"),
                    XMLNS_PREFIX, XMLNS, libvirt.VIR_DOMAIN_AFFECT_LIVE)


@needs_root
@pytest.mark.parametrize("written", ["unsigned, naming this host", "signed for another guest"])
def test_watch_never_signs_a_qemu_version_the_tenant_wrote(tmp_path, monkeypatch, test_guest, written):
    """The tenant writes the destination's QEMU version (7.0.0; the guest runs 7.2.22) into its
    live fingerprint, naming this host, and waits for a re-stamp (a watch or libvirt restart,
    a facts change, a resume). Under profile strict the destination must still refuse
    qemu-version[older]: the watch re-stamps from this host's facts, never the tenant's."""
    key = write_key(str(tmp_path), "fleet.key", b"k" * 32)
    config = service_config(tmp_path, 'profile = "strict"\n' + fingerprint_section(key))
    monkeypatch.setenv("MIGRATION_GUARD_CONFIG", str(config))
    if written.startswith("unsigned"):
        tenant_writes(test_guest, fingerprint_of(THIS_HOST)._replace(qemu_version="7.0.0"))
    else:  # a genuine stamp of this host for another guest (started on 7.0.0), copied from its XML
        other = stamp_at(None, minimal_guest(name="other"), tmp_path, time.time(), config=str(config),
                         facts=THIS_HOST._replace(qemu_version="7.0.0"))
        tenant_writes_text(test_guest, stamp_of(other))
    watch_once(monkeypatch, THIS_HOST, ["--config", str(config)])
    stamped = carried(test_guest)
    assert stamped["signature"] and stamped["qemu_version"] == "7.2.22", stamped
    assert ("qemu-version[older]", "deny") in decided_at_destination(tmp_path, test_guest, str(config), "7.0.0")


@needs_root
def test_watch_keeps_the_started_qemu_version_only_from_its_own_fresh_stamp(tmp_path, monkeypatch, test_guest):
    """A package update does not change a running QEMU: after a watch restart, the version
    the guest started with is kept from this host's own signed, unexpired stamp; from an
    expired one (a replay) it is recomputed from the facts."""
    key = write_key(str(tmp_path), "fleet.key", b"k" * 32)
    config = service_config(tmp_path, fingerprint_section(key, 'max_age = "30m"'))
    started = THIS_HOST._replace(qemu_version="7.1.0")
    watch_once(monkeypatch, started, ["--config", str(config)])  # stamped while 7.1.0 was installed
    assert carried(test_guest)["qemu_version"] == "7.1.0"
    watch_once(monkeypatch, THIS_HOST, ["--config", str(config)])  # restarted after the update to 7.2.22
    assert carried(test_guest)["qemu_version"] == "7.1.0"
    # The same stamp, an hour later: expired, so not this QEMU's word any more.
    stale = carried(test_guest)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600)
    watch_once(monkeypatch, THIS_HOST, ["--config", str(config)])
    assert carried(test_guest)["qemu_version"] == "7.2.22"
    assert carried(test_guest)["issued_at"] > stale["issued_at"]


@needs_root
def test_watch_does_not_keep_the_qemu_version_of_a_stamp_from_before_the_guest_started(tmp_path, monkeypatch,
                                                                                       test_guest):
    """The tenant saves this host's own stamp (QEMU 7.1.0), the guest restarts under 7.2.22,
    and the tenant writes the saved stamp back: still fresh and genuine, but from before
    the QEMU that runs now, which the watch saw start."""
    key = write_key(str(tmp_path), "fleet.key", b"k" * 32)
    config = load_config(str(_write(tmp_path / "config.toml", fingerprint_section(key))))
    monkeypatch.setattr(guard.services.watch, "collect", lambda uri, memo=None: THIS_HOST)
    conn = libvirt.open(TEST_URI)
    try:
        first = guard.services.watch.Watcher(TEST_URI, str(tmp_path / "f.json"), config=config)
        first.conn, first.facts = conn, THIS_HOST._replace(qemu_version="7.1.0")
        first.stamp_all()
        saved = carried(test_guest)
        assert saved["qemu_version"] == "7.1.0"
        watcher = guard.services.watch.Watcher(TEST_URI, str(tmp_path / "f.json"), config=config)
        watcher.conn, watcher.facts = conn, THIS_HOST
        watcher._lifecycle(conn, test_guest, libvirt.VIR_DOMAIN_EVENT_STARTED, 0, None)  # restarted: 7.2.22
        assert carried(test_guest)["qemu_version"] == "7.2.22"
        tenant_writes_text(test_guest, json.dumps(saved))
        watcher._lifecycle(conn, test_guest, libvirt.VIR_DOMAIN_EVENT_RESUMED, 0, None)
        assert carried(test_guest)["qemu_version"] == "7.2.22"
    finally:
        conn.close()


# --- 6. `facts watch --config FILE` signs with FILE's key (medium) -----------------------------

@needs_root
def test_watch_signs_with_the_key_of_its_config_file(tmp_path, monkeypatch, test_guest):
    """MIGRATION_GUARD_CONFIG names another config (no key): the stamps must still be signed
    with the key of the config given with --config."""
    key = write_key(str(tmp_path), "fleet.key", b"k" * 32)
    config = service_config(tmp_path, fingerprint_section(key))
    monkeypatch.setenv("MIGRATION_GUARD_CONFIG", str(_write(tmp_path / "other.toml", 'mode = "enforce"\n')))
    watch_once(monkeypatch, THIS_HOST, ["--config", str(config)])
    stamped = carried(test_guest)
    assert stamped is not None and stamped.get("signature"), stamped
    assert ("unverifiable[source-fingerprint]", "warn") not in decided_at_destination(tmp_path, test_guest,
                                                                                      str(config), "7.2.22")


# --- The watch re-stamps running guests well before their stamps expire -----------------------

@needs_root
def test_watch_restamps_every_running_guest_on_each_refresh_when_signing(tmp_path, monkeypatch, test_guest):
    key = write_key(str(tmp_path), "fleet.key", b"k" * 32)
    config = load_config(str(_write(tmp_path / "config.toml", fingerprint_section(key, 'max_age = "15m"'))))
    monkeypatch.setattr(guard.services.watch, "collect", lambda uri, memo=None: THIS_HOST)
    watcher = guard.services.watch.Watcher(TEST_URI, str(tmp_path / "f.json"), interval=600.0, config=config)
    assert watcher.period == 300.0  # a third of max_age: two refreshes may fail before a stamp expires
    assert guard.services.watch.Watcher(TEST_URI, "f", interval=120.0, config=config).period == 120.0
    watcher.conn, watcher.facts = libvirt.open(TEST_URI), THIS_HOST  # facts unchanged since the last refresh
    try:
        watcher.refresh()
    finally:
        watcher.conn.close()
    assert carried(test_guest)["signature"]
