"""The collector and the pre-flight against the real daemons of the e2e session."""
import json
import os
import stat
import subprocess
import sys
import time

from support.harness import guest_xml
from support.helpers import corpus_domain_xml, decide

from guard.facts.build import build_facts
from guard.facts.cache import read_facts_file

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNREACHABLE = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"


def guard_cli(*args, config=None):
    env = dict(os.environ)
    if config:
        env["MIGRATION_GUARD_CONFIG"] = config
    return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True, cwd=REPO,
                          env=env)


def test_collected_facts_match_what_virsh_reports(hosts, tmp_path):
    source, _dest, _guard = hosts
    output = str(tmp_path / "facts.json")
    result = guard_cli("facts", "collect", "--uri", source.uri, "--output", output)
    assert result.returncode == 0, result.stderr
    st = os.stat(output)
    assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o644
    facts = read_facts_file(output)
    assert facts.kernel_release == os.uname().release
    capabilities = source.virsh("capabilities").stdout
    microcode = capabilities.split("<microcode version='")[1].split("'")[0]
    assert facts.cpu.microcode == microcode
    machines = {line.split(">")[1].split("<")[0] for line in capabilities.splitlines() if "<machine" in line}
    assert machines <= facts.guest_support("x86_64", "qemu")[0].machine_names()
    version = source.virsh("version").stdout
    assert facts.qemu_version in version and facts.libvirt_version in version
    assert facts.local is not None and facts.local.kernel_cmdline
    assert {d.virt_type for d in facts.domcaps} >= {"qemu"}


def test_verdicts_with_collected_facts_equal_verdicts_from_documents(hosts, tmp_path):
    source, _dest, _guard = hosts
    output = str(tmp_path / "facts.json")
    assert guard_cli("facts", "collect", "--uri", source.uri, "--output", output).returncode == 0
    collected = read_facts_file(output)
    domcaps = [source.virsh("domcapabilities", "--virttype", v, "--machine", m, "--arch", "x86_64").stdout
               for v in ("qemu", "kvm") for m in ("pc", "q35")]
    built = build_facts(source.virsh("capabilities").stdout, domcaps)
    for name in ("x86_64-pc-minimal", "cpu-Haswell", "numatune-memnode", "hostdev-usb-address",
                 "firmware-auto-efi-enrolled-keys-no-secboot", "cpu-host-passthrough"):
        xml = corpus_domain_xml(name)
        a, b = decide(xml, collected), decide(xml, built)
        assert (a.decision, {f.code for f in a.findings}) == (b.decision, {f.code for f in b.findings}), name


def test_collect_from_a_daemon_that_is_down_keeps_the_old_cache(tmp_path):
    output = tmp_path / "facts.json"
    output.write_text("old")
    result = guard_cli("facts", "collect", "--uri", "qemu+unix:///system?socket=%s/none" % tmp_path, "--output",
                       str(output))
    assert result.returncode == 2 and "cannot connect" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert output.read_text() == "old"


def test_preflight_small_allowed_big_denied(hosts, tmp_path):
    source, dest, _guard = hosts
    config = tmp_path / "config.toml"
    config.write_text('[memory]\nlimit = "100 MiB"\n')
    source.define_and_start(guest_xml("pf-small", memory_mib=64))
    source.define_and_start(guest_xml("pf-big", memory_mib=128))
    try:
        result = guard_cli("preflight", "pf-small", "pf-big", "--source", source.uri, "--dest", dest.uri,
                           "--format", "json", config=str(config))
        assert result.returncode == 1 and result.stdout, result.stderr
        results = {r["domain"]["name"]: r for r in json.loads(result.stdout)["results"]}
        assert results["pf-small"]["decision"] == "allow"
        assert results["pf-big"]["decision"] == "deny"
        assert "memory-size[limit]" in {f["code"] for f in results["pf-big"]["findings"] if f["action"] == "deny"}
        assert results["pf-big"]["dest"] == dest.uri and results["pf-big"]["source"] == source.uri
        # The source fingerprint travelled: no unverifiable[source-fingerprint] warning.
        assert "unverifiable[source-fingerprint]" not in {f["code"] for f in results["pf-small"]["findings"]}
        assert {"pf-small", "pf-big"} <= source.running()
        assert "migration-guard.dev" not in source.virsh("dumpxml", "pf-small").stdout  # nothing changed
        assert json.loads(result.stdout)["plan"] == {"pf-small": [dest.uri], "pf-big": []}
        every = guard_cli("preflight", "--all", "--source", source.uri, "--dest", dest.uri, "--format", "json",
                          config=str(config))
        assert every.returncode == 1, every.stderr
        names = {r["domain"]["name"] for r in json.loads(every.stdout)["results"]}
        assert {"pf-small", "pf-big"} <= names
        # An unreachable destination beside the real one: an error there, never an allow;
        # the real one is still decided. pf-big has no destination and the unreachable one
        # gave no verdict for it: exit 2.
        both = guard_cli("preflight", "pf-small", "pf-big", "--source", source.uri, "--dest", dest.uri, "--dest",
                         UNREACHABLE, "--format", "json", config=str(config))
        assert both.returncode == 2, both.stderr
        data = json.loads(both.stdout)
        assert data["plan"] == {"pf-small": [dest.uri], "pf-big": []}
        assert data["summary"] == {dest.uri: {"allow": 1, "deny": 1, "error": 0},
                                   UNREACHABLE: {"allow": 0, "deny": 0, "error": 2}}
        assert {r["decision"] for r in data["results"] if r["dest"] == UNREACHABLE} == {"error"}
        # Only pf-small: it has a destination, the unreachable one is one choice fewer.
        small = guard_cli("preflight", "pf-small", "--source", source.uri, "--dest", UNREACHABLE, "--dest",
                          dest.uri, config=str(config))
        assert small.returncode == 0, small.stdout + small.stderr
        assert "every guest has a destination (1 guests)" in small.stdout
        alone = guard_cli("preflight", "pf-small", "--source", source.uri, "--dest", UNREACHABLE, "--format", "json")
        assert alone.returncode == 2
        assert [r["decision"] for r in json.loads(alone.stdout)["results"]] == ["error"]
    finally:
        source.virsh("destroy", "pf-small", check=False)
        source.virsh("destroy", "pf-big", check=False)


