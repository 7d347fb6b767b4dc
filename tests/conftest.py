import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "rules"))

# Slow by where they live: real daemons (e2e), real migrations (differential), an RPM build,
# Ansible runs. `make check` deselects them with -m "not slow"; `make test` runs them all.
# A slow test elsewhere says so itself with @pytest.mark.slow.
SLOW_PATHS = tuple(os.path.join(HERE, name) for name in ("e2e" + os.sep, "differential" + os.sep, "test_rpm.py",
                                                          "test_ansible.py"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.path).startswith(SLOW_PATHS):  # item.path: pytest 7 or newer
            item.add_marker(pytest.mark.slow)
