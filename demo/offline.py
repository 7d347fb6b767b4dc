"""The offline demo: `migration-guard check` on bundled guests against a real Debian 12
host's libvirt documents (captured with virsh on libvirt 9.0 / QEMU 7.2)."""
import glob
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = os.path.join(REPO, "examples", "hosts", "debian12-libvirt9.0")


def guard(*args):
    return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True, cwd=REPO)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        facts = os.path.join(tmp, "debian12.json")
        domcaps = []
        for path in sorted(glob.glob(os.path.join(HOST, "domcapabilities-*.xml"))):
            domcaps += ["--domcapabilities", path]
        built = guard("facts", "build", "--capabilities", os.path.join(HOST, "capabilities.xml"), *domcaps,
                      "--qemu-version", "7.2.22", "--libvirt-version", "9.0.0", "--hostname", "debian12")
        if built.returncode:
            sys.stderr.write(built.stderr)
            return 1
        with open(facts, "w") as handle:
            handle.write(built.stdout)
        print("== destination: a real Debian 12 host (libvirt 9.0, QEMU 7.2), facts from its virsh documents\n")
        for guest in sorted(glob.glob(os.path.join(REPO, "examples", "guests", "*.xml"))):
            print("$ migration-guard check --domain-xml examples/guests/%s --facts debian12.json"
                  % os.path.basename(guest))
            result = guard("check", "--domain-xml", guest, "--facts", facts)
            print(result.stdout.rstrip())
            print("(exit %d: %s)\n" % (result.returncode, {0: "allow", 1: "deny"}.get(result.returncode, "error")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
