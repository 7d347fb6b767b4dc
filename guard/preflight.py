"""The pre-flight, run on the source: can these guests go to those hosts, and if not, why.

Reads each guest's migratable XML and every destination's facts over libvirt (the
destinations concurrently, in a bounded pool, while the source is read), and decides
every (guest, destination) pair with the same engine and config as the destination's
hook, giving the engine the source's fingerprint directly (what a stamped guest would
carry). A destination whose facts cannot be read is an `error` for that destination,
never an allow. It changes no domain.

`Plan` turns the decisions into an evacuation plan: which destinations accept each
guest, the counts per destination, the guests with no destination, and the exit code.
"""
import concurrent.futures
import threading
import time
from urllib.parse import urlparse

import libvirt

from .core import Inputs, decide, failed
from .domain import parse_domain
from .errors import GuardError
from .facts.collect import CollectError, collect, open_connection
from .fingerprint import fingerprint_of
from .records import struct

DIRTY_RATE_SECONDS = 1
# Destinations read at once. Each read over qemu+ssh:// is a second or more of waiting on
# the network, not CPU: a handful at a time keeps 16 destinations near two reads' time
# without opening dozens of SSH sessions from one host.
MAX_READERS = 8
DIRTY_RATE_MEASURED = 2  # dirtyrate.calc_status: 0 unstarted, 1 measuring, 2 measured

EXIT_PLACED, EXIT_UNPLACED, EXIT_ERROR = 0, 1, 2
COLUMNS = ("allow", "deny", "error")


def connection_kind(uri):
    """"session" for qemu:///session and the like, else "system"."""
    return "session" if urlparse(uri).path.rstrip("/").endswith("/session") else "system"


def measure_dirty_rates(conn, doms, seconds=DIRTY_RATE_SECONDS):
    """{domain name: bytes per second it dirties}, by libvirt's dirty-rate calculation,
    started on every guest at once so that N guests take `seconds`, not N times that. A
    guest the hypervisor cannot measure (older QEMU, a driver without the API such as
    libvirt's test driver, a read-only connection) is left out: no convergence check."""
    started = []
    for dom in doms:
        try:
            dom.startDirtyRateCalc(seconds, 0)
            started.append(dom)
        except (libvirt.libvirtError, AttributeError):
            pass
    rates = {}
    deadline = time.monotonic() + seconds + 5
    while started and time.monotonic() < deadline:
        time.sleep(min(0.25, seconds))
        try:
            stats = conn.domainListGetStats(started, libvirt.VIR_DOMAIN_STATS_DIRTYRATE)
        except libvirt.libvirtError:
            break
        pending = []
        for dom, values in stats:
            if values.get("dirtyrate.calc_status") == DIRTY_RATE_MEASURED:
                try:
                    rates[dom.name()] = float(values["dirtyrate.megabytes_per_second"]) * 1024 * 1024
                except (KeyError, TypeError, ValueError):
                    pass
            else:
                pending.append(dom)
        started = pending
    return rates


def read_destination(uri, read_facts=None):
    """(facts, None), or (None, why they could not be read). read_facts: collect."""
    try:
        return (read_facts or collect)(uri), None
    except (GuardError, libvirt.libvirtError) as exc:
        return None, str(exc) if isinstance(exc, GuardError) else exc.get_error_message()


def read_source(conn, source_uri, names, all_running, need_dirty_rate):
    """The source's fingerprint and its guests: [(name, uuid, Domain or None, dirty rate,
    why the guest could not be read or None)], sorted by name. A guest that vanishes or
    whose XML cannot be read between listing and reading is an error for that guest only."""
    # The source fingerprint: the source's own facts, as its collector would stamp them
    # into every guest it runs (guard.fingerprint). Computed here, once per run.
    source = fingerprint_of(collect(source_uri, conn=conn))
    if all_running:
        doms = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
    else:
        doms = []
        for name in names:
            try:
                doms.append(conn.lookupByName(name))
            except libvirt.libvirtError as exc:
                raise CollectError("%s: %s" % (name, exc.get_error_message()))
    doms.sort(key=lambda dom: dom.name())
    rates = measure_dirty_rates(conn, doms) if need_dirty_rate else {}  # inactive guests: not started
    guests = []
    for dom in doms:
        name = dom.name()
        try:
            uuid = dom.UUIDString()
            # A full connection: libvirt refuses the migratable XML on a read-only one.
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
            guests.append((name, uuid, parse_domain(xml, "migratable XML of %s" % name), rates.get(name), None))
        except libvirt.libvirtError as exc:
            guests.append((name, None, None, None, "reading %s on %s failed: %s"
                           % (name, source_uri, exc.get_error_message())))
        except GuardError as exc:
            guests.append((name, None, None, None, str(exc)))
    return source, guests


