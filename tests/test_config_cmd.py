"""`migration-guard config check [--show]`: validation as the hook reads the file, and an
effective policy that agrees with what the policy engine does."""
import datetime
import json
import os
import subprocess
import sys

import pytest
from support.helpers import NOW, REPO, minimal_guest

from guard.config import parse_config
from guard.decide.policy import apply
from guard.guest.domain import parse_domain
from guard.rules import all_codes
from guard.rules.findings import DECLARED, Finding

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SHIPPED = os.path.join(REPO, "config", "config.toml")

POLICY = """mode = "audit"
profile = "strict"
timeout = "2s"
[paths]
metrics = "/var/lib/node_exporter/textfile_collector/migration_guard.prom"
[memory]
limit = "512 GiB"
bandwidth = "1 GiB"
max_downtime = "300ms"
[rules."host-cpu"]
action = "warn"
[rules."microcode"]
action = "off"
[rules."host-cpu[vendor]"]
action = "deny"
[rules."unverifiable[cpu-model]"]
action = "warn"
[[exemptions]]
domain = "hana-*"
rules = ["memory-size"]
reason = "validated \\"big\\" guests, CHG1"
until = 2020-01-01T00:00:00Z
[[exemptions]]
uuid = "8f99e332-06c4-463a-9099-330fb244e1b3"
rules = ["*"]
reason = "lab"
"""


def run(*args, env=None):
    environment = dict(os.environ)
    environment.pop("MIGRATION_GUARD_CONFIG", None)
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "guard", "config", "check"] + list(args), capture_output=True,
                          text=True, cwd=REPO, env=environment)


