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
import json
import re
import shlex
import subprocess
import threading
import time
from urllib.parse import urlparse

import libvirt

from ..decide.core import Inputs, decide, failed
from ..errors import GuardError
from ..facts.collect import CollectError, collect, open_connection
from ..facts.fingerprint import fingerprint_of
from ..guest.domain import parse_domain
from ..records import struct
from .evacuation import (  # noqa: F401 - EXIT_CODES: the CLI's and docs' one list
    DEFAULT_HUGEPAGE_BYTES,
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_PLACED,
    EXIT_UNPLACED,
    Capacity,
    Demand,
    Unplaced,
    assign,
)
from .incoming import outcome_from_dict, request
from .source_state import is_local_uri, read_mounts, source_state, volume_reader

DIRTY_RATE_SECONDS = 1
# Destinations read at once. Each read over qemu+ssh:// is a second or more of waiting on
# the network, not CPU: a handful at a time keeps 16 destinations near two reads' time
# without opening dozens of SSH sessions from one host.
MAX_READERS = 8
DIRTY_RATE_MEASURED = 2  # dirtyrate.calc_status: 0 unstarted, 1 measuring, 2 measured

VCPU = re.compile(r"<vcpu\b([^>]*)>\s*(\d+)\s*</vcpu>")
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


def read_capacity(uri, page_sizes=()):
    """What a destination has free for a plan (guard.services.evacuation.Capacity), over libvirt.
    Free memory is virNodeGetFreeMemory; a driver that says 0 (libvirt's test driver, with
    no NUMA cells) gets its total memory less what its running guests have."""
    conn = open_connection(uri)
    try:
        _model, memory_mib, cpus, _mhz, nodes = conn.getInfo()[:5]
        guest_kib = vcpus = 0
        for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            try:
                _state, _max_kib, kib, count = dom.info()[:4]
            except libvirt.libvirtError:  # gone meanwhile
                continue
            guest_kib += kib
            vcpus += count
        free = conn.getFreeMemory() or max(0, memory_mib * 1024 * 1024 - guest_kib * 1024)
        pages = None
        sizes = sorted({size // 1024 for size in page_sizes if size > 4096})
        if sizes:
            try:
                pages = {}
                for counts in conn.getFreePages(sizes, 0, max(1, nodes)).values():
                    for kib, count in counts.items():
                        pages[kib * 1024] = pages.get(kib * 1024, 0) + count
            except libvirt.libvirtError:
                pages = None
        return Capacity(free, cpus, vcpus, pages)
    finally:
        conn.close()


def vcpus_of(xml):
    """The vCPUs a guest runs (<vcpu current=...>, else its count), from libvirt's XML."""
    found = VCPU.search(xml or "")
    if not found:
        return 1
    current = re.search(r"current=['\"](\d+)", found.group(1))
    return int(current.group(1) if current else found.group(2))


def demand_of(domain, xml):
    page = None
    if domain.hugepages:
        page = domain.hugepages[0].size_bytes or DEFAULT_HUGEPAGE_BYTES
    return Demand(domain.memory_bytes or 0, vcpus_of(xml), page)


def api_prober(uri):
    """probe(domain) -> Probe of what the destination's libvirt itself can say about one
    guest, for a destination with no shell: the guests it has (name, UUID, running), the
    guest's emulator binary (virConnectGetDomainCapabilities with emulatorbin refuses a
    binary it cannot find), and the guest's disks that are volumes of its storage pools
    (virStorageVolLookupByPath; a path outside every pool stays unknown, never absent).
    Anything libvirt cannot answer stays None: `unverifiable`, as without a probe."""
    from ..facts.model import Probe
    state = {"conn": None, "guests": None, "emulators": {}}

    def connection():
        if state["conn"] is None:
            # Full: libvirt (9.0 at least) refuses domcapabilities on a read-only connection.
            state["conn"] = open_connection(uri, read_only=False)
            try:
                state["guests"] = tuple((d.name(), d.UUIDString().lower(), bool(d.isActive()))
                                        for d in state["conn"].listAllDomains(0))
            except libvirt.libvirtError:
                state["guests"] = None
        return state["conn"]

    def emulator_present(domain):
        key = (domain.emulator, domain.arch, domain.virt_type)
        if key not in state["emulators"]:
            try:
                connection().getDomainCapabilities(domain.emulator, domain.arch, None, domain.virt_type, 0)
                state["emulators"][key] = True
            except libvirt.libvirtError as exc:
                message = exc.get_error_message() or ""
                state["emulators"][key] = False if ("Cannot find" in message or "No such file" in message) else None
        return state["emulators"][key]

    def probe(domain):
        conn = connection()
        paths = {}
        if domain.emulator:
            paths[domain.emulator] = emulator_present(domain)
        for item in domain.storage:
            if item.path and item.path not in paths:
                try:
                    conn.storageVolLookupByPath(item.path)
                    paths[item.path] = True
                except libvirt.libvirtError:
                    pass  # not a pool's volume: unknown from here
        return Probe(paths={p: v for p, v in paths.items() if v is not None}, guests=state["guests"])

    def close():
        if state["conn"] is not None:
            state["conn"].close()
    probe.close = close
    return probe


def read_destination(uri, read_facts=None):
    """(facts, None), or (None, why they could not be read). read_facts: collect."""
    try:
        return (read_facts or collect)(uri), None
    except (GuardError, libvirt.libvirtError) as exc:
        return None, str(exc) if isinstance(exc, GuardError) else exc.get_error_message()


# The remote command a destination shell runs: the destination's own decision (guard.services.incoming).
REMOTE_CHECK = ("migration-guard", "check", "--probe", "--batch")
# How long a destination's own check may take: starting up, then each guest's probe,
# bounded there by the hook's own timeout.
REMOTE_BASE_SECONDS = 30


def dest_shell_for(uri, dest_shell=None):
    """The command prefix (argv) that runs a command on the destination `uri`, or None:
    dest_shell as given ("{host}" replaced by the URI's host; "none": no shell), else ssh
    for qemu+ssh:// URIs (never prompting: a password prompt would hang the pre-flight)."""
    parsed = urlparse(uri)
    if dest_shell is not None:
        if dest_shell.strip().lower() == "none":
            return None
        return shlex.split(dest_shell.replace("{host}", parsed.hostname or "localhost"))
    if parsed.scheme.endswith("+ssh") and parsed.hostname:
        argv = ["ssh", "-o", "BatchMode=yes"]
        if parsed.port:
            argv += ["-p", str(parsed.port)]
        return argv + ["%s@%s" % (parsed.username, parsed.hostname) if parsed.username else parsed.hostname]
    return None


def _last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def ask_destination(shell, guests, source_facts, source_connection, config, run=subprocess.run):
    """[Outcome] for guests [(Domain, xml, dirty rate, SourceState)], decided on the
    destination by its own guard as its hook would (guard.services.incoming), or GuardError saying
    why the destination could not answer."""
    argv = list(shell) + list(REMOTE_CHECK)
    body = request([(xml, rate, state) for _domain, xml, rate, state in guests], source_facts, source_connection)
    what = "the destination's own check (%s)" % " ".join(shlex.quote(a) for a in shell)
    try:
        done = run(argv, input=body, capture_output=True, timeout=REMOTE_BASE_SECONDS + config.timeout * len(guests))
    except subprocess.TimeoutExpired:
        raise GuardError("%s did not answer in time" % what)
    except OSError as exc:
        raise GuardError("%s could not run: %s" % (what, exc.strerror or exc))
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if done.returncode != 0 or len(lines) != len(guests):
        raise GuardError("%s failed (exit %d): %s" % (what, done.returncode, _last_line(
            done.stderr.decode("utf-8", "replace")) or "%d answers for %d guests" % (len(lines), len(guests))))
    outcomes = []
    for (domain, _xml, _rate, _state), line in zip(guests, lines):
        try:
            outcome = outcome_from_dict(json.loads(line), config)
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            raise GuardError("%s answered something else than a decision: %s" % (what, exc))
        if outcome.domain_name not in (None, domain.name):
            raise GuardError("%s answered for %s when asked about %s" % (what, outcome.domain_name, domain.name))
        outcomes.append(outcome)
    return outcomes


def read_source(conn, source_uri, names, all_running, need_dirty_rate, flags=()):
    """The source's facts and its guests: [(name, uuid, Domain or None, dirty rate, why the
    guest could not be read or None, migratable XML, SourceState)], sorted by name. A guest
    that vanishes or whose XML cannot be read between listing and reading is an error for
    that guest only."""
    # The source's own facts, as its collector would stamp them into every guest it runs
    # (guard.facts.fingerprint). Read here, once per run.
    facts = collect(source_uri, conn=conn)
    missing = []
    if all_running:
        doms = conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
    else:
        doms = []
        for name in dict.fromkeys(names):
            try:
                doms.append(conn.lookupByName(name))
            except libvirt.libvirtError as exc:
                # A misspelt or departed guest is an error for that guest only: the others
                # are still decided (an evacuation list is often a little out of date).
                missing.append((name, None, None, None, "%s on %s: %s" % (name, source_uri, exc.get_error_message()),
                                None, None))
    doms.sort(key=lambda dom: dom.name())
    rates = measure_dirty_rates(conn, doms) if need_dirty_rate else {}  # inactive guests: not started
    # What libvirt checks on the source before it asks a destination (guard.services.source_state):
    # the file systems of the guests' disks, known from this machine's mount table when the
    # source is this machine.
    mounts = read_mounts() if is_local_uri(source_uri) else None
    volume_of = volume_reader(conn)
    guests = []
    for dom in doms:
        name = dom.name()
        try:
            uuid = dom.UUIDString()
            # A full connection: libvirt refuses the migratable XML on a read-only one.
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE)
            domain = parse_domain(xml, "migratable XML of %s" % name)
            guests.append((name, uuid, domain, rates.get(name), None, xml,
                           source_state(dom, xml, flags, mounts, volume_of)))
        except libvirt.libvirtError as exc:
            guests.append((name, None, None, None, "reading %s on %s failed: %s"
                           % (name, source_uri, exc.get_error_message()), None, None))
        except GuardError as exc:
            guests.append((name, None, None, None, str(exc), None, None))
    return facts, sorted(guests + missing, key=lambda guest: guest[0])


def decide_pair(domain, facts, facts_problem, source, config, now, source_uri, dest_uri, dirty_rate=None,
                source_state=None, probe=None):
    """One guest against one destination, decided here: what the destination's hook would
    decide on the facts its libvirt serves, given the source's fingerprint (None: the one
    the guest carries); what only the destination can see is `unverifiable`."""
    return decide(Inputs(domain, facts, config, now, facts_problem=facts_problem, source=source,
                         connection=connection_kind(dest_uri), source_connection=connection_kind(source_uri),
                         dirty_rate=dirty_rate, source_state=source_state, probe=probe))


def preflight(source_uri, dest_uris, names, all_running, config, now, progress=None, read_facts=None, flags=(),
              dest_shell=None, run=subprocess.run, capacities=None, demands=None):
    """[(dest uri, Outcome)] for every (guest, destination) pair, guests by name, then the
    destinations in the order given (each read once). `now`: seconds since the epoch.
    `progress(destinations read, destinations, guests decided, guests)` is called as
    work completes (from reader threads too). `read_facts(uri)`: HostFacts or GuardError
    (guard.facts.collect.collect when None). flags: the migration's flags that change the
    source's answer (guard.rules.source_refusal.MIGRATE_FLAGS). dest_shell: see
    dest_shell_for; a destination with a shell decides the guests itself, as its hook
    will; `run`: subprocess.run, for the tests. capacities, demands: dicts to fill for a
    plan, with {dest: Capacity, or why it could not be read} and {guest: Demand}.

    A destination whose facts cannot be read (or whose shell fails), and a guest whose XML
    cannot be, are `error` outcomes (guard.decide.core.failed) for those pairs; the other pairs
    are decided. The source itself must be readable: else CollectError."""
    dest_uris = list(dict.fromkeys(dest_uris))
    counts = {"dests": 0, "guests": 0, "guests_total": 0}
    lock = threading.Lock()

    def report():
        if progress is not None:
            progress(counts["dests"], len(dest_uris), counts["guests"], counts["guests_total"])

    def read_one(uri):
        facts = read_destination(uri, read_facts)
        if capacities is not None:
            if facts[0] is None:
                capacities[uri] = facts[1]
            else:
                try:
                    capacities[uri] = read_capacity(uri, facts[0].cpu.page_sizes)
                except (GuardError, libvirt.libvirtError) as exc:
                    capacities[uri] = str(exc) if isinstance(exc, GuardError) else exc.get_error_message()
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
            source_facts, guests = read_source(conn, source_uri, names, all_running, config.bandwidth is not None,
                                               flags)
        except libvirt.libvirtError as exc:
            raise CollectError("reading guests from %s failed: %s" % (source_uri, exc.get_error_message()))
        finally:
            conn.close()
        source = fingerprint_of(source_facts)
        if demands is not None:
            demands.update((name, demand_of(domain, xml)) for name, _u, domain, _d, problem, xml, _s in guests
                           if problem is None)
        with lock:
            counts["guests_total"] = len(guests)
            report()
        readable = [(domain, xml, dirty, state) for _n, _u, domain, dirty, problem, xml, state in guests
                    if problem is None]
        shells = {uri: dest_shell_for(uri, dest_shell) for uri in dest_uris}
        asked = {uri: pool.submit(_ask, shells[uri], readable, source_facts, connection_kind(source_uri), config, run)
                 for uri in dest_uris if shells[uri] is not None and readable}
        dests = [(uri, future.result()) for uri, future in zip(dest_uris, futures)]
        probed = {uri: pool.submit(_probe_over_api, uri, readable) for uri, (facts, problem) in dests
                  if shells[uri] is None and problem is None and readable}
        answers = {uri: future.result() for uri, future in asked.items()}
        probes = {uri: future.result() for uri, future in probed.items()}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a failed source: no reads still queued
    results = []
    for name, uuid, domain, dirty, guest_problem, _xml, state in guests:
        for uri, (facts, dest_problem) in dests:
            answer, shell_problem = answers.get(uri, (None, None))
            if guest_problem is not None:
                outcome = failed(config, guest_problem, name, uuid)
            elif dest_problem is not None or shell_problem is not None:
                problem = dest_problem or shell_problem
                reason = problem if uri in problem else "destination %s: %s" % (uri, problem)
                outcome = failed(config, reason, domain.name, domain.uuid)
            elif answer is not None:
                outcome = answer[domain.name]
            else:
                outcome = decide_pair(domain, facts, None, source, config, now, source_uri, uri, dirty, state,
                                      probes.get(uri, {}).get(domain.name))
            results.append((uri, outcome))
        with lock:
            counts["guests"] += 1
            report()
    return results


def _ask(shell, guests, source_facts, source_connection, config, run):
    """({guest name: Outcome}, None), or (None, why the destination could not answer)."""
    try:
        outcomes = ask_destination(shell, guests, source_facts, source_connection, config, run)
    except GuardError as exc:
        return None, str(exc)
    return {domain.name: outcome for (domain, _x, _r, _s), outcome in zip(guests, outcomes)}, None


def _probe_over_api(uri, guests):
    """{guest name: Probe} from the destination's libvirt (api_prober); {} when it cannot
    be asked (the guests are then decided without a probe, their paths unverifiable)."""
    try:
        probe = api_prober(uri)
    except GuardError:
        return {}
    try:
        return {domain.name: probe(domain) for domain, _x, _r, _s in guests}
    except (GuardError, libvirt.libvirtError):
        return {}
    finally:
        probe.close()


def unverifiable_count(outcome):
    """How many checks of an allowed guest could not be made from where it was decided."""
    return sum(1 for f in outcome.findings if f.rule == "unverifiable")


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

    def refusals(self, guest, labels=None):
        """Each destination's verdict on a guest none accepts: "hv02 deny CODE, hv03 error"."""
        labels = labels or {}
        parts = []
        for dest in self.dests:
            outcome = self.cells[guest, dest]
            if column(outcome) == "error":  # why: in the destination's own line or entry
                parts.append("%s error" % labels.get(dest, dest))
            else:
                parts.append("%s %s %s" % (labels.get(dest, dest), outcome.decision,
                                           outcome.denies[0].code if outcome.denies else ""))
        return ", ".join(part.rstrip() for part in parts)

    def assign(self, demands, capacities, config):
        """([Move], [Unplaced]): one destination for each guest within what each has free
        (guard.services.evacuation). A guest the source could not read has no Demand: unplaced."""
        known = [g for g in self.guests if g in demands]
        moves, unplaced = assign(known, self.dests, self.accepting, demands, capacities,
                                 config.plan_memory_reserve, config.plan_vcpu_ratio, self.refusals)
        for guest in self.guests:
            if guest not in demands:
                reason = self.cells[guest, self.dests[0]].reason if self.dests else None
                unplaced.append(Unplaced(guest, "the source could not be read for it: %s" % (reason or "unknown")))
        return moves, unplaced

    def exit_code(self, unplaced=None):
        """0 every guest has a destination (an unreadable destination is then only one
        fewer choice, shown as error in its counts); 1 some guest has none, and every
        destination said why; 2 some guest has none and an error prevented a verdict
        for it (a single unreachable destination is always this). unplaced: the plan's
        unplaced guests (guard.services.evacuation), when a plan was made: a guest with a
        destination but no room there counts as having none."""
        left = self.unplaced() if unplaced is None else [u.guest for u in unplaced]
        if any(self.cells[guest, dest].decision == "error" for guest in left for dest in self.dests):
            return EXIT_ERROR  # without a plan, these are undecided(); a plan's unplaced include them
        return EXIT_UNPLACED if left else EXIT_PLACED
