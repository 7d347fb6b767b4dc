"""The journal summary: native protocol fields on a datagram socket, syslog without one."""
import socket

from guard.output import journal


def test_native_journal_fields(tmp_path):
    path = str(tmp_path / "journal.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    try:
        sent = journal.send("migration migrate begin of web01: deny (memory-size[limit])", priority=4,
                            socket_path=path, MG_DECISION="deny", MG_DOMAIN="web01", MG_RULES="memory-size[limit]",
                            MG_UUID=None)
        assert sent == "journal"
        fields = dict(line.split("=", 1) for line in server.recv(65536).decode().splitlines())
    finally:
        server.close()
    assert fields["MESSAGE_ID"] == journal.MESSAGE_ID and fields["SYSLOG_IDENTIFIER"] == "migration-guard"
    assert fields["MG_DECISION"] == "deny" and fields["MG_DOMAIN"] == "web01" and fields["PRIORITY"] == "4"
    assert "MG_UUID" not in fields


def test_newlines_cannot_forge_fields(tmp_path):
    path = str(tmp_path / "journal.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    try:
        journal.send("x", socket_path=path, MG_DOMAIN="evil\nMG_DECISION=allow")
        lines = server.recv(65536).decode().splitlines()
    finally:
        server.close()
    assert not any(line.startswith("MG_DECISION=") for line in lines)


def test_syslog_fallback_without_a_journal(tmp_path):
    assert journal.send("hello", socket_path=str(tmp_path / "absent.sock")) == "syslog"
