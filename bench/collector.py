"""Collector refresh time (not a test) against the raw libvirt calls it makes, in one run
on one real daemon started here (needs root and libvirt). Target: refresh <= 1.5x raw."""
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from support.harness import LibvirtHost, missing_requirements  # noqa: E402

from guard.facts.cache import facts_to_json  # noqa: E402
from guard.facts.collect import collect, collect_documents, open_connection  # noqa: E402
from guard.runtime.files import write_atomic  # noqa: E402

RUNS = 40


def interleaved(*funcs):
    samples = [[] for _ in funcs]
    for _ in range(RUNS):
        for func, times in zip(funcs, samples):
            start = time.perf_counter()
            func()
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


def main():
    reason = missing_requirements()
    if reason:
        print("skipped: " + reason)
        return 0
    base = tempfile.mkdtemp(prefix="mg-bench-")
    host = LibvirtHost("bench", os.path.join(base, "host"))
    host.prepare()
    host.start()
    try:
        output = os.path.join(base, "facts.json")
        conn = open_connection(host.uri)
        collect_documents(conn, host.uri)  # warm libvirt's caches for both sides alike
        memo = {}  # what the watch service keeps between refreshes
        # Interleaved, so that drift in the daemon's speed hits all three alike.
        raw, cold, refresh = interleaved(
            lambda: collect_documents(conn, host.uri),
            lambda: write_atomic(output, facts_to_json(collect(host.uri, conn=conn))),
            lambda: write_atomic(output, facts_to_json(collect(host.uri, conn=conn, memo=memo))))
        conn.close()
        print("raw libvirt calls (capabilities, domcapabilities x%d, sysinfo, networks, node devices, versions): "
              "%.1f ms" % (4, raw * 1000))
        print("one-shot collect (the same calls + parsing + local extras + atomic write): %.1f ms, ratio %.2f"
              % (cold * 1000, cold / raw))
        print("watch service refresh (unchanged documents are not parsed again): %.1f ms, ratio %.2f (target <= 1.5)"
              % (refresh * 1000, refresh / raw))
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
