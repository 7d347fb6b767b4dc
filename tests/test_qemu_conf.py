"""The destination's qemu.conf as facts (guard.facts.qemu_conf): libvirt's virConf syntax."""
from guard.facts.local import read_local
from guard.facts.qemu_conf import parse_qemu_conf, read_qemu_conf

SAMPLE = """
# spice_tls = 1      (a commented example, as the shipped file has them)
spice_tls = 1   # secure SPICE
vnc_tls=0
migrate_tls_force = 1
security_driver = [ "selinux",
   "apparmor" ]
spice_tls_x509_cert_dir = '/etc/pki/libvirt-spice'
remember_owner = 0
"""


def test_settings_are_read_as_libvirt_reads_them():
    assert parse_qemu_conf(SAMPLE) == {"spice_tls": 1, "vnc_tls": 0, "migrate_tls_force": 1,
                                       "security_driver": ["selinux", "apparmor"],
                                       "spice_tls_x509_cert_dir": "/etc/pki/libvirt-spice"}
    assert parse_qemu_conf("spice_tls = 0\nspice_tls = 1\n") == {"spice_tls": 1}  # the later line wins
    assert parse_qemu_conf("spice_tls = yes\n") == {}  # not an integer: as if unset


def test_the_collector_records_them_and_an_unreadable_file_is_unknown(tmp_path):
    assert read_qemu_conf(str(tmp_path)) is None
    local = read_local(str(tmp_path))
    assert local.spice_tls is None and local.vnc_tls is None
    (tmp_path / "etc" / "libvirt").mkdir(parents=True)
    (tmp_path / "etc" / "libvirt" / "qemu.conf").write_text(SAMPLE)
    local = read_local(str(tmp_path))
    assert (local.spice_tls, local.vnc_tls, local.migrate_tls_force) == (True, False, True)
    (tmp_path / "etc" / "libvirt" / "qemu.conf").write_text("# all defaults\n")
    assert read_local(str(tmp_path)).spice_tls is False


def test_the_certificate_folders_are_libvirts_and_their_missing_server_files_named(tmp_path):
    from guard.facts.qemu_conf import tls_certificates
    root = str(tmp_path)
    pki = tmp_path / "etc" / "pki"
    (pki / "qemu").mkdir(parents=True)
    for name in ("ca-cert.pem", "server-cert.pem"):
        (pki / "qemu" / name).write_text("")
    # Nothing set: every service takes default_tls_x509_cert_dir's default, /etc/pki/qemu.
    assert tls_certificates({}, root) == tuple((service, "/etc/pki/qemu", ("server-key.pem",))
                                              for service in ("migrate", "vnc", "spice"))
    # A service's own /etc/pki/libvirt-<service> wins when it exists; its own key wins over that.
    (pki / "libvirt-migrate").mkdir()
    found = dict((s, (d, m)) for s, d, m in tls_certificates({"vnc_tls_x509_cert_dir": "/srv/vnc"}, root))
    assert found["migrate"] == ("/etc/pki/libvirt-migrate", ("ca-cert.pem", "server-cert.pem", "server-key.pem"))
    assert found["vnc"] == ("/srv/vnc", ("ca-cert.pem", "server-cert.pem", "server-key.pem"))
    assert found["spice"] == ("/etc/pki/qemu", ("server-key.pem",))
    moved = dict((s, d) for s, d, _m in tls_certificates({"default_tls_x509_cert_dir": "/srv/pki"}, root))
    assert moved == {"migrate": "/etc/pki/libvirt-migrate", "vnc": "/srv/pki", "spice": "/srv/pki"}


def test_the_collector_records_the_certificate_folders(tmp_path):
    (tmp_path / "etc" / "libvirt").mkdir(parents=True)
    (tmp_path / "etc" / "libvirt" / "qemu.conf").write_text(SAMPLE)
    local = read_local(str(tmp_path))
    assert ("spice", "/etc/pki/libvirt-spice", ("ca-cert.pem", "server-cert.pem", "server-key.pem")) in local.tls_certs
    assert read_local(str(tmp_path / "elsewhere")).tls_certs is None  # qemu.conf not read


def test_the_collector_records_the_security_driver(tmp_path):
    from guard.facts.qemu_conf import security_drivers
    assert security_drivers(parse_qemu_conf(SAMPLE)) == ("selinux", "apparmor")
    assert security_drivers(parse_qemu_conf('security_driver = "none"\n')) == ("none",)
    assert security_drivers({}) == ()  # unset: libvirt loads what the host enables
    (tmp_path / "etc" / "libvirt").mkdir(parents=True)
    (tmp_path / "etc" / "libvirt" / "qemu.conf").write_text(SAMPLE)
    assert read_local(str(tmp_path)).security_driver == ("selinux", "apparmor")
    assert read_local(str(tmp_path / "elsewhere")).security_driver is None  # qemu.conf not read


def test_the_collector_records_whether_confined_guests_are_required(tmp_path):
    (tmp_path / "etc" / "libvirt").mkdir(parents=True)
    conf = tmp_path / "etc" / "libvirt" / "qemu.conf"
    conf.write_text("security_require_confined = 1\n")
    assert read_local(str(tmp_path)).security_require_confined is True
    conf.write_text("# security_require_confined = 1\n")  # the shipped default: commented out
    assert read_local(str(tmp_path)).security_require_confined is False
    assert read_local(str(tmp_path / "elsewhere")).security_require_confined is None  # qemu.conf not read
