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
"""
from ..findings import DENY, finding
from .base import Rule, codes

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


def check(ctx):
    domain = ctx.domain
    invtsc = _invtsc(domain)
    if invtsc:
        yield finding(ID, "invtsc", DENY,
                      "%s without a TSC frequency: libvirt and QEMU refuse to migrate an invariant TSC whose "
                      "frequency is not fixed (\"domain has 'invtsc' CPU feature but TSC frequency is not "
                      "specified\")" % invtsc,
                      "fix the frequency in the guest (<clock><timer name='tsc' frequency='HZ'/></clock>, the "
                      "source host's TSC rate, which every destination must be able to give), or drop invtsc",
                      cpu=invtsc)
    if domain.platform.transient_disks:
        yield finding(ID, "transient-disk", DENY,
                      "disk %s is <transient/>: libvirt refuses to migrate a guest with a transient disk "
                      "(\"migration with transient disk is not supported\")" % ", ".join(domain.platform.transient_disks),
                      "shut the guest down and start it on the destination, or drop <transient/> from the disk",
                      disks=list(domain.platform.transient_disks))


RULE = Rule(
    id=ID,
    title="Unmigratable configuration",
    limitation="QEMU or libvirt refuse to migrate this configuration to any host",
    checks="An invariant TSC (a required invtsc feature, or host-passthrough/maximum with migratable='off' under "
           "KVM) without <clock><timer name='tsc' frequency>; a <transient/> disk. Refused on the source "
           "(qemuMigrationSrcIsAllowed, QEMU's invtsc blocker): the pre-flight reports them before a migration starts.",
    remedy="Change the guest's configuration as the finding says, or shut it down and start it elsewhere.",
    codes=codes(ID, DENY, "invtsc", "transient-disk"),
    check=check,
)
