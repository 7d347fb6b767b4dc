"""What the destination's QEMU and libvirt must offer: emulator, machine-type, firmware,
security-driver, and the confidential-computing guests no QEMU can migrate.

Paths are checked for existence on the destination at decision time (guard.facts.probe), never
against a listing: libvirt runs any <emulator> binary that exists (qemuProcessStartValidate
only needs virQEMUCapsCacheLookup to probe it) and opens any <loader>/<nvram template> path
that exists, whether or not capabilities or the firmware descriptors list it. Without a
probe (preflight, check without --probe), a listed path counts as present and an unlisted
one is unverifiable, never a deny.

Security drivers: before libvirt starts a guest it checks the model of every seclabel it will
apply (the domain's own, each disk source's, each character device source's) against the
security drivers its daemon stacked (src/security/security_manager.c
virSecurityManagerCheckAllLabel / virSecurityManagerCheckModel, from src/qemu/qemu_process.c
qemuProcessStartValidate): "Security driver model 'selinux' is not available". A running guest
carries the labels its source generated (<seclabel type='dynamic' model='selinux'>), so a guest
from an SELinux host is refused where SELinux is off. The daemon stacks the drivers qemu.conf's
security_driver names, or when it names none the first the host enables (SELinux, then
AppArmor, else "none"), and the system daemon DAC on top whatever it says: security_driver =
"none" leaves DAC (src/qemu/qemu_driver.c qemuSecurityInit). Its capabilities list them
(<secmodel>, src/qemu/qemu_conf.c virQEMUDriverCreateCapabilities), which is what is compared."""
from .base import DENY, Rule, codes, derived, domcaps_for, listing

EMULATOR, MACHINE, FIRMWARE, CONFIDENTIAL = "emulator", "machine-type", "firmware", "confidential-computing"
SECURITY = "security-driver"
CONFIDENTIAL_KINDS = ("sev", "sev-snp", "s390-pv", "tdx")


def _emulators(facts):
    return tuple(sorted({g.emulator for g in facts.guests if g.emulator}))


def _machines(facts, arch, virt_type):
    """(whether the destination offers this arch and domain type, the machine types and
    aliases it offers for them)."""
    support = facts.guest_support(arch, virt_type)
    return bool(support), frozenset(name for guest in support for name in guest.machine_names())


def check_emulator(ctx):
    domain = ctx.domain
    arch = ctx.arch  # libvirt uses the host's arch when <type> names none
    if domain.os_type != "hvm":
        yield EMULATOR_RULE.finding("os-type",
                                    "<os><type>%s</type>: the destination's QEMU runs only hvm guests" % domain.os_type,
                                    "this guest is not a QEMU guest; move it with the tools of its own driver",
                                    guest=domain.os_type)
        return
    if not ctx.dest.guests:
        yield EMULATOR_RULE.unverifiable("the destination's facts list no guest support")
        return
    if not supported(ctx.dest, arch, domain.virt_type)[0]:
        offered = sorted({g.virt_type for g in ctx.dest.guests if g.arch == arch})
        yield EMULATOR_RULE.finding("domain-type",
                                    "<domain type='%s'> for %s: the destination offers %s for that arch"
                                    % (domain.virt_type, arch, ", ".join(offered) or "no domain type"),
                                    "migrate to a host with %s support, or use `virsh migrate --xml` with type='%s'"
                                    % (domain.virt_type, offered[0] if offered else "qemu"),
                                    guest=domain.virt_type, dest=offered)
        return
    if not domain.emulator:
        return
    # QEMU's x86_64 binary runs i686 guests too: any emulator the host lists counts as present.
    emulators = derived(ctx.dest, "emulators", _emulators)
    present = ctx.path_exists(domain.emulator, emulators)
    # The message names the path (for the audit record); the refusal does not (guard.rules.findings.Finding).
    if present is False:
        yield EMULATOR_RULE.finding("binary",
                                    "<emulator>%s</emulator> does not exist on the destination" % domain.emulator,
                                    "migrate with `virsh migrate --xml` naming the destination's emulator (%s)"
                                    % (", ".join(emulators) or "see `virsh capabilities` there"),
                                    "the guest's <emulator> (named in the audit record) does not exist on the destination",
                                    guest=domain.emulator, dest=emulators)
    elif present is None:
        rest = ("is not among the destination's listed emulators (%s); whether it exists there was not checked"
                % (", ".join(emulators) or "none"))
        yield EMULATOR_RULE.unverifiable("<emulator>%s</emulator> %s" % (domain.emulator, rest),
                                         "run `migration-guard check --probe` on the destination (the hook checks it itself)",
                                         "the guest's <emulator> (named in the audit record) %s" % rest, path=domain.emulator)


