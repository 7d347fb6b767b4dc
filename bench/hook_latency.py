"""Hook latency (not a test), measured side by side in one run, with the hook installed as
packaging installs it (hooks/qemu, its PYTHON= line naming this interpreter):
- a non-migrate op (the sh front end exits) against `python3 -c pass` (target <= 0.3);
- a migrate decision on a typical guest against the floor of importing what it needs,
  with guard installed as on a host and as in the development venv,
  `python3 -I -c "import lxml.etree, json"` (target <= 1.35);
- `-X importtime`'s five most expensive of our own modules on the hook's path;
- `migration-guard audit` streaming 100,000 records (target < 2 s).
Run it with each Python: `.venv/bin/python bench/hook_latency.py`, `.venv39/bin/python ...`."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# This tree's guard, not whichever checkout the venv's editable install points at.
sys.path[:0] = [REPO, os.path.join(REPO, "tests")]

from support.helpers import debian12_facts, minimal_guest  # noqa: E402

from guard.facts.cache import as_collected, facts_to_json  # noqa: E402

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


def install_hook(folder, python):
    """hooks/qemu as packaging installs it, its PYTHON= line naming `python`."""
    hook = os.path.join(folder, "50-migration-guard-%s" % os.path.basename(os.path.dirname(os.path.dirname(python))))
    with open(os.path.join(REPO, "hooks", "qemu")) as handle:
        text = handle.read()
    with open(hook, "w") as handle:
        text = text.replace("DEFERRED=/run/migration-guard/deferred", "DEFERRED=%s" % os.path.join(folder, "deferred"))
        handle.write(text.replace("PYTHON=/usr/bin/python3", "PYTHON=%s" % python, 1))
    os.chmod(hook, 0o755)
    return hook


def version_of(python):
    return subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True,
                          text=True, check=True).stdout.strip()


def installed_layout(python, tmp):
    """An interpreter of the same Python that finds guard, lxml and tomli the way an RPM
    install does, as plain directories on sys.path. The development venv's site also loads
    the editable install's import finder (importlib.util, typing, inspect: about 20 ms)
    at every start, which the floor pays too: there the ratio looks better than it is on a
    host."""
    query = ("import json, site, sys; print(json.dumps([sys.base_prefix, 'python%d.%d' % sys.version_info[:2], "
             "site.getsitepackages()]))")
    base_prefix, name, site_dirs = json.loads(subprocess.run([python, "-c", query], capture_output=True, text=True,
                                                             check=True).stdout)
    venv = os.path.join(tmp, "installed-%s" % name)
    subprocess.run([os.path.join(base_prefix, "bin", name), "-m", "venv", "--without-pip", venv], check=True)
    installed = os.path.join(venv, "bin", "python")
    own_site = subprocess.run([installed, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                              text=True, check=True).stdout.strip()
    with open(os.path.join(own_site, "migration-guard-bench.pth"), "w") as handle:
        # .pth lines are added to sys.path; .pth files inside those directories are not read.
        handle.write("\n".join([REPO] + site_dirs) + "\n")
    return installed


def measure_hook(python, tmp, env, xml, layout):
    hook = install_hook(tmp, python)
    bare, other_op, floor, migrate = interleaved(
        ([python, "-c", "pass"], b"", env),
        ([hook, "web01", "reconnect", "begin", "-"], xml, env),
        ([python, "-I", "-c", "import lxml.etree, json"], b"", env),
        ([hook, "web01", "migrate", "begin", "-"], xml, env))
    print("Python %s, %s (%s)" % (version_of(python), layout, python))
    print("  non-migrate op: %.1f ms vs python -c pass %.1f ms: ratio %.2f (target <= 0.3)"
          % (other_op * 1000, bare * 1000, other_op / bare))
    print("  migrate decision: %.1f ms vs import floor %.1f ms: ratio %.2f (target <= 1.35)"
          % (migrate * 1000, floor * 1000, migrate / floor))
    print("  our five most expensive imports on the hook's path (-X importtime, cumulative us):")
    profile = subprocess.run([python, "-I", "-X", "importtime", "-c", "import lxml.etree, json, guard.hook"],
                             capture_output=True, text=True, env=env).stderr
    ours = []
    for line in profile.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip().startswith("guard"):
            ours.append((int(parts[1]), parts[2].strip()))
    for cumulative, name in sorted(ours, reverse=True)[:5]:
        print("    %7d us  %s" % (cumulative, name))


def measure_audit(python, tmp, env):
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


def pin_to_one_cpu():
    """Run this bench and every command it times on one CPU (children inherit it): a machine
    whose CPUs differ in speed, or share one with a busy neighbour, otherwise gives each
    sample the speed of whichever CPU it landed on (seen: a floor of 48 ms on one, 70 ms on
    the other, in the same run). Returns the CPU, or None where affinity cannot be set."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return cpu
    except (AttributeError, OSError):
        return None


def main():
    cpu = pin_to_one_cpu()
    print("pinned to CPU %s" % cpu if cpu is not None else "not pinned (no sched_setaffinity)")
    # This interpreter, and RHEL 9's Python version (the 3.9 venv) when it is there.
    pythons = [sys.executable]
    py39 = os.path.join(REPO, ".venv39", "bin", "python")
    if os.path.exists(py39) and os.path.realpath(py39) != os.path.realpath(sys.executable):
        pythons.append(py39)
    with tempfile.TemporaryDirectory() as tmp:
        facts = os.path.join(tmp, "facts.json")
        with open(facts, "w") as handle:
            handle.write(facts_to_json(as_collected(debian12_facts())))  # fresh: the usual decision
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as handle:
            handle.write('[paths]\nfacts = "%s"\naudit_log = "%s/audit.log"\nbypass = "%s/bypass"\n'
                         'pending = "%s/pending"\n' % (facts, tmp, tmp, tmp))
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "MIGRATION_GUARD_CONFIG": config}
        # As packaging leaves a host: the config compiled (`config check --compile`).
        subprocess.run([sys.executable, "-m", "guard", "config", "check", "--compile", "--config", config],
                       check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        xml = minimal_guest(name="web01").encode()
        for python in pythons:
            measure_hook(installed_layout(python, tmp), tmp, env, xml, "installed layout (as on a host)")
            measure_hook(python, tmp, env, xml, "development venv (editable install)")
        measure_audit(sys.executable, tmp, env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
