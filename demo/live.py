"""The live demo: two real libvirt hosts on this machine, the hook on the destination, one
accepted and one refused live migration, and the audit trail. Needs root."""
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))

from support.harness import LibvirtHost, guest_xml, migrate, missing_requirements  # noqa: E402


def say(text=""):
    print(text, flush=True)


def guard(config, *args):
    return subprocess.run([sys.executable, "-m", "guard"] + list(args), capture_output=True, text=True, cwd=REPO,
                          env=dict(os.environ, MIGRATION_GUARD_CONFIG=config))


def unavailable():
    return missing_requirements()


def main():
    base = tempfile.mkdtemp(prefix="mg-demo-")
    source = LibvirtHost("hv-a", os.path.join(base, "A"))
    folder = os.path.join(base, "guard-B")  # hv-b sees it as /etc/migration-guard
    dest = LibvirtHost("hv-b", os.path.join(base, "B"), hook=os.path.join(REPO, "hooks", "qemu"), guard_etc=folder)
    started = []
    try:
        os.makedirs(folder)
        config = os.path.join(folder, "config.toml")
        with open(config, "w") as handle:
            handle.write('# demo: a tiny memory limit so that a 128 MiB guest is "too big"\n'
                         '[memory]\nlimit = "100 MiB"\n[paths]\nfacts = "%s/facts.json"\n'
                         'audit_log = "%s/audit.log"\nbypass = "%s/bypass.json"\n' % (folder, folder, folder))
        source.prepare()
        dest.prepare()  # installs the hook into hv-b's hooks/qemu.d, naming this Python
        say("== starting two libvirt hosts (hv-a, hv-b); hv-b has the migration-guard hook and "
            "[memory] limit = \"100 MiB\"")
        for host in (source, dest):
            started.append(host)
            host.start()
        guard(config, "facts", "collect", "--uri", dest.uri, "--output", os.path.join(folder, "facts.json"))
        source.define_and_start(guest_xml("web01", memory_mib=64))
        source.define_and_start(guest_xml("big01", memory_mib=128))
        say("== hv-a runs web01 (64 MiB) and big01 (128 MiB)\n")
        for name in ("web01", "big01"):
            say("$ virsh migrate --live %s hv-b --migrateuri tcp://127.0.0.1" % name)
            result = migrate(source, dest, name)
            say((result.stdout + result.stderr).strip() or "(migrated)")
            say()
        say("hv-a runs: %s" % ", ".join(sorted(source.running())))
        say("hv-b runs: %s\n" % ", ".join(sorted(dest.running())))
        say("$ migration-guard audit      # on hv-b")
        say(guard(config, "audit").stdout.rstrip())
    finally:
        for host in started:
            host.stop()
        shutil.rmtree(base, ignore_errors=True)
        say("\n== stopped both hosts and their guests")
    return 0
