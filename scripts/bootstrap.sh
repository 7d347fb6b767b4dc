#!/usr/bin/env bash
# Everything the tests and the demo need on a fresh machine: system packages (as root,
# with apt-get, when missing), virtual environments for the default Python and 3.9, and
# .venv-ansible (ansible-core and ansible-lint, for ansible/ and tests/test_ansible.py).
set -euo pipefail
cd "$(dirname "$0")/.."

# swtpm: the differential suite's TPM guests (A runs the TPM emulator; B is built without it).
SYSTEM_PACKAGES="libvirt-daemon-system libvirt-clients qemu-system-x86 libvirt-dev pkg-config gcc python3-dev rpm rpmlint make swtpm swtpm-tools"

need_system() {
    for tool in libvirtd virsh qemu-system-x86_64 pkg-config rpmbuild rpmlint swtpm; do
        command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || return 0
    done
    pkg-config --exists libvirt 2>/dev/null || return 0
    return 1
}

if need_system; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "bootstrap: installing system packages: $SYSTEM_PACKAGES"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends $SYSTEM_PACKAGES >/dev/null
    else
        echo "bootstrap: libvirt/QEMU/rpm tools missing and not root with apt-get: e2e and RPM tests will skip" >&2
    fi
fi

# The versions RHEL 9 ships (python3-lxml, python3-tomli; python3-libvirt follows libvirt
# 9.x, pinned below to the host's libvirt) and the structlog the RPM bundles.
RHEL9_PINS="lxml==4.6.5 tomli==2.0.1"
STRUCTLOG_PIN="$(sed -n 's/^\(structlog==[^ ]*\).*/\1/p' packaging/bundled.txt)"

libvirt_pin() {
    # The binding is compiled against the host's libvirt; pin the host's version.
    if pkg-config --exists libvirt 2>/dev/null; then echo "libvirt-python==$(pkg-config --modversion libvirt)"; fi
}

make_venv() {  # make_venv PYTHON DIR [PINS]
    local python="$1" dir="$2" pins="${3:-lxml tomli}"
    if [ ! -x "$dir/bin/python" ]; then
        "$python" -m venv "$dir"
    fi
    # prometheus_client: tests parse `metrics` output with it; the package never imports it.
    local extras="$STRUCTLOG_PIN pytest hypothesis setuptools>=61 wheel prometheus_client $(libvirt_pin)"
    if "$dir/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        extras="$extras $(echo "$pins" | tr ' ' '\n' | grep -v '^tomli' | tr '\n' ' ')"
    else
        extras="$extras $pins"
    fi
    [ "$dir" = .venv ] && extras="$extras ruff"  # the linter runs once, with the default Python
    "$dir/bin/pip" install -q --disable-pip-version-check $extras
    "$dir/bin/pip" install -q --disable-pip-version-check --no-deps -e .
}

make_venv "${PYTHON:-python3}" .venv
# `make demo` and `make rpm` need only .venv (and the system packages): the 3.9 and Ansible
# venvs are for the tests.
case "${1:-}" in --demo|--build) exit 0 ;; esac
PY39="${PY39:-$(ls -d "$HOME"/.pyenv/versions/3.9*/bin/python 2>/dev/null | tail -n 1 || true)}"
[ -n "$PY39" ] || PY39="$(command -v python3.9 || true)"
if [ -n "$PY39" ]; then
    make_venv "$PY39" .venv39 "$RHEL9_PINS"
    # A stand-in for RHEL 9's /usr/bin/python3 with only what the RPM requires (no pytest,
    # no structlog): tests/test_rpm.py runs the installed payload with it.
    [ -x .venv39-rhel/bin/python ] || "$PY39" -m venv .venv39-rhel
    .venv39-rhel/bin/pip install -q --disable-pip-version-check $RHEL9_PINS $(libvirt_pin)
else
    echo "bootstrap: no Python 3.9 found (pyenv or python3.9): the 3.9 run will be skipped" >&2
fi

# Ansible's controller needs a recent Python: ansible-core 2.19 refuses anything before
# 3.11, which rules out RHEL 9's own 3.9. Its own venv keeps it out of .venv, and only the
# Ansible tests use it: without such a Python they skip, saying so (an RPM build never needs it).
# Pinned: ansible-lint's rules change between releases.
ansible_python() {
    local candidate
    for candidate in "${ANSIBLE_PYTHON:-}" python3.13 python3.12 python3.11 python3 \
            $(ls -d "$HOME"/.pyenv/versions/3.1[1-9]*/bin/python 2>/dev/null || true); do
        [ -n "$candidate" ] || continue
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
if [ ! -x .venv-ansible/bin/ansible-lint ]; then
    if PYTHON_FOR_ANSIBLE="$(ansible_python)"; then
        "$PYTHON_FOR_ANSIBLE" -m venv .venv-ansible
    else
        echo "bootstrap: no Python 3.11 or newer for ansible-core 2.19: the Ansible tests will skip" >&2
        exit 0
    fi
fi
.venv-ansible/bin/pip install -q --disable-pip-version-check ansible-core==2.19.14 ansible-lint==26.10.1
