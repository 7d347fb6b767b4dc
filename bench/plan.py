"""Evacuation-plan timing (not a test): `preflight --all` over libvirt's test driver, a
source with G guests (a tenth with a PCI host device, a fifth too big for the small
hosts) against D destinations, for G in 100/300/1000 and D in 2/8/16; each against
baselines measured in the same run on the same guests and facts:

- decide: the decisions alone (every guest already parsed, every destination's facts
  already read): the floor of any pre-flight;
- parse: reading and parsing the guests' migratable XML alone.

Then the destinations' reads with a simulated SSH latency of 1 s each: the bounded pool
reads 8 at a time, so 16 destinations cost about two reads, not sixteen.

    .venv/bin/python bench/plan.py [--quick]
"""
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import libvirt  # noqa: E402
from support.fleet import facts_with_node_memory, fleet  # noqa: E402
from timing import interleaved  # noqa: E402

from guard.config import Config  # noqa: E402
from guard.facts.collect import collect, open_connection  # noqa: E402
from guard.facts.fingerprint import fingerprint_of  # noqa: E402
from guard.guest.domain import parse_domain  # noqa: E402
from guard.services import preflight as pf  # noqa: E402

SSH_SECONDS = 1.0


def measure(folder, guests, dests, runs):
    """(preflight s, decide-only s, parse-only s, exit code) for one fleet."""
    big = max(1, dests // 4)
    source, bigs, smalls = fleet(os.path.join(folder, "%dx%d" % (guests, dests)), guests, big, dests - big)
    dest_uris = bigs + smalls
    config, now = Config(), time.time()
    conn = open_connection(source, read_only=False)
    try:
        source_fp = fingerprint_of(collect(source, conn=conn))

        def parse():
            return [parse_domain(d.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE))
                    for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
        domains = parse()
        facts = [(uri, facts_with_node_memory(uri)) for uri in dest_uris]

        def decide_only():
            for domain in domains:
                for uri, dest in facts:
                    pf.decide_pair(domain, dest, None, source_fp, config, now, source, uri)
        results = []

        def whole():
            results[:] = pf.preflight(source, dest_uris, [], True, config, now, read_facts=facts_with_node_memory)
        total_s, decide_s, parse_s = interleaved(runs, whole, decide_only, parse)
    finally:
        conn.close()
    assert len(results) == guests * dests
    return total_s, decide_s, parse_s, pf.Plan.of(results, dest_uris).exit_code()


def with_plan(folder, guests, dests, runs):
    """(seconds of `preflight --all --plan`: the verdicts, every destination's free memory
    and the assignment; seconds of the verdicts alone, the baseline; guests placed)."""
    big = max(1, dests // 4)
    source, bigs, smalls = fleet(os.path.join(folder, "plan%dx%d" % (guests, dests)), guests, big, dests - big)
    dest_uris, config, now = bigs + smalls, Config(), time.time()
    placed = []

    def verdicts():
        pf.preflight(source, dest_uris, [], True, config, now, read_facts=facts_with_node_memory)

    def planned():
        capacities, demands = {}, {}
        results = pf.preflight(source, dest_uris, [], True, config, now, read_facts=facts_with_node_memory,
                               capacities=capacities, demands=demands)
        moves, _unplaced = pf.Plan.of(results, dest_uris).assign(demands, capacities, config)
        placed[:] = moves
    plan_s, verdicts_s = interleaved(runs, planned, verdicts)
    return plan_s, verdicts_s, len(placed)


def slow_reads(folder, dests):
    """Seconds to read `dests` destinations that each take SSH_SECONDS (one guest)."""
    source, bigs, smalls = fleet(os.path.join(folder, "ssh%d" % dests), 1, 1, dests - 1)

    def slow(uri):
        time.sleep(SSH_SECONDS)
        return facts_with_node_memory(uri)
    start = time.perf_counter()
    pf.preflight(source, bigs + smalls, [], True, Config(), time.time(), read_facts=slow)
    return time.perf_counter() - start


def main():
    quick = "--quick" in sys.argv
    guests_list, dests_list, runs = ((100, 300), (2, 8), 1) if quick else ((100, 300, 1000), (2, 8, 16), 3)
    print("preflight --all over libvirt's test driver, best of %d; Python %s" % (runs, sys.version.split()[0]))
    print("%7s %6s %7s %11s %11s %11s %12s %5s" % ("guests", "dests", "pairs", "preflight", "decide", "parse",
                                                    "us/pair", "exit"))
    rows = {}
    with tempfile.TemporaryDirectory(prefix="mg-bench-plan-") as folder:
        for guests in guests_list:
            for dests in dests_list:
                total, decide_s, parse_s, code = measure(folder, guests, dests, runs)
                rows[guests, dests] = total
                print("%7d %6d %7d %10.3fs %10.3fs %10.3fs %12.1f %5d"
                      % (guests, dests, guests * dests, total, decide_s, parse_s,
                         total / (guests * dests) * 1e6, code))
        print()
        if (300, 8) in rows:
            print("300 guests x 8 destinations: %.2f s" % rows[300, 8])
            plan_s, verdicts_s, placed = with_plan(folder, 300, 8, runs)
            print("300 guests x 8 destinations with --plan: %.2f s (%.2fx the verdicts alone, %.2f s); %d placed"
                  % (plan_s, plan_s / verdicts_s, verdicts_s, placed))
        g0, g1 = guests_list[0], guests_list[-1]
        d0, d1 = dests_list[0], dests_list[-1]
        print("growth: %dx the guests (at %d destinations) -> %.1fx the time; %dx the destinations (at %d guests) "
              "-> %.1fx the time" % (g1 // g0, d1, rows[g1, d1] / rows[g0, d1], d1 // d0, g1,
                                     rows[g1, d1] / rows[g1, d0]))
        for dests in dests_list:
            print("destinations read with %.0f s of simulated SSH each: %2d in %.1f s (pool of %d)"
                  % (SSH_SECONDS, dests, slow_reads(folder, dests), pf.MAX_READERS))


if __name__ == "__main__":
    main()