@pytest.fixture
def policy(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(POLICY)
    return str(path)


def test_valid_file_one_line(policy):
    result = run("--config", policy)
    assert (result.returncode, result.stdout, result.stderr) == (0, "config OK: %s\n" % policy, "")
    shipped = run("--config", SHIPPED)
    assert shipped.returncode == 0 and shipped.stdout == "config OK: %s\n" % SHIPPED


def test_default_path_from_the_environment(policy, tmp_path):
    assert run(env={"MIGRATION_GUARD_CONFIG": policy}).stdout == "config OK: %s\n" % policy
    missing = str(tmp_path / "missing.toml")
    result = run(env={"MIGRATION_GUARD_CONFIG": missing})
    assert result.returncode == 2 and result.stderr == "migration-guard: error: %s: no such config file\n" % missing


@pytest.mark.parametrize("text, where", [
    ('mode = "enforce"\nprofile = "lenient"\n', ":2: profile: must be one of"),
    ('[paths]\nfacts = "/x"\nmetrics = "relative.prom"\n', ":3: paths.metrics: must be an absolute path"),
    ('[rules."no-such-rule"]\naction = "deny"\n', ":1: rules.no-such-rule: unknown rule"),
    ('[rules."cpu-model"]\naction = "deny"\n[rules.sriov]\naction = "maybe"\n', ":4: action: must be one of"),
    ('timeout = "10s"\n\n[memory]\nlimit = "lots"\n', ":4: memory.limit:"),
    ("mode = \n", ": TOML syntax error"),
    ('[[exemptions]]\nuuid = 1979-05-27\nrules = ["*"]\nreason = "r"\n', ":2: exemptions[0].uuid: must be a string"),
])
def test_invalid_file_exit_2_names_file_line_and_key(tmp_path, text, where):
    path = tmp_path / "config.toml"
    path.write_text(text)
    for args in ([], ["--show"], ["--show", "--format", "json"], ["--compile"]):
        result = run("--config", str(path), *args)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("migration-guard: error: %s" % path) and where in result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert not os.path.exists(str(path) + ".compiled.json")


def show_json(path):
    result = run("--config", path, "--show", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_show_json_every_key_and_every_code(policy):
    shown = show_json(policy)
    assert (shown["mode"], shown["profile"], shown["on_error"], shown["timeout"], shown["max_facts_age"]) == (
        "audit", "strict", "deny", 2.0, 86400.0)
    assert shown["paths"] == {"facts": "/var/cache/migration-guard/facts.json",
                              "audit_log": "/var/log/migration-guard/audit.log",
                              "bypass": "/run/migration-guard/bypass.json",
                              "metrics": "/var/lib/node_exporter/textfile_collector/migration_guard.prom"}
    assert shown["memory"] == {"limit": 512 << 30, "bandwidth": float(1 << 30), "max_downtime": 0.3}
    rules = shown["rules"]
    assert set(rules) == all_codes()
    assert rules["host-cpu[vendor]"] == {"rule": "host-cpu", "action": "deny", "from": 'rules."host-cpu[vendor]"'}
    assert rules["host-cpu[model]"] == {"rule": "host-cpu", "action": "warn", "from": 'rules."host-cpu"'}
    assert rules["microcode"]["action"] == "off"
    assert rules["unverifiable[cpu-model]"] == {"rule": "unverifiable", "action": "warn",
                                                "from": 'rules."unverifiable[cpu-model]"'}
    assert rules["unverifiable[facts]"] == {"rule": "unverifiable", "action": "deny", "from": "profile strict"}
    assert [(e["domain"], e["uuid"], e["rules"], e["expired"]) for e in shown["exemptions"]] == [
        ("hana-*", None, ["memory-size"], True), (None, "8f99e332-06c4-463a-9099-330fb244e1b3", ["*"], False)]
    assert shown["exemptions"][0]["reason"] == 'validated "big" guests, CHG1'


def test_show_defaults_state_the_catalogue(tmp_path):
    path = tmp_path / "empty.toml"
    path.write_text("")
    rules = show_json(str(path))["rules"]
    assert rules["device-passthrough[pci]"] == {"rule": "device-passthrough", "action": "deny",
                                                "from": "profile default"}
    assert rules["unverifiable[source-fingerprint]"]["action"] == "warn"
    assert rules["numa-pinning[shape]"]["action"] == "warn" and rules["qemu-version[older]"]["action"] == "deny"
    # Rules that decide per finding say so: host-cpu denies for host-passthrough guests, else warns.
    assert rules["microcode"] == {"rule": "microcode", "action": "deny|warn", "from": "profile default"}


def _kept_action(config, rule, code, action):
    """What the policy engine does with one finding of that code and action."""
    domain = parse_domain(minimal_guest(name="not-exempted", metadata=""))
    _verdict, kept, _notes = apply(domain, [Finding(rule, code, action, "m", "", (), DECLARED[code].strict)], config,
                                   NOW)
    return kept[0].action if kept else "off"


@pytest.mark.parametrize("text", [POLICY, "", 'profile = "strict"\n', '[rules."bios"]\naction = "deny"\n'
                                  '[rules."bios[smt]"]\naction = "off"\n'])
def test_shown_actions_are_what_the_policy_does(tmp_path, text):
    """For every code, a finding of that code (with each action its rule may give it) ends in
    the policy engine with the action shown (one of them, where the rule decides: deny|warn)."""
    path = tmp_path / "config.toml"
    path.write_text(text.replace('uuid = "8f99e332-06c4-463a-9099-330fb244e1b3"', 'uuid = "0-0"'))
    config = parse_config(path.read_text(), str(path))
    checked = 0
    for code, entry in show_json(str(path))["rules"].items():
        for action in DECLARED[code].default.split("|"):
            kept = _kept_action(config, entry["rule"], code, action)
            assert kept == action if entry["action"] == "deny|warn" else kept == entry["action"], (code, action)
            checked += 1
    assert checked >= len(all_codes())


def test_show_text_is_toml_with_the_same_values(policy, tmp_path):
    result = run("--config", policy, "--show")
    assert result.returncode == 0, result.stderr
    text = tomllib.loads(result.stdout)
    shown = show_json(policy)
    for key in ("mode", "profile", "on_error", "allow_metadata_exemptions"):
        assert text[key] == shown[key]
    assert (text["timeout"], text["max_facts_age"]) == ("2s", "1d")
    assert text["paths"] == shown["paths"]
    assert text["memory"] == {"limit": "512 GiB", "bandwidth": "1 GiB", "max_downtime": "0.3s"}
    assert {code: body["action"] for code, body in text["rules"].items()} == {
        code: entry["action"] for code, entry in shown["rules"].items()}
    assert text["exemptions"][0]["until"] == datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    assert "# expired: ignored" in result.stdout
    assert text["exemptions"][1] == {"uuid": "8f99e332-06c4-463a-9099-330fb244e1b3", "rules": ["*"],
                                     "reason": "lab"}
    # Loaded back as a config (codes whose rule decides per finding left out), it is the same policy.
    fixed = "\n".join(line for line in result.stdout.splitlines()
                      if not line.startswith('"') or any('action = "%s"' % a in line for a in ("deny", "warn", "off")))
    again = tmp_path / "again.toml"
    again.write_text(fixed)
    reshown = show_json(str(again))
    assert {k: v for k, v in reshown.items() if k not in ("config", "digest", "rules")} == {
        k: v for k, v in shown.items() if k not in ("config", "digest", "rules")}
    assert {c: e["action"] for c, e in reshown["rules"].items()} == {c: e["action"] for c, e in shown["rules"].items()}


def hook_config(path, tz="UTC0"):
    """What the hook loads from `path` (load_config(trusted=True)) in a fresh interpreter
    in time zone tz, and whether it imported a TOML parser to do so."""
    code = ("import json, sys; from guard.config import load_config; c = load_config(%r, trusted=True); "
            "print(json.dumps([repr(c), 'tomli' in sys.modules or 'tomllib' in sys.modules]))" % path)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                            env=dict(os.environ, TZ=tz))
    return json.loads(result.stdout)


def test_the_hook_reads_the_compiled_config_only_while_it_matches(tmp_path, policy):
    # The hook trusts root's files and its own uid's (guard.runtime.trusted), so this runs as any user.
    os.chmod(str(tmp_path), 0o755)
    compiled = policy + ".compiled.json"
    parsed = repr(parse_config(POLICY, policy))
    assert hook_config(policy) == [parsed, True]  # nothing compiled: the TOML is parsed
    result = run("--compile", "--config", policy)
    assert (result.returncode, result.stdout) == (0, "config OK: %s, compiled to %s\n" % (policy, compiled))
    assert oct(os.stat(compiled).st_mode & 0o777) == "0o644"
    assert hook_config(policy) == [parsed, False]  # the same Config, and no TOML parser loaded
    # Edited after compiling: the compiled form no longer matches the bytes, the TOML is read.
    edited = POLICY.replace('mode = "audit"', 'mode = "enforce"')
    with open(policy, "w") as handle:
        handle.write(edited)
    expected = repr(parse_config(edited, policy))
    assert expected != parsed and hook_config(policy) == [expected, True]
    run("--compile", "--config", policy)
    assert hook_config(policy)[1] is False
    original = open(compiled).read()
    assert original.count('"enforce"') == 1 and original.count('"schema": 2') == 1
    # Anything wrong with the compiled form: ignored, the TOML is read, the decision the same.
    spoiled = {
        "truncated": original[:40],
        "another version": original.replace('"guard": "', '"guard": "0.0.0-'),
        "an older schema": original.replace('"schema": 2', '"schema": 1'),
        "a value the TOML reader refuses": original.replace('"enforce"', '"loud"'),
        "not a document": original.replace('"toml": {', '"toml": [{').replace("}}\n", "}]}\n"),
        "a relative path": original.replace('"/var/lib/node_exporter/textfile_collector/', '"'),
    }
    for what, text in spoiled.items():
        assert text != original, what
        with open(compiled, "w") as handle:
            handle.write(text)
        assert hook_config(policy) == [expected, True], what
    # A local date the hook's time zone cannot hold (OverflowError): the TOML is read.
    with open(compiled, "w") as handle:
        handle.write(original)
    east = hook_config(policy, tz="EST+5")
    assert east[1] is False
    with open(compiled, "w") as handle:
        handle.write(original.replace('"iso": "2020-01-01T00:00:00+00:00"', '"iso": "9999-12-31T23:59:59"'))
    assert hook_config(policy, tz="EST+5") == [east[0], True]
    run("--compile", "--config", policy)
    os.chmod(compiled, 0o666)  # writable by anyone: not trusted, so not read
    assert hook_config(policy) == [expected, True]


def test_a_compiled_local_date_is_read_in_the_hooks_time_zone(tmp_path):
    """An exemption's until without an offset is local time: where the hook runs, not where
    the config was compiled (Ansible or an admin's shell may have another TZ)."""
    os.chmod(str(tmp_path), 0o755)
    path = str(tmp_path / "config.toml")
    with open(path, "w") as handle:
        handle.write('[[exemptions]]\ndomain = "db-*"\nrules = ["*"]\nreason = "window"\n'
                     "until = 2026-12-01T08:00:00\n\n[[exemptions]]\ndomain = \"web-*\"\nrules = [\"*\"]\n"
                     'reason = "day"\nuntil = 2026-12-02\n')
    parsed_east, parsed_utc = hook_config(path, tz="EST+5"), hook_config(path, tz="UTC0")
    assert parsed_east[1] is parsed_utc[1] is True
    assert parsed_east[0] != parsed_utc[0] and "timedelta(days=-1, seconds=68400)" in parsed_east[0]
    result = subprocess.run([sys.executable, "-m", "guard", "config", "check", "--compile", "--config", path],
                            capture_output=True, text=True, cwd=REPO, env=dict(os.environ, TZ="UTC0"))
    assert result.returncode == 0, result.stderr
    assert hook_config(path, tz="EST+5") == [parsed_east[0], False]
    assert hook_config(path, tz="UTC0") == [parsed_utc[0], False]


def test_a_date_out_of_range_in_the_local_zone_is_a_config_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[[exemptions]]\ndomain = "x"\nrules = ["*"]\nreason = "r"\nuntil = 9999-12-31T23:59:59\n')
    result = run("--config", str(path), env={"TZ": "EST+5"})
    assert result.returncode == 2 and ":5: exemptions[0].until: 9999-12-31 23:59:59 is out of range here" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_compile_and_show_are_one_or_the_other(policy):
    result = run("--compile", "--show", "--config", policy)
    assert result.returncode == 2 and "not allowed with" in result.stderr
    assert not os.path.exists(policy + ".compiled.json")


def test_compile_refuses_an_invalid_or_absent_config(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('mode = "loud"\n')
    result = run("--compile", "--config", str(bad))
    assert result.returncode == 2 and "mode" in result.stderr and not os.path.exists(str(bad) + ".compiled.json")
    missing = str(tmp_path / "missing.toml")
    result = run("--compile", "--config", missing)
    assert result.returncode == 2 and "no such config file" in result.stderr
