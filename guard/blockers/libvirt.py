"""libvirt entries of the blocker catalogue (guard.blockers): read from libvirt's QEMU driver
source in the upstream release tarballs 7.0.0, 9.0.0 and 11.3.0, which bracket the 8.0 .. 10.10
range RHEL 9 ships. Every virReportError on the migration path was followed from
src/qemu/qemu_migration.c: the source's qemuMigrationSrcIsAllowed(-Hostdev), qemuMigrationSrcIsSafe
and qemuMigrationSrcBegin*; the destination's qemuMigrationDstPrepare* (flag checks, the migration
cookie, virDomainObjListAdd, storage pre-creation, TLS); and the start an incoming guest goes
through there (qemuProcessInit -> qemuProcessStartValidate, qemuProcessPrepareDomain,
qemuProcessPrepareHost, qemuProcessLaunch and what they call: CPU, firmware, TPM, virtiofsd,
cgroups, networks, graphics), keeping the refusals a domain XML, a migration flag or the
destination host can set off and leaving pure XML syntax checks out. `since` is "8.0" for what
7.0.0 already has, else the NEWS.rst release; two are inferred: 8.6, when libvirt began asking
QEMU for blocked-reasons instead of its own hostdev/vDPA list (QEMU_CAPS_MIGRATION_BLOCKED_REASONS
is the capability right after 8.6.0's usb-host guest-resets-all), and 10.6 for virtiofs migration
(as guard.rules.devices has it; NEWS is silent). Two facts shape what the hook sees: the
destination parses the incoming XML before the migrate hook runs (qemuMigrationAnyPrepareDef:
post-parse, which needs the <emulator> binary, and after 9.0 also qemuValidateDomainDef, which
9.0 and earlier skip until qemuProcessStartValidate), so those refusals happen whatever the hook
answers; and the guest CPU the destination checks is the source's live CPU from the migration
cookie (QEMU_MIGRATION_COOKIE_CPU, check='full'), while the hook's XML carries the CPU as it was
configured (qemuDomainDefFormatBufInternal puts priv->origCPU back).
"""
from .base import Blocker

SOURCE = "source-side: libvirt refuses on the source before the destination is asked; the pre-flight's"
MIGRATION = "src/qemu/qemu_migration.c"
PROCESS = "src/qemu/qemu_process.c"
VALIDATE = "src/qemu/qemu_validate.c"