def supported(facts, arch, virt_type):
    """_machines(facts, arch, virt_type), once per facts."""
    return derived(facts, ("machines", arch, virt_type), _machines, arch, virt_type)


def check_machine(ctx):
    domain = ctx.domain
    if not domain.machine:
        return
    support, machines = supported(ctx.dest, ctx.arch, domain.virt_type)
    if not support:
        return
    if not machines:
        yield MACHINE_RULE.unverifiable("the destination's facts list no machine types for %s" % ctx.arch)
        return
    if domain.machine not in machines:
        family = [m for m in sorted(machines) if m.split("-")[:2] == domain.machine.split("-")[:2]]
        yield MACHINE_RULE.finding(None,
                                   "machine type %s is not offered by the destination's QEMU" % domain.machine,
                                   "upgrade QEMU on the destination, or migrate to a host whose QEMU has %s (the destination "
                                   "has %s)" % (domain.machine, ", ".join(family[-3:]) or "other families"),
                                   guest=domain.machine, dest_family=family)


def check_firmware(ctx):
    domain = ctx.domain
    fw = domain.firmware
    needs_caps = fw.firmware or fw.loader_path or fw.nvram_template
    if not needs_caps:
        return
    caps = domcaps_for(domain, ctx.dest)
    if caps is None:
        yield FIRMWARE_RULE.unverifiable("the destination's facts have no domcapabilities for %s guests"
                                         % domain.virt_type)
        return
    if fw.firmware:
        if caps.firmware is None:
            yield FIRMWARE_RULE.unverifiable("the destination's domcapabilities do not list firmware types")
        elif fw.firmware not in caps.firmware:
            yield FIRMWARE_RULE.finding("type",
                                        "guest asks for firmware='%s'; the destination offers %s (libvirt fails with "
                                        "\"Unable to find any firmware to satisfy '%s'\")"
                                        % (fw.firmware, ", ".join(caps.firmware) or "no firmware descriptors", fw.firmware),
                                        "install the firmware package on the destination (edk2-ovmf for efi, seabios-bin "
                                        "for bios)", guest=fw.firmware, dest=list(caps.firmware))
    wants_secure = fw.wants("secure-boot") or fw.wants("enrolled-keys") or fw.loader_secure
    if wants_secure and "yes" not in caps.loader_secure:
        yield FIRMWARE_RULE.finding("secure-boot",
                                    "guest firmware needs secure boot; the destination offers secure=%s"
                                    % ("/".join(caps.loader_secure) or "nothing"),
                                    "install secure-boot firmware (edk2-ovmf) on the destination",
                                    dest=list(caps.loader_secure))
    known = set(caps.loaders)
    if ctx.dest.local is not None:
        known |= set(ctx.dest.local.firmware_files)
    nvram_missing = fw.nvram_path and ctx.path_exists(fw.nvram_path) is False
    checks = [("<loader>", fw.loader_path)]
    if not fw.nvram_path or nvram_missing or ctx.probe is None:
        # The template matters only when libvirt must create the NVRAM file from it.
        checks.append(("<nvram template>", fw.nvram_template))
    for label, path in checks:
        if not path:
            continue
        present = ctx.path_exists(path, known)
        # The message names the file (for the audit record); the refusal, its remedy included, does not.
        counted = "the guest's %s (named in the audit record)" % label
        if present is False:
            yield FIRMWARE_RULE.finding("file",
                                        "%s %s does not exist on the destination" % (label, path),
                                        "install the firmware package that ships it on the destination (edk2-ovmf, "
                                        "seabios-bin), or migrate with `virsh migrate --xml` naming a firmware file it has",
                                        "%s does not exist on the destination" % counted, path=path)
        elif present is None:
            text = "%s is not in the destination's firmware listings; whether it exists there was not checked"
            yield FIRMWARE_RULE.unverifiable(text % ("%s %s" % (label, path)),
                                             "run `migration-guard check --probe` on the destination (the hook checks it itself)",
                                             text % counted, path=path)


