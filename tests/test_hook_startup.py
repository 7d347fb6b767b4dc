"""What importing guard.hook leaves behind: it pauses the cyclic garbage collector while
the hook's modules load (guard/hook.py, top) and resumes it for every other importer."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("before, after", [("", "True"), ("gc.disable()", "False")])
def test_importing_the_hook_leaves_the_collector_as_it_was(before, after):
    code = "import gc\n%s\nimport guard.hook\nprint(gc.isenabled())" % before
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == after


def test_the_hooks_modules_load_with_the_collector_paused():
    """No collection from the hook's first import (guard.output.escaping) to the end of its own."""
    code = ("import gc, sys\nruns, done = [], []\n"
            "gc.callbacks.append(lambda phase, info: runs.append(info) if phase == 'start' and not done "
            "and 'guard.output.escaping' in sys.modules else None)\n"
            "import guard.hook\ndone.append(1)\nprint(len(runs), len(sys.modules))")
    for _ in range(3):
        runs, modules = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                                       check=True).stdout.split()
        assert runs == "0" and int(modules) > 100  # lxml, json and some fifty of ours loaded meanwhile
