"""Two real libvirt hosts for the end-to-end tests: A (source) and B (destination, with
the hook installed before its daemon starts). They run for the whole session and are
stopped by pid at the end, whatever happened."""
import atexit
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
from support.harness import LibvirtHost, missing_requirements

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A site's own hook: records its arguments, changes nothing (empty stdout keeps the XML).
FOREIGN_HOOK = '#!/bin/sh\n# the site\'s own libvirt hook\necho "$*" >> %s\nexit 0\n'


class Destination:
    """B's guard side: its config, facts cache, audit log, as the hook sees them."""

    def __init__(self, host):
        self.host = host
        self.folder = host.guard_etc  # B sees it as /etc/migration-guard
        self.config = os.path.join(self.folder, "config.toml")
        self.facts = os.path.join(self.folder, "facts.json")
        self.audit = os.path.join(self.folder, "audit.log")
        self.bypass = os.path.join(self.folder, "bypass.json")
        self.pending = os.path.join(self.folder, "pending")
        self.false_allows = os.path.join(self.folder, "false-allows")

    def write_config(self, extra=""):
        with open(self.config, "w") as handle:
            handle.write(extra + '\n[paths]\nfacts = "%s"\naudit_log = "%s"\nbypass = "%s"\npending = "%s"\n'
                         'false_allows = "%s"\n' % (self.facts, self.audit, self.bypass, self.pending,
                                                     self.false_allows))

    def guard(self, *args, check=True):
        return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True,
                              cwd=REPO, check=check, env=dict(os.environ, MIGRATION_GUARD_CONFIG=self.config))

    def records(self):
        import json
        if not os.path.exists(self.audit):
            return []
        with open(self.audit) as handle:
            return [json.loads(line) for line in handle]


@pytest.fixture(scope="session")
def hosts():
    reason = missing_requirements()
    if reason:
        if os.environ.get("CI"):
            pytest.fail("end-to-end tests cannot run in CI: " + reason)
        pytest.skip(reason + "; run `make test` as root to run them")
    base = tempfile.mkdtemp(prefix="mg-e2e-")
    source = LibvirtHost("A", os.path.join(base, "A"))
    # The hook runs as libvirt runs it: hooks/qemu as installed (its PYTHON line naming the
    # venv's interpreter), libvirt's environment, the config at /etc/migration-guard.
    # ... installed in hooks/qemu.d beside the administrator's own hooks/qemu, which logs
    # every call it gets (test_install.py checks it keeps running).
    dest = LibvirtHost("B", os.path.join(base, "B"), hook=os.path.join(REPO, "hooks", "qemu"),
                       guard_etc=os.path.join(base, "B-guard"),
                       foreign_hook=FOREIGN_HOOK % os.path.join(base, "B-foreign-hook.log"))
    started = []

    def stop_all():
        for host in started:
            host.stop()
        started.clear()
    atexit.register(stop_all)
    try:
        source.prepare()
        dest.prepare()
        guard_side = Destination(dest)
        os.makedirs(guard_side.folder)
        guard_side.write_config()
        started.extend((source, dest))
        # Each fresh daemon probes QEMU once (seconds): start both at the same time.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda host: host.start(), (source, dest)))
        guard_side.guard("facts", "collect", "--uri", dest.uri, "--output", guard_side.facts)
        yield source, dest, guard_side
    finally:
        stop_all()
        shutil.rmtree(base, ignore_errors=True)