def test_preflight_measures_every_guests_dirty_rate_at_once(hosts, tmp_path):
    """With [memory] bandwidth set, the dirty rates of all guests are measured together:
    two guests take one measuring second, not two, and both are decided."""
    source, dest, _guard = hosts
    config = tmp_path / "config.toml"
    config.write_text('[memory]\nbandwidth = "1 GiB"\n')
    names = ["pf-rate-%d" % i for i in range(3)]
    for name in names:
        source.define_and_start(guest_xml(name, memory_mib=64))
    try:
        from guard.facts.collect import open_connection
        from guard.services.preflight import measure_dirty_rates
        conn = open_connection(source.uri, read_only=False)
        try:
            doms = [conn.lookupByName(name) for name in names]
            start = time.monotonic()
            rates = measure_dirty_rates(conn, doms)
            elapsed = time.monotonic() - start
        finally:
            conn.close()
        assert sorted(rates) == names and all(rate >= 0 for rate in rates.values())
        # One second of measuring for all (one after another: at least len(names) seconds).
        assert elapsed < len(names) - 0.5, elapsed
        result = guard_cli("preflight", *names, "--source", source.uri, "--dest", dest.uri, "--format", "json",
                           config=str(config))
        assert result.returncode == 0, result.stdout + result.stderr
        assert {r["decision"] for r in json.loads(result.stdout)["results"]} == {"allow"}
    finally:
        for name in names:
            source.virsh("destroy", name, check=False)


def test_session_uris_are_a_finding(hosts):
    source, _dest, _guard = hosts
    decision = decide(guest_xml("x"), None, connection="session")
    assert "session-connection[destination]" in {f.code for f in decision.findings}
    from guard.services.preflight import connection_kind
    assert connection_kind("qemu:///session") == "session"
    assert connection_kind("qemu+ssh://hv02/system") == "system"
    assert connection_kind(source.uri) == "system"


def test_collect_refreshes_the_metrics_file_and_survives_its_failure(hosts, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families
    source, _dest, _guard = hosts
    facts, metrics = tmp_path / "facts.json", tmp_path / "textfile" / "migration_guard.prom"
    config = tmp_path / "config.toml"
    config.write_text('[paths]\nfacts = "%s"\naudit_log = "%s/audit.log"\nmetrics = "%s"\n' % (facts, tmp_path, metrics))
    result = guard_cli("facts", "collect", "--uri", source.uri, config=str(config))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    assert stat.S_IMODE(os.stat(str(metrics)).st_mode) == 0o644
    values = {s.name: s.value for f in text_string_to_metric_families(metrics.read_text()) for s in f.samples}
    assert values["migration_guard_facts_present"] == 1
    assert values["migration_guard_facts_collected_timestamp_seconds"] == read_facts_file(str(facts)).collected_at
    # A metrics path that cannot be written: the collection still succeeds, with a warning.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config.write_text('[paths]\nfacts = "%s"\nmetrics = "%s/m.prom"\n' % (facts, blocker))
    before = facts.stat().st_mtime_ns
    result = guard_cli("facts", "collect", "--uri", source.uri, config=str(config))
    assert result.returncode == 0, result.stderr
    assert "warning: metrics file not refreshed" in result.stderr and facts.stat().st_mtime_ns != before
