"""The collector service (`migration-guard facts watch`): keeps the facts cache fresh and
every running domain stamped with this host's fingerprint.

Refreshes at start, every `interval`, when libvirt comes back after going away, and when
the host's facts change; stamps domains as they start or migrate in (lifecycle events)
and all of them after a facts change. With a fleet key ([fingerprint] key) stamps expire
after max_age, so it re-stamps every running domain on each refresh, and refreshes at least
every third of max_age. Reconnects with backoff; stops on SIGTERM/SIGINT.

Everything comes from the config it was started with (`--config`, else the usual path):
the key that signs is that config's, whatever the environment says.
"""
import json
import os
import re
import signal
import sys
import threading

import libvirt

from ..config import Config
from ..facts.cache import facts_to_json
from ..facts.collect import collect, quiet_libvirt
from ..output import journal
from ..runtime.bundled import import_structlog
from ..runtime.files import write_atomic
from ..runtime.trusted import fleet_keys
from .outcome_watch import OutcomeTracker
from .stamping import stamp_domain

structlog = import_structlog()  # the system's, else the RPM's bundled copy
log = structlog.get_logger("migration-guard.watch")

# structlog method -> syslog priority: warnings reach the journal as warnings.
PRIORITIES = {"debug": 7, "info": 6, "msg": 6, "warning": 4, "warn": 4, "error": 3, "exception": 3,
              "critical": 2, "fatal": 2}
# event -> MESSAGE_ID (explained in the journal catalog).
EVENT_IDS = {
    "facts refreshed": journal.FACTS_REFRESHED,
    "refresh failed": journal.FACTS_FAILED,
    "metrics not refreshed": journal.FACTS_FAILED,
    "stamped": journal.STAMPED,
    "stamp failed": journal.STAMP_FAILED,
    "libvirt unavailable": journal.LIBVIRT_UNAVAILABLE,
    "libvirt connection closed": journal.LIBVIRT_UNAVAILABLE,
    "stopped": journal.WATCH_STOPPED,
    "outcome not tracked": journal.WATCH_OTHER,
}


class ServiceLogger:
    """structlog's output end for the service. Under systemd (JOURNAL_STREAM set: stderr
    is the journal) each event goes to the journal natively, with its priority, its
    MESSAGE_ID and its values as MG_* fields; elsewhere it is one JSON line on stderr."""

    def __init__(self, stream=None, native=None, socket_path=journal.JOURNAL_SOCKET):
        self.stream = stream if stream is not None else sys.stderr
        self.native = bool(os.environ.get("JOURNAL_STREAM")) if native is None else native
        self.socket_path = socket_path

    def emit(self, method, event_dict):
        priority = PRIORITIES.get(method, 6)
        if self.native:
            event = str(event_dict.get("event", ""))
            values = [(k, v) for k, v in sorted(event_dict.items()) if k not in ("event", "level", "timestamp")]
            fields = {"MG_" + re.sub(r"[^A-Z0-9]", "_", k.upper()): v for k, v in values}
            text = event + "".join(" %s=%s" % (k, v) for k, v in values)
            journal.send(text, priority=priority, socket_path=self.socket_path,
                         message_id=EVENT_IDS.get(event, journal.WATCH_OTHER), MG_EVENT=event, **fields)
            return
        self.stream.write(json.dumps(event_dict, sort_keys=True, default=str) + "\n")
        self.stream.flush()

    def __getattr__(self, method):
        if method not in PRIORITIES:
            raise AttributeError(method)
        return lambda **event_dict: self.emit(method, event_dict)


def configure_logging(logger=None):
    structlog.configure(processors=[structlog.processors.add_log_level,
                                    structlog.processors.TimeStamper(fmt="iso", utc=True)],
                        logger_factory=lambda *_args: logger if logger is not None else ServiceLogger(),
                        cache_logger_on_first_use=False)

_event_loop_started = False


def _start_event_loop():
    global _event_loop_started
    if _event_loop_started:
        return
    libvirt.virEventRegisterDefaultImpl()

    def run():
        while True:
            libvirt.virEventRunDefaultImpl()
    threading.Thread(target=run, name="libvirt-events", daemon=True).start()
    _event_loop_started = True


def _comparable(facts):
    return facts._replace(collected_at=None, boot_id=None, boot_clock=None, collected_boot_s=None)