def check_confidential(ctx):
    kind = ctx.domain.launch_security
    if not kind:
        return
    evidence = {"guest": kind}
    dest_note = ""
    if ctx.dest is not None:
        caps = domcaps_for(ctx.domain, ctx.dest)
        offered = sorted(set(caps.launch_security) | ({"sev"} if caps.sev else set())) if caps else []
        evidence["dest"] = offered
        dest_note = "; the destination offers %s" % (", ".join(offered) or "no confidential computing")
    # The type is guest-controlled text: a type this guard does not know is still encrypted
    # memory bound to its host (libvirt migrates no launchSecurity guest).
    variant = kind if kind in CONFIDENTIAL_KINDS else "unknown"
    yield CONFIDENTIAL_RULE.finding(variant,
                                    "guest uses launch security %s, whose memory is encrypted for this host only; QEMU and "
                                    "libvirt cannot migrate it%s" % (kind, dest_note),
                                    "shut the guest down and start it on the destination", **evidence)


def _loaded_security_models(ctx):
    """(the security models the destination's daemon stacked, where that is known from), or
    (None, None): its capabilities' <secmodel> list; else qemu.conf's security_driver when it names
    drivers, with DAC for a system daemon (qemuSecurityInit); an unset one depends on what the
    host enables, which is not in the facts."""
    facts = ctx.dest
    if facts.security_models is not None:
        return frozenset(facts.security_models), "its capabilities list"
    names = facts.local.security_driver if facts.local is not None else None
    if names:
        return frozenset(names) | (frozenset() if ctx.connection == "session" else {"dac"}), "its qemu.conf gives"
    return None, None


def check_security_driver(ctx):
    yield from _check_unconfined(ctx)
    wanted = ctx.domain.security_models
    if not wanted:
        return
    loaded, known_from = _loaded_security_models(ctx)
    labels = ["%s model='%s'" % (element, model) for model, element in wanted]
    if loaded is None:
        yield SECURITY_RULE.unverifiable("%s: which security drivers the destination's libvirt loaded is not known"
                                         % listing(labels),
                                         "refresh the destination's facts (`migration-guard facts collect` reads its "
                                         "capabilities)", labels=len(labels))
        return
    missing = [(model, element) for model, element in wanted if model not in loaded]
    if not missing:
        return
    models = sorted({model for model, _element in missing})
    yield SECURITY_RULE.finding(
        "model",
        "%s: the destination's libvirt has no %s security driver (%s %s), so it refuses to start the guest "
        "(\"Security driver model '%s' is not available\")"
        % (listing("%s model='%s'" % (element, model) for model, element in missing), " or ".join(models),
           known_from, ", ".join(sorted(loaded)) or "none", models[0]),
        "enable the security driver on the destination (SELinux enabled, or security_driver in "
        "/etc/libvirt/qemu.conf, then restart its daemon), or migrate with `virsh migrate --xml` without "
        "that <seclabel>", models=models, dest=sorted(loaded))


def _check_unconfined(ctx):
    """<seclabel type='none'> to a destination whose qemu.conf sets security_require_confined:
    every stacked driver, DAC included, refuses to start it (virSecurityManagerGenLabel)."""
    models = ctx.domain.unconfined
    if not models:
        return
    local = ctx.dest.local
    required = local.security_require_confined if local is not None else None
    labels = listing("<seclabel type='none'%s>" % (" model='%s'" % model if model else "") for model in models)
    if required is None:
        yield SECURITY_RULE.unverifiable("%s: whether the destination's qemu.conf requires confined guests "
                                         "(security_require_confined) is not known" % labels,
                                         "refresh the destination's facts (`migration-guard facts collect` reads its "
                                         "qemu.conf)")
    elif required:
        yield SECURITY_RULE.finding(
            "unconfined",
            "%s: the guest runs unconfined, and the destination's qemu.conf sets security_require_confined, so its "
            "libvirt refuses to start it (\"Unconfined guests are not allowed on this host\")" % labels,
            "migrate with `virsh migrate --xml` giving the guest a dynamic <seclabel>, or set "
            "security_require_confined = 0 in the destination's /etc/libvirt/qemu.conf and restart its daemon",
            models=list(models))


