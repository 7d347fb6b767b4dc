"""A one-line decision summary to the journal, with structured fields, or to syslog.

Uses the journal's native datagram protocol (no python3-systemd needed), so that
`journalctl MG_DECISION=deny` finds every refusal; plain syslog where there is no journal.
"""
# _socket, not socket: the hook sends one datagram per decision, and socket.py costs
# milliseconds of enum building at import.
import _socket

JOURNAL_SOCKET = "/run/systemd/journal/socket"
IDENTIFIER = "migration-guard"
# A stalled journald must not hold the hook: the datagram waits this long for room, then
# the summary is dropped (the audit record and stderr still say everything).
SEND_TIMEOUT = 0.5
# The journal is absent (not stalled): syslog instead.
_ABSENT = (FileNotFoundError, ConnectionRefusedError, NotADirectoryError)

# One MESSAGE_ID per kind of event (`journalctl MESSAGE_ID=...`), each explained in the
# journal catalog packaging/migration-guard.catalog (`journalctl -x`); a test keeps the two
# in step. The hook's decision summary keeps the ID it has always had.
DECISION = "6f1c5a0e2b9d4c7e8a3f1b2c4d5e6f70"
FACTS_REFRESHED = "1d0b7e3c9a2f4e6b8c5d7a9e0f1b2c3d"
FACTS_FAILED = "8e2a4c6f0b1d4f3a9c7e5b2d1a0f9e8c"
LIBVIRT_UNAVAILABLE = "3b9f1e7d5c2a4b8e9f0d6c4a2e1b7f5d"
STAMPED = "a4c8e2f6b0d94a1c8e3f5b7d9c1a2e4f"
STAMP_FAILED = "c7e1a3f5d9b24c6e8a0f2d4b6e8c1a3f"
WATCH_STOPPED = "5e9d3b1f7a6c4e2d8b0a9f7e5c3d1b2a"
COLLECT_SKIPPED = "d2f4a6c8e0b14d3f9a5c7e1b3d5f7a9c"
HOOK_ACTIVATION = "9a1c3e5f7b2d4f6a8c0e2b4d6f8a1c3e"
WATCH_OTHER = "4f6b8d0a2c3e4a5b9d7f1e3c5a7b9d0e"
FACTS_COLLECTED = "e5b7d9f1a3c24e5b8d0f2a4c6e8b0d1f"
OUTCOME = "2c4e6a8b0d1f4a3c9e5b7d1f3a5c7e9b"
FALSE_ALLOW = "f0a1b2c3d4e54f6a8b9c0d1e2f3a4b5c"
MESSAGE_IDS = {
    "decision": DECISION, "facts-refreshed": FACTS_REFRESHED, "facts-failed": FACTS_FAILED,
    "libvirt-unavailable": LIBVIRT_UNAVAILABLE, "stamped": STAMPED, "stamp-failed": STAMP_FAILED,
    "watch-stopped": WATCH_STOPPED, "collect-skipped": COLLECT_SKIPPED, "hook-activation": HOOK_ACTIVATION,
    "watch-other": WATCH_OTHER, "facts-collected": FACTS_COLLECTED, "outcome": OUTCOME, "false-allow": FALSE_ALLOW,
}
MESSAGE_ID = DECISION  # the name older code and tests use


def _field(name, value):
    text = str(value).replace("\n", " ")
    return ("%s=%s\n" % (name, text)).encode("utf-8", "replace")


def send(message, priority=6, socket_path=JOURNAL_SOCKET, timeout=SEND_TIMEOUT, message_id=DECISION, **fields):
    """Send to the journal with the event's MESSAGE_ID (a decision's by default); fall back
    to syslog where there is no journal. Never raises, never waits more than `timeout` for a
    stalled journal (returns None then)."""
    payload = _field("MESSAGE", message) + _field("PRIORITY", priority) + _field("SYSLOG_IDENTIFIER", IDENTIFIER)
    payload += _field("MESSAGE_ID", message_id)
    for name, value in sorted(fields.items()):
        if value is not None:
            payload += _field(name, value)
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
        try:
            sock.settimeout(timeout)
            sock.sendto(payload, socket_path)
            return "journal"
        finally:
            sock.close()
    except _ABSENT:
        pass
    except OSError:  # stalled (timed out) or refusing: syslog is the same daemon, do not wait on it
        return None
    try:
        import syslog
        syslog.openlog(IDENTIFIER, syslog.LOG_PID, syslog.LOG_DAEMON)
        syslog.syslog(priority, message)
        return "syslog"
    except Exception:  # noqa: BLE001 - logging must never fail a decision
        return None