BLOCKERS = (
    # --- the source: qemuMigrationSrcIsAllowed / IsAllowedHostdev / IsSafe / Begin -----------------
    Blocker(id="libvirt-snapshots", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="the guest has snapshot metadata on the source (`virsh snapshot-list` is not empty): "
                    "\"cannot migrate domain with N snapshots\"",
            rule="source-refusal[snapshots]", since="8.0"),
    Blocker(id="libvirt-qemu-migration-blockers", component="libvirt",
            where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="QEMU on the source reports a migration blocker (query-migrate blocked-reasons: an "
                    "assigned device without migration support, SEV, invtsc under KVM, ...): \"cannot migrate "
                    "domain: <QEMU's reasons>\"",
            reason=SOURCE + "; each QEMU blocker is a qemu-family entry of its own", since="8.6"),
    Blocker(id="libvirt-hostdev-capabilities", component="libvirt",
            where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='capabilities'> (only where QEMU cannot report blockers, before libvirt "
                    "asked QEMU; qemu_validate.c refuses this mode for QEMU guests anyway)",
            rule="device-passthrough[capabilities]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-hostdev-scsi", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='subsystem' type='scsi'> (libvirt's own check, used while it did not ask "
                    "QEMU for blocked-reasons; since then QEMU's blockers decide)",
            rule="device-passthrough[scsi]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-hostdev-scsi-host", component="libvirt",
            where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='subsystem' type='scsi_host'> (vhost-scsi; libvirt's own check, used while it "
                    "did not ask QEMU for blocked-reasons)",
            rule="device-passthrough[scsi_host]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-hostdev-mdev", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='subsystem' type='mdev'> (a vGPU; libvirt's own check, used while it did not "
                    "ask QEMU for blocked-reasons; since then vfio's migration support decides)",
            rule="mediated-device[absent]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-hostdev-mdev-present", component="libvirt",
            where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='subsystem' type='mdev'> even where the destination has the same mdev ready (libvirt "
                    "refuses every mdev while it does not ask QEMU; since then vfio's migration support decides)",
            rule="mediated-device[present]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-hostdev-pci", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<hostdev mode='subsystem' type='pci'> without <teaming type='transient'> (libvirt's own "
                    "check, used while it did not ask QEMU for blocked-reasons; since then vfio-pci's blocker "
                    "decides)",
            rule="device-passthrough[pci]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-interface-hostdev", component="libvirt",
            where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<interface type='hostdev'> (an SR-IOV VF) without <teaming type='transient'>: \"cannot "
                    "migrate a domain with <interface type='hostdev'>\"",
            rule="sriov[hostdev]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-network-hostdev-pool", component="libvirt",
            where=MIGRATION + ": qemuMigrationSrcIsAllowedHostdev",
            trigger="<interface type='network'> on a <forward mode='hostdev'> network: the actual type is hostdev "
                    "(\"cannot migrate a domain with <interface type='hostdev'>\")",
            rule="sriov[network-pool]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-vfio-variant-driver", component="libvirt", where="src/util/virpci.c: virPCIDeviceBindToStub",
            trigger="a Mellanox VF that reaches QEMU on plain vfio-pci on the destination, whose vfio-pci device "
                    "then has no migration support (qemu-vfio-no-migration): a managed one under a libvirt before "
                    "10.0, which binds vfio-pci (10.0 picks the variant driver from modules.alias, "
                    "virPCIDeviceFindBestVFIOVariant, or takes <driver model>), or where mlx5_vfio_pci is not "
                    "installed; an unmanaged one (managed='no') left on another driver, which libvirt does not "
                    "rebind",
            rule="sriov[mlx5-vf-conditions]", since="8.0"),
    Blocker(id="libvirt-vdpa", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<interface type='vdpa'>: \"vDPA devices cannot be migrated\" (libvirt's own check, kept "
                    "only for a QEMU that cannot report blocked-reasons once libvirt asks QEMU; then QEMU decides)",
            rule="sriov[vdpa]", since="8.0", lifted="8.6"),
    Blocker(id="libvirt-io-error-abort", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="--abort-on-error while the guest is paused on a disk I/O error: \"cannot migrate domain with "
                    "I/O error\"",
            reason="only with flag --abort-on-error, which the hook cannot see; " + SOURCE, since="8.0"),
    Blocker(id="libvirt-autodestroy", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="a guest started with --autodestroy (VIR_DOMAIN_START_AUTODESTROY): \"domain is marked for "
                    "auto destroy\"",
            reason="not reachable from a domain XML: a start flag; " + SOURCE, since="8.0"),
    Blocker(id="libvirt-active-block-job", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="a block job (blockcopy, blockcommit, blockpull) running on the source: \"domain has active "
                    "block job\"",
            reason=SOURCE + " (`virsh blockjob` on the source)", since="8.0"),
    Blocker(id="libvirt-invtsc", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<cpu><feature policy='require' name='invtsc'/> without <clock><timer name='tsc' frequency>: "
                    "\"domain has 'invtsc' CPU feature but TSC frequency is not specified\"",
            rule="unmigratable[invtsc]", since="8.0"),
    Blocker(id="libvirt-dimm-address", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<memory model='dimm'> without a DIMM <address>: \"domain's dimm info lacks slot ID or base "
                    "address\"",
            reason="not reachable from a domain XML: libvirt gives every DIMM of a running guest its address",
            since="8.0"),
    Blocker(id="libvirt-shmem-peer", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<shmem> without role='master' (ivshmem-plain / ivshmem-doorbell peers): \"shmem device 'X' "
                    "cannot be migrated, only shmem with role='master' can be migrated\"",
            rule="device-passthrough[shmem]", since="8.0"),
    Blocker(id="libvirt-slirp-helper", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<interface type='user'> served by an external slirp-helper (qemu.conf slirp_helper) that "
                    "lacks the migrate feature: \"a slirp-helper cannot be migrated\"",
            reason=SOURCE + " (it depends on the source's slirp-helper build)", since="8.0"),
    Blocker(id="libvirt-virtiofs", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<filesystem><driver type='virtiofs'/> on a source libvirt older than 10.6: \"migration "
                    "with virtiofs device is not supported\"",
            rule="device-passthrough[virtiofs]", since="8.0", lifted="10.6"),
    Blocker(id="libvirt-virtiofs-no-precopy", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<filesystem><driver type='virtiofs'/> run by libvirt (no <source socket>) whose virtiofsd "
                    "lacks migrate-precopy (virtiofsd before 1.11): \"migration with this virtiofs device is not "
                    "supported\"",
            reason=SOURCE + "; device-passthrough[virtiofs] reports it unverifiable (the facts lack virtiofsd's "
                            "--print-capabilities)",
            since="10.6"),
    Blocker(id="libvirt-dbus-vmstate", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="a helper that keeps D-Bus VM state (slirp-helper) with a QEMU without dbus-vmstate: "
                    "\"cannot migrate this domain without dbus-vmstate support\"",
            reason="not in RHEL 9: every RHEL 9 QEMU (6.2 and later) has dbus-vmstate", since="8.0"),
    Blocker(id="libvirt-transient-disk", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<disk><transient/>: \"migration with transient disk is not supported\"",
            rule="unmigratable[transient-disk]", since="8.0"),
    Blocker(id="libvirt-swtpm-shared-storage", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsAllowed",
            trigger="<tpm><backend type='emulator'> whose state is on shared storage while the source's swtpm "
                    "lacks --migration: \"the running swtpm does not support migration with shared storage\"",
            reason=SOURCE + " (swtpm --print-capabilities on the source)", since="8.10"),
    Blocker(id="libvirt-unsafe-storage", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsSafe",
            trigger="a writable disk on a local (not shared, not cluster) filesystem or an NVMe disk, migrated "
                    "without --copy-storage-all/-inc and without --unsafe: \"Migration without shared storage is "
                    "unsafe\"",
            rule="source-refusal[unsafe-storage]", since="8.0"),
    Blocker(id="libvirt-unsafe-cache", component="libvirt", where=MIGRATION + ": qemuMigrationSrcIsSafe",
            trigger="a writable shared disk with a cache mode other than none/directsync on a QEMU that cannot "
                    "drop the page cache on migration: \"Migration may lead to data corruption if disks use cache "
                    "other than none or directsync\"",
            reason="not in RHEL 9: every RHEL 9 QEMU has migration-file-drop-cache", since="8.0"),
    Blocker(id="libvirt-postcopy-flags", component="libvirt", where=MIGRATION + ": qemuMigrationDstPrepareAny",
            trigger="--postcopy with a non-live (--offline, no --live) or --suspend migration, or with --tunnelled "
                    "(checked on the source in qemuMigrationSrcBeginPhase and again on the destination)",
            reason="only with flag --postcopy, which the hook cannot see", since="8.0"),
    Blocker(id="libvirt-offline-flags", component="libvirt", where=MIGRATION + ": qemuMigrationDstPrepareAny",
            trigger="--offline with --copy-storage-*, without --persistent, or with --tunnelled (checked on both "
                    "hosts)",
            reason="only with flag --offline, which the hook cannot see", since="8.0"),
    Blocker(id="libvirt-tls-force", component="libvirt", where=MIGRATION + ": qemuMigrationDstPrepareAny",
            trigger="the destination's qemu.conf has migrate_tls_force = 1 and the migration is neither --tls nor "
                    "--tunnelled: \"this libvirtd instance allows migration only with VIR_MIGRATE_TLS flag\"",
            rule="migration-flags[tls-required]", since="8.0"),
    # --- the destination's prepare: parsing the incoming XML, the cookie, the domain list -----------
    Blocker(id="libvirt-dst-emulator-missing", component="libvirt",
            where="src/qemu/qemu_capabilities.c: virQEMUCapsNewForBinaryInternal",
            trigger="<emulator> names a binary the destination does not have: post-parse cannot probe it "
                    "(qemuDomainPostParseDataAlloc) and the incoming XML is refused before the hook runs: \"Cannot "
                    "check QEMU binary X: No such file or directory\"",
            rule="emulator[binary]", since="8.0"),
    Blocker(id="libvirt-dst-os-type", component="libvirt", where=VALIDATE + ": qemuValidateDomainDef",
            trigger="<os><type> other than hvm: \"Emulator 'X' does not support os type 'Y'\"",
            rule="emulator[os-type]", since="8.0"),
    Blocker(id="libvirt-dst-arch", component="libvirt", where=VALIDATE + ": qemuValidateDomainDef",
            trigger="<os><type arch='A'> the destination's emulator does not run: \"Emulator 'X' does not support "
                    "arch 'A'\"",
            rule="emulator[domain-type]", since="8.0"),
    Blocker(id="libvirt-dst-virt-type", component="libvirt", where=VALIDATE + ": qemuValidateDomainDef",
            trigger="<domain type='kvm'> where the destination's QEMU has no KVM: \"Emulator 'X' does not support "
                    "virt type 'kvm'\"",
            rule="emulator[domain-type]", since="8.0"),
    Blocker(id="libvirt-dst-no-kvm", component="libvirt", where=PROCESS + ": qemuProcessStartValidate",
            trigger="<domain type='kvm'> on a destination without /dev/kvm: \"Domain requires KVM, but it is not "
                    "available\"",
            rule="emulator[domain-type]", since="8.0"),
    Blocker(id="libvirt-dst-machine-type", component="libvirt", where=VALIDATE + ": qemuValidateDomainDef",
            trigger="<os><type machine='M'> the destination's QEMU lacks (virQEMUCapsIsMachineSupported): "
                    "\"Emulator 'X' does not support machine type 'M'\"",
            rule="machine-type", since="8.0"),
    Blocker(id="libvirt-dst-hostdev-type-unknown", component="libvirt",
            where="src/conf/domain_conf.c: virDomainHostdevDefParseXML",
            trigger="<hostdev mode='subsystem' type='X'> of a type the destination's libvirt does not know: the "
                    "incoming XML is refused while it is parsed (\"Invalid value for attribute 'type' in element "
                    "'hostdev'\"), before the hook",
            rule="device-passthrough[other]", since="8.0"),
    Blocker(id="libvirt-dst-launch-security-unknown", component="libvirt",
            where="src/conf/domain_conf.c: virDomainSecDefParseXML",
            trigger="<launchSecurity type='X'> of a type the destination's libvirt does not know (sev-snp, new in "
                    "10.5, sent to an older one): refused while the incoming XML is parsed, before the hook",
            rule="confidential-computing[unknown]", since="8.0"),
    Blocker(id="libvirt-dst-tdx", component="libvirt", where="src/conf/domain_conf.c: virDomainSecDefParseXML",
            trigger="<launchSecurity type='tdx'>: no libvirt up to 11.3 parses it (virDomainSecDefParseXML knows sev, "
                    "sev-snp and s390-pv), so the destination refuses the incoming XML",
            rule="confidential-computing[tdx]", since="8.0"),
    Blocker(id="libvirt-dst-name-taken", component="libvirt", where="src/conf/virdomainobjlist.c: "
                                                                    "virDomainObjListAddLocked",
            trigger="the destination has another guest of this name with another UUID: \"domain 'X' already "
                    "exists with uuid U\"",
            rule="defined-guest[name]", since="8.0"),
    Blocker(id="libvirt-dst-uuid-taken", component="libvirt", where="src/conf/virdomainobjlist.c: "
                                                                    "virDomainObjListAddLocked",
            trigger="the destination has this guest's UUID under another name: \"domain 'X' is already defined "
                    "with uuid U\"",
            rule="defined-guest[uuid]", since="8.0"),
    Blocker(id="libvirt-dst-already-active", component="libvirt", where="src/conf/virdomainobjlist.c: "
                                                                       "virDomainObjListAddLocked",
            trigger="the same guest is already running on the destination: \"domain 'X' is already active\"",
            rule="defined-guest[active]", since="8.0"),
    Blocker(id="libvirt-same-host-uuid", component="libvirt",
            where="src/qemu/qemu_migration_cookie.c: qemuMigrationCookieXMLParse",
            trigger="source and destination report the same host UUID (cloned hosts, the same SMBIOS UUID or "
                    "libvirtd.conf host_uuid): \"Attempt to migrate guest to the same host U\"",
            reason="not caught yet: a rule would compare the source fingerprint's host_uuid with the "
                   "destination facts' host_uuid (both are collected)",
            since="8.0"),
    Blocker(id="libvirt-lock-manager-mismatch", component="libvirt",
            where="src/qemu/qemu_migration_cookie.c: qemuMigrationCookieParse",
            trigger="the hosts' qemu.conf lock_manager differ (sanlock or lockd on one, none on the other): "
                    "\"Source host lock driver A different from target B\" / \"Missing B lock state for migration "
                    "cookie\"",
            reason="not caught yet: qemu.conf lock_manager of both hosts is not in the facts or the fingerprint",
            since="8.0"),
    Blocker(id="libvirt-cookie-mandatory-feature", component="libvirt",
            where="src/qemu/qemu_migration_cookie.c: qemuMigrationCookieXMLParseMandatoryFeatures",
            trigger="the source marks a cookie feature mandatory that the destination's libvirt does not know: "
                    "\"Unknown migration cookie feature X\"",
            reason="not reachable between RHEL 9 hosts: every feature a source may mark mandatory (memory-hotplug, "
                   "cpu-hotplug, ...) predates libvirt 8.0",
            since="8.0"),
    Blocker(id="libvirt-migration-tls-certs", component="libvirt",
            where="src/qemu/qemu_migration_params.c: qemuMigrationParamsEnableTLS",
            trigger="--tls (or any migration that is not --tunnelled to a host with migrate_tls_force = 1) to a "
                    "destination whose migrate_tls_x509_cert_dir (else /etc/pki/libvirt-migrate, else "
                    "default_tls_x509_cert_dir, /etc/pki/qemu: qemu_conf.c virQEMUDriverConfigSetDefaults) lacks "
                    "ca-cert.pem / server-cert.pem / server-key.pem: QEMU cannot create the tls-creds-x509 server "
                    "object (crypto/tlscredsx509.c qcrypto_tls_creds_x509_load)",
            rule="migration-flags[tls-certs]", since="8.0"),
    Blocker(id="libvirt-precreate-no-pool", component="libvirt", where=MIGRATION + ": qemuMigrationDstPrecreateDisk",
            trigger="--copy-storage-all with a file disk missing on the destination whose directory is no active "
                    "storage pool's target (virStoragePoolLookupByTargetPath), or a type='volume' disk whose pool "
                    "is missing",
            rule="storage[pool]", since="8.0"),
    Blocker(id="libvirt-precreate-type", component="libvirt", where=MIGRATION + ": qemuMigrationDstPrecreateDisk",
            trigger="--copy-storage-all with a block device, directory or network disk missing on the destination: "
                    "\"cannot precreate storage for disk type 'block'\"",
            rule="storage[uncopyable]", since="8.0"),
    Blocker(id="libvirt-precreate-incremental", component="libvirt",
            where=MIGRATION + ": qemuMigrationDstPrecreateStorage",
            trigger="--copy-storage-inc with a disk missing on the destination: \"pre-creation of storage target "
                    "for incremental storage migration of disk 'X' is not supported\"",
            reason="only with flag --copy-storage-inc, which the hook cannot see", since="8.0"),
    Blocker(id="libvirt-rdma-hard-limit", component="libvirt", where=MIGRATION + ": qemuMigrationDstPrepareActive",
            trigger="an rdma:// migration URI for a guest without <memtune><hard_limit>: \"cannot start RDMA "
                    "migration with no memory hard limit set\"",
            reason="only with an rdma migration URI, which the hook cannot see", since="8.0"),
    # --- the destination's start: CPU ---------------------------------------------------------------
    Blocker(id="libvirt-dst-cpu-mode", component="libvirt", where=PROCESS + ": qemuProcessUpdateGuestCPU",
            trigger="a CPU mode the destination's QEMU cannot give for the virt type (host-passthrough under TCG): "
                    "\"CPU mode 'host-passthrough' for x86_64 qemu domain on x86_64 host is not supported by "
                    "hypervisor\"",
            rule="cpu-model[mode]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-model-unknown", component="libvirt", where="src/cpu/cpu.c: virCPUTranslate",
            trigger="a CPU model the destination's QEMU does not know and cannot translate: \"CPU model X is not "
                    "supported by hypervisor\"",
            rule="cpu-model[unknown-model]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-forbidden", component="libvirt",
            where="src/cpu/cpu.c: virCPUCheckForbiddenFeatures",
            trigger="<feature policy='forbid'> for a feature the destination's host CPU has (check is not 'none'): "
                    "\"Host CPU provides forbidden feature 'X'\"",
            rule="cpu-model[feature-forbidden]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-full-check", component="libvirt", where="src/cpu/cpu_x86.c: virCPUx86UpdateLive",
            trigger="the source's running CPU (sent in the migration cookie with check='full', whatever the XML's "
                    "check) has a feature the destination's QEMU/KVM cannot enable: \"guest CPU doesn't match "
                    "specification: missing features: X\" once QEMU started (qemuProcessUpdateLiveGuestCPU)",
            rule="cpu-model[unusable]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-feature-missing", component="libvirt", where="src/cpu/cpu_x86.c: virCPUx86UpdateLive",
            trigger="<feature policy='require'> for a feature the destination's CPU lacks: missing from what QEMU "
                    "enables there (\"guest CPU doesn't match specification: missing features: X\")",
            rule="cpu-model[feature-missing]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-check-none", component="libvirt", where="src/cpu/cpu_x86.c: virCPUx86UpdateLive",
            trigger="a CPU with check='none' (also the default model, e.g. qemu64, that post-parse gives a guest without "
                    "<cpu>) whose model is not usable on the destination: the XML's check is not what the destination "
                    "applies; it checks the source's live CPU from the cookie with check='full', so a feature the guest "
                    "had on the source and the destination cannot give fails the start",
            rule="cpu-model[unusable]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-vendor", component="libvirt", where="src/cpu/cpu_x86.c: x86Compute",
            trigger="<cpu><vendor> other than the destination CPU's under KVM: \"host CPU vendor does not match "
                    "required CPU vendor X\" where libvirt compares (check='partial' on a fresh start); an incoming "
                    "migration's check='full' cookie CPU is not compared, and QEMU presents the foreign vendor",
            rule="cpu-model[vendor]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-partial-compare", component="libvirt", where=PROCESS + ": qemuProcessUpdateGuestCPU",
            trigger="check='partial' CPU not usable on the host (\"the CPU is incompatible with host CPU\")",
            reason="not reachable on an incoming migration: the CPU checked there is the source's live CPU from "
                   "the cookie, which carries check='full' (qemuProcessUpdateLiveGuestCPU), so only a fresh start "
                   "runs this comparison",
            since="8.0"),
    Blocker(id="libvirt-dst-hyperv", component="libvirt", where=PROCESS + ": qemuProcessVerifyHypervFeatures",
            trigger="<features><hyperv> enlightenment (vpindex, synic, stimer, evmcs, ...) the destination's KVM "
                    "does not enable, read back from QEMU after start: \"host doesn't support hyperv 'X' feature\" "
                    "(relaxed and vapic only warn)",
            rule="cpu-model[hyperv]", since="8.0"),
    Blocker(id="libvirt-dst-invtsc-host", component="libvirt", where=PROCESS + ": qemuProcessVerifyCPUFeatures",
            trigger="a CPU that requires invtsc (with a TSC frequency, so it migrates) on a destination whose CPU "
                    "lacks an invariant TSC: \"host doesn't support invariant TSC\"",
            reason="not caught yet: a rule would look for invtsc in the destination's host CPU features "
                   "(capabilities <host><cpu>)",
            since="8.0"),
    Blocker(id="libvirt-dst-tsc-frequency", component="libvirt", where=PROCESS + ": qemuProcessStartValidateTSC",
            trigger="<clock><timer name='tsc' frequency='F'> more than 250 ppm from the destination's TSC rate on a "
                    "host without TSC scaling: \"Requested TSC frequency F Hz is outside tolerance range ...\"",
            reason="not caught yet: the destination's <counter name='tsc' frequency scaling> (capabilities) is not "
                   "in the facts",
            since="8.0"),
    Blocker(id="libvirt-dst-maxphysaddr", component="libvirt", where=VALIDATE + ": qemuValidateDomainDefCpu",
            trigger="<cpu><maxphysaddr mode='emulate' bits='N'> above the destination CPU's physical address bits: "
                    "\"The number of virtual CPU address bits cannot exceed the number supported by the host CPU\"",
            reason="not caught yet: the destination's <maxphysaddr> (capabilities <host><cpu>) is not in the facts",
            since="8.7"),
    Blocker(id="libvirt-dst-pvspinlock", component="libvirt", where=PROCESS + ": qemuProcessVerifyKVMFeatures",
            trigger="<features><pvspinlock state='on'/> where QEMU does not enable kvm_pv_unhalt: \"host doesn't "
                    "support paravirtual spinlocks\"",
            reason="not caught yet: a rule would need the destination's KVM paravirt features", since="8.0"),
    # --- the destination's start: security, launch security -----------------------------------------
    Blocker(id="libvirt-dst-security-model", component="libvirt",
            where="src/security/security_manager.c: virSecurityManagerCheckModel",
            trigger="a <seclabel model='selinux|apparmor|dac'> of the domain, a disk source or a character device "
                    "source (a running guest carries the ones its source generated) on a destination whose daemon "
                    "did not stack that security driver (virSecurityManagerCheckAllLabel from "
                    "qemuProcessStartValidate): \"Security driver model 'selinux' is not available\"",
            rule="security-driver[model]", since="8.0"),
    Blocker(id="libvirt-dst-unconfined", component="libvirt",
            where="src/security/security_manager.c: virSecurityManagerGenLabel",
            trigger="<seclabel type='none'/> on a destination whose qemu.conf sets security_require_confined = 1: "
                    "\"Unconfined guests are not allowed on this host\"",
            rule="security-driver[unconfined]", since="8.0"),
    Blocker(id="libvirt-dst-sev", component="libvirt", where=VALIDATE + ": qemuValidateDomainDef",
            trigger="<launchSecurity type='sev'> on a destination whose QEMU or host has no SEV: \"SEV launch "
                    "security is not supported with this QEMU binary\" (QEMU also blocks SEV migration on the source)",
            rule="confidential-computing[sev]", since="8.0"),
    Blocker(id="libvirt-dst-s390-pv", component="libvirt", where=VALIDATE + ": qemuValidateDomainDef",
            trigger="<launchSecurity type='s390-pv'> on a destination without secure-guest support: \"S390 PV "
                    "launch security is not supported by this host or kernel\"",
            rule="confidential-computing[s390-pv]", since="8.0"),
    # --- the destination's start: devices the destination's QEMU or host must offer -------------------
    Blocker(id="libvirt-dst-graphics-type", component="libvirt",
            where=VALIDATE + ": qemuValidateDomainDeviceDefGraphics",
            trigger="<graphics type='spice'> (or another type) the destination's QEMU is built without, e.g. "
                    "RHEL 8 guests moving to RHEL 9's qemu-kvm: \"spice graphics are not supported with this QEMU\"",
            rule="device-support[graphics]", since="8.0"),
    Blocker(id="libvirt-dst-video-model", component="libvirt", where=VALIDATE + ": qemuValidateDomainDeviceDefVideo",
            trigger="<video><model type='cirrus|qxl'> the destination's QEMU lacks (RHEL 9 dropped cirrus): "
                    "\"domain configuration does not support video model 'cirrus'\"",
            rule="device-support[video]", since="8.0"),
    Blocker(id="libvirt-dst-disk-bus", component="libvirt",
            where=VALIDATE + ": qemuValidateDomainDeviceDefControllerIDE",
            trigger="<disk><target bus=...> (or device) the destination's machine does not offer, e.g. bus='ide' on "
                    "q35: \"IDE controllers are unsupported for this QEMU binary or machine type\" (domcapabilities "
                    "<disk> enums, src/qemu/qemu_capabilities.c virQEMUCapsFillDomainDeviceDiskCaps)",
            rule="device-support[disk]", since="8.0"),
    Blocker(id="libvirt-dst-rng-model", component="libvirt", where=VALIDATE + ": qemuValidateDomainRNGDef",
            trigger="<rng model=...> or <backend model=...> the destination's QEMU lacks: \"domain configuration does "
                    "not support rng model '%s'\", \"this qemu doesn't support the rng-random backend\"",
            rule="device-support[rng]", since="8.0"),
    Blocker(id="libvirt-dst-fs-driver", component="libvirt", where=VALIDATE + ": qemuValidateDomainDeviceDefFS",
            trigger="<filesystem><driver type=...> the destination's QEMU lacks (9p 'path' on RHEL 9, or virtiofs on "
                    "an old QEMU): \"Filesystem driver type not supported\", \"virtiofs is not supported with this "
                    "QEMU binary\"",
            rule="device-support[filesystem]", since="8.0"),
    Blocker(id="libvirt-dst-redirdev-bus", component="libvirt", where=VALIDATE + ": qemuValidateDomainRedirdevDef",
            trigger="<redirdev bus=...> the destination's QEMU does not offer: \"Redirection bus %s is not supported "
                    "by QEMU\", \"USB redirection is not supported by this version of QEMU\"",
            rule="device-support[redirdev]", since="8.0"),
    Blocker(id="libvirt-dst-scsi-controller-model", component="libvirt",
            where=VALIDATE + ": qemuValidateCheckSCSIControllerModel",
            trigger="<controller type='scsi' model='lsilogic|lsisas1068|lsisas1078|vmpvscsi'> the destination's "
                    "QEMU is built without: \"This QEMU doesn't support the LSI 53C895A SCSI controller\"",
            reason="not caught yet: the destination's QEMU device list is not in the facts", since="8.0"),
    Blocker(id="libvirt-dst-tpm-passthrough", component="libvirt", where=VALIDATE + ": qemuValidateDomainDeviceDefTPM",
            trigger="<tpm><backend type='passthrough'> on a QEMU without the passthrough backend (RHEL 9): \"The "
                    "QEMU executable X does not support TPM backend type passthrough\"",
            rule="device-passthrough[tpm-passthrough]", since="8.0"),
    Blocker(id="libvirt-dst-tpm-model", component="libvirt", where=VALIDATE + ": qemuValidateDomainDeviceDefTPM",
            trigger="<tpm model='tpm-tis|tpm-crb'> or <backend version='1.2|2.0'> the destination's QEMU or swtpm "
                    "does not offer: \"The QEMU executable X does not support TPM model Y\" / \"TPM version 'V' is "
                    "not supported\"",
            rule="device-support[tpm]", since="8.0"),
    Blocker(id="libvirt-dst-swtpm-missing", component="libvirt", where="src/util/virtpm.c: virTPMEmulatorInit",
            trigger="<tpm><backend type='emulator'> on a destination without swtpm / swtpm_setup in the daemon's "
                    "PATH: \"Unable to find 'swtpm' binary in $PATH\" (from 9.0 already at validation: domcapabilities "
                    "drop the emulator backend without swtpm)",
            rule="host-resource[binary]", since="8.0"),
    Blocker(id="libvirt-dst-swtpm-migration-option", component="libvirt",
            where="src/qemu/qemu_tpm.c: qemuTPMEmulatorBuildCommand",
            trigger="<tpm><backend type='emulator'> with state on shared storage to a destination whose swtpm lacks "
                    "--migration: \"swtpm (on destination side) does not support the --migration option needed for "
                    "migration with shared storage\"",
            reason="not caught yet: the destination's swtpm capabilities are not in the facts", since="8.10"),
    Blocker(id="libvirt-dst-spice-tls", component="libvirt", where=PROCESS + ": qemuProcessSPICEAllocatePorts",
            trigger="<graphics type='spice' defaultMode='secure'> or a <channel mode='secure'> (or a tlsPort) on a "
                    "destination whose qemu.conf leaves spice_tls = 0: \"Auto allocation of spice TLS port requested "
                    "but spice TLS is disabled in qemu.conf\" (qemuValidateDomainDeviceDefSPICEGraphics for an "
                    "explicit tlsPort)",
            rule="graphics-listen[spice-tls]", since="8.0"),
    Blocker(id="libvirt-dst-vnc-tls-certs", component="libvirt",
            where="src/qemu/qemu_command.c: qemuBuildGraphicsVNCCommandLine",
            trigger="<graphics type='vnc'> on a destination whose qemu.conf sets vnc_tls = 1 and whose "
                    "vnc_tls_x509_cert_dir (else /etc/pki/libvirt-vnc, else default_tls_x509_cert_dir) lacks "
                    "ca-cert.pem / server-cert.pem / server-key.pem: QEMU cannot create the display's tls-creds-x509 "
                    "server object (crypto/tlscredsx509.c qcrypto_tls_creds_x509_load) and does not start",
            rule="graphics-listen[tls-certs]", since="8.0"),
    Blocker(id="libvirt-dst-spice-tls-certs", component="libvirt",
            where="src/qemu/qemu_command.c: qemuBuildGraphicsSPICECommandLine",
            trigger="a SPICE display that takes a TLS port on a destination whose qemu.conf sets spice_tls = 1 (an "
                    "autoport display whose default mode is not 'insecure', a secure channel, a tlsPort: "
                    "qemuProcessSPICEAllocatePorts) and whose spice_tls_x509_cert_dir (else /etc/pki/libvirt-spice, "
                    "else default_tls_x509_cert_dir) lacks ca-cert.pem / server-cert.pem / server-key.pem: the "
                    "x509-dir QEMU's SPICE server loads them from (ui/spice-core.c qemu_spice_init); QEMU does not "
                    "start",
            rule="graphics-listen[tls-certs]", since="8.0"),
    Blocker(id="libvirt-dst-graphics-port", component="libvirt", where=PROCESS + ": qemuProcessGraphicsReservePorts",
            trigger="<graphics autoport='no' port='P'> (or tlsPort) that another guest on the destination already "
                    "holds: \"Failed to reserve port P\" (a port another program holds fails in QEMU's bind)",
            reason="not caught yet: a rule would need the ports the destination's guests and sockets hold",
            since="8.0"),
    Blocker(id="libvirt-dst-graphics-listen", component="libvirt", where=PROCESS + ": qemuProcessGraphicsSetupListen",
            trigger="<graphics listen='A'> (or <listen type='address'>) with an address that is not the "
                    "destination's: libvirt keeps it as given and QEMU cannot bind it",
            rule="graphics-listen[address]", since="8.0"),
    # --- the destination's start: networks ------------------------------------------------------------
    Blocker(id="libvirt-dst-network-absent", component="libvirt", where="src/network/bridge_driver.c: "
                                                                         "networkLookupByName",
            trigger="<interface type='network'><source network='N'> the destination does not define: \"Network not "
                    "found: no network with matching name 'N'\"",
            rule="network[absent]", since="8.0"),
    Blocker(id="libvirt-dst-network-inactive", component="libvirt", where="src/network/bridge_driver.c: "
                                                                           "networkAllocatePort",
            trigger="<interface type='network'> on a network defined but not started on the destination: "
                    "\"network 'N' is not active\"",
            rule="network[inactive]", since="8.0"),
    Blocker(id="libvirt-dst-bridge-missing", component="libvirt", where="src/util/virnetdevtap.c: "
                                                                         "virNetDevTapCreateInBridgePort",
            trigger="<interface type='bridge'><source bridge='B'> missing on the destination: \"Cannot get "
                    "interface MTU on 'B': No such device\"",
            rule="network[bridge]", since="8.0"),
    Blocker(id="libvirt-dst-direct-dev-missing", component="libvirt",
            where="src/util/virnetdevmacvlan.c: virNetDevMacVLanCreateWithVPortProfile",
            trigger="<interface type='direct'><source dev='D'> (macvtap) whose device the destination lacks",
            rule="network[direct]", since="8.0"),
    Blocker(id="libvirt-dst-unmanaged-tap", component="libvirt", where="src/qemu/qemu_interface.c: "
                                                                        "qemuInterfaceEthernetConnect",
            trigger="<interface type='ethernet'><target dev='T' managed='no'/> whose tap device the destination "
                    "does not have: \"target managed='no' but specified dev doesn't exist\"",
            rule="host-resource[netdev]", since="8.0"),
    Blocker(id="libvirt-dst-passt-missing", component="libvirt", where="src/qemu/qemu_passt.c: qemuPasstStart",
            trigger="<interface type='user'><backend type='passt'/> on a destination without the passt binary: "
                    "\"Could not start 'passt'\"",
            reason="not caught yet: passt is looked up in PATH, not named in the XML", since="9.0"),
    Blocker(id="libvirt-dst-vsock", component="libvirt", where=PROCESS + ": qemuProcessOpenVhostVsock",
            trigger="<vsock> on a destination without /dev/vhost-vsock (vhost_vsock not loaded): \"unable to open "
                    "vhost-vsock device\"; a fixed <cid auto='no' address='N'> another guest there holds fails too",
            reason="not caught yet: the probe would stat /dev/vhost-vsock for a guest with <vsock>", since="8.0"),
    Blocker(id="libvirt-dst-teaming-vf", component="libvirt", where="src/hypervisor/virhostdev.c: "
                                                                    "virHostdevPreparePCIDevices",
            trigger="<hostdev> or <interface type='hostdev'> with <teaming type='transient'> naming a PCI VF the "
                    "destination lacks or another guest uses (the failover VF is re-plugged there)",
            reason="not caught yet: a rule would need the destination's PCI devices (nodedev) and their users",
            since="8.0"),
    Blocker(id="libvirt-dst-usb-hostdev", component="libvirt", where="src/hypervisor/virhostdev.c: "
                                                                     "virHostdevPrepareUSBDevices",
            trigger="<hostdev mode='subsystem' type='usb'> (which libvirt lets migrate) whose device the destination "
                    "lacks, without startupPolicy='optional': \"Did not find USB device V:P\"",
            rule="device-passthrough[usb]", since="8.0"),
    # --- the destination's start: host resources and helpers -------------------------------------------
    Blocker(id="libvirt-dst-virtiofsd-binary", component="libvirt", where="src/qemu/qemu_virtiofs.c: qemuVirtioFSStart",
            trigger="<filesystem><binary path='P'/> (virtiofsd run by libvirt) missing on the destination: "
                    "\"virtiofsd binary 'P' is not executable\" (its --print-capabilities fails first in "
                    "qemuVirtioFSPrepareDomain)",
            rule="host-resource[binary]", since="8.0"),
    Blocker(id="libvirt-dst-virtiofsd-descriptor", component="libvirt",
            where="src/qemu/qemu_vhost_user.c: qemuVhostUserFillDomainFS",
            trigger="<filesystem><driver type='virtiofs'/> without <binary path> on a destination whose vhost-user "
                    "descriptors (/usr/share/qemu/vhost-user/*.json) name no working virtiofsd: \"Unable to find a "
                    "satisfying virtiofsd\"",
            reason="not caught yet: the destination's vhost-user descriptors are not in the facts", since="8.0"),
    Blocker(id="libvirt-dst-virtiofs-source", component="libvirt", where="src/qemu/qemu_virtiofs.c: qemuVirtioFSStart",
            trigger="<filesystem><driver type='virtiofs'/><source dir='D'> missing on the destination: \"the "
                    "virtiofs export directory 'D' does not exist\"",
            rule="host-resource[file]", since="8.0"),
    Blocker(id="libvirt-dst-hugepages", component="libvirt", where="src/qemu/qemu_conf.c: qemuGetDomainHupageMemPath",
            trigger="<memoryBacking><hugepages> of a page size the destination has no hugetlbfs mount for: \"Unable "
                    "to find any usable hugetlbfs mount for N KiB\"",
            rule="numa-pinning[hugepages]", since="8.0"),
    Blocker(id="libvirt-dst-numa-nodes", component="libvirt", where="src/util/virnuma.c: virNumaNodesetIsAvailable",
            trigger="<numatune> or a memory device nodemask naming host NUMA nodes the destination lacks: \"NUMA node "
                    "N is unavailable\" (qemuBuildNumaCommandLine, qemuBuildMemoryBackendProps)",
            rule="numa-pinning[nodes]", since="8.0"),
    Blocker(id="libvirt-dst-cpu-pins", component="libvirt", where="src/util/vircgroup.c: virCgroupSetCpusetCpus",
            trigger="<vcpupin>, <emulatorpin>, <iothreadpin> or <vcpu cpuset> naming CPUs the destination lacks or "
                    "its machine partition does not allow",
            rule="numa-pinning[cpus]", since="8.0"),
    Blocker(id="libvirt-dst-numad", component="libvirt", where=PROCESS + ": qemuProcessPrepareDomainNUMAPlacement",
            trigger="<vcpu placement='auto'> or <numatune><memory placement='auto'> on a destination without numad "
                    "(virNumaGetAutoPlacementAdvice runs it)",
            reason="not caught yet: numad is not named in the XML; the probe would look for it", since="8.0"),
    Blocker(id="libvirt-dst-resctrl", component="libvirt", where="src/util/virresctrl.c: virResctrlAllocCreate",
            trigger="<cputune><cachetune> or <memorytune> on a destination without resctrl (no /sys/fs/resctrl "
                    "mount, no CAT/MBA): \"Resource control is not supported on this host\"",
            reason="not caught yet: a rule would need the destination's resctrl (capabilities <cache>/<memory_bandwidth>)",
            since="8.0"),
    Blocker(id="libvirt-dst-cgroup-partition", component="libvirt", where="src/util/vircgroup.c: virCgroupNewPartition",
            trigger="<resource><partition>/machine/P</partition> whose cgroup the destination lacks, where libvirt "
                    "manages cgroups itself (no systemd-machined; with machined, the partition becomes a slice "
                    "systemd makes): \"Failed to create v2 cgroup '...'\"",
            rule="host-resource[cgroup]", since="8.0"),
    Blocker(id="libvirt-dst-chardev-file-dir", component="libvirt",
            where=PROCESS + ": qemuProcessPrepareHostBackendChardevFileHelper",
            trigger="<serial|console|channel type='file'><source path='P'> (or a chardev <log file>) whose directory "
                    "the destination lacks: libvirt (or virtlogd) creates the file and fails",
            rule="host-resource[directory]", since="8.0"),
    # --- the destination's start: firmware and storage ------------------------------------------------
    Blocker(id="libvirt-dst-firmware-autoselect", component="libvirt",
            where="src/qemu/qemu_firmware.c: qemuFirmwareFillDomain",
            trigger="<os firmware='efi|bios'> with no firmware descriptor on the destination to satisfy it: \"Unable "
                    "to find any firmware to satisfy 'efi'\" (11.x: \"Unable to find 'efi' firmware that is "
                    "compatible with the current configuration\")",
            rule="firmware[type]", since="8.0"),
    Blocker(id="libvirt-dst-firmware-secure-boot", component="libvirt",
            where="src/qemu/qemu_firmware.c: qemuFirmwareFillDomain",
            trigger="<os firmware='efi'><firmware><feature name='secure-boot|enrolled-keys' enabled='yes'/> where "
                    "the destination has no secure-boot firmware descriptor",
            rule="firmware[secure-boot]", since="8.0"),
    Blocker(id="libvirt-dst-nvram-template", component="libvirt", where=PROCESS + ": qemuPrepareNVRAM",
            trigger="<nvram template='T'>P</nvram> where P does not exist on the destination and T does not either: "
                    "\"Failed to open file 'T'\" (\"unable to find any master var store for loader\" without a "
                    "template)",
            rule="firmware[file]", since="8.0"),
    Blocker(id="libvirt-dst-disk-missing", component="libvirt", where=PROCESS + ": qemuProcessPrepareHostStorage",
            trigger="a file disk missing on the destination (qemuDomainDetermineDiskChain fails and the startup "
                    "policy does not allow dropping it), unless --copy-storage-all creates it first",
            rule="storage[missing]", since="8.0"),
    Blocker(id="libvirt-dst-optional-disk", component="libvirt", where="src/qemu/qemu_domain.c: "
                                                                      "qemuDomainCheckDiskStartupPolicy",
            trigger="<disk device='disk'> with startupPolicy='optional' missing on the destination: an incoming "
                    "migration may not drop it (QEMU's stream has its section), so the start fails",
            rule="storage[missing]", since="8.0"),
    Blocker(id="libvirt-dst-requisite-dropped", component="libvirt",
            where="src/qemu/qemu_domain.c: qemuDomainCheckDiskStartupPolicy",
            trigger="a CD-ROM or floppy with startupPolicy='requisite' or 'optional' whose source is missing on the "
                    "destination: on an incoming migration (qemuProcessPrepareHostStorage, cold_boot false) libvirt "
                    "empties the source (qemuDomainCheckRemoveOptionalDisk) and goes on",
            reason="not a refusal: the migration proceeds with the medium ejected; the storage rule skips these",
            since="8.0"),
    Blocker(id="libvirt-dst-volume-pool", component="libvirt", where="src/conf/domain_conf.c: "
                                                                     "virDomainDiskTranslateSourcePool",
            trigger="<disk type='volume'><source pool='P'> whose pool is missing or inactive on the destination: "
                    "\"storage pool 'P' containing volume 'V' is not active\" (qemuProcessPrepareDomainStorage)",
            rule="storage[pool]", since="8.0"),
)
