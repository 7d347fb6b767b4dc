"""What the destination's QEMU must offer: emulator, machine-type, firmware, and the
confidential-computing guests no QEMU can migrate."""
from ..findings import DENY, finding
from .base import Rule, codes, domcaps_for, unverifiable

EMULATOR, MACHINE, FIRMWARE, CONFIDENTIAL = "emulator", "machine-type", "firmware", "confidential-computing"
CONFIDENTIAL_KINDS = ("sev", "sev-snp", "s390-pv", "tdx")


def check_emulator(ctx):
    domain = ctx.domain
    support = ctx.dest.guest_support(domain.arch, domain.virt_type)
    if not ctx.dest.guests:
        yield unverifiable(EMULATOR, "the destination's facts list no guest support")
        return
    if not support:
        offered = sorted({g.virt_type for g in ctx.dest.guests if g.arch == domain.arch})
        yield finding(EMULATOR, "domain-type", DENY,
                      "the destination offers no '%s' domains for %s (it offers %s)"
                      % (domain.virt_type, domain.arch, ", ".join(offered) or "none"),
                      "migrate to a host with %s support" % domain.virt_type,
                      guest=domain.virt_type, dest=offered)
        return
    # QEMU's x86_64 binary runs i686 guests too: any emulator the host offers counts.
    emulators = sorted({g.emulator for g in ctx.dest.guests if g.emulator})
    if domain.emulator and emulators and domain.emulator not in emulators:
        yield finding(EMULATOR, "binary", DENY,
                      "emulator %s does not exist on the destination (it has %s)"
                      % (domain.emulator, ", ".join(emulators)),
                      "migrate with an updated XML (`virsh migrate --xml`) naming the destination's emulator",
                      guest=domain.emulator, dest=emulators)


def check_machine(ctx):
    domain = ctx.domain
    support = ctx.dest.guest_support(domain.arch, domain.virt_type)
    machines = set()
    for guest in support:
        machines |= guest.machine_names()
    if not domain.machine or not support:
        return
    if not machines:
        yield unverifiable(MACHINE, "the destination's facts list no machine types for %s" % domain.arch)
        return
    if domain.machine not in machines:
        family = [m for m in sorted(machines) if m.split("-")[:2] == domain.machine.split("-")[:2]]
        yield finding(MACHINE, None, DENY,
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
        yield unverifiable(FIRMWARE, "the destination's facts have no domcapabilities for %s guests"
                           % domain.virt_type)
        return
    if fw.firmware:
        if caps.firmware is None:
            yield unverifiable(FIRMWARE, "the destination's domcapabilities do not list firmware types")
        elif fw.firmware not in caps.firmware:
            yield finding(FIRMWARE, "type", DENY,
                          "guest asks for firmware='%s'; the destination offers %s (libvirt fails with "
                          "\"Unable to find any firmware to satisfy '%s'\")"
                          % (fw.firmware, ", ".join(caps.firmware) or "no firmware descriptors", fw.firmware),
                          "install the firmware package on the destination (edk2-ovmf for efi, seabios-bin "
                          "for bios)", guest=fw.firmware, dest=list(caps.firmware))
    wants_secure = fw.wants("secure-boot") or fw.wants("enrolled-keys") or fw.loader_secure
    if wants_secure and "yes" not in caps.loader_secure:
        yield finding(FIRMWARE, "secure-boot", DENY,
                      "guest firmware needs secure boot; the destination offers secure=%s"
                      % ("/".join(caps.loader_secure) or "nothing"),
                      "install secure-boot firmware (edk2-ovmf) on the destination",
                      dest=list(caps.loader_secure))
    known = set(caps.loaders)
    files = ctx.dest.local.firmware_files if ctx.dest.local is not None else None
    if files is not None:
        known |= set(files)
    for label, path in (("loader", fw.loader_path), ("nvram template", fw.nvram_template)):
        if not path or path in known:
            continue
        if files is None:
            yield unverifiable(FIRMWARE, "%s %s is not among the destination's known firmware, and its "
                                         "facts list no firmware files" % (label, path), path=path)
        else:
            yield finding(FIRMWARE, "file", DENY,
                          "%s %s does not exist on the destination" % (label, path),
                          "install the same firmware package on the destination", path=path)


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
    yield finding(CONFIDENTIAL, variant, DENY,
                  "guest uses launch security %s, whose memory is encrypted for this host only; QEMU and "
                  "libvirt cannot migrate it%s" % (kind, dest_note),
                  "shut the guest down and start it on the destination", **evidence)


RULES = (
    Rule(id=EMULATOR, title="Emulator", limitation="the destination cannot run the guest's emulator",
         checks="The guest's domain type is offered for its arch and its <emulator> binary exists on the "
                "destination.",
         remedy="Migrate with an XML that names the destination's emulator.",
         codes=codes(EMULATOR, DENY, "domain-type", "binary"), check=check_emulator, needs_dest=True),
    Rule(id=MACHINE, title="Machine type", limitation="QEMU migration compatibility",
         checks="The guest's machine type (or alias) is offered by the destination's QEMU.",
         remedy="Upgrade QEMU on the destination.",
         codes=codes(MACHINE, DENY, None), check=check_machine, needs_dest=True),
    Rule(id=FIRMWARE, title="Guest firmware", limitation="Firmware settings (of the guest)",
         checks="<os firmware='efi|bios'> is satisfiable from the destination's firmware list (an empty list "
                "refuses even bios); secure-boot / enrolled-keys need secure firmware; an explicit loader or "
                "nvram template exists on the destination.",
         remedy="Install the same firmware packages on the destination.",
         codes=codes(FIRMWARE, DENY, "type", "secure-boot", "file"), check=check_firmware,
         needs_dest=True),
    Rule(id=CONFIDENTIAL, title="Confidential computing", limitation="not migratable (QEMU/libvirt)",
         checks="<launchSecurity> of type sev, sev-snp, s390-pv or tdx, and any other type (unknown).",
         remedy="Shut down and start on the destination instead.",
         codes=codes(CONFIDENTIAL, DENY, *CONFIDENTIAL_KINDS + ("unknown",)),
         check=check_confidential),
)
