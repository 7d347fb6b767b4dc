"""memory-size: very large guests, guests larger than the destination, and non-convergence."""
from ..units import format_bytes
from .base import DENY, MEMORY_LIMIT, WARN, Rule, codes

ID = "memory-size"


def check(ctx):
    memory = ctx.domain.memory_bytes
    limit = ctx.options.memory_limit_bytes
    if memory > limit:
        # RHEL 9's reason holds for its own 1 TB; a site's lower limit is the site's to explain.
        if limit == MEMORY_LIMIT:
            message = ("guest has %s of memory, over the %s limit; RHEL 9 says VMs with more than 1 TB of memory "
                       "may not migrate reliably" % (format_bytes(memory), format_bytes(limit)))
        else:
            message = ("guest has %s of memory, over this host's [memory] limit of %s (RHEL 9's is 1 TB)"
                       % (format_bytes(memory), format_bytes(limit)))
        yield RULE.finding("limit", message,
                           "shrink the guest, or raise [memory] limit if this host pair is validated for it",
                           guest_bytes=memory, limit_bytes=limit)
    if ctx.dest is not None and not ctx.dest.memory_bytes:
        yield RULE.unverifiable("the destination's facts do not say how much memory it has; guest size against "
                                "the host not checked")
    elif ctx.dest is not None and memory > ctx.dest.memory_bytes:
        yield RULE.finding("host",
                           "guest has %s of memory; the destination has only %s"
                           % (format_bytes(memory), format_bytes(ctx.dest.memory_bytes)),
                           "choose a destination with more memory", guest_bytes=memory,
                           dest_bytes=ctx.dest.memory_bytes)
    opts = ctx.options
    if opts.bandwidth_bytes_per_s and opts.dirty_rate_bytes_per_s is not None:
        from .convergence import estimate  # the pre-flight's: the hook measures no dirty rate
        result = estimate(memory, opts.dirty_rate_bytes_per_s, opts.bandwidth_bytes_per_s,
                          opts.max_downtime_s or 0.3)
        if not result.converges:
            yield RULE.finding("convergence",
                               "pre-copy is not expected to converge: dirty rate %s/s against bandwidth %s/s, "
                               "max downtime %gs (%s)" % (format_bytes(int(opts.dirty_rate_bytes_per_s)),
                                                          format_bytes(int(opts.bandwidth_bytes_per_s)),
                                                          opts.max_downtime_s or 0.3, result.reason),
                               "enable auto-converge or post-copy, raise the downtime limit, or migrate when the "
                               "guest is quieter", **result.evidence())


RULE = Rule(
    id=ID,
    title="Memory size",
    limitation="VMs with more than 1 TB of memory may not work reliably when migrated.",
    checks="Guest <memory> over [memory] limit (%s by default); larger than the destination host's memory; pre-copy "
           "non-convergence predicted from bandwidth, max downtime and a measured dirty rate." % format_bytes(MEMORY_LIMIT),
    remedy="Shrink the guest, or raise [memory] limit for validated host pairs.",
    codes=codes(ID, DENY, "limit", "host") + codes(ID, WARN, "convergence"),
    check=check,
    may_be_unverifiable=True,
)
