"""The differential suite: real migrations between two differing libvirt hosts, compared
with the guard's decisions (tests/differential/README.md).

Not collected unless MG_DIFFERENTIAL=1, so `make test` does not run it yet:

    MG_DIFFERENTIAL=1 .venv/bin/python -m pytest tests/differential      # as root

The whole run (rig up, every guest, rig down) happens once, in the session fixture
`differential`; the tests then judge its results. The table is printed at the end of the
session and docs/accuracy.md is rewritten (MG_ACCURACY_DOC=PATH writes it elsewhere,
MG_ACCURACY_DOC= (empty) not at all); the raw results go to MG_DIFFERENTIAL_RESULTS if set.

MG_DIFFERENTIAL_ONLY=REGEX runs only the guests whose name it matches (re.search), to try
one difference: the tests of the others skip, and docs/accuracy.md is left alone.
"""
import os
import re
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

ENABLED = os.environ.get("MG_DIFFERENTIAL") == "1"
if not ENABLED:
    collect_ignore_glob = ["*.py"]

_RUN = {}


def _venv_bin():
    """The migration-guard of the venv running pytest (bootstrap's .venv, editable install)."""
    folder = os.path.dirname(sys.executable)
    if not os.path.exists(os.path.join(folder, "migration-guard")):
        pytest.fail("no migration-guard next to %s: run ./scripts/bootstrap.sh and use .venv/bin/python"
                    % sys.executable)
    return folder


def _live(config):
    """Print a progress line now, past pytest's output capture (the run takes minutes)."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def write(line):
        if capture is None:
            print(line, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(line, file=sys.stderr, flush=True)
    return write


@pytest.fixture(scope="session")
def differential(request):
    """Run every guest once, for real; the Suite (results, meta, cleanup problems)."""
    from differential import Suite
    from report import accuracy_markdown
    from rig import missing_rig_requirements

    reason = missing_rig_requirements()
    if reason:
        if os.environ.get("CI"):
            pytest.fail("the differential suite cannot run in CI: " + reason)
        pytest.skip(reason)
    from guests import GUESTS
    only = os.environ.get("MG_DIFFERENTIAL_ONLY")
    guests = tuple(g for g in GUESTS if re.search(only, g.name)) if only else GUESTS
    if not guests:
        pytest.fail("MG_DIFFERENTIAL_ONLY=%s matches no guest" % only)
    base = tempfile.mkdtemp(prefix="mg-diff-")
    suite = Suite(base, _venv_bin(), guests=guests, progress=_live(request.config))
    _RUN["suite"] = suite
    try:
        suite.run()
    finally:
        if os.environ.get("MG_DIFFERENTIAL_RESULTS"):
            suite.save(os.environ["MG_DIFFERENTIAL_RESULTS"])
        if os.environ.get("MG_DIFFERENTIAL_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)
    doc = os.environ.get("MG_ACCURACY_DOC", os.path.join(REPO, "docs", "accuracy.md"))
    if doc and suite.results and not suite.subset:
        with open(doc, "w") as handle:
            handle.write(accuracy_markdown(suite.results, suite.meta))
    return suite


def pytest_terminal_summary(terminalreporter):
    suite = _RUN.get("suite")
    if suite is None or not suite.results:
        return
    from report import table
    terminalreporter.section("differential: real migrations against the guard's decisions")
    terminalreporter.write_line(table(suite.results))
    terminalreporter.write_line("wall time %.0f s (rig up, %d guests, rig down)"
                                % (suite.meta.get("seconds", 0.0), len(suite.results)))
