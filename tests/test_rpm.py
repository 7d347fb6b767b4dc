"""The RPM: build it, lint it, check its payload and requirements, install it into a
scratch root and run the installed hook. Needs rpmbuild and rpmlint (CI installs them)."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest
from support.helpers import REPO, minimal_guest

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


SPEC = os.path.join(REPO, "packaging", "migration-guard.spec")
RHEL_PYTHON = os.path.join(REPO, ".venv39-rhel", "bin", "python")  # made by scripts/bootstrap.sh


def allowed_requirements():
    """The RHEL 9 + EPEL 9 packages the spec's comments list (`#   rhel9-epel9: ...`)."""
    with open(SPEC) as handle:
        return {name for line in handle for name in (line.split("rhel9-epel9:", 1)[1].split()
                                                     if "rhel9-epel9:" in line else ())}


def test_payload_and_requirements(packages):
    files = set(rpm_query(packages[0], "-l").split())
    for path in ("/etc/libvirt/hooks/qemu.d/50-migration-guard", "/usr/bin/migration-guard", "/etc/migration-guard/config.toml",
                 "/usr/lib/systemd/system/migration-guard-watch.service",
                 "/usr/lib/systemd/system/migration-guard-collect.service",
                 "/usr/lib/systemd/system/migration-guard-collect.timer", "/etc/logrotate.d/migration-guard",
                 "/usr/lib/tmpfiles.d/migration-guard.conf", "/usr/lib/python3.9/site-packages/guard/hook.py",
                 "/usr/lib/systemd/catalog/migration-guard.catalog",
                 "/usr/share/bash-completion/completions/migration-guard",
                 "/usr/share/migration-guard/bundled/structlog/__init__.py"):
        assert path in files, path
    assert "/etc/libvirt/hooks/qemu" not in files  # the administrator's slot stays theirs
    assert not any(p.startswith("/usr/lib/python3.9/site-packages/structlog") for p in files)  # never shadows
    assert any(p.startswith("/usr/share/man/man1/migration-guard.1") for p in files)
    assert "/etc/migration-guard/config.toml" in rpm_query(packages[0], "-c").split()
    requires = set(line.split()[0] for line in rpm_query(packages[0], "-R").splitlines())
    own = set(line.split()[0] for line in rpm_query(packages[0], "--provides").splitlines())
    requires = {r for r in requires if not r.startswith("rpmlib(") and r not in own}
    assert {"python3-lxml", "python3-libvirt", "python3-tomli", "libvirt-daemon", "logrotate"} <= requires
    assert not [r for r in requires if "structlog" in r]
    assert requires <= allowed_requirements(), requires - allowed_requirements()
    provides = rpm_query(packages[0], "--provides")
    with open(os.path.join(REPO, "packaging", "bundled.txt")) as handle:
        pinned = re.search(r"^structlog==(\S+)", handle.read(), re.M).group(1)
    assert "bundled(python3dist(structlog)) = %s" % pinned in provides
    licenses = rpm_query(packages[0], "-L").split()
    assert any(p.endswith("LICENSE-MIT") for p in licenses) and any(p.endswith("LICENSE-APACHE") for p in licenses)
    scripts = rpm_query(packages[0], "--scripts")
    assert "migration-guard hook-activate" in scripts and "preset migration-guard-watch.service" in scripts
    assert "systemd-tmpfiles --create" in scripts
    assert "is not migration-guard's" not in scripts  # no refusal of a foreign hooks/qemu
    # Installs restart no libvirt daemon (issue 22): hook-activate only reports, and nothing
    # else in the scriptlets names one.
    commands = "\n".join(line for line in scripts.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"(restart|reload)\S*\s+\S*(virtqemud|libvirtd)", commands), commands
    assert "migration-guard activate" not in commands


def test_spec_post_restarts_nothing():
    """The same, read from the spec, where the RPM cannot be built (no rpmbuild)."""
    with open(os.path.join(REPO, "packaging", "migration-guard.spec")) as handle:
        spec = handle.read()
    post = re.split(r"\n%(?:posttrans|preun|postun|files|changelog)\b", spec.split("\n%post\n", 1)[1])[0]
    commands = "\n".join(line for line in post.splitlines() if not line.lstrip().startswith("#"))
    assert "migration-guard hook-activate" in commands
    assert not re.search(r"restart|virtqemud|libvirtd|migration-guard activate", commands), commands


def test_source_rpm_carries_the_pinned_wheel(packages):
    sources = rpm_query(packages[1], "-l").split()
    assert any(re.match(r"structlog-[0-9.]+-py3-none-any\.whl$", name) for name in sources), sources