class Watcher:
    def __init__(self, uri, output, interval=600.0, max_backoff=60.0, after_refresh=None, config=None):
        self.uri, self.output, self.interval, self.max_backoff = uri, output, interval, max_backoff
        self.after_refresh = after_refresh  # () -> problem or None, e.g. the metrics file
        self.config = config if config is not None else Config()
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.facts = None
        self.conn = None
        self.lock = threading.Lock()
        self.memo = {}  # unchanged libvirt documents are not parsed again
        # UUID -> the QEMU version of this host when the watch saw the domain start: what its
        # QEMU runs, known without reading anything the tenant can write. Forgotten when
        # libvirt goes away (a domain may have restarted unseen).
        self.started = {}
        # What became of the migrations the hook let through (guard.services.outcome_watch); off
        # with [paths] pending = "".
        self.outcomes = OutcomeTracker(self.config, log) if self.config.paths.pending else None

    @property
    def signing(self):
        return self.config.fingerprint_key is not None

    @property
    def period(self):
        """Seconds between refreshes: the interval, and when signing at most a third of
        max_age, so that each guest's stamp is renewed while two refreshes in a row fail."""
        if not self.signing:
            return self.interval
        return min(self.interval, self.config.fingerprint_max_age / 3)

    def stop(self, *_args):
        self.stopping.set()
        self.wakeup.set()

    def refresh(self):
        """Collect; write the cache; if the facts changed, or stamps expire (a fleet key),
        restamp every running domain."""
        facts = collect(self.uri, memo=self.memo)
        changed = self.facts is None or _comparable(facts) != _comparable(self.facts)
        write_atomic(self.output, facts_to_json(facts), mode=0o644)
        with self.lock:
            self.facts = facts
        log.info("facts refreshed", output=self.output, changed=changed)
        problem = self.after_refresh() if self.after_refresh is not None else None
        if problem:
            log.warning("metrics not refreshed", error=problem)
        if changed or self.signing:
            self.stamp_all()

    def stamp_all(self):
        keys = self._keys()
        if keys is None:
            return
        for dom in self.conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
            self._stamp(dom, started_here=False, keys=keys)

    def _keys(self):
        """The fleet keys to sign with (the current one first), () unsigned, or None when
        the key is unusable: then nothing is stamped, as an unsigned stamp would be refused
        by every hook of the fleet. Read afresh each time: a replaced key file counts."""
        if not self.signing:
            return ()
        keys, problem = fleet_keys(self.config)
        if not keys:
            log.warning("stamp failed", error="cannot sign: %s" % problem)
            return None
        return keys

    def _stamp(self, dom, started_here, keys=None):
        with self.lock:
            facts = self.facts
        if facts is None:
            return
        if keys is None:
            keys = self._keys()
            if keys is None:
                return
        try:
            uuid = dom.UUIDString().lower()
            with self.lock:
                if started_here:
                    self.started[uuid] = facts.qemu_version
                started_qemu = self.started.get(uuid)
            stamp_domain(dom, facts, started_here, keys, self.config.fingerprint_max_age, started_qemu)
            log.info("stamped", domain=dom.name(), started_here=started_here, signed=bool(keys))
        except libvirt.libvirtError as exc:
            log.warning("stamp failed", domain=dom.name(), error=exc.get_error_message())

    def _lifecycle(self, _conn, dom, event, detail, _opaque):
        if self.outcomes is not None:
            self.outcomes.on_event(dom.UUIDString().lower(), event, detail)
        if event in (libvirt.VIR_DOMAIN_EVENT_STARTED, libvirt.VIR_DOMAIN_EVENT_RESUMED):
            self._stamp(dom, started_here=event == libvirt.VIR_DOMAIN_EVENT_STARTED)
        elif event == libvirt.VIR_DOMAIN_EVENT_STOPPED:
            with self.lock:
                self.started.pop(dom.UUIDString().lower(), None)

    def _closed(self, _conn, reason, _opaque):
        log.warning("libvirt connection closed", reason=reason)
        self.wakeup.set()

    def _connect(self):
        quiet_libvirt()
        conn = libvirt.open(self.uri)
        conn.registerCloseCallback(self._closed, None)
        conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle, None)
        return conn

    def run(self):
        _start_event_loop()
        if self.outcomes is not None:
            threading.Thread(target=self.outcomes.run, args=(self.stopping,), name="outcomes", daemon=True).start()
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                self.conn = self._connect()
                backoff = 1.0
                self.facts = None  # libvirt (re)started: collect anew and restamp everything
                with self.lock:
                    self.started.clear()
                if self.outcomes is not None:
                    self.outcomes.connected(self.conn)
                self.refresh()
                while not self.stopping.is_set():
                    self.wakeup.wait(self.period)
                    self.wakeup.clear()
                    if self.stopping.is_set() or not self.conn.isAlive():
                        break
                    self.refresh()
            except libvirt.libvirtError as exc:
                log.warning("libvirt unavailable", uri=self.uri, error=exc.get_error_message(), retry_in=backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception as exc:  # noqa: BLE001 - a service keeps going; the cache stays as it was
                log.error("refresh failed", error="%s: %s" % (type(exc).__name__, exc), retry_in=backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                if self.outcomes is not None:
                    self.outcomes.disconnected()
                if self.conn is not None:
                    try:
                        self.conn.close()
                    except libvirt.libvirtError:
                        pass
                    self.conn = None
        log.info("stopped")
        return 0


def run_watch(uri, output, interval, after_refresh=None, config=None):
    """The service with `config` (a guard.config.Config: its fleet key signs the stamps)."""
    # The journal natively under systemd (priorities, MESSAGE_IDs); else JSON lines on stderr.
    configure_logging()
    watcher = Watcher(uri, output, interval, after_refresh=after_refresh, config=config)
    if watcher.period < interval:
        log.info("refresh period shortened", interval=interval, period=watcher.period,
                 reason="stamps expire after [fingerprint] max_age; each is renewed every third of it")
    signal.signal(signal.SIGTERM, watcher.stop)
    signal.signal(signal.SIGINT, watcher.stop)
    return watcher.run()
