"""numa-pinning: pinned CPUs, bound NUMA nodes and huge pages must exist on the destination."""
from ..cpuset import format_idset
from ..findings import DENY, WARN, finding
from ..units import format_bytes
from .base import Rule, codes, unverifiable

ID = "numa-pinning"
STRICT_MODES = ("strict", "restrictive")


def _pins(ctx, dest_cpus):
    for pin in ctx.domain.pins:
        missing = pin.cpus - dest_cpus
        if missing:
            inside = pin.cpus & dest_cpus
            remedy = ("pin to CPUs %s, which exist on the destination" % format_idset(dest_cpus)
                      if not inside else
                      "drop CPUs %s from the pin; %s exist on the destination"
                      % (format_idset(missing), format_idset(inside)))
            yield finding(ID, "cpus", DENY,
                          "%s='%s' names host CPUs %s that the destination lacks (it has %s)"
                          % (pin.what, pin.cpuset, format_idset(missing), format_idset(dest_cpus)),
                          remedy, pinned=pin.what, guest_cpuset=pin.cpuset, missing=format_idset(missing),
                          dest_cpus=format_idset(dest_cpus))


def _bound_memory(ctx, binding):
    """Guest memory a binding holds: one guest cell's for <memnode>, the rest otherwise."""
    if binding.cell is not None:
        cell = next((c for c in ctx.domain.cells if c.id == binding.cell), None)
        return cell.memory_bytes if cell else 0
    covered = {b.cell for b in ctx.domain.node_bindings if b.cell is not None}
    return ctx.domain.memory_bytes - sum(c.memory_bytes for c in ctx.domain.cells if c.id in covered)


def _nodes(ctx, dest_nodes):
    for binding in ctx.domain.node_bindings:
        missing = binding.nodes - dest_nodes
        if missing:
            yield finding(ID, "nodes", DENY,
                          "%s nodeset='%s' names host NUMA nodes %s that the destination lacks (it has %s)"
                          % (binding.what, binding.nodeset, format_idset(missing), format_idset(dest_nodes)),
                          "bind to nodes %s, which exist on the destination, or use placement='auto'"
                          % format_idset(dest_nodes),
                          binding=binding.what, guest_nodeset=binding.nodeset, missing=format_idset(missing),
                          dest_nodes=format_idset(dest_nodes))
            continue
        if binding.mode not in STRICT_MODES:
            continue
        needed = _bound_memory(ctx, binding)
        available = sum(ctx.dest.cell(node).memory_bytes for node in binding.nodes)
        if needed > available:
            yield finding(ID, "memory", DENY,
                          "%s binds %s strictly to nodes %s, which have only %s on the destination"
                          % (binding.what, format_bytes(needed), binding.nodeset, format_bytes(available)),
                          "widen the nodeset or use mode='preferred'", binding=binding.what,
                          guest_bytes=needed, dest_bytes=available)


def _hugepages(ctx):
    facts = ctx.dest
    offered = set(facts.cpu.page_sizes) | {size for cell in facts.cells for size, _count in cell.pages}
    strict_nodes = set()
    for binding in ctx.domain.node_bindings:
        if binding.cell is None and binding.mode in STRICT_MODES:
            strict_nodes = set(binding.nodes)
    for page in ctx.domain.hugepages:
        if page.size_bytes == 0:
            continue  # the host's default huge page size: nothing named to compare
        if offered and page.size_bytes not in offered:
            yield finding(ID, "hugepages", DENY,
                          "guest is backed by %s huge pages; the destination offers %s"
                          % (format_bytes(page.size_bytes), ", ".join(format_bytes(s) for s in sorted(offered))),
                          "use a page size the destination offers", guest_page=page.size_bytes,
                          dest_pages=sorted(offered))
            continue
        cells = [c for c in facts.cells if not strict_nodes or c.id in strict_nodes]
        reserved = sum(c.pages_of(page.size_bytes) for c in cells) * page.size_bytes
        if cells and reserved < ctx.domain.memory_bytes and any(c.pages for c in cells):
            where = "nodes %s" % format_idset(strict_nodes) if strict_nodes else "the host"
            yield finding(ID, "hugepages", DENY,
                          "guest needs %s of %s huge pages; %s has %s reserved on the destination"
                          % (format_bytes(ctx.domain.memory_bytes), format_bytes(page.size_bytes), where,
                             format_bytes(reserved)),
                          "reserve more huge pages on the destination (vm.nr_hugepages or per node)",
                          guest_bytes=ctx.domain.memory_bytes, dest_reserved_bytes=reserved)


def _pinned(domain):
    return bool(domain.pins or domain.node_bindings or any(p.nodes for p in domain.hugepages))


def check(ctx):
    domain = ctx.domain
    if not _pinned(domain) and not domain.hugepages:
        return
    if not ctx.dest.cells:
        yield unverifiable(ID, "the destination's facts have no NUMA topology; pins cannot be checked")
        return
    yield from _pins(ctx, ctx.dest.cpu_ids())
    yield from _nodes(ctx, {c.id for c in ctx.dest.cells})
    yield from _hugepages(ctx)
    if _pinned(domain) and ctx.source is not None and ctx.source.numa:
        source_shape = ctx.source.numa_shape()
        dest_shape = ctx.dest_fingerprint.numa_shape()
        if source_shape != dest_shape:
            yield finding(ID, "shape", WARN,
                          "guest is pinned and the hosts' NUMA topologies differ: source %s, destination %s "
                          "(cell, CPUs)" % (list(source_shape), list(dest_shape)),
                          "NUMA pinning works only between hosts of similar topology; re-pin for the destination",
                          source_shape=list(source_shape), dest_shape=list(dest_shape))


RULE = Rule(
    id=ID,
    title="NUMA pinning",
    limitation="NUMA pinning works only if the hosts have similar topology.",
    checks="CPUs in <vcpu cpuset>, vcpupin, emulatorpin and iothreadpin exist on the destination; numatune "
           "memory/memnode nodesets exist; strictly bound memory fits those nodes; huge page sizes are "
           "offered and reserved; source and destination topology shapes match. placement='auto' is not pinning.",
    remedy="Pin to CPUs and nodes that exist on the destination, or use placement='auto'.",
    codes=codes(ID, DENY, "cpus", "nodes", "memory", "hugepages") + codes(ID, WARN, "shape"),
    check=check,
    needs_dest=True,
)
