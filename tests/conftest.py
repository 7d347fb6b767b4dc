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


# The hook leaves each migration it lets through in [paths] pending, by default under the
# machine's own /run. A test hook must point it at its own folder: fail a run that leaked.
MACHINE_PENDING = "/run/migration-guard/pending"


def _pending_here():
    try:
        return set(os.listdir(MACHINE_PENDING))
    except OSError:
        return set()


@pytest.fixture(autouse=True, scope="session")
def no_decisions_left_in_the_machines_run():
    before = _pending_here()
    yield
    leaked = sorted(_pending_here() - before)
    assert not leaked, "tests left decisions in %s (set [paths] pending in the test's config): %s" % (
        MACHINE_PENDING, leaked[:4])
