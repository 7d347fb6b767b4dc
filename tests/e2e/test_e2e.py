"""Real live migrations between two libvirt daemons with the hook installed on the
destination. Guests are small TCG guests; both "hosts" share one physical machine, so
differences between them are simulated in the destination's facts where a test says so."""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from support.harness import LibvirtHost, guest_xml, migrate

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = '[memory]\nlimit = "100 MiB"\n'


@pytest.fixture
def env(hosts):
    """Hosts A and B, with B's config and facts restored after each test."""
    source, dest, guard = hosts
    with open(guard.facts) as handle:
        facts = handle.read()
    guard.write_config(LIMIT)
    yield source, dest, guard
    guard.write_config(LIMIT)
    with open(guard.facts, "w") as handle:
        handle.write(facts)
    os.chmod(guard.facts, 0o644)
    guard.guard("bypass", "--clear", check=False)
    for host in (source, dest):
        for name in host.running():
            host.virsh("destroy", name, check=False)


def last_record(guard, name):
    records = [r for r in guard.records() if r["domain"] == name]
    assert records, "no audit record for %s" % name
    return records[-1]


def edit_facts(guard, **changes):
    with open(guard.facts) as handle:
        data = json.load(handle)
    for key, value in changes.items():
        data[key] = value
    with open(guard.facts, "w") as handle:
        json.dump(data, handle)


def test_ordinary_guest_migrates(env):
    source, dest, guard = env
    source.define_and_start(guest_xml("e2e-ok"))
    result = migrate(source, dest, "e2e-ok")
    assert result.returncode == 0, result.stderr
    assert "e2e-ok" in dest.running() and "e2e-ok" not in source.running()
    record = last_record(guard, "e2e-ok")
    assert record["decision"] == "allow" and record["facts_problem"] is None


def test_guest_over_memory_limit_is_refused_and_keeps_running(env):
    source, dest, guard = env
    source.define_and_start(guest_xml("e2e-big", memory_mib=128))
    result = migrate(source, dest, "e2e-big")
    assert result.returncode != 0
    assert "Hook script execution failed" in result.stderr
    assert "[memory-size[limit]]" in result.stderr and "raise [memory] limit" in result.stderr
    assert "e2e-big" in source.running() and "e2e-big" not in dest.running()
    assert dest.virsh("dominfo", "e2e-big", check=False).returncode != 0  # not even defined there
    assert source.virsh("domstate", "e2e-big").stdout.strip() == "running"
    assert last_record(guard, "e2e-big")["decision"] == "deny"


def test_a_guest_refused_live_moves_offline_and_starts_on_the_destination(env):
    """Measured here: `virsh migrate --offline` runs B's migrate hook and never its prepare
    hook; a live migration runs both. A refusal an offline migration does not meet (over
    the memory limit: nothing of it holds for a definition) is made at prepare, before
    QEMU starts; the offline migration moves the definition, and B starts it unrefused."""
    source, dest, guard = env
    source.define_and_start(guest_xml("e2e-offline", memory_mib=128), persistent=True)
    marker = os.path.join(dest.deferred, "e2e-offline")
    try:
        live = migrate(source, dest, "e2e-offline")
        assert live.returncode != 0 and "Hook script execution failed" in live.stderr
        assert "prepare begin" in live.stderr and "[memory-size[limit]]" in live.stderr
        assert "e2e-offline" in source.running() and dest.virsh("dominfo", "e2e-offline", check=False).returncode != 0
        assert not os.path.exists(marker)
        records = [r for r in guard.records() if r["domain"] == "e2e-offline"]
        assert [(r["op"], r["decision"]) for r in records] == [("migrate begin", "deferred"), ("prepare begin", "deny")]
        offline = subprocess.run(["virsh", "-c", source.uri, "migrate", "--offline", "--persistent", "e2e-offline",
                                  dest.uri], capture_output=True, text=True, timeout=120)
        assert offline.returncode == 0, offline.stderr
        assert dest.virsh("domstate", "e2e-offline").stdout.strip() == "shut off"
        assert last_record(guard, "e2e-offline")["decision"] == "deferred" and os.path.exists(marker)
        started = dest.virsh("start", "e2e-offline", check=False)  # within the marker's lifetime
        assert started.returncode == 0, started.stderr
        assert "e2e-offline" in dest.running() and not os.path.exists(marker)
        assert last_record(guard, "e2e-offline")["decision"] == "deferred"  # the start is no decision
    finally:
        for host in (source, dest):
            host.virsh("destroy", "e2e-offline", check=False)
            host.virsh("undefine", "e2e-offline", check=False)


