"""cpu-model: the guest's CPU definition must be one the destination can provide.

Hyper-V enlightenments: libvirt checks <features><hyperv> against what the destination's
QEMU/KVM offers (domcapabilities <features><hyperv><enum name='features'>, libvirt 9.x and
later; qemu_capabilities.c virQEMUCapsFillDomainFeatureHypervCaps) and QEMU refuses to
start with an unsupported hv-* property (target/i386/kvm/kvm.c hyperv_feature_supported);
hv-evmcs needs Intel VMX (kvm_hyperv_expand_features: "Hyper-V eVMCS ... not supported").
"""
from .base import DENY, Rule, codes, domcaps_for, listing

ID = "cpu-model"
BASELINE_REMEDY = "use a custom CPU model from `virsh hypervisor-cpu-baseline` run against both hosts"


def _mode(ctx, caps):
    cpu = ctx.domain.cpu
    supported = caps.mode_supported(cpu.mode)
    if supported is False:
        extra = " (libvirt refuses host-passthrough under TCG)" if ctx.domain.virt_type == "qemu" else ""
        yield RULE.finding("mode",
                           "CPU mode '%s' is not supported for %s guests on the destination%s"
                           % (cpu.mode, ctx.domain.virt_type, extra), BASELINE_REMEDY,
                           guest_mode=cpu.mode, virt_type=ctx.domain.virt_type)


def _model(ctx, caps):
    cpu = ctx.domain.cpu
    model = caps.cpu_model(cpu.model)
    if model is None:
        yield RULE.finding("unknown-model",
                           "CPU model %s is unknown to the destination's QEMU" % cpu.model, BASELINE_REMEDY,
                           guest_model=cpu.model)
        return
    if model.usable != "no":
        return
    # A feature the guest disables no longer blocks the model.
    disabled = set(cpu.features_with("disable", "forbid"))
    if model.blockers is None:
        yield RULE.finding("unusable",
                           "CPU model %s is not usable on the destination (usable='no'; this libvirt does not list "
                           "the blocking features)" % cpu.model, BASELINE_REMEDY, guest_model=cpu.model)
        return
    blockers = [b for b in model.blockers if b not in disabled]
    if blockers:
        yield RULE.finding("unusable",
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
        yield RULE.finding("feature-missing",
                           "guest CPU requires %s, which the destination's CPU lacks" % ", ".join(missing),
                           BASELINE_REMEDY, missing=missing)
    forbidden = [f for f in cpu.features_with("forbid") if f in present]
    if forbidden:
        yield RULE.finding("feature-forbidden",
                           "guest CPU forbids %s, which the destination's CPU has" % ", ".join(forbidden),
                           BASELINE_REMEDY, forbidden=forbidden)


def _vendor(ctx):
    cpu = ctx.domain.cpu
    host_vendor = ctx.dest.cpu.vendor
    if cpu.vendor and host_vendor and ctx.domain.virt_type == "kvm" and cpu.vendor != host_vendor:
        yield RULE.finding("vendor",
                           "<cpu><vendor>%s</vendor> differs from the destination's CPU vendor %s; KVM cannot "
                           "present another vendor's CPU" % (cpu.vendor, host_vendor),
                           "drop <vendor> and use a model from `virsh hypervisor-cpu-baseline` run against both hosts",
                           guest_vendor=cpu.vendor, dest_vendor=host_vendor)


# Enlightenments that exist on one CPU vendor only.
VENDOR_ONLY = {"evmcs": "Intel"}
# Enlightenments libvirt only warns about when QEMU does not give them (src/qemu/qemu_process.c
# qemuProcessVerifyHypervFeatures: "host doesn't support hyperv '%s' feature" is a VIR_WARN for
# these two and an error for every other).
WARN_ONLY = ("relaxed", "vapic")


def _hyperv(ctx, caps):
    mode, features = ctx.domain.hyperv
    if mode != "custom" or not features:
        return  # passthrough takes what the host has: the host-cpu rule compares hosts
    if ctx.domain.virt_type != "kvm":
        # domcapabilities describe KVM's enlightenments, not TCG's. Under TCG QEMU runs some
        # (relaxed, vapic...) and refuses others at start (vpindex, synic: "kernel doesn't allow
        # setting HyperV VP_INDEX"), and this guest started with its set on the source: the
        # same QEMU runs it on the destination, and a different one is qemu-version's to judge.
        return
    features = [f for f in features if f not in WARN_ONLY]
    if not features:
        return
    if caps is None or caps.hyperv is None:
        yield RULE.unverifiable("the destination's domcapabilities do not list Hyper-V enlightenments; "
                                "<features><hyperv> %s not checked" % listing(features, 6))
        return
    offered = set(caps.hyperv)
    missing = [f for f in features if f not in offered]
    vendor = ctx.dest.cpu.vendor
    wrong_vendor = [f for f in features if f in VENDOR_ONLY and vendor and vendor != VENDOR_ONLY[f]
                    and f not in missing]
    lacking = missing + wrong_vendor
    if lacking:
        yield RULE.finding("hyperv",
                           "<features><hyperv> enables %s, which the destination's %s does not offer%s"
                           % (listing(lacking, 8), "QEMU/KVM" if missing else "CPU",
                              "".join(" (%s needs an %s CPU; it has %s)" % (f, VENDOR_ONLY[f], vendor)
                                      for f in wrong_vendor)),
                           "switch those enlightenments off (state='off') in the guest, or migrate to a host that "
                           "offers them", missing=lacking, dest_offers=sorted(offered))


def check(ctx):
    cpu = ctx.domain.cpu
    if ctx.domain.hyperv is not None:
        yield from _hyperv(ctx, domcaps_for(ctx.domain, ctx.dest))
    if cpu is None:
        return
    caps = domcaps_for(ctx.domain, ctx.dest)
    if caps is None:
        yield RULE.unverifiable("the destination's facts have no domcapabilities for %s guests (%s)"
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
           "forbidden ones absent; the vendor matches; <features><hyperv> enlightenments are offered by the "
           "destination's domcapabilities for KVM guests (evmcs on Intel only; relaxed and vapic, which libvirt "
           "only warns about, and TCG guests, whose enlightenments domcapabilities do not describe, are not "
           "judged).",
    remedy="Use a custom CPU model from `virsh hypervisor-cpu-baseline` computed over both hosts.",
    codes=codes(ID, DENY, "mode", "unknown-model", "unusable", "feature-missing", "feature-forbidden", "vendor",
                "hyperv"),
    check=check,
    needs_dest=True,
    may_be_unverifiable=True,
)
