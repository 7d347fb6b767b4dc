"""Host identity, source against destination: host-cpu, microcode, bios, qemu-version and
kernel-version. All need the source fingerprint the VM carries (or --source-facts).

A software-emulated guest (TCG, <domain type='qemu'>) runs on QEMU's emulated CPU: the host
CPU, its microcode, BIOS settings and the kernel (KVM) do not shape what the guest sees, so
host-cpu, microcode, bios and kernel-version do not apply to it; the QEMU version does."""
from ..versions import compare_versions
from .base import BY_CONTEXT, DENY, INFO, WARN, Rule, codes

# Denied for guests that see the host CPU, else a warning (see _identity_action).
BY_EXPOSURE = BY_CONTEXT

HOST_CPU, MICROCODE, BIOS, QEMU, KERNEL = "host-cpu", "microcode", "bios", "qemu-version", "kernel-version"

# Guests that see the host CPU as it is (no model in between) break on any difference.
EXPOSED_MODES = ("host-passthrough", "maximum")


def _identity_action(ctx):
    return DENY if ctx.domain.cpu_mode in EXPOSED_MODES else WARN


def _exposure(ctx):
    if ctx.domain.cpu_mode in EXPOSED_MODES:
        return "the guest's CPU mode %s exposes the host CPU" % ctx.domain.cpu_mode
    return "the guest uses a named CPU model, so the difference is a warning"


def _differs(source, dest):
    return source is not None and dest is not None and source != dest


def _emulated(ctx):
    return ctx.domain.virt_type == "qemu"


def check_host_cpu(ctx):
    if _emulated(ctx):
        return
    src, dst = ctx.source, ctx.dest_fingerprint
    action = _identity_action(ctx)
    for field, label in (("cpu_vendor", "vendor"), ("cpu_model", "model"), ("cpu_signature", "signature")):
        a, b = getattr(src, field), getattr(dst, field)
        if _differs(a, b):
            yield HOST_CPU_RULE.finding(label,
                                        "host CPU %s differs: source %s, destination %s; %s" % (label, a, b, _exposure(ctx)),
                                        "migrate between hosts with the same CPU, or give the guest a custom CPU model "
                                        "from `virsh hypervisor-cpu-baseline`", source=a, dest=b, action=action)
    if src.cpu_features and dst.cpu_features and src.cpu_features != dst.cpu_features:
        lost = sorted(set(src.cpu_features) - set(dst.cpu_features))
        gained = sorted(set(dst.cpu_features) - set(src.cpu_features))
        yield HOST_CPU_RULE.finding("features",
                                    "host CPU features differ: destination lacks %s, adds %s; %s"
                                    % (", ".join(lost) or "none", ", ".join(gained) or "none", _exposure(ctx)),
                                    "use a custom CPU model from `virsh hypervisor-cpu-baseline`", lost=lost, gained=gained,
                                    action=action if lost else WARN)


def check_microcode(ctx):
    if _emulated(ctx):
        return
    a, b = ctx.source.microcode, ctx.dest_fingerprint.microcode
    if _differs(a, b):
        yield MICROCODE_RULE.finding(None,
                                     "CPU microcode differs: source %s, destination %s; %s" % (a, b, _exposure(ctx)),
                                     "update the microcode (microcode_ctl / linux-firmware) so both hosts match",
                                     source=a, dest=b, action=_identity_action(ctx))


_BIOS_FIELDS = (("bios_vendor", "vendor", "BIOS vendor"), ("bios_version", "version", "BIOS version"),
                ("bios_date", "date", "BIOS date"))
_SETTING_FIELDS = (("smt", "smt", "SMT"), ("boot_mode", "boot-mode", "boot mode"),
                   ("nested", "nested", "nested virtualization"),
                   ("cpu_cmdline", "kernel-cmdline", "CPU-related kernel parameters"))


def _words(value):
    """A setting as a person reads it: on/off for booleans, a list joined, else itself."""
    if value is True or value is False:
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return " ".join(str(v) for v in value) or "none"
    return str(value)


def _vulnerable(state):
    """The kernel's words for a CPU vulnerability (/sys/devices/system/cpu/vulnerabilities/*):
    "Vulnerable", "Vulnerable: ...", "Mitigation: ...", "Not affected", "Unknown: ..."."""
    return state.startswith("Vulnerable")


def _vulnerabilities(ctx, action):
    """Compared per file both hosts list. A newer kernel lists more files (each new one
    usually "Not affected"): a file only one side has is not a difference the guest can
    see, only a note. What a guest that sees the host CPU is refused for is a weaker
    destination: "Vulnerable" there where the source mitigates or is not affected. Other
    differences (another mitigation, or a stronger destination) are a note too."""
    source, dest = dict(ctx.source.vulnerabilities or ()), dict(ctx.dest_fingerprint.vulnerabilities or ())
    if not source or not dest or source == dest:
        return
    both = sorted(set(source) & set(dest))
    weaker = [name for name in both if _vulnerable(dest[name]) and not _vulnerable(source[name])]
    if weaker:
        yield BIOS_RULE.finding("vulnerabilities",
                                "the destination is vulnerable where the source is not: %s; %s" % (
                                    "; ".join("%s: source %r, destination %r" % (name, source[name], dest[name])
                                              for name in weaker), _exposure(ctx)),
                                "apply the destination's mitigations (microcode, kernel, kernel parameters such as "
                                "mitigations=) so that none is weaker than the source's",
                                weaker=",".join(weaker), action=action)
    other = [name for name in both if name not in weaker and source[name] != dest[name]]
    only_source = sorted(set(source) - set(dest))
    only_dest = sorted(set(dest) - set(source))
    if other or only_source or only_dest:
        parts = ["%s: source %r, destination %r" % (name, source[name], dest[name]) for name in other]
        if only_dest:
            parts.append("only the destination lists %s" % ", ".join(only_dest))
        if only_source:
            parts.append("only the source lists %s" % ", ".join(only_source))
        yield BIOS_RULE.finding("vulnerability-notes",
                                "CPU vulnerability states differ, none weaker on the destination: %s" % "; ".join(parts),
                                "nothing to do: no mitigation is weaker on the destination", differing=",".join(other),
                                only_dest=",".join(only_dest), only_source=",".join(only_source))


