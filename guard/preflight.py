"""The pre-flight, run on the source: can these guests go to those hosts, and if not, why.

Reads each guest's migratable XML and both hosts' facts over libvirt, and decides with the
same engine and config as the destination's hook, giving the engine the source's
fingerprint directly (what a stamped guest would carry). It changes no domain.
"""
import concurrent.futures
import time
from urllib.parse import urlparse

import libvirt

from .core import Inputs, decide
from .domain import parse_domain
from .facts.collect import CollectError, collect, open_connection
from .fingerprint import fingerprint_of

DIRTY_RATE_SECONDS = 1


def connection_kind(uri):
    """"session" for qemu:///session and the like, else "system"."""
    return "session" if urlparse(uri).path.rstrip("/").endswith("/session") else "system"


def measure_dirty_rate(conn, dom, seconds=DIRTY_RATE_SECONDS):
    """Bytes per second the guest dirties, by libvirt's dirty-rate calculation; None when
    the hypervisor cannot say (older QEMU, guest not running, read-only connection)."""
    try:
        dom.startDirtyRateCalc(seconds, 0)
        deadline = time.monotonic() + seconds + 5
        while time.monotonic() < deadline:
            time.sleep(0.25)
            stats = conn.domainListGetStats([dom], libvirt.VIR_DOMAIN_STATS_DIRTYRATE)[0][1]
            if stats.get("dirtyrate.calc_status") == 2:  # measured
                return float(stats["dirtyrate.megabytes_per_second"]) * 1024 * 1024
    except (libvirt.libvirtError, AttributeError, KeyError, IndexError):
        return None
    return None


def _dest_facts(uris):
    """Each destination's facts, collected concurrently: {uri: (facts, error)}."""
    def one(uri):
        try:
            return uri, (collect(uri), None)
        except CollectError as exc:
            return uri, (None, str(exc))
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(uris)) or 1) as pool:
        return dict(pool.map(one, uris))


def decide_pair(domain, facts, facts_problem, source, config, now, source_uri, dest_uri, dirty_rate=None):
    """One guest against one destination: what the destination's hook would decide, given
    the source's fingerprint (None: the one the guest carries)."""
    return decide(Inputs(domain, facts, config, now, facts_problem=facts_problem, source=source,
                         connection=connection_kind(dest_uri), source_connection=connection_kind(source_uri),
                         dirty_rate=dirty_rate))


def preflight(source_uri, dest_uris, names, all_running, config, now):
    """[(dest uri, Outcome)] for every (guest, destination) pair, decided by guard.core with
    the source's facts given as its fingerprint. `now`: seconds since the epoch."""
    need_dirty_rate = config.bandwidth is not None
    # A full connection: libvirt refuses the migratable XML (and the dirty-rate calculation)
    # on a read-only one ("virDomainGetXMLDesc with secure flag"). Nothing is changed through it.
    conn = open_connection(source_uri, read_only=False)
    try:
        source_facts = collect(source_uri, conn=conn)
        source = fingerprint_of(source_facts)
        if all_running:
            doms = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        else:
            doms = []
            for name in names:
                try:
                    doms.append(conn.lookupByName(name))
                except libvirt.libvirtError as exc:
                    raise CollectError("%s: %s" % (name, exc.get_error_message()))
        guests = []
        for dom in doms:
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
            dirty = measure_dirty_rate(conn, dom) if need_dirty_rate and dom.isActive() else None
            guests.append((parse_domain(xml, "migratable XML of %s" % dom.name()), dirty))
    except libvirt.libvirtError as exc:
        raise CollectError("reading guests from %s failed: %s" % (source_uri, exc.get_error_message()))
    finally:
        conn.close()
    dests = _dest_facts(list(dest_uris))
    results = []
    for domain, dirty in guests:
        for uri in dest_uris:
            facts, error = dests[uri]
            results.append((uri, decide_pair(domain, facts, error, source, config, now, source_uri, uri, dirty)))
    return results
