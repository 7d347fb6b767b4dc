"""unmigratable: configurations QEMU or libvirt refuse to migrate whatever the destination.

Each is a refusal in QEMU's or libvirt's source (docs/blockers.md names the place), so it is
libvirt's floor, not a policy: the migration fails wherever it goes. Most are refused on the
source before the destination is asked (libvirt's qemuMigrationSrcIsAllowed, or a QEMU
migration blocker), so the destination's hook never sees them; the pre-flight, which decides
the same XML on the source, does, and says so before an evacuation starts.
- invtsc: an invariant TSC without a TSC frequency. libvirt: "domain has 'invtsc' CPU feature
  but TSC frequency is not specified" (src/qemu/qemu_migration.c qemuMigrationSrcIsAllowed,
  for a CPU definition that requires invtsc); QEMU: "State blocked by non-migratable CPU device
  (invtsc flag)" (target/i386/kvm/kvm.c kvm_arch_init_vcpu, invtsc_mig_blocker, without
  tsc-frequency), which a host-passthrough or maximum CPU with migratable='off' sets off under
  KVM on any host whose CPU has invtsc.
- transient-disk: <disk><transient/>: "migration with transient disk is not supported"
  (qemuMigrationSrcIsAllowed).
- hyperv-passthrough: <features><hyperv mode='passthrough'> under KVM: "'hv-passthrough' CPU
  flag prevents migration, use explicit set of hv-* flags instead" (target/i386/kvm/kvm.c
  hyperv_init_vcpu).
- virgl: 3D acceleration on a virtio GPU: "virgl is not yet migratable" (hw/display/
  virtio-gpu-base.c virtio_gpu_base_device_realize).
- virtio-sound: <sound model='virtio'>, whose vmstate is unmigratable (hw/audio/virtio-snd.c,
  QEMU 8.2 and later; older ones have no such device).
- qemu-vdagent: <channel type='qemu-vdagent'>: "The vdagent chardev doesn't yet support
  migration" (ui/vdagent.c vdagent_chr_open).
- reenlightenment: <hyperv><reenlightenment state='on'> without a TSC frequency. QEMU refuses
  the state on the destination only once the guest enabled re-enlightenment notifications
  (a Hyper-V role or WSL2 inside: target/i386/machine.c hyperv_reenlightenment_post_load), which
  the XML cannot show: a warning.
"""
from .base import DENY, WARN, Rule, codes

ID = "unmigratable"


def _invtsc(domain):
    if domain.platform.tsc_frequency:
        return None
    cpu = domain.cpu
    if cpu is None:
        return None
    if "invtsc" in cpu.features_with("require", "force"):
        return "<cpu><feature name='invtsc' policy='%s'/>" % next(
            f.policy for f in cpu.features if f.name == "invtsc" and f.policy in ("require", "force"))
    if cpu.mode in ("host-passthrough", "maximum") and domain.platform.cpu_migratable is False \
            and domain.virt_type == "kvm" and "invtsc" not in cpu.features_with("disable", "forbid"):
        return "<cpu mode='%s' migratable='off'> (the host's invtsc is passed through)" % cpu.mode
    return None


# kind (guard.guest.domain.Platform.unmigratable) -> (code variant, QEMU's refusal, remedy)
_DEVICES = {
    "virgl": ("virgl", "\"virgl is not yet migratable\"",
              "switch 3D acceleration off (<acceleration accel3d='no'/>) before migrating, or shut the guest down and "
              "start it on the destination"),
    "virtio-sound": ("virtio-sound", "QEMU's virtio-sound device state is unmigratable",
                     "detach the sound device (`virsh detach-device --live`) or use <sound model='ich9'>"),
    "qemu-vdagent": ("qemu-vdagent", "\"The vdagent chardev doesn't yet support migration\"",
                     "use a spicevmc channel for the agent, or detach the channel before migrating"),
}


def _hyperv(domain):
    if domain.hyperv is None:
        return
    mode, features = domain.hyperv
    if mode == "passthrough" and domain.virt_type == "kvm":
        yield RULE.finding("hyperv-passthrough",
                           "<features><hyperv mode='passthrough'>: QEMU refuses to migrate it (\"'hv-passthrough' CPU flag "
                           "prevents migration, use explicit set of hv-* flags instead\")",
                           "list the enlightenments explicitly (<hyperv mode='custom'> with the hv features the guest "
                           "needs) and restart the guest before migrating")
    if "reenlightenment" in features and not domain.platform.tsc_frequency:
        yield RULE.finding("reenlightenment",
                           "<hyperv><reenlightenment state='on'> without a TSC frequency: if the guest enabled "
                           "re-enlightenment notifications (a Hyper-V role or WSL2 inside it), the destination refuses its "
                           "state (\"Guest enabled re-enlightenment notifications, 'tsc-frequency=' has to be specified\")",
                           "fix the TSC frequency in the guest (<clock><timer name='tsc' frequency='HZ'/></clock>)")


def check(ctx):
    domain = ctx.domain
    yield from _hyperv(domain)
    for kind, element in domain.platform.unmigratable:
        variant, refusal, remedy = _DEVICES[kind]
        yield RULE.finding(variant, "%s: QEMU cannot migrate it (%s)" % (element, refusal), remedy,
                           device=element)
    invtsc = _invtsc(domain)
    if invtsc:
        yield RULE.finding("invtsc",
                           "%s without a TSC frequency: libvirt and QEMU refuse to migrate an invariant TSC whose "
                           "frequency is not fixed (\"domain has 'invtsc' CPU feature but TSC frequency is not "
                           "specified\")" % invtsc,
                           "fix the frequency in the guest (<clock><timer name='tsc' frequency='HZ'/></clock>, the "
                           "source host's TSC rate, which every destination must be able to give), or drop invtsc",
                           cpu=invtsc)
    if domain.platform.transient_disks:
        yield RULE.finding("transient-disk",
                           "disk %s is <transient/>: libvirt refuses to migrate a guest with a transient disk "
                           "(\"migration with transient disk is not supported\")" % ", ".join(domain.platform.transient_disks),
                           "shut the guest down and start it on the destination, or drop <transient/> from the disk",
                           disks=list(domain.platform.transient_disks))


RULE = Rule(
    id=ID,
    title="Unmigratable configuration",
    limitation="QEMU or libvirt refuse to migrate this configuration to any host",
    checks="An invariant TSC (a required invtsc feature, or host-passthrough/maximum with migratable='off' under "
           "KVM) without <clock><timer name='tsc' frequency>; a <transient/> disk; <hyperv mode='passthrough'> "
           "under KVM; a virtio GPU with 3D acceleration (virgl); <sound model='virtio'>; a qemu-vdagent channel; "
           "and, as a warning, Hyper-V re-enlightenment without a TSC frequency. Mostly refused on the source "
           "(qemuMigrationSrcIsAllowed, QEMU's migration blockers): the pre-flight reports them before a migration "
           "starts.",
    remedy="Change the guest's configuration as the finding says, or shut it down and start it elsewhere.",
    codes=codes(ID, DENY, "invtsc", "transient-disk", "hyperv-passthrough", "virgl", "virtio-sound", "qemu-vdagent")
    + codes(ID, WARN, "reenlightenment"),
    check=check,
)
