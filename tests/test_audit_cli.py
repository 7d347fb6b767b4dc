"""`migration-guard audit` over real hook records and rotated files."""
import gzip
import json
import os
import re
import subprocess
import sys

import pytest
from support.helpers import REPO
from test_hook import BIG, SMALL, Host, needs_root


def audit(host, *args):
    result = subprocess.run([sys.executable, "-m", "guard", "audit"] + list(args), capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_root
def test_audit_returns_every_record_and_filters(tmp_path):
    host = Host(str(tmp_path))
    assert host.run(xml=SMALL).returncode == 0
    assert host.run(name="big", xml=BIG).returncode == 1
    assert host.run(name="big", xml=BIG).returncode == 1
    with open(host.audit) as handle:
        stored = handle.read().splitlines()
    every = audit(host, "--format", "json").splitlines()
    assert every == stored  # exactly as stored
    denies = [json.loads(line) for line in audit(host, "--format", "json", "--decision", "deny").splitlines()]
    assert len(denies) == 2 and {r["domain"] for r in denies} == {"big"}
    # Each refusal is two records: the migrate hook's deferred decision and the prepare
    # hook's deny (guard.decide.deferral); both carry the finding.
    ruled = [json.loads(line)["decision"] for line in
             audit(host, "--format", "json", "--rule", "memory-size[limit]").splitlines()]
    assert ruled == ["deferred", "deny", "deferred", "deny"]
    assert len(audit(host, "--format", "json", "--rule", "memory-size").splitlines()) == 4
    assert len(audit(host, "--format", "json", "--domain", "sm*").splitlines()) == 1
    assert audit(host, "--format", "json", "--since", "2099-01-01T00:00:00Z") == ""
    assert len(audit(host, "--format", "json", "--since", "1h").splitlines()) == 5
    table = audit(host)
    assert "DECISION" in table and "(5 records)" in table
    # Refusals and warnings told apart in the RULES column.
    big_row = [row for row in table.splitlines() if " big " in row][0]
    assert "deny: memory-size[host],memory-size[limit]; warn: unverifiable[source-fingerprint]" in big_row
    # A misspelt code says so, with a suggestion, rather than silently listing 0 records.
    wrong = subprocess.run([sys.executable, "-m", "guard", "audit", "--rule", "memory-sise"], capture_output=True,
                           text=True, cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
    assert wrong.returncode == 0 and "did you mean memory-size" in wrong.stderr and "(0 records)" in wrong.stdout
    # The time column keeps the zone: milliseconds and Z, not microseconds cut short.
    times = [row.split()[0] for row in table.splitlines()[1:4]]
    assert all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", t) for t in times), times


def test_rotated_and_compressed_logs_are_read_oldest_first(tmp_path):
    host = Host(str(tmp_path), facts=False)
    os.makedirs(os.path.dirname(host.audit))

    def record(n):
        return json.dumps({"time": "2026-11-%02dT00:00:00Z" % n, "decision": "allow", "domain": "d%d" % n,
                           "findings": []})
    with gzip.open(host.audit + ".2.gz", "wt") as handle:
        handle.write(record(1) + "\n")
    with open(host.audit + ".1", "w") as handle:
        handle.write(record(2) + "\nnot json\n")
    with open(host.audit, "w") as handle:
        handle.write(record(3) + "\n")
    lines = audit(host, "--format", "json").splitlines()
    assert [json.loads(line)["domain"] for line in lines] == ["d1", "d2", "d3"]
    assert len(audit(host, "--format", "json", "--until", "2026-11-02T12:00:00Z").splitlines()) == 2


@pytest.mark.parametrize("args", [["--since", "yesterday-ish"], ["--decision", "maybe"]])
def test_bad_audit_arguments_exit_2(tmp_path, args):
    host = Host(str(tmp_path), facts=False)
    result = subprocess.run([sys.executable, "-m", "guard", "audit"] + args, capture_output=True, text=True,
                            cwd=REPO, env=dict(os.environ, MIGRATION_GUARD_CONFIG=host.config))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