EMULATOR_RULE = Rule(
    id=EMULATOR, title="Emulator", limitation="the destination cannot run the guest's emulator",
    checks="<os><type> is hvm; the guest's domain type is offered for its arch (the host's when <type> "
           "names none); its <emulator> binary exists on the destination (stat at decision time; libvirt "
           "runs any existing binary, listed in capabilities or not).",
    remedy="Migrate with an XML that names the destination's emulator.",
    codes=codes(EMULATOR, DENY, "domain-type", "binary", "os-type"), check=check_emulator, needs_dest=True,
    may_be_unverifiable=True,
    # Parsing the incoming XML looks its emulator's capabilities up and validates the guest
    # against them (qemuValidateDomainDef), for `virsh migrate --offline` as well.
    offline=True,
)

MACHINE_RULE = Rule(
    id=MACHINE, title="Machine type", limitation="QEMU migration compatibility",
    checks="The guest's machine type (or alias) is offered by the destination's QEMU.",
    remedy="Upgrade QEMU on the destination.",
    codes=codes(MACHINE, DENY, None), check=check_machine, needs_dest=True,
    may_be_unverifiable=True,
    offline=True,  # qemuValidateDomainDef: "Emulator '%s' does not support machine type '%s'", at parse
)

FIRMWARE_RULE = Rule(
    id=FIRMWARE, title="Guest firmware", limitation="Firmware settings (of the guest)",
    checks="<os firmware='efi|bios'> is satisfiable from the destination's firmware list (an empty list "
           "refuses even bios); secure-boot / enrolled-keys need secure firmware; an explicit loader, and the "
           "nvram template when the NVRAM file must be created from it, exist on the destination (stat at "
           "decision time; a file outside the firmware listings is fine when it exists).",
    remedy="Install the same firmware packages on the destination.",
    codes=codes(FIRMWARE, DENY, "type", "secure-boot", "file"), check=check_firmware,
    needs_dest=True,
    may_be_unverifiable=True,
)

SECURITY_RULE = Rule(
    id=SECURITY, title="Security driver",
    limitation="libvirt refuses to start a guest whose seclabel names a security driver the destination did not "
               "load",
    checks="The model of every <seclabel> libvirt checks before it starts a guest (the domain's own, each disk "
           "source's and character device source's: security_manager.c virSecurityManagerCheckAllLabel, from "
           "qemu_process.c qemuProcessStartValidate) is a security driver the destination's daemon stacked: its "
           "capabilities' <secmodel> list (qemu_conf.c virQEMUDriverCreateCapabilities), else its qemu.conf "
           "security_driver with DAC for the system daemon (qemu_driver.c qemuSecurityInit: \"none\" leaves "
           "DAC). Model 'none' always passes, and a <seclabel> without a model takes the destination's first "
           "driver (domain_conf.c virSecurityLabelDefsParseXML). A <seclabel type='none'> (unconfined) meets a "
           "destination whose qemu.conf sets security_require_confined (security_manager.c "
           "virSecurityManagerGenLabel).",
    remedy="Enable the security driver on the destination, or migrate with an XML without that <seclabel>.",
    codes=codes(SECURITY, DENY, "model", "unconfined"), check=check_security_driver, needs_dest=True,
    may_be_unverifiable=True,
)

CONFIDENTIAL_RULE = Rule(
    id=CONFIDENTIAL, title="Confidential computing", limitation="not migratable (QEMU/libvirt)",
    checks="<launchSecurity> of type sev, sev-snp, s390-pv or tdx, and any other type (unknown).",
    remedy="Shut down and start on the destination instead.",
    codes=codes(CONFIDENTIAL, DENY, *CONFIDENTIAL_KINDS + ("unknown",)),
    check=check_confidential,
)

RULES = (EMULATOR_RULE, MACHINE_RULE, FIRMWARE_RULE, SECURITY_RULE, CONFIDENTIAL_RULE)