def decide_pair(domain, facts, facts_problem, source, config, now, source_uri, dest_uri, dirty_rate=None):
    """One guest against one destination: what the destination's hook would decide, given
    the source's fingerprint (None: the one the guest carries)."""
    return decide(Inputs(domain, facts, config, now, facts_problem=facts_problem, source=source,
                         connection=connection_kind(dest_uri), source_connection=connection_kind(source_uri),
                         dirty_rate=dirty_rate))


def preflight(source_uri, dest_uris, names, all_running, config, now, progress=None, read_facts=None):
    """[(dest uri, Outcome)] for every (guest, destination) pair, guests by name, then the
    destinations in the order given (each read once). `now`: seconds since the epoch.
    `progress(destinations read, destinations, guests decided, guests)` is called as
    work completes (from reader threads too). `read_facts(uri)`: HostFacts or GuardError
    (guard.facts.collect.collect when None).

    A destination whose facts cannot be read, and a guest whose XML cannot be, are
    `error` outcomes (guard.core.failed) for those pairs; the other pairs are decided.
    The source itself must be readable: else CollectError."""
    dest_uris = list(dict.fromkeys(dest_uris))
    counts = {"dests": 0, "guests": 0, "guests_total": 0}
    lock = threading.Lock()

    def report():
        if progress is not None:
            progress(counts["dests"], len(dest_uris), counts["guests"], counts["guests_total"])

    def read_one(uri):
        facts = read_destination(uri, read_facts)
        with lock:
            counts["dests"] += 1
            report()
        return facts

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(MAX_READERS, len(dest_uris))))
    try:
        # The destinations are read while the source is: both wait on libvirt, not on us.
        futures = [pool.submit(read_one, uri) for uri in dest_uris]
        # A full connection: libvirt refuses the migratable XML (and the dirty-rate
        # calculation) on a read-only one. Nothing is changed through it.
        conn = open_connection(source_uri, read_only=False)
        try:
            source, guests = read_source(conn, source_uri, names, all_running, config.bandwidth is not None)
        except libvirt.libvirtError as exc:
            raise CollectError("reading guests from %s failed: %s" % (source_uri, exc.get_error_message()))
        finally:
            conn.close()
        with lock:
            counts["guests_total"] = len(guests)
            report()
        dests = [(uri, future.result()) for uri, future in zip(dest_uris, futures)]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a failed source: no reads still queued
    results = []
    for name, uuid, domain, dirty, guest_problem in guests:
        for uri, (facts, dest_problem) in dests:
            if guest_problem is not None:
                outcome = failed(config, guest_problem, name, uuid)
            elif dest_problem is not None:
                reason = dest_problem if uri in dest_problem else "destination %s: %s" % (uri, dest_problem)
                outcome = failed(config, reason, domain.name, domain.uuid)
            else:
                outcome = decide_pair(domain, facts, None, source, config, now, source_uri, uri, dirty)
            results.append((uri, outcome))
        with lock:
            counts["guests"] += 1
            report()
    return results


def column(outcome):
    """allow | deny | error: a limitation that applies counts as deny even where the hook
    would only log it (audit mode's would-deny): a plan sends guests where none applies."""
    if outcome.decision == "allow":
        return "allow"
    return "error" if outcome.decision == "error" else "deny"


class Plan(struct("Plan", "dests guests cells")):
    """dests: destination URIs in order; guests: guest names in order; cells: {(guest,
    dest): Outcome}."""

    __slots__ = ()

    @classmethod
    def of(cls, results, dest_uris):
        dests = list(dict.fromkeys(dest_uris))
        guests = list(dict.fromkeys(outcome.domain_name for _dest, outcome in results))
        return cls(dests, guests, {(outcome.domain_name, dest): outcome for dest, outcome in results})

    def accepting(self, guest):
        return [dest for dest in self.dests if column(self.cells[guest, dest]) == "allow"]

    def summary(self):
        """{dest: {"allow": n, "deny": n, "error": n}}"""
        counts = {dest: dict.fromkeys(COLUMNS, 0) for dest in self.dests}
        for (_guest, dest), outcome in self.cells.items():
            counts[dest][column(outcome)] += 1
        return counts

    def placements(self):
        """{guest: [destinations that accept it, in the order given]}"""
        return {guest: self.accepting(guest) for guest in self.guests}

    def unplaced(self):
        return [guest for guest in self.guests if not self.accepting(guest)]

    def undecided(self):
        """The guests with no destination for which an error stood in for a verdict: one
        unreadable destination (or guest) could have been the one that accepts it."""
        return [guest for guest in self.unplaced()
                if any(self.cells[guest, dest].decision == "error" for dest in self.dests)]

    def exit_code(self):
        """0 every guest has a destination (an unreadable destination is then only one
        fewer choice, shown as error in its counts); 1 some guest has none, and every
        destination said why; 2 some guest has none and an error prevented a verdict
        for it (a single unreachable destination is always this)."""
        if self.undecided():
            return EXIT_ERROR
        return EXIT_UNPLACED if self.unplaced() else EXIT_PLACED
