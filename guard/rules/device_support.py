"""device-support: the destination's QEMU must support every device model the guest uses.

libvirt validates each device against the QEMU binary's capabilities when the guest starts on
the destination (src/qemu/qemu_validate.c, e.g. qemuValidateDomainDeviceDefGraphics "spice
graphics are not supported with this QEMU", qemuValidateDomainDeviceDefVideo "this QEMU does
not support 'qxl' video device"; the TPM emulator also needs swtpm, src/util/virtpm.c), and
domcapabilities lists the same capabilities as <devices><DEVICE><enum> (src/qemu/
qemu_capabilities.c virQEMUCapsFillDomainDevice*Caps). So a value the destination's list
lacks is refused there. This is how a guest from a host whose QEMU has SPICE, QXL or a TPM
emulator fails on one without (RHEL 9's qemu-kvm builds no SPICE or QXL).
"""
from .base import DENY, Rule, codes, domcaps_for, listing, machine_family

ID = "device-support"
# The codes: one per device whose values domain.DEVICE_ENUMS reads.
DEVICES = ("disk", "graphics", "video", "rng", "filesystem", "tpm", "redirdev")
MACHINE_DEPENDENT = ("disk",)
# How each value shows in the guest's XML, for messages.
_SHOWN = {("disk", "diskDevice"): "<disk device='%s'>", ("disk", "bus"): "<disk><target bus='%s'>",
          ("graphics", "type"): "<graphics type='%s'>", ("video", "modelType"): "<video><model type='%s'>",
          ("rng", "model"): "<rng model='%s'>", ("rng", "backendModel"): "<rng><backend model='%s'>",
          ("filesystem", "driverType"): "<filesystem><driver type='%s'>", ("tpm", "model"): "<tpm model='%s'>",
          ("tpm", "backendModel"): "<tpm><backend type='%s'>", ("redirdev", "bus"): "<redirdev bus='%s'>"}
_REMEDY = {
    "graphics": "use <graphics type='vnc'> (RHEL 9's QEMU has no SPICE), or migrate to a host whose QEMU has it",
    "video": "use <video><model type='virtio'> or 'vga' (RHEL 9's QEMU has no QXL or Cirrus), or migrate to a host "
             "whose QEMU has it",
    "tpm": "install swtpm and swtpm-tools on the destination for a TPM emulator, or migrate to a host that has them",
}


def check(ctx):
    values = ctx.domain.device_values
    if not values:
        return
    caps = domcaps_for(ctx.domain, ctx.dest)
    if caps is None or caps.devices is None:
        return  # cpu-model reports missing domcapabilities; an older collector did not keep <devices>
    # Disk buses and devices depend on the machine (IDE on i440fx, not on q35): judged only against
    # the domcapabilities of the guest's own machine family, never a fallback document.
    same_machine = machine_family(caps.machine) == machine_family(ctx.domain.machine)
    lacking = {}
    for device, enum, value in values:
        if device in MACHINE_DEPENDENT and not same_machine:
            continue
        offered = caps.device_values(device, enum)
        if offered is None or value in offered:
            continue
        lacking.setdefault(device, []).append((_SHOWN[(device, enum)] % value, offered))
    for device, items in lacking.items():
        shown = listing(sorted({what for what, _ in items}))
        offered = items[0][1]
        yield RULE.finding(device,
                           "%s: the destination does not offer it (%s); libvirt refuses the guest there when it "
                           "starts" % (shown, "it offers %s" % ", ".join(offered) if offered else
                                       "it supports no <%s> at all" % device),
                           _REMEDY.get(device, "change the device to one the destination offers (`virsh domcapabilities` "
                                               "there lists them), or migrate to a host whose QEMU supports it"),
                           device=device, offered=list(offered))


RULE = Rule(
    id=ID,
    title="Device support",
    limitation="the destination's QEMU must support the guest's devices (libvirt refuses it at start otherwise)",
    checks="Each device value libvirt validates against the QEMU binary (disk device and bus, graphics type, video "
           "model, RNG model and backend, filesystem driver, TPM model and backend, redirdev bus) is one the "
           "destination's domcapabilities for the guest's emulator and machine offer.",
    remedy="Change the device to one the destination offers, or migrate to a host whose QEMU supports it.",
    codes=codes(ID, DENY, *DEVICES),
    check=check,
    needs_dest=True,
    # Validated when the destination parses the incoming XML (qemuMigrationAnyPrepareDef,
    # without VIR_DOMAIN_DEF_PARSE_SKIP_VALIDATE: qemuValidateDomainDeviceDef), offline too.
    offline=True,
)
