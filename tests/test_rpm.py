"""The RPM: build it, lint it, check its payload and requirements, install it into a
scratch root and run the installed hook. Needs rpmbuild and rpmlint (CI installs them)."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from helpers import REPO, minimal_guest

pytestmark = pytest.mark.skipif(
    shutil.which("rpmbuild") is None or shutil.which("rpmlint") is None,
    reason="rpmbuild/rpmlint missing: apt-get install rpm rpmlint (CI installs them)")


@pytest.fixture(scope="module")
def packages():
    for old in glob.glob(os.path.join(REPO, "dist", "*.rpm")):
        os.unlink(old)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    result = subprocess.run(["make", "rpm-build"], cwd=REPO, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    binary = glob.glob(os.path.join(REPO, "dist", "migration-guard-*.noarch.rpm"))
    source = glob.glob(os.path.join(REPO, "dist", "migration-guard-*.src.rpm"))
    assert len(binary) == 1 and len(source) == 1
    return binary[0], source[0]


def rpm_query(package, *flags):
    return subprocess.run(["rpm", "-qp"] + list(flags) + [package], capture_output=True, text=True,
                          check=True).stdout


def test_rpmlint_reports_no_errors(packages):
    result = subprocess.run(["rpmlint", "-r", os.path.join(REPO, "packaging", "rpmlintrc"), packages[0], packages[1],
                             os.path.join(REPO, "packaging", "migration-guard.spec")], capture_output=True, text=True)
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b0 errors\b", summary), result.stdout


def test_payload_and_requirements(packages):
    files = set(rpm_query(packages[0], "-l").split())
    for path in ("/etc/libvirt/hooks/qemu.d/50-migration-guard", "/usr/bin/migration-guard", "/etc/migration-guard/config.toml",
                 "/usr/lib/systemd/system/migration-guard-watch.service",
                 "/usr/lib/systemd/system/migration-guard-collect.service",
                 "/usr/lib/systemd/system/migration-guard-collect.timer", "/etc/logrotate.d/migration-guard",
                 "/usr/lib/tmpfiles.d/migration-guard.conf", "/usr/lib/python3.9/site-packages/guard/hook.py"):
        assert path in files, path
    assert any(p.startswith("/usr/share/man/man1/migration-guard.1") for p in files)
    assert "/etc/migration-guard/config.toml" in rpm_query(packages[0], "-c").split()
    requires = set(line.split()[0] for line in rpm_query(packages[0], "-R").splitlines())
    assert {"python3-lxml", "python3-libvirt", "python3-structlog", "python3-tomli", "libvirt-daemon"} <= requires
    scripts = rpm_query(packages[0], "--scripts")
    assert "systemctl restart $daemon" in scripts and "preset migration-guard-watch.service" in scripts


def test_scratch_root_install_runs_the_hook(packages, tmp_path):
    root = str(tmp_path / "root")
    subprocess.run(["rpm", "--root", root, "--initdb"], check=True)
    installed = subprocess.run(["rpm", "--root", root, "-i", "--nodeps", "--noscripts", packages[0]],
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    installed_hook = os.path.join(root, "etc", "libvirt", "hooks", "qemu.d", "50-migration-guard")
    assert os.access(installed_hook, os.X_OK)
    with open(installed_hook) as handle:
        text = handle.read()
    assert text.startswith("#!/bin/sh\n") and re.findall(r"^PYTHON=.*$", text, re.M) == ["PYTHON=/usr/bin/python3"]
    sitelib = os.path.join(root, "usr", "lib", "python3.9", "site-packages")
    # Stand-in for RHEL's /usr/bin/python3, whose site-packages is the package's sitelib:
    # the venv's interpreter with that folder first on its path (-I would drop PYTHONPATH).
    python = tmp_path / "rhel-python3"
    python.write_text('#!/bin/sh\n[ "$1" = -I ] && shift\nPYTHONPATH=%s exec %s -s "$@"\n' % (sitelib, sys.executable))
    python.chmod(0o755)
    hook = str(tmp_path / "50-migration-guard")
    with open(hook, "w") as handle:
        handle.write(text.replace("PYTHON=/usr/bin/python3", "PYTHON=%s" % python))
    os.chmod(hook, 0o755)
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C", "PYTHONPATH": sitelib,
           "MIGRATION_GUARD_CONFIG": str(tmp_path / "config.toml")}
    # Run from a neutral folder: the checkout's guard/ must not shadow the installed one.
    where = subprocess.run([sys.executable, "-c", "import guard; print(guard.__file__)"], env=env, cwd=root,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(sitelib)  # the installed package, not the checkout
    (tmp_path / "config.toml").write_text('[paths]\nfacts = "%s/none.json"\naudit_log = "%s/audit.log"\n'
                                          'bypass = "%s/bypass.json"\n' % (tmp_path, tmp_path, tmp_path))
    start = subprocess.run([hook, "vm1", "start", "begin", "-"], input=b"<domain/>", env=env,
                           cwd=root, capture_output=True)
    assert (start.returncode, start.stdout, start.stderr) == (0, b"", b"")
    big = minimal_guest(name="big", memory="2 TiB").encode()
    refused = subprocess.run([hook, "big", "migrate", "begin", "-"], input=big, env=env,
                             cwd=root, capture_output=True)
    assert refused.returncode == 1 and refused.stdout == b""
    assert b"[memory-size[limit]]" in refused.stderr
    cli = subprocess.run([sys.executable, os.path.join(root, "usr", "bin", "migration-guard"), "audit",
                          "--format", "json", "--decision", "deny"], env=env, cwd=root, capture_output=True,
                         text=True)
    assert cli.returncode == 0 and '"domain": "big"' in cli.stdout.replace('":"', '": "')


def _preinstall(package):
    scripts = rpm_query(package, "--scripts")
    return scripts.split("preinstall scriptlet (using /bin/sh):\n", 1)[1].split("\npostinstall scriptlet")[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount namespace")
@pytest.mark.parametrize("existing, refused", [(None, False), ("ours", False), ("foreign", True)])
def test_existing_foreign_hook_stops_the_install(packages, existing, refused):
    folder = tempfile.mkdtemp(prefix="mg-hooks-")
    try:
        if existing == "ours":
            shutil.copy(os.path.join(REPO, "hooks", "qemu"), os.path.join(folder, "qemu"))
        elif existing == "foreign":
            with open(os.path.join(folder, "qemu"), "w") as handle:
                handle.write("#!/bin/sh\n# the site's own hook\nexit 0\n")
        script = _preinstall(packages[0])
        # The scriptlet sees a private /etc/libvirt/hooks: the machine's own is not touched.
        result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                 'mkdir -p /etc/libvirt/hooks && mount --bind "$0" /etc/libvirt/hooks && '
                                 'sh -c "$1" pre 1', folder, script], capture_output=True, text=True)
        assert (result.returncode != 0) == refused, result.stderr
        if refused:
            assert "qemu.d" in result.stderr and "nothing was installed" in result.stderr
            assert os.path.exists(os.path.join(folder, "qemu"))  # left exactly where it was
    finally:
        shutil.rmtree(folder)