@pytest.fixture
def rhel_python():
    if not os.access(RHEL_PYTHON, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail("%s is missing: scripts/bootstrap.sh makes it" % RHEL_PYTHON)
        pytest.skip("no Python 3.9 stand-in for RHEL 9 (.venv39-rhel): run scripts/bootstrap.sh")
    # What RHEL 9 + EPEL 9 give: lxml, tomli, libvirt; not structlog, not pytest.
    probe = subprocess.run([RHEL_PYTHON, "-c", "import lxml, tomli, libvirt, sys; print(sys.version_info[:2])"],
                           capture_output=True, text=True)
    assert probe.returncode == 0 and probe.stdout.strip() == "(3, 9)", probe.stderr
    assert subprocess.run([RHEL_PYTHON, "-c", "import structlog"], capture_output=True).returncode != 0
    return RHEL_PYTHON


def test_scratch_root_install_runs_the_hook(packages, tmp_path, rhel_python):
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
    # a Python 3.9 with only RHEL 9's lxml, tomli and libvirt, with that folder first on
    # its path (-I would drop PYTHONPATH).
    python = tmp_path / "rhel-python3"
    python.write_text('#!/bin/sh\n[ "$1" = -I ] && shift\nPYTHONPATH=%s exec %s -s "$@"\n' % (sitelib, rhel_python))
    python.chmod(0o755)
    hook = str(tmp_path / "50-migration-guard")
    deferred = str(tmp_path / "deferred")
    with open(hook, "w") as handle:
        handle.write(text.replace("PYTHON=/usr/bin/python3", "PYTHON=%s" % python).replace(
            "DEFERRED=/run/migration-guard/deferred", "DEFERRED=%s" % deferred))
    os.chmod(hook, 0o755)
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C", "PYTHONPATH": sitelib,
           "MIGRATION_GUARD_CONFIG": str(tmp_path / "config.toml")}
    # Run from a neutral folder: the checkout's guard/ must not shadow the installed one.
    where = subprocess.run([rhel_python, "-c", "import guard; print(guard.__file__)"], env=env, cwd=root,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(sitelib)  # the installed package, not the checkout
    (tmp_path / "config.toml").write_text('[paths]\nfacts = "%s/none.json"\naudit_log = "%s/audit.log"\n'
                                          'bypass = "%s/bypass.json"\n' % (tmp_path, tmp_path, tmp_path))
    start = subprocess.run([hook, "vm1", "start", "begin", "-"], input=b"<domain/>", env=env,
                           cwd=root, capture_output=True)
    assert (start.returncode, start.stdout, start.stderr) == (0, b"", b"")
    big = minimal_guest(name="big", memory="2 TiB").encode()
    # A live migration: the migrate hook defers the refusal (an offline migration would go
    # ahead), the prepare hook makes it before QEMU starts.
    deferring = subprocess.run([hook, "big", "migrate", "begin", "-"], input=big, env=env, cwd=root,
                               capture_output=True)
    assert (deferring.returncode, deferring.stdout) == (0, b"") and os.path.isdir(os.path.join(deferred, "big"))
    refused = subprocess.run([hook, "big", "prepare", "begin", "-"], input=big, env=env,
                             cwd=root, capture_output=True)
    assert refused.returncode == 1 and refused.stdout == b""
    assert b"[memory-size[limit]]" in refused.stderr
    cli = subprocess.run([rhel_python, os.path.join(root, "usr", "bin", "migration-guard"), "audit",
                          "--format", "json", "--decision", "deny"], env=env, cwd=root, capture_output=True,
                         text=True)
    assert cli.returncode == 0 and '"domain": "big"' in cli.stdout.replace('":"', '": "')
    # The collector imports structlog: RHEL has none, so the bundled copy, and only that way.
    watch = subprocess.run([rhel_python, "-c", "import sys, guard.services.watch, structlog; "
                            "print(structlog.__file__); print(sys.path[-1])"], env=env, cwd=root,
                           capture_output=True, text=True)
    assert watch.returncode == 0, watch.stderr
    bundled = os.path.join(root, "usr", "share", "migration-guard", "bundled")
    assert watch.stdout.split() == [os.path.join(bundled, "structlog", "__init__.py"), bundled]


def installed_cli(root, rhel_python, tmp_path, *args):
    """The installed migration-guard, run by RHEL 9's Python stand-in, with a stand-in
    systemctl on PATH (systemd does not run here): no libvirt daemon active, the watch
    service enabled and the timer not."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    systemctl = bin_dir / "systemctl"
    systemctl.write_text('#!/bin/sh\ncase "$1" in\n'
                         '  show) printf "ActiveState=inactive\\nMainPID=0\\n" ;;\n'
                         '  is-enabled) case "$2" in migration-guard-watch.service) echo enabled ;; '
                         '*) echo disabled; exit 1 ;; esac ;;\n'
                         '  *) exit 1 ;;\nesac\n')
    systemctl.chmod(0o755)
    sitelib = os.path.join(root, "usr", "lib", "python3.9", "site-packages")
    env = {"PATH": "%s:%s" % (bin_dir, os.environ["PATH"]), "LC_ALL": "C", "PYTHONPATH": sitelib}
    return subprocess.run([rhel_python, os.path.join(root, "usr", "bin", "migration-guard")] + list(args),
                          env=env, cwd=root, capture_output=True, text=True)


@pytest.fixture
def scratch_root(packages, tmp_path):
    root = str(tmp_path / "root")
    subprocess.run(["rpm", "--root", root, "--initdb"], check=True)
    installed = subprocess.run(["rpm", "--root", root, "-i", "--nodeps", "--noscripts", packages[0]],
                               capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    config = tmp_path / "config.toml"
    config.write_text('[paths]\nfacts = "%s/facts.json"\naudit_log = "%s/log/audit.log"\nbypass = "%s/bypass.json"\n'
                      % (tmp_path, tmp_path, tmp_path))
    return root, str(config)


def test_scratch_root_status(scratch_root, rhel_python, tmp_path):
    root, config = scratch_root
    hooks = os.path.join(root, "etc", "libvirt", "hooks")
    args = ("status", "--format", "json", "--config", config, "--hooks-dir", hooks, "--marker", str(tmp_path / "m"))
    result = installed_cli(root, rhel_python, tmp_path, *args)
    # No facts yet: the hook would refuse every migration (on_error deny), so NOT ENFORCING.
    assert result.returncode == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["enforcing"] is False and data["verdict"] == "NOT ENFORCING" and "facts" in data["why"]
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["hook"]["result"] == "pass" and "qemu.d/50-migration-guard" in checks["hook"]["message"]
    assert checks["daemon"]["result"] == "pass" and "no libvirt daemon" in checks["daemon"]["message"]
    assert checks["config"]["result"] == "pass" and checks["audit-log"]["result"] == "pass"
    assert checks["facts"]["result"] == "fail" and "missing" in checks["facts"]["message"]
    assert checks["bypass"]["result"] == "pass"
    assert checks["collector"]["result"] == "pass" and "watch" in checks["collector"]["message"]
    # A bypass set with the installed CLI shows up with who and why; an unusable config fails.
    assert installed_cli(root, rhel_python, tmp_path, "bypass", "--for", "1h", "--reason", "INC0042",
                         "--config", config).returncode == 0
    text = installed_cli(root, rhel_python, tmp_path, *args[:1] + args[3:])
    line = [ln for ln in text.stdout.splitlines() if ln.startswith("bypass")][0]
    assert "WARN" in line and "INC0042" in line and "set by" in line
    with open(config, "a") as handle:
        handle.write("colour = 'blue'\n")
    broken = installed_cli(root, rhel_python, tmp_path, *args)
    assert broken.returncode == 1
    assert {c["name"]: c["result"] for c in json.loads(broken.stdout)["checks"]}["config"] == "fail"


def test_scratch_root_config_check(scratch_root, rhel_python, tmp_path):
    root, config = scratch_root
    good = installed_cli(root, rhel_python, tmp_path, "config", "check", "--config", config)
    assert good.returncode == 0, good.stderr
    shipped = installed_cli(root, rhel_python, tmp_path, "config", "check", "--config",
                            os.path.join(root, "etc", "migration-guard", "config.toml"))
    assert shipped.returncode == 0, shipped.stderr
    with open(config, "a") as handle:
        handle.write("colour = 'blue'\n")
    bad = installed_cli(root, rhel_python, tmp_path, "config", "check", "--config", config)
    assert bad.returncode == 2 and "colour" in bad.stderr


def _scriptlet(package, name):
    scripts = rpm_query(package, "--scripts")
    return scripts.split("%s scriptlet (using /bin/sh):\n" % name, 1)[1].split(" scriptlet (using")[0].rsplit("\n", 1)[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount namespace")
@pytest.mark.parametrize("existing", ["foreign", "ours-old-layout", None])
def test_upgrade_from_old_layout_removes_only_our_old_hook(packages, existing):
    folder = tempfile.mkdtemp(prefix="mg-hooks-")
    old_hook = ("#!/usr/bin/python3 -I\n# migration-guard's libvirt hook, installed as /etc/libvirt/hooks/qemu.\n"
                "import sys\n")
    foreign = "#!/bin/sh\n# the site's own hook (VFIO helper)\nexit 0\n"
    try:
        if existing:
            with open(os.path.join(folder, "qemu"), "w") as handle:
                handle.write(foreign if existing == "foreign" else old_hook)
        pre, posttrans = _scriptlet(packages[0], "preinstall"), _scriptlet(packages[0], "posttrans")
        # The scriptlets see a private /etc/libvirt/hooks: the machine's own is not touched.
        for script, arg in ((pre, "2"), (posttrans, "")):
            result = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                     'mkdir -p /etc/libvirt/hooks && mount --bind "$0" /etc/libvirt/hooks && '
                                     'PATH=/nonexistent:$PATH sh -c "$1" scriptlet %s' % arg, folder, script],
                                    capture_output=True, text=True)
            assert result.returncode == 0, result.stderr  # never refuses, whatever is there
        path = os.path.join(folder, "qemu")
        if existing == "foreign":
            with open(path) as handle:
                assert handle.read() == foreign  # untouched
        else:
            assert not os.path.exists(path)
            if existing:
                assert "removed the old hook" in result.stdout
    finally:
        shutil.rmtree(folder)
