"""`migration-guard metrics`: Prometheus text parsed by prometheus_client's own parser, from
real hook records, rotated logs, the facts cache and the bypass file."""
import gzip
import json
import os
import stat
import subprocess
import sys
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.helpers import REPO, debian12_facts
from test_hook import BIG, SMALL, Host, needs_root

from guard.cli.metrics import refresh_after_collection
from guard.config import load_config, parse_config
from guard.facts.cache import facts_to_json
from guard.services.metrics import count_decisions, render


def guard(*args, config):
    return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, MIGRATION_GUARD_CONFIG=config))


def parse(text):
    """{(name, labels as sorted tuple): value}, and {family name: type}, per prometheus_client."""
    samples, types = {}, {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, types


def decisions(samples):
    return {dict(labels)["decision"]: value
            for (name, labels), value in samples.items() if name == "migration_guard_decisions_total"}


def findings(samples):
    return {dict(labels)["code"] + " " + dict(labels)["action"]: value
            for (name, labels), value in samples.items() if name == "migration_guard_findings_total"}


def metrics(host):
    result = guard("metrics", config=host.config)
    assert result.returncode == 0, result.stderr
    return parse(result.stdout)


@needs_root
def test_decisions_from_real_hook_records(tmp_path):
    host = Host(str(tmp_path))
    assert host.run(xml=SMALL).returncode == 0
    assert host.run(name="big", xml=BIG).returncode == 1
    assert host.run(name="big", xml=BIG).returncode == 1
    assert host.run(name="big", xml=BIG).returncode == 1
    samples, types = metrics(host)
    # Three refusals count 3 (issue 22: they once showed as 13, one per code), and each
    # distinct finding code counts once per decision in its own counter: the small guest's
    # missing fingerprint is a warning, the big guest is over the limit and the host's memory.
    # Each refusal was deferred by the migrate hook and made by the prepare hook.
    assert decisions(samples) == {"allow": 1, "deferred": 3, "deny": 3}
    assert findings(samples) == {"unverifiable[source-fingerprint] warn": 4, "memory-size[limit] deny": 3,
                                 "memory-size[host] deny": 3}
    assert types["migration_guard_decisions"] == "counter" and types["migration_guard_findings"] == "counter"
    info = [dict(labels) for (name, labels), value in samples.items() if name == "migration_guard_info" and value == 1]
    assert len(info) == 1 and info[0]["mode"] == "enforce" and info[0]["profile"] == "default"
    assert info[0]["config_digest"] == load_config(host.config).digest and info[0]["version"]
    last = max(json.loads(line)["time"] for line in open(host.audit))
    assert samples[("migration_guard_last_decision_timestamp_seconds", ())] == pytest.approx(
        _epoch(last), abs=0.001)
    assert samples[("migration_guard_facts_present", ())] == 1
    assert 0 <= samples[("migration_guard_facts_age_seconds", ())] < 60
    assert samples[("migration_guard_bypass_active", ())] == 0


def _epoch(iso):
    import datetime
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_rotated_logs_none_rule_and_distinct_codes(tmp_path):
    host = Host(str(tmp_path), facts=False)
    os.makedirs(os.path.dirname(host.audit))

    def record(time_, decision, *findings):
        return json.dumps({"time": time_, "decision": decision,
                           "findings": [{"rule": c.split("[")[0], "code": c, "action": a} for c, a in findings]})
    with gzip.open(host.audit + ".2.gz", "wt") as handle:
        handle.write(record("2026-11-01T00:00:00Z", "allow") + "\n")
    with open(host.audit + ".1", "w") as handle:  # the latest decision is not the last line read
        handle.write(record("2026-11-20T00:00:00Z", "would-deny", ("numa-pinning[cpus]", "deny"),
                            ("numa-pinning[cpus]", "deny"), ("bios[smt]", "warn"), ("bios[date]", "info")) + "\n")
        handle.write("not json\n" + json.dumps({"time": "2026-11-25T00:00:00Z", "op": "bypass set"}) + "\n")
        handle.write(json.dumps({"time": "2026-11-26T00:00:00Z", "event": "bypass", "decision": "allow"}) + "\n")
    with open(host.audit, "w") as handle:
        handle.write(record("2026-11-10T00:00:00Z", "allow", ("bios[date]", "info")) + "\n")
        handle.write(record("2026-11-11T00:00:00Z", "error") + "\n")
    samples, _types = metrics(host)
    assert decisions(samples) == {"allow": 2, "would-deny": 1, "error": 1}
    assert findings(samples) == {"numa-pinning[cpus] deny": 1, "bios[smt] warn": 1}  # info findings: not counted
    assert samples[("migration_guard_last_decision_timestamp_seconds", ())] == _epoch("2026-11-20T00:00:00Z")
    # No facts: present 0 and no age at all (an age of 0 would look fresh).
    assert samples[("migration_guard_facts_present", ())] == 0
    assert not [key for key in samples if key[0].startswith("migration_guard_facts_") and "present" not in key[0]]


def test_no_log_yet_no_last_decision(tmp_path):
    host = Host(str(tmp_path), facts=False)
    samples, types = metrics(host)
    assert decisions(samples) == {} and "migration_guard_decisions" in types
    assert ("migration_guard_last_decision_timestamp_seconds", ()) not in samples


@needs_root
def test_facts_age_stale_untrusted_and_bypass(tmp_path):
    host = Host(str(tmp_path), facts=False)
    collected = time.time() - 3 * 86400  # stale for the hook, still present: its age is the point
    with open(host.facts, "w") as handle:
        handle.write(facts_to_json(debian12_facts()._replace(collected_at=collected)))
    samples, _types = metrics(host)
    assert samples[("migration_guard_facts_present", ())] == 1
    assert samples[("migration_guard_facts_collected_timestamp_seconds", ())] == pytest.approx(collected)
    assert samples[("migration_guard_facts_age_seconds", ())] == pytest.approx(3 * 86400, abs=30)
    os.chmod(host.facts, 0o666)  # the hook refuses a cache others can write
    samples, _types = metrics(host)
    assert samples[("migration_guard_facts_present", ())] == 0
    assert ("migration_guard_facts_age_seconds", ()) not in samples
    assert guard("bypass", "--for", "10m", "--reason", "test", config=host.config).returncode == 0
    assert metrics(host)[0][("migration_guard_bypass_active", ())] == 1
    with open(host.bypass, "w") as handle:
        json.dump({"until": time.time() - 1, "reason": "old"}, handle)
    assert metrics(host)[0][("migration_guard_bypass_active", ())] == 0


def test_output_is_replaced_atomically_with_mode_0644(tmp_path):
    host = Host(str(tmp_path), facts=False)
    out = tmp_path / "textfile" / "migration_guard.prom"
    out.parent.mkdir()
    out.write_text("old complete content\n")
    os.chmod(str(out), 0o600)
    reader = open(str(out))  # a collector that opened the old file keeps reading it whole
    try:
        result = guard("metrics", "--output", str(out), config=host.config)
        assert result.returncode == 0 and result.stdout == "", result.stderr
        assert reader.read() == "old complete content\n"
    finally:
        reader.close()
    assert stat.S_IMODE(os.stat(str(out)).st_mode) == 0o644
    assert os.listdir(str(out.parent)) == ["migration_guard.prom"]  # no temp file left behind
    samples, _types = parse(out.read_text())
    assert samples[("migration_guard_facts_present", ())] == 0


def test_label_values_are_escaped():
    counts = count_decisions([{"decision": "deny", "findings": [
        {"code": 'odd"code\\with\nnewline', "action": "deny"}]}])
    samples, _types = parse(render(counts, False, None, False, 0.0, info=("1", "enforce", "default", 'x"y'),
                                   hook_live=False))
    assert findings(samples) == {'odd"code\\with\nnewline deny': 1}
    assert samples[("migration_guard_info", (("config_digest", 'x"y'), ("mode", "enforce"), ("profile", "default"),
                                             ("version", "1")))] == 1
    assert samples[("migration_guard_hook_live", ())] == 0


def test_refresh_after_collection_never_raises(tmp_path):
    host = Host(str(tmp_path), facts=False)
    before = sorted(os.listdir(str(tmp_path)))
    assert refresh_after_collection(host.config) is None  # [paths] metrics unset: nothing to do
    assert sorted(os.listdir(str(tmp_path))) == before
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with open(host.config, "a") as handle:
        handle.write('metrics = "%s/m.prom"\n' % blocker)
    problem = refresh_after_collection(host.config)
    assert problem and "a-file" in problem
    with open(host.config, "a") as handle:
        handle.write("colour = 1\n")
    assert "colour" in refresh_after_collection(host.config)  # a broken config is reported, not raised
    good = tmp_path / "m.prom"
    host.write_config('[paths]\nmetrics = "%s"\naudit_log = "%s"\n' % (good, host.audit), paths=False)
    assert load_config(host.config).paths.metrics == str(good)
    assert refresh_after_collection(host.config) is None
    assert parse(good.read_text())[0][("migration_guard_bypass_active", ())] == 0


def test_watch_refresh_runs_the_hook_after_writing_and_survives_its_failure(tmp_path, monkeypatch):
    import guard.services.watch
    facts = debian12_facts()
    monkeypatch.setattr(guard.services.watch, "collect", lambda uri, memo=None: facts)
    cache = str(tmp_path / "facts.json")
    seen = []

    def after():
        seen.append(os.path.exists(cache))
        return "OSError: no space left"
    watcher = guard.services.watch.Watcher("test:///default", cache, after_refresh=after,
                                           config=parse_config('[paths]\npending = ""\n'))  # not the machine's /run
    watcher.facts = facts  # unchanged facts: no restamping, no libvirt connection needed
    watcher.refresh()
    assert seen == [True] and os.path.exists(cache)


def test_the_package_does_not_import_prometheus_client(tmp_path):
    host = Host(str(tmp_path), facts=False)
    code = ("import sys; from guard.cli import main; main(['metrics']); "
            "sys.exit('prometheus_client' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
    assert result.returncode == 0, result.stderr
