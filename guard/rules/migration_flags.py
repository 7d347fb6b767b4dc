"""migration-flags: what the destination refuses for the flags the migration is run with.

qemuMigrationDstPrepareAny (src/qemu/qemu_migration.c) refuses an incoming migration that is
neither --tls nor --tunnelled when the destination's qemu.conf sets migrate_tls_force = 1:
"this libvirtd instance allows migration only with VIR_MIGRATE_TLS flag". The hook never
sees the flags; the pre-flight is given them (`preflight --tls`, `--tunnelled`) and passes
them in the source state (guard.rules.source_refusal.SourceState.flags). The destination's
setting comes from its collected facts (guard.facts.qemu_conf): known where the decision is
made on the destination itself (`--dest-shell`), unknown otherwise (then nothing is said:
the pre-flight has no flags to judge without it).

A TLS migration needs the destination's migration certificates: it is the TLS server
(qemu_migration_params.c qemuMigrationParamsEnableTLS -> qemu_command.c
qemuBuildTLSx509BackendProps, endpoint 'server', dir = migrate_tls_x509_cert_dir, which
defaults to /etc/pki/libvirt-migrate if it exists, else default_tls_x509_cert_dir,
/etc/pki/qemu: qemu_conf.c virQEMUDriverConfigSetDefaults), and QEMU's tls-creds-x509 object
fails without ca-cert.pem, server-cert.pem and server-key.pem there (crypto/tlscredsx509.c
qcrypto_tls_creds_x509_load), so the migration fails once the destination's QEMU runs. The
collector checks the files (LocalFacts.tls_certs). The migration uses TLS when the pre-flight
is given --tls; the hook does not know the flags, but on a host that forces TLS every
migration libvirt lets in uses it unless it is --tunnelled: a warning there, since a tunnelled
migration needs no certificates.
"""
from .base import BY_CONTEXT, DENY, WARN, Rule, codes
from .source_refusal import TLS, TUNNELLED

ID = "migration-flags"
MIGRATE = "migrate"  # guard.facts.qemu_conf.TLS_SERVICES: the migration stream's certificates


def check(ctx):
    state = ctx.source_state
    flags = set(state.flags) if state is not None else None  # None: the hook, which does not see them
    forced = ctx.host("migrate_tls_force")
    if flags is not None and forced and not {TLS, TUNNELLED} & flags:
        yield RULE.finding("tls-required",
                           "the destination's qemu.conf sets migrate_tls_force = 1 and the migration is neither --tls nor "
                           "--tunnelled: libvirt refuses (\"this libvirtd instance allows migration only with "
                           "VIR_MIGRATE_TLS flag\")",
                           "migrate with `virsh migrate --tls` (both hosts need the migration TLS certificates), or "
                           "choose another destination")
    if flags is not None and TLS in flags:
        yield from _certificates(ctx, "the migration is --tls", DENY)
    elif forced and flags is None:
        yield from _certificates(ctx, "the destination's qemu.conf sets migrate_tls_force = 1, so the migration is "
                                      "--tls unless it is --tunnelled", WARN)


def _certificates(ctx, why, action):
    """The migration certificates the destination's QEMU loads as the TLS server."""
    entry = next((e for e in ctx.host("tls_certs") or () if e[0] == MIGRATE), None)
    if entry is None:
        if action == DENY:  # the migration surely uses TLS: say what was not checked
            yield RULE.unverifiable("%s; whether the destination has its migration TLS certificates is not known"
                                    % why, "collect the destination's facts on the destination itself (it reads "
                                           "qemu.conf and the certificate folder as root)")
        return
    _service, folder, missing = entry
    if not missing:
        return
    text = ("%s, and the destination's migration certificate folder %s lacks %s: its QEMU cannot create the "
            "tls-creds-x509 object libvirt asks for, and the migration fails there")
    yield RULE.finding("tls-certs", text % (why, folder, ", ".join(missing)),
                       "install the CA certificate and this host's server certificate and key (ca-cert.pem, "
                       "server-cert.pem, server-key.pem) in the destination's migrate_tls_x509_cert_dir (or "
                       "default_tls_x509_cert_dir, /etc/pki/qemu unless set), or migrate without --tls to a host that does "
                       "not force TLS", text % (why, "(named in the audit record)", ", ".join(missing)),
                       missing=list(missing), action=action)


RULE = Rule(
    id=ID,
    title="Migration flags the destination requires",
    limitation="libvirt refuses a migration whose flags the destination's qemu.conf forbids, and QEMU one whose TLS "
               "certificates the destination lacks",
    checks="Pre-flight: the destination's migrate_tls_force (qemu.conf, in its facts) against the flags the "
           "pre-flight is given (--tls, --tunnelled) (qemuMigrationDstPrepareAny). A --tls migration, or in the hook "
           "one to a host that forces TLS (a warning there: a --tunnelled one needs no certificates), needs "
           "ca-cert.pem, server-cert.pem and server-key.pem in the destination's migration certificate folder "
           "(migrate_tls_x509_cert_dir, else /etc/pki/libvirt-migrate, else default_tls_x509_cert_dir: qemu_conf.c "
           "virQEMUDriverConfigSetDefaults; qemu_migration_params.c qemuMigrationParamsEnableTLS; QEMU "
           "crypto/tlscredsx509.c qcrypto_tls_creds_x509_load), as the collector found them.",
    remedy="Migrate with --tls to a host that forces TLS, and give the destination its migration TLS certificates.",
    codes=codes(ID, DENY, "tls-required") + codes(ID, BY_CONTEXT, "tls-certs"),
    check=check,
    may_be_unverifiable=True,
)
