"""The collector service against a real daemon: stamping on start, re-stamping after a
facts change and after libvirt restarts, never touching the persistent definition."""
import os
import threading

import libvirt
from support.harness import guest_xml, wait_for

from guard.config import parse_config
from guard.facts.cache import read_facts_file
from guard.guest.domain import parse_domain
from guard.services import watch as watch_module

# The service without outcome tracking: its default folder is the machine's /run.
NO_OUTCOMES = parse_config('[paths]\npending = ""\n')


def fingerprint_of_guest(host, name):
    return parse_domain(host.virsh("dumpxml", name).stdout).fingerprint


def test_watch_restamps_after_a_facts_change_keeping_the_started_qemu(hosts, tmp_path, monkeypatch):
    source, _dest, _guard = hosts
    output = str(tmp_path / "facts.json")
    watcher = watch_module.Watcher(source.uri, output, interval=3600, config=NO_OUTCOMES)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: os.path.exists(output))
        source.define_and_start(guest_xml("watch-a"))
        first = wait_for(lambda: fingerprint_of_guest(source, "watch-a"))
        assert first is not None and first.microcode == read_facts_file(output).microcode
        # The microcode of a running host cannot change here: the collector's view of it is
        # replaced instead (the only stand-in in this test).
        real_collect = watch_module.collect

        def updated(uri, **kwargs):
            facts = real_collect(uri, **kwargs)
            return facts._replace(qemu_version="99.0.0",
                                       cpu=facts.cpu._replace(microcode="0xfeed"),
                                       local=facts.local._replace(microcode="0xfeed"))
        monkeypatch.setattr(watch_module, "collect", updated)
        watcher.wakeup.set()  # the timer firing
        second = wait_for(lambda: (lambda f: f if f and f.microcode == "0xfeed" else None)(
            fingerprint_of_guest(source, "watch-a")))
        assert second is not None, "not re-stamped after the facts changed"
        assert second.qemu_version == first.qemu_version  # the running QEMU did not change
        assert read_facts_file(output).microcode == "0xfeed"
    finally:
        watcher.stop()
        thread.join(timeout=15)
        source.virsh("destroy", "watch-a", check=False)
    assert not thread.is_alive()


def test_watch_reconnects_and_restamps_after_libvirt_restarts(hosts, tmp_path):
    source, _dest, _guard = hosts
    output = str(tmp_path / "facts.json")
    # The guest runs before the service starts: its first refresh stamps it (stamp_all), and
    # nothing else stamps it until libvirt restarts (a guest started while that first refresh
    # was still stamping could be stamped twice, after the test removed the first stamp).
    source.define_and_start(guest_xml("watch-b"))
    watcher = watch_module.Watcher(source.uri, output, interval=3600, max_backoff=1.0, config=NO_OUTCOMES)
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: os.path.exists(output))
        assert wait_for(lambda: fingerprint_of_guest(source, "watch-b"))
        conn = libvirt.open(source.uri)
        conn.lookupByName("watch-b").setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, None, None,
                                                 "https://migration-guard.dev/xmlns/1",
                                                 libvirt.VIR_DOMAIN_AFFECT_LIVE)
        conn.close()
        assert fingerprint_of_guest(source, "watch-b") is None
        before = os.stat(output).st_mtime
        source.restart_libvirtd()
        assert wait_for(lambda: fingerprint_of_guest(source, "watch-b"), 60), "not re-stamped after a restart"
        assert os.stat(output).st_mtime > before
    finally:
        watcher.stop()
        thread.join(timeout=15)
        source.virsh("destroy", "watch-b", check=False)
    assert not thread.is_alive()
