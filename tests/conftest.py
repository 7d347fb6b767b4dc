import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

# Slow by where they live: real daemons (e2e), real migrations (differential), an RPM build,
# Ansible runs. `make check` deselects them with -m "not slow"; `make test` runs them all.
# A slow test elsewhere says so itself with @pytest.mark.slow.
SLOW_PATHS = tuple(os.path.join(HERE, name) for name in ("e2e" + os.sep, "differential" + os.sep, "test_rpm.py",
                                                          "test_ansible.py"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(SLOW_PATHS):  # item.path: pytest 7 or newer
            item.add_marker(pytest.mark.slow)


# The hook leaves each migration it lets through in [paths] pending, and each refusal it
# defers to prepare in its front end's DEFERRED= folder, by default under the machine's own
# /run. A test hook must point both at its own folders: fail a run that leaked.
MACHINE_FOLDERS = {"/run/migration-guard/pending": "set [paths] pending in the test's config",
                   "/run/migration-guard/deferred": "rewrite the hook's DEFERRED= line, as tests/test_hook.py does"}


def _left_here(folder):
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


@pytest.fixture(autouse=True, scope="session")
def no_decisions_left_in_the_machines_run():
    before = {folder: _left_here(folder) for folder in MACHINE_FOLDERS}
    yield
    for folder, how in MACHINE_FOLDERS.items():
        leaked = sorted(_left_here(folder) - before[folder])
        assert not leaked, "tests left files in %s (%s): %s" % (folder, how, leaked[:4])
