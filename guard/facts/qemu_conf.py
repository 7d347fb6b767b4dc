"""The destination's /etc/libvirt/qemu.conf: the settings a migrating guest's start depends on.

libvirt reads it with virConf (src/util/virconf.c): `name = value` lines, `#` comments,
values that are integers, "strings" (or 'strings') or [lists]; it lives at
/etc/libvirt/qemu.conf, root-only (0600), read by the system daemon at start. Only the
keys below are kept, by what libvirt does with them (src/qemu/qemu_conf.c):
- spice_tls, vnc_tls: whether SPICE and VNC listen with TLS; a SPICE guest that needs a TLS
  port cannot start without spice_tls (qemu_process.c qemuProcessSPICEAllocatePorts,
  qemu_validate.c qemuValidateDomainDeviceDefSPICEGraphics);
- migrate_tls_force: every migration to this host must use --tls;
- security_driver: the security drivers the daemon loads (src/qemu/qemu_driver.c
  qemuSecurityInit: each one named, or when unset the first the host enables, SELinux then
  AppArmor, else "none"; the system daemon stacks DAC on top whatever it says, so "none"
  leaves DAC);
- security_require_confined: every stacked driver, DAC included, refuses a guest whose
  <seclabel type='none'> would leave it unconfined (src/security/security_manager.c
  virSecurityManagerGenLabel: "Unconfined guests are not allowed on this host");
- the TLS certificate folders (tls_certificates).
Unparsable lines are skipped: this is what the host says, not a config we validate.
"""
import os
import re

KEYS = ("spice_tls", "vnc_tls", "migrate_tls_force", "security_driver", "security_require_confined",
        "default_tls_x509_cert_dir",
        "spice_tls_x509_cert_dir", "vnc_tls_x509_cert_dir", "migrate_tls_x509_cert_dir")
PATH = "etc/libvirt/qemu.conf"

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_STRING = re.compile(r"^\"((?:[^\"\\\\]|\\\\.)*)\"|^'([^']*)'")


def _value(text):
    """An int, a str or a list of str from virConf's syntax; None when unreadable."""
    text = text.strip()
    if text.startswith("["):
        items = re.findall(r"\"((?:[^\"\\\\]|\\\\.)*)\"|'([^']*)'", text.split("]", 1)[0])
        return [double or single for double, single in items]
    string = _STRING.match(text)
    if string:
        return string.group(1) if string.group(1) is not None else string.group(2)
    number = re.match(r"^-?\d+", text)
    return int(number.group(0)) if number else None


def parse_qemu_conf(text):
    """{key: value} for the KEYS the text sets (a later line wins, as in virConf)."""
    settings = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.lstrip().startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if not match or match.group(1) not in KEYS:
            continue
        value = match.group(2)
        if value.startswith("[") and "]" not in value:  # a list over several lines
            while index < len(lines) and "]" not in value:
                value += " " + lines[index].split("#", 1)[0]
                index += 1
        parsed = _value(value.split("#", 1)[0] if not value.lstrip().startswith(("\"", "'")) else value)
        if parsed is not None:
            settings[match.group(1)] = parsed
    return settings


def read_qemu_conf(root="/"):
    """The settings of root's qemu.conf, {} when it sets none, None when it cannot be read."""
    try:
        with open(os.path.join(root, PATH), errors="replace") as handle:
            return parse_qemu_conf(handle.read(1 << 20))
    except OSError:
        return None


def security_drivers(settings):
    """security_driver as a tuple of names (virConf takes a string or a list), () when unset."""
    value = settings.get("security_driver")
    if isinstance(value, str):
        return (value,) if value else ()
    return tuple(v for v in value if v) if isinstance(value, list) else ()


# The TLS services a migrating guest can need on the destination: the migration stream itself
# (the destination is its TLS server: qemu_migration_params.c qemuMigrationParamsEnableTLS ->
# qemu_command.c qemuBuildTLSx509BackendProps, endpoint 'server'), VNC when vnc_tls = 1
# (qemuBuildGraphicsVNCCommandLine: a tls-creds-x509 server object) and SPICE when a display
# takes a TLS port (qemuBuildGraphicsSPICECommandLine: x509-dir).
TLS_SERVICES = ("migrate", "vnc", "spice")
# What QEMU loads from such a folder as a server: crypto/tlscredsx509.c qcrypto_tls_creds_x509_load
# requires ca-cert.pem, server-cert.pem and server-key.pem (ca-crl.pem and dh-params.pem are
# optional); SPICE's x509-dir takes the same three names (ui/spice-core.c qemu_spice_init).
SERVER_FILES = ("ca-cert.pem", "server-cert.pem", "server-key.pem")
DEFAULT_CERT_DIR = "/etc/pki/qemu"


def tls_cert_dir(settings, service, root="/"):
    """The folder libvirt gives QEMU for a service's certificates (src/qemu/qemu_conf.c
    virQEMUDriverConfigSetDefaults, SET_TLS_X509_CERT_DEFAULT): <service>_tls_x509_cert_dir
    when set, else /etc/pki/libvirt-<service> when that exists, else default_tls_x509_cert_dir
    (itself /etc/pki/qemu unless set, virQEMUDriverConfigNew). libvirt looks for the
    service's own folder when its daemon starts; this looks now."""
    folder = settings.get("%s_tls_x509_cert_dir" % service)
    if isinstance(folder, str) and folder:
        return folder
    own = "/etc/pki/libvirt-%s" % service
    if os.path.exists(os.path.join(root, own.lstrip("/"))):
        return own
    folder = settings.get("default_tls_x509_cert_dir")
    return folder if isinstance(folder, str) and folder else DEFAULT_CERT_DIR


def tls_certificates(settings, root="/"):
    """((service, folder, the SERVER_FILES it lacks), ...) for each of TLS_SERVICES."""
    found = []
    for service in TLS_SERVICES:
        folder = tls_cert_dir(settings, service, root)
        base = os.path.join(root, folder.lstrip("/"))
        found.append((service, folder, tuple(name for name in SERVER_FILES
                                             if not os.path.isfile(os.path.join(base, name)))))
    return tuple(found)
