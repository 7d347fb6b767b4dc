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
