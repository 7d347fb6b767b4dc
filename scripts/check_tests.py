"""`make check`'s tests: `pytest -m "not slow"` over the test files, split across one pytest
process per CPU (at most 4), each file whole in one of them, the files dealt out by size so
the processes finish together. Prints each process's output when it ends; exits non-zero if
any failed. Most of the fast suite's time is processes it starts (the hook, the CLI), so it
scales with the cores a machine has; one CPU runs it as one plain pytest.

    python scripts/check_tests.py [PYTEST ARGS...]
"""
import glob
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_files():
    files = glob.glob(os.path.join("tests", "test_*.py")) + glob.glob(os.path.join("tests", "rules", "test_*.py"))
    return sorted(files, key=lambda path: (-os.path.getsize(path), path))


def deal(files, count):
    """The files in `count` groups of about equal size, largest first."""
    groups = [[] for _ in range(count)]
    sizes = [0] * count
    for path in files:
        smallest = sizes.index(min(sizes))
        groups[smallest].append(path)
        sizes[smallest] += os.path.getsize(path)
    return [group for group in groups if group]


def main(extra):
    os.chdir(REPO)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    groups = deal(test_files(), max(1, min(4, cpus)))
    started = time.monotonic()
    runs = [subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-m", "not slow"] + extra + group,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for group in groups]
    failed = 0
    for index, run in enumerate(runs):
        output, _ = run.communicate()
        print("== pytest %d of %d (%d files) ==" % (index + 1, len(runs), len(groups[index])))
        print(output.rstrip())
        failed |= run.returncode != 0
    print("== %d pytest processes: %s in %.0f s ==" % (len(runs), "FAILED" if failed else "passed",
                                                     time.monotonic() - started))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