def check_bios(ctx):
    if _emulated(ctx):
        return
    src, dst = ctx.source, ctx.dest_fingerprint
    action = _identity_action(ctx)
    for field, variant, label in _BIOS_FIELDS:
        a, b = getattr(src, field), getattr(dst, field)
        if _differs(a, b):
            yield BIOS_RULE.finding(variant,
                                    "%s differs: source %s, destination %s; %s" % (label, a, b, _exposure(ctx)),
                                    "update the firmware so both hosts run the same BIOS", source=a, dest=b, action=action)
    for field, variant, label in _SETTING_FIELDS:
        a, b = getattr(src, field), getattr(dst, field)
        if a in (None, ()) or b in (None, ()) or a == b:
            continue
        yield BIOS_RULE.finding(variant,
                                "%s differs: source %s, destination %s; %s" % (label, _words(a), _words(b), _exposure(ctx)),
                                "align the firmware and kernel settings of both hosts", source=_words(a), dest=_words(b),
                                action=action)
    yield from _vulnerabilities(ctx, action)


def _versions(rule, ctx, field, label, remedy):
    a, b = getattr(ctx.source, field), getattr(ctx.dest_fingerprint, field)
    if not a or not b or a == b:
        return
    order = compare_versions(b, a)
    if order < 0:
        yield rule.finding("older", "destination %s %s is older than the source's %s" % (label, b, a), remedy,
                           source=a, dest=b)
    elif order > 0:
        # Red Hat supports migrating forward, to a host with a newer kernel or QEMU (RHEL 9
        # "Supported hosts for virtual machine migration"): the rolling update's normal case.
        yield rule.finding("newer",
                           "destination %s %s is newer than the source's %s: supported (forward migration)"
                           % (label, b, a), "nothing to do; migrating back to the source is not supported until "
                           "it is updated too", source=a, dest=b)


def check_qemu(ctx):
    return _versions(QEMU_RULE, ctx, "qemu_version", "QEMU",
                     "upgrade qemu-kvm on the destination to the source's version")


def check_kernel(ctx):
    if _emulated(ctx):
        return ()
    return _versions(KERNEL_RULE, ctx, "kernel_release", "kernel",
                     "boot the destination into the source's kernel or newer")


HOST_CPU_RULE = Rule(
    id=HOST_CPU, title="Host CPU", limitation="CPU model (of the hosts)",
    checks="Host CPU vendor, model, signature and feature set, source against destination. Not for TCG "
           "guests (type='qemu').",
    remedy="Migrate between identical CPUs, or use a baseline custom CPU model.",
    codes=codes(HOST_CPU, BY_EXPOSURE, "vendor", "model", "signature", "features"),
    check=check_host_cpu, needs_dest=True, needs_source=True,
)

MICROCODE_RULE = Rule(
    id=MICROCODE, title="Microcode", limitation="Microcode version",
    checks="The CPU microcode revision, source against destination. Not for TCG guests (type='qemu').",
    remedy="Bring both hosts to the same microcode.",
    codes=codes(MICROCODE, BY_EXPOSURE, None), check=check_microcode, needs_dest=True, needs_source=True,
)

BIOS_RULE = Rule(
    id=BIOS, title="BIOS and firmware settings",
    limitation="BIOS version, BIOS settings, firmware settings",
    checks="SMBIOS BIOS vendor, version and date; the settings that show from the OS: SMT, boot mode, "
           "nested virtualization, CPU vulnerability states, CPU-relevant kernel parameters. Not for TCG "
           "guests (type='qemu').",
    remedy="Bring both hosts to the same BIOS and settings.",
    codes=codes(BIOS, BY_EXPOSURE, *(v for _f, v, _l in _BIOS_FIELDS + _SETTING_FIELDS), "vulnerabilities")
    + codes(BIOS, INFO, "vulnerability-notes"),
    check=check_bios, needs_dest=True, needs_source=True,
)

QEMU_RULE = Rule(
    id=QEMU, title="QEMU version", limitation="QEMU version",
    checks="QEMU version the guest started with on the source against the destination's.",
    remedy="Upgrade QEMU on the destination to at least the source's version.",
    codes=codes(QEMU, DENY, "older") + codes(QEMU, INFO, "newer"),
    check=check_qemu, needs_dest=True, needs_source=True,
)

KERNEL_RULE = Rule(
    id=KERNEL, title="Kernel version", limitation="Kernel version",
    checks="Kernel release, source against destination. Not for TCG guests (type='qemu').",
    remedy="Boot the destination into a kernel at least as new as the source's.",
    codes=codes(KERNEL, DENY, "older") + codes(KERNEL, INFO, "newer"),
    check=check_kernel, needs_dest=True, needs_source=True,
)

RULES = (HOST_CPU_RULE, MICROCODE_RULE, BIOS_RULE, QEMU_RULE, KERNEL_RULE)
