"""Hook latency (not a test), measured side by side in one run:
- a non-migrate op against a bare `python -c pass` (target ratio <= 1.25);
- a migrate decision on a typical guest against the floor of importing its dependencies,
  `python -c "import lxml.etree, structlog, json"` (target <= 1.5);
- `migration-guard audit` streaming 100,000 records (target < 2 s)."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

from guard.facts.cache import facts_to_json  # noqa: E402
from helpers import debian12_facts, minimal_guest  # noqa: E402

RUNS = 30


def interleaved(*commands):
    """Median wall time of each (argv, stdin, env), the commands taking turns so that
    drift in the machine's speed hits all of them alike."""
    samples = [[] for _ in commands]
    for _ in range(RUNS):
        for (argv, stdin, env), times in zip(commands, samples):
            start = time.perf_counter()
            subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


def main():
    python = sys.executable
    hook = os.path.join(REPO, "hooks", "qemu")
    with tempfile.TemporaryDirectory() as tmp:
        facts = os.path.join(tmp, "facts.json")
        with open(facts, "w") as handle:
            handle.write(facts_to_json(debian12_facts()))
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as handle:
            handle.write('[paths]\nfacts = "%s"\naudit_log = "%s/audit.log"\nbypass = "%s/bypass"\n' % (facts, tmp, tmp))
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "MIGRATION_GUARD_CONFIG": config}
        xml = minimal_guest(name="web01").encode()
        # -I as the installed hook's shebang has it; the venv's python finds the package.
        bare, other_op, floor, migrate = interleaved(
            ([python, "-I", "-c", "pass"], b"", env),
            ([python, "-I", hook, "web01", "reconnect", "begin", "-"], xml, env),
            ([python, "-I", "-c", "import lxml.etree, structlog, json"], b"", env),
            ([python, "-I", hook, "web01", "migrate", "begin", "-"], xml, env))
        print("non-migrate op: %.1f ms vs python -c pass %.1f ms: ratio %.2f (target <= 1.25)"
              % (other_op * 1000, bare * 1000, other_op / bare))
        print("migrate decision: %.1f ms vs import floor %.1f ms: ratio %.2f (target <= 1.5)"
              % (migrate * 1000, floor * 1000, migrate / floor))
        log = os.path.join(tmp, "big-audit.log")
        record = {"time": "2026-11-28T00:00:00Z", "host": "hv01", "domain": "web01", "uuid": "u", "op": "migrate begin",
                  "decision": "deny", "mode": "enforce", "profile": "default",
                  "findings": [{"rule": "memory-size", "code": "memory-size[limit]", "action": "deny",
                                "message": "guest has 2 TiB of memory, over the 1 TiB limit"}]}
        with open(log, "w") as handle:
            for i in range(100000):
                record["domain"] = "web%05d" % i
                handle.write(json.dumps(record) + "\n")
        start = time.perf_counter()
        subprocess.run([python, "-m", "guard", "audit", "--log", log, "--format", "json", "--decision", "deny"],
                       stdout=subprocess.DEVNULL, check=True, env=env, cwd=REPO)
        json_time = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([python, "-m", "guard", "audit", "--log", log], stdout=subprocess.DEVNULL, check=True, env=env,
                       cwd=REPO)
        print("audit: 100,000 records in %.2f s (json), %.2f s (table); target < 2 s"
              % (json_time, time.perf_counter() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