@pytest.mark.parametrize("how, decision", [("audit", "would-deny"), ("exemption", "allow"), ("bypass", "bypassed")])
def test_refusable_guest_accepted_by_policy(env, how, decision):
    source, dest, guard = env
    name = "e2e-%s" % how
    if how == "audit":
        guard.write_config('mode = "audit"\n' + LIMIT)
    elif how == "exemption":
        guard.write_config(LIMIT + '[[exemptions]]\ndomain = "e2e-exemption"\nrules = ["memory-size"]\n'
                                   'reason = "validated in the lab"\n')
    else:
        guard.guard("bypass", "--for", "10m", "--reason", "evacuating rack 12")
    source.define_and_start(guest_xml(name, memory_mib=128))
    result = migrate(source, dest, name)
    assert result.returncode == 0, result.stderr
    assert name in dest.running()
    record = last_record(guard, name)
    assert record["decision"] == decision
    assert "memory-size[limit]" in {f["code"] for f in record["findings"]}


def test_guest_stamped_by_watch_is_refused_by_identity_rule(env):
    source, dest, guard = env
    watch_facts = source.path("watch-facts.json")
    # A's service, with no outcome tracking (its default folder is the machine's /run).
    watch_config = source.path("watch-config.toml")
    with open(watch_config, "w") as handle:
        handle.write('[paths]\npending = ""\n')
    watcher = subprocess.Popen([sys.executable, "-m", "guard", "facts", "watch", "--uri", source.uri, "--output",
                                watch_facts, "--interval", "1h", "--config", watch_config],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(watch_facts) and time.monotonic() < deadline:
            time.sleep(0.1)
        source.define_and_start(guest_xml("e2e-stamped"), persistent=True)
        stamped = None
        while time.monotonic() < deadline:
            xml = source.virsh("dumpxml", "e2e-stamped").stdout
            if "migration-guard.dev/xmlns/1" in xml:
                stamped = xml
                break
            time.sleep(0.1)
        assert stamped, "watch did not stamp the guest within 30 s"
        inactive = source.virsh("dumpxml", "--inactive", "e2e-stamped", check=False).stdout
        assert "migration-guard.dev" not in inactive  # live XML only, never the definition
    finally:
        watcher.terminate()
        assert watcher.wait(timeout=15) == 0
    # Both daemons run on one machine with one QEMU; simulate an older QEMU on B.
    edit_facts(guard, qemu_version="7.0.0")
    result = migrate(source, dest, "e2e-stamped")
    assert result.returncode != 0 and "[qemu-version[older]]" in result.stderr
    assert "e2e-stamped" in source.running()
    assert last_record(guard, "e2e-stamped")["fingerprint"] is True
    source.virsh("destroy", "e2e-stamped")
    source.virsh("undefine", "e2e-stamped")


def test_vcpupin_the_destination_lacks_is_refused(env):
    source, dest, guard = env
    # This machine has CPUs 0-1; simulate a destination with only CPU 0 in one cell.
    with open(guard.facts) as handle:
        cells = json.load(handle)["cells"]
    edit_facts(guard, cells=[dict(cells[0], cpus=[0])])
    source.define_and_start(guest_xml("e2e-pinned", vcpupin="1"))
    result = migrate(source, dest, "e2e-pinned")
    assert result.returncode != 0 and "[numa-pinning[cpus]]" in result.stderr
    assert "host CPUs 1" in result.stderr
    assert "e2e-pinned" in source.running()


def test_lifecycle_ops_and_reconnect_are_unaffected(env):
    source, dest, guard = env
    before = len(guard.records())
    dest.define_and_start(guest_xml("e2e-life"))
    assert "e2e-life" in dest.running()
    dest.restart_libvirtd()  # runs the hook's reconnect for every running guest
    assert "e2e-life" in dest.running()
    assert dest.virsh("domstate", "e2e-life").stdout.strip() == "running"
    dest.virsh("destroy", "e2e-life")
    assert "e2e-life" not in dest.running()
    assert len(guard.records()) == before  # only migrate decisions are audited


def test_destination_without_facts_refuses_as_an_error_and_names_xml_only_violations(env):
    """Without facts the rules that need them cannot run: an error, which on_error (deny by
    default) decides; a guest the XML alone refuses is refused with that rule's code."""
    source, dest, guard = env
    os.unlink(guard.facts)
    source.define_and_start(guest_xml("e2e-nofacts"))
    result = migrate(source, dest, "e2e-nofacts")
    assert result.returncode != 0 and "[error] destination facts unusable" in result.stderr
    assert "e2e-nofacts" in source.running() and "e2e-nofacts" not in dest.running()
    record = last_record(guard, "e2e-nofacts")
    assert record["decision"] == "error" and record["outcome"] == "refused" and "missing" in record["facts_problem"]
    assert any(f["code"] == "unverifiable[facts]" and f["action"] == "warn" for f in record["findings"])
    source.define_and_start(guest_xml("e2e-nofacts-big", memory_mib=128))
    refused = migrate(source, dest, "e2e-nofacts-big")
    assert refused.returncode != 0 and "[memory-size[limit]]" in refused.stderr


@pytest.mark.parametrize("memory_mib, accepted", [(64, True), (128, False)])
def test_guest_xml_over_64_kib_reaches_the_hook_whole(env, memory_mib, accepted):
    source, dest, guard = env
    name = "e2e-large-%d" % memory_mib
    # An application's metadata makes the XML large; libvirt must pass it all on stdin.
    blob = "<metadata><app:inventory xmlns:app='https://example.com/inventory'>%s</app:inventory></metadata>" % (
        "".join("<app:item n='%d'>rack-12/slot-%d</app:item>" % (i, i) for i in range(2500)))
    xml = guest_xml(name, memory_mib=memory_mib).replace("</name>", "</name>\n  " + blob, 1)
    source.define_and_start(xml)
    assert len(source.virsh("dumpxml", "--migratable", name).stdout) > 64 * 1024
    result = migrate(source, dest, name)
    assert (result.returncode == 0) == accepted, result.stderr
    record = last_record(guard, name)
    assert record["decision"] == ("allow" if accepted else "deny")



def test_removing_the_hook_leaves_libvirt_working(env):
    """What `dnf remove` does: the hook file goes away while the daemon runs."""
    source, dest, guard = env
    hook = dest.path("etc", "hooks", "qemu.d", "50-migration-guard")
    # Out of qemu.d altogether: libvirt runs every executable there, whatever its name.
    saved = dest.path("50-migration-guard.saved")
    os.rename(hook, saved)
    try:
        dest.define_and_start(guest_xml("e2e-unhooked"))
        assert "e2e-unhooked" in dest.running()
        source.define_and_start(guest_xml("e2e-unhooked-big", memory_mib=128))
        before = len(guard.records())
        assert migrate(source, dest, "e2e-unhooked-big").returncode == 0  # nothing enforces any more
        assert len(guard.records()) == before
    finally:
        os.rename(saved, hook)


# --- A destination in its own network namespace (docs/design.md section 7): bridges, macvtap
# devices and addresses then exist on one side only, and the refusals below are what libvirt
# or QEMU on the destination would otherwise fail with after the hook said yes.

VETH_A, VETH_C = "mgvethA", "mgvethC"
ADDR_A, ADDR_C = "169.254.77.1", "169.254.77.2"  # link-local, on the veth pair this test creates


class IsolatedHost(LibvirtHost):
    """A libvirt host with its own network namespace. A fresh sysfs is mounted over /sys so
    that /sys/class/net shows this namespace's devices, with the cgroup hierarchies moved
    back on top so libvirt still finds them."""

    UNSHARE = ("unshare", "-m", "-n", "--propagation", "private")

    def _mount_script(self):
        keep = self.path("cgroup-keep")
        os.makedirs(keep, exist_ok=True)
        return ("ip link set lo up; mount --rbind /sys/fs/cgroup %s; mount -t sysfs sysfs /sys; "
                "mount --rbind %s /sys/fs/cgroup; %s" % (keep, keep, super()._mount_script()))


def _run(*argv):
    subprocess.run(list(argv), check=True, capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def isolated(hosts, tmp_path_factory):
    """(A, C, C's guard side): C is a second destination, in its own network namespace,
    joined to A by a veth pair; stopped and unplugged at the end."""
    from conftest import REPO, Destination
    source, _dest, _guard = hosts
    base = str(tmp_path_factory.mktemp("isolated"))
    host = IsolatedHost("C", os.path.join(base, "C"), hook=os.path.join(REPO, "hooks", "qemu"),
                        guard_etc=os.path.join(base, "C-guard"))
    host.prepare()
    guard = Destination(host)
    os.makedirs(guard.folder)
    guard.write_config()
    try:
        host.start()
        pid = str(host.pid("libvirtd"))
        _run("ip", "link", "add", VETH_A, "type", "veth", "peer", "name", VETH_C)
        _run("ip", "link", "set", VETH_C, "netns", pid)
        _run("ip", "addr", "add", ADDR_A + "/24", "dev", VETH_A)
        _run("ip", "link", "set", VETH_A, "up")
        _run("nsenter", "-t", pid, "-n", "ip", "addr", "add", ADDR_C + "/24", "dev", VETH_C)
        _run("nsenter", "-t", pid, "-n", "ip", "link", "set", VETH_C, "up")
        # The collector runs where a real destination's would: inside C's namespaces.
        subprocess.run(["nsenter", "-t", pid, "-m", "-n", sys.executable, "-m", "guard", "facts", "collect", "--uri",
                        host.uri, "--output", guard.facts], check=True, capture_output=True, cwd=REPO, timeout=120)
        yield source, host, guard
    finally:
        host.stop()
        subprocess.run(["ip", "link", "del", VETH_A], capture_output=True)


def migrate_to_isolated(source, dest, name):
    return subprocess.run(["virsh", "-c", source.uri, "migrate", "--live", name, dest.uri, "--migrateuri",
                           "tcp://%s" % ADDR_C, "--listen-address", ADDR_C], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def bridge_on_a():
    _run("ip", "link", "add", "mgbr0", "type", "bridge")
    _run("ip", "link", "set", "mgbr0", "up")
    yield "mgbr0"
    subprocess.run(["ip", "link", "del", "mgbr0"], capture_output=True)


def test_isolated_destination_accepts_an_ordinary_guest(isolated):
    source, dest, guard = isolated
    source.define_and_start(guest_xml("e2e-iso-ok"))
    try:
        result = migrate_to_isolated(source, dest, "e2e-iso-ok")
        assert result.returncode == 0, result.stderr
        assert "e2e-iso-ok" in dest.running()
        assert last_record(guard, "e2e-iso-ok")["decision"] == "allow"
    finally:
        for host in (source, dest):
            host.virsh("destroy", "e2e-iso-ok", check=False)


def test_guest_on_a_bridge_the_destination_lacks_is_refused(isolated, bridge_on_a):
    source, dest, guard = isolated
    nic = "\n    <interface type='bridge'><source bridge='%s'/><model type='e1000'/></interface>" % bridge_on_a
    source.define_and_start(guest_xml("e2e-bridge", extra_devices=nic))
    try:
        result = migrate_to_isolated(source, dest, "e2e-bridge")
        assert result.returncode != 0
        assert "[network[bridge]]" in result.stderr and "mgbr0" in result.stderr
        assert "e2e-bridge" in source.running() and "e2e-bridge" not in dest.running()
        assert last_record(guard, "e2e-bridge")["decision"] == "deny"
    finally:
        source.virsh("destroy", "e2e-bridge", check=False)


def test_vnc_on_an_address_the_destination_lacks_is_refused(isolated):
    source, dest, guard = isolated
    vnc = "\n    <graphics type='vnc' port='-1' autoport='yes' listen='%s'/>" % ADDR_A
    source.define_and_start(guest_xml("e2e-listen", extra_devices=vnc))
    try:
        result = migrate_to_isolated(source, dest, "e2e-listen")
        assert result.returncode != 0
        assert "[graphics-listen[address]]" in result.stderr and ADDR_A in result.stderr
        assert "e2e-listen" in source.running()
        # The same guest on a wildcard listen address migrates.
        source.virsh("destroy", "e2e-listen")
        source.define_and_start(guest_xml("e2e-listen", extra_devices=vnc.replace(ADDR_A, "0.0.0.0")))
        moved = migrate_to_isolated(source, dest, "e2e-listen")
        assert moved.returncode == 0, moved.stderr
    finally:
        for host in (source, dest):
            host.virsh("destroy", "e2e-listen", check=False)


def test_guest_on_a_network_the_destination_lacks_is_refused(env):
    source, dest, guard = env
    network = source.path("e2e-net.xml")
    with open(network, "w") as handle:
        handle.write("<network><name>e2e-net</name><bridge name='mgnet0' stp='off'/></network>")
    source.virsh("net-create", network)  # a transient, isolated network: a bridge, no dnsmasq
    try:
        nic = "\n    <interface type='network'><source network='e2e-net'/><model type='e1000'/></interface>"
        source.define_and_start(guest_xml("e2e-net-guest", extra_devices=nic))
        result = migrate(source, dest, "e2e-net-guest")
        assert result.returncode != 0
        assert "[network[absent]]" in result.stderr and "e2e-net" in result.stderr
        assert "e2e-net-guest" in source.running()
    finally:
        source.virsh("destroy", "e2e-net-guest", check=False)
        source.virsh("net-destroy", "e2e-net", check=False)


def test_a_waiver_lets_one_guest_through_one_code_on_a_real_destination(env, tmp_path):
    """Issue 22: `waive` on the source writes a signed waiver into one guest; B's hook lets
    that guest through that code, audits the waiver, and still refuses a twin without one."""
    source, dest, guard = env
    key = os.path.join(guard.folder, "fleet.key")
    with open(key, "wb") as handle:
        handle.write(os.urandom(32))
    os.chmod(key, 0o600)
    guard.write_config(LIMIT + '[fingerprint]\nkey = "%s"\n' % key)
    source_config = tmp_path / "source.toml"
    source_config.write_text('[paths]\naudit_log = "%s"\n[fingerprint]\nkey = "%s"\n' % (tmp_path / "a.log", key))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True,
                              cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=str(source_config)))
    facts = tmp_path / "A.json"
    assert cli("facts", "collect", "--uri", source.uri, "--output", str(facts)).returncode == 0
    for name in ("e2e-waived", "e2e-unwaived"):  # both over B's 100 MiB limit, both stamped and signed
        plain = tmp_path / ("%s.xml" % name)
        # A UUID of its own now: the signature binds it (libvirt would make one up at define).
        plain.write_text(guest_xml(name, memory_mib=128).replace("</name>", "</name><uuid>%s</uuid>" % uuid.uuid4(), 1))
        stamped = cli("stamp", "--domain-xml", str(plain), "--facts", str(facts))
        assert stamped.returncode == 0, stamped.stderr
        source.define_and_start(stamped.stdout)
    waived = cli("waive", "e2e-waived", "--rule", "memory-size[limit]", "--for", "10m", "--reason", "CHG0042 HANA",
                 "--uri", source.uri)
    assert waived.returncode == 0, waived.stderr
    result = migrate(source, dest, "e2e-waived")
    assert result.returncode == 0, result.stderr
    record = last_record(guard, "e2e-waived")
    assert record["decision"] == "allow"
    limit = [f for f in record["findings"] if f["code"] == "memory-size[limit]"]
    assert limit and limit[0]["action"] == "info" and "signed waiver" in limit[0]["message"]
    assert "CHG0042 HANA" in limit[0]["message"]
    twin = migrate(source, dest, "e2e-unwaived")
    assert twin.returncode != 0 and "[memory-size[limit]]" in twin.stderr
    assert "e2e-unwaived" in source.running()
