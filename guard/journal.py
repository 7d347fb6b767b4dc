"""A one-line decision summary to the journal, with structured fields, or to syslog.

Uses the journal's native datagram protocol (no python3-systemd needed), so that
`journalctl MG_DECISION=deny` finds every refusal; plain syslog where there is no journal.
"""
# _socket, not socket: the hook sends one datagram per decision, and socket.py costs
# milliseconds of enum building at import.
import _socket

JOURNAL_SOCKET = "/run/systemd/journal/socket"
# A fixed MESSAGE_ID for every migration-guard decision (`journalctl MESSAGE_ID=...`).
MESSAGE_ID = "6f1c5a0e2b9d4c7e8a3f1b2c4d5e6f70"
IDENTIFIER = "migration-guard"
# A stalled journald must not hold the hook: the datagram waits this long for room, then
# the summary is dropped (the audit record and stderr still say everything).
SEND_TIMEOUT = 0.5
# The journal is absent (not stalled): syslog instead.
_ABSENT = (FileNotFoundError, ConnectionRefusedError, NotADirectoryError)


def _field(name, value):
    text = str(value).replace("\n", " ")
    return ("%s=%s\n" % (name, text)).encode("utf-8", "replace")


def send(message, priority=6, socket_path=JOURNAL_SOCKET, timeout=SEND_TIMEOUT, **fields):
    """Send to the journal; fall back to syslog where there is no journal. Never raises,
    never waits more than `timeout` for a stalled journal (returns None then)."""
    payload = _field("MESSAGE", message) + _field("PRIORITY", priority) + _field("SYSLOG_IDENTIFIER", IDENTIFIER)
    payload += _field("MESSAGE_ID", MESSAGE_ID)
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
