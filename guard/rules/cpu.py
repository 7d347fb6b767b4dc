"""cpu-model: the guest's CPU definition must be one the destination can provide."""
from ..findings import DENY, finding
from .base import Rule, codes, domcaps_for, unverifiable

ID = "cpu-model"
BASELINE_REMEDY = "use a custom CPU model from `virsh hypervisor-cpu-baseline` run against both hosts"


def _mode(ctx, caps):
    cpu = ctx.domain.cpu
    supported = caps.mode_supported(cpu.mode)
    if supported is False:
        extra = " (libvirt refuses host-passthrough under TCG)" if ctx.domain.virt_type == "qemu" else ""
        yield finding(ID, "mode", DENY,
                      "CPU mode '%s' is not supported for %s guests on the destination%s"
                      % (cpu.mode, ctx.domain.virt_type, extra), BASELINE_REMEDY,
                      guest_mode=cpu.mode, virt_type=ctx.domain.virt_type)


def _model(ctx, caps):
    cpu = ctx.domain.cpu
    model = caps.cpu_model(cpu.model)
    if model is None:
        yield finding(ID, "unknown-model", DENY,
                      "CPU model %s is unknown to the destination's QEMU" % cpu.model, BASELINE_REMEDY,
                      guest_model=cpu.model)
        return
    if model.usable != "no":
        return
    # A feature the guest disables no longer blocks the model.
    disabled = set(cpu.features_with("disable", "forbid"))
    if model.blockers is None:
        yield finding(ID, "unusable", DENY,
                      "CPU model %s is not usable on the destination (usable='no'; this libvirt does not list "
                      "the blocking features)" % cpu.model, BASELINE_REMEDY, guest_model=cpu.model)
        return
    blockers = [b for b in model.blockers if b not in disabled]
    if blockers:
        yield finding(ID, "unusable", DENY,
                      "CPU model %s is not usable on the destination; it lacks %s"
                      % (cpu.model, ", ".join(blockers)),
                      BASELINE_REMEDY + ", or disable %s in the guest CPU" % ", ".join(blockers),
                      guest_model=cpu.model, blockers=blockers)


def _features(ctx, caps):
    """Required features the destination's host-model explicitly disables, and forbidden
    ones it explicitly has. Features inherent to a model are covered by its blockers."""
    cpu = ctx.domain.cpu
    absent = set(caps.host_model_disabled)
    present = set(caps.host_model_required)
    if ctx.domain.virt_type == "kvm":
        present |= set(ctx.dest.cpu.features)
    missing = [f for f in cpu.features_with("require", "force") if f in absent]
    if missing:
        yield finding(ID, "feature-missing", DENY,
                      "guest CPU requires %s, which the destination's CPU lacks" % ", ".join(missing),
                      BASELINE_REMEDY, missing=missing)
    forbidden = [f for f in cpu.features_with("forbid") if f in present]
    if forbidden:
        yield finding(ID, "feature-forbidden", DENY,
                      "guest CPU forbids %s, which the destination's CPU has" % ", ".join(forbidden),
                      BASELINE_REMEDY, forbidden=forbidden)


def _vendor(ctx):
    cpu = ctx.domain.cpu
    host_vendor = ctx.dest.cpu.vendor
    if cpu.vendor and host_vendor and ctx.domain.virt_type == "kvm" and cpu.vendor != host_vendor:
        yield finding(ID, "vendor", DENY,
                      "guest CPU vendor %s differs from the destination's %s" % (cpu.vendor, host_vendor),
                      "migrate to a host with a %s CPU" % cpu.vendor, guest_vendor=cpu.vendor,
                      dest_vendor=host_vendor)


def check(ctx):
    cpu = ctx.domain.cpu
    if cpu is None:
        return
    caps = domcaps_for(ctx.domain, ctx.dest)
    if caps is None:
        yield unverifiable(ID, "the destination's facts have no domcapabilities for %s guests (%s)"
                           % (ctx.domain.virt_type, ctx.domain.machine), virt_type=ctx.domain.virt_type)
        return
    yield from _mode(ctx, caps)
    # host-model guests carry the expanded model once started; check it like a custom one.
    if cpu.model and cpu.mode in ("custom", "host-model"):
        yield from _model(ctx, caps)
    if cpu.mode in ("custom", "host-model"):
        yield from _features(ctx, caps)
    yield from _vendor(ctx)


RULE = Rule(
    id=ID,
    title="Guest CPU model",
    limitation="The emulated CPUs of the source and destination must be identical.",
    checks="The guest CPU mode is supported by the destination for its virt type (host-passthrough is not "
           "under TCG); a custom or expanded host-model CPU model is usable there (blockers named, minus "
           "features the guest disables; check='none' is still a custom model); required features present, "
           "forbidden ones absent; the vendor matches.",
    remedy="Use a custom CPU model from `virsh hypervisor-cpu-baseline` computed over both hosts.",
    codes=codes(ID, DENY, "mode", "unknown-model", "unusable", "feature-missing", "feature-forbidden", "vendor"),
    check=check,
    needs_dest=True,
)
