"""numa-pinning: pinned CPUs, bound NUMA nodes and huge pages must be usable on the destination.

What libvirt does with them there (libvirt src/qemu/qemu_process.c, qemu_cgroup.c):
- vCPU, emulator and iothread pins become cgroup cpusets of the guest, created under
  libvirt's machine partition (machine.slice, or /machine without systemd). A CPU outside
  that partition's cpuset fails the start ("Unable to write to '.../cpuset.cpus': Invalid
  argument", virCgroupSetCpusetCpus), though the CPU exists: pins are checked against the
  CPUs guests may use (LocalFacts.guest_cpus, collected), else the CPUs that exist.
- <numatune> nodesets and <devices><memory><source><nodemask> become memory-backend
  host-nodes= (qemuBuildMemoryBackendProps): a node the host lacks fails QEMU's start.
  <memory><target><node> names a *guest* cell; its host nodes come from that cell's
  <memnode> (or <numatune><memory>).
- huge pages: each guest cell's memory (and each memory device) is a memory-backend-file
  on a hugetlbfs mount of its page size (qemuGetDomainHupageMemPath: "Unable to find any
  usable hugetlbfs mount for N KiB"), taking *free* pages of that size, from the strictly
  bound host nodes if any. <hugepages/> without <page> is the host's default size.
"""
from ..guest.cpuset import IdRanges, format_idset
from ..units import format_bytes, format_sizes
from .base import DENY, WARN, Rule, codes, count, derived, listing

ID = "numa-pinning"
STRICT_MODES = ("strict", "restrictive")
X86_DEFAULT_HUGEPAGE = 2 << 20


def _pin_groups(pins):
    """"<vcpupin> for vCPUs 0-11, <emulatorpin>" from Pin records, in ranges."""
    vcpus, iothreads, others = set(), set(), []
    for pin in pins:
        kind, _sep, ident = pin.what.partition(" ")
        if kind == "vcpupin" and ident.isdigit():
            vcpus.add(int(ident))
        elif kind == "iothreadpin" and ident.isdigit():
            iothreads.add(int(ident))
        elif pin.what == "vcpu cpuset":
            others.append("<vcpu cpuset>")
        else:
            others.append("<%s>" % pin.what)
    parts = []
    if vcpus:
        parts.append("<vcpupin> of vCPU%s %s" % ("s" if len(vcpus) > 1 else "", format_idset(vcpus)))
    if iothreads:
        parts.append("<iothreadpin> of iothread%s %s" % ("s" if len(iothreads) > 1 else "", format_idset(iothreads)))
    return ", ".join(parts + sorted(set(others)))


def _cpu_ranges(facts):
    return IdRanges.of(facts.cpu_ids())


def _node_ranges(facts):
    return IdRanges.of({c.id for c in facts.cells})


def _pins(ctx):
    # As ranges, once: each distinct cpuset is subtracted from them.
    existing = derived(ctx.dest, "cpu ids", _cpu_ranges)
    allowed = ctx.host("guest_cpus")
    usable = IdRanges.of(allowed) & existing if allowed is not None else existing
    # Guests repeat a few cpusets on thousands of pins: one set difference per distinct cpuset.
    missing_of = {}
    bad, missing = [], set()
    for pin in ctx.domain.pins:
        lost = missing_of.get(pin.cpuset)
        if lost is None:
            lost = missing_of[pin.cpuset] = pin.cpus - usable
        if lost:
            bad.append(pin)
            missing |= lost
    if not bad:
        return
    cgroup = missing & existing
    where = ("guests may use only CPUs %s there (the cpuset of libvirt's machine partition)" % format_idset(usable)
             if cgroup else "it has CPUs %s" % format_idset(usable))
    yield RULE.finding("cpus",
                       "%s (%s) name host CPUs %s the destination %s; %s"
                       % (count(len(bad), "CPU pin"), _pin_groups(bad), format_idset(missing),
                          "does not let guests use" if cgroup and cgroup == missing else "lacks", where),
                       "pin within CPUs %s, or use `virsh migrate --xml` with pins for the destination"
                       % format_idset(usable),
                       pins=len(bad), missing=format_idset(missing), dest_cpus=format_idset(usable),
                       outside_cgroup=format_idset(cgroup))


def _cell_binding(domain):
    """{guest cell: (mode, host nodes)} from <memnode>, and the <numatune><memory> binding."""
    cells, whole = {}, None
    for binding in domain.node_bindings:
        if binding.cell is None:
            whole = binding
        else:
            cells[binding.cell] = binding
    return cells, whole


def _bound_memory(ctx, binding):
    """Guest memory a binding holds: one guest cell's for <memnode>, the rest otherwise."""
    if binding.cell is not None:
        cell = next((c for c in ctx.domain.cells if c.id == binding.cell), None)
        return cell.memory_bytes if cell else 0
    covered = {b.cell for b in ctx.domain.node_bindings if b.cell is not None}
    return ctx.domain.memory_bytes - sum(c.memory_bytes for c in ctx.domain.cells if c.id in covered)


def _nodes(ctx, dest_nodes):
    domain = ctx.domain
    named = [(b.what, b.nodeset, b.nodes) for b in domain.node_bindings]
    named += [("<memory model='%s'> nodemask" % m.model, m.nodemask, m.nodes) for m in domain.memory_devices
              if m.nodes]
    bad = [(what, nodeset, nodes - dest_nodes) for what, nodeset, nodes in named if nodes - dest_nodes]
    if bad:
        missing = set().union(*(lost for _w, _n, lost in bad))
        yield RULE.finding("nodes",
                           "%s name host NUMA nodes %s that the destination lacks (it has %s): %s"
                           % (count(len(bad), "binding"), format_idset(missing), format_idset(dest_nodes),
                              listing("%s='%s'" % (what, nodeset) for what, nodeset, _l in bad)),
                           "bind to nodes %s, or use placement='auto' so numad picks nodes on the destination"
                           % format_idset(dest_nodes),
                           bindings=len(bad), missing=format_idset(missing), dest_nodes=format_idset(dest_nodes))
    for binding in domain.node_bindings:
        if binding.mode not in STRICT_MODES or binding.nodes - dest_nodes:
            continue
        needed = _bound_memory(ctx, binding)
        available = sum(ctx.dest.cell(node).memory_bytes for node in binding.nodes)
        if needed > available:
            need_text, have_text = format_sizes(needed, available)
            yield RULE.finding("memory",
                               "%s mode='%s' binds %s to host nodes %s, which have %s in all on the destination"
                               % (binding.what, binding.mode, need_text, binding.nodeset, have_text),
                               "widen the nodeset or use mode='preferred'", binding=binding.what,
                               guest_bytes=needed, dest_bytes=available)


def default_page_size(ctx):
    """The host's default huge page size: probed or collected, else default_hugepagesz= on
    the kernel command line, else x86's 2 MiB."""
    size = ctx.host("default_hugepage_bytes")
    if size:
        return size
    local = ctx.dest.local
    for word in ((local.kernel_cmdline or "") if local is not None else "").split():
        if word.startswith("default_hugepagesz="):
            value = word.split("=", 1)[1].upper().rstrip("B")
            scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(value[-1:], 1)
            try:
                return int(value.rstrip("KMG")) * scale
            except ValueError:
                break
    return X86_DEFAULT_HUGEPAGE


def huge_page_needs(ctx):
    """[(page size, host nodes or None, bytes, what)]: the guest's memory by page size, each
    cell by its own <page nodeset>, memory devices by their <pagesize>."""
    domain = ctx.domain
    default = None
    pages = []
    for page in domain.hugepages:
        size = page.size_bytes
        if size == 0:
            default = default or default_page_size(ctx)
            size = default
        pages.append((size, page.nodes))
    cell_bind, whole = _cell_binding(domain)

    def strict_nodes(cell_id):
        binding = cell_bind.get(cell_id, whole) if cell_id is not None else whole
        if binding is not None and binding.mode in STRICT_MODES:
            return binding.nodes
        return None

    def page_of(cell_id):
        for size, cells in pages:
            if cells is not None and cell_id in cells:
                return size
        return next((size for size, cells in pages if cells is None), None)

    needs = []
    if pages:
        if domain.cells:
            for cell in domain.cells:
                size = page_of(cell.id)
                if size:
                    needs.append((size, strict_nodes(cell.id), cell.memory_bytes, "<cell id='%d'>" % cell.id))
        else:
            size = page_of(None) or pages[0][0]
            needs.append((size, strict_nodes(None), domain.memory_bytes, "<memory>"))
    for mem in domain.memory_devices:
        size = mem.page_bytes or (page_of(mem.target_node) if pages else None)
        if size and mem.size_bytes:
            nodes = mem.nodes if mem.nodes else strict_nodes(mem.target_node)
            needs.append((size, nodes, mem.size_bytes, "<memory model='%s'>" % mem.model))
    return needs


def _hugepages(ctx):
    needs = huge_page_needs(ctx)
    if not needs:
        return
    facts = ctx.dest
    offered = set(facts.cpu.page_sizes) | {size for cell in facts.cells for size, _count in cell.pages}
    free = ctx.host("free_pages")
    mounted = ctx.host("hugetlbfs")
    by_size = {}
    for size, nodes, amount, what in needs:
        by_size.setdefault(size, []).append((nodes, amount, what))
    for size, items in sorted(by_size.items()):
        page = format_bytes(size)
        if offered and size not in offered:
            yield RULE.finding("hugepages",
                               "guest memory is backed by %s huge pages (<memoryBacking><hugepages>); the destination's "
                               "CPU offers %s" % (page, ", ".join(format_bytes(s) for s in sorted(offered))),
                               "back the guest with a page size the destination offers, or migrate with "
                               "`virsh migrate --xml`", guest_page=size, dest_pages=sorted(offered))
            continue
        if mounted is not None and size not in mounted:
            yield RULE.finding("hugepages",
                               "guest memory is backed by %s huge pages; the destination has no hugetlbfs mounted for "
                               "that size (libvirt: \"Unable to find any usable hugetlbfs mount\")" % page,
                               "mount hugetlbfs with pagesize=%s on the destination (and restart virtqemud)" % page,
                               guest_page=size, dest_mounts=list(mounted))
            continue
        if free is not None:
            per_node = {node: pages for node, page_size, pages in free if page_size == size}
            kind = "free"
        elif any(c.pages for c in facts.cells):
            per_node = {c.id: c.pages_of(size) for c in facts.cells}
            kind = "reserved"
        else:
            yield RULE.unverifiable("the destination's facts list no huge pages per node; %s pages not checked" % page)
            continue
        groups = {}
        for nodes, amount, what in items:
            key = frozenset(nodes) if nodes is not None else None
            groups.setdefault(key, [0, []])
            groups[key][0] += amount
            groups[key][1].append(what)
        total_need = sum(amount for _n, amount, _w in items)
        shortfalls = []
        for key, (amount, whats) in sorted(groups.items(), key=lambda g: sorted(g[0] or ())):
            if key is None:
                continue
            have = sum(per_node.get(node, 0) for node in key) * size
            if amount > have:
                shortfalls.append((amount, have, "host nodes %s" % format_idset(key), whats))
        have_all = sum(per_node.values()) * size
        if total_need > have_all:
            shortfalls.insert(0, (total_need, have_all, "the host", [w for _n, _a, w in items]))
        if shortfalls:
            amount, have, where, whats = shortfalls[0]
            need_text, have_text = format_sizes(amount, have)
            yield RULE.finding("hugepages",
                               "%s need %s of %s huge pages on %s; the destination has %s %s"
                               % (listing(whats, 3), need_text, page, where, have_text, kind),
                               "free or reserve %s pages on the destination (vm.nr_hugepages or "
                               "/sys/devices/system/node/node*/hugepages)" % page,
                               page_bytes=size, guest_bytes=amount, dest_bytes=have, pages=kind, where=where)


def _pinned(domain):
    return bool(domain.pins or domain.node_bindings or any(p.nodes for p in domain.hugepages)
                or any(m.nodes for m in domain.memory_devices))


def check(ctx):
    domain = ctx.domain
    if not (domain.pins or domain.node_bindings or domain.hugepages or domain.memory_devices):
        return
    if not ctx.dest.cells:
        yield RULE.unverifiable("the destination's facts have no NUMA topology; pins cannot be checked")
        return
    yield from _pins(ctx)
    yield from _nodes(ctx, derived(ctx.dest, "node ids", _node_ranges))
    yield from _hugepages(ctx)
    if _pinned(domain) and ctx.source is not None and ctx.source.numa:
        source_shape = ctx.source.numa_shape()
        dest_shape = ctx.dest_fingerprint.numa_shape()
        if source_shape != dest_shape:
            yield RULE.finding("shape",
                               "guest is pinned and the hosts' NUMA topologies differ: source %s, destination %s "
                               "(cell, CPUs)" % (list(source_shape), list(dest_shape)),
                               "NUMA pinning works only between hosts of similar topology; re-pin for the destination",
                               source_shape=list(source_shape), dest_shape=list(dest_shape))


RULE = Rule(
    id=ID,
    title="NUMA pinning",
    limitation="NUMA pinning works only if the hosts have similar topology.",
    checks="CPUs in <vcpu cpuset>, vcpupin, emulatorpin and iothreadpin are CPUs guests may use on the "
           "destination (the cpuset of libvirt's machine partition, else the CPUs that exist: "
           "qemu_cgroup.c virCgroupSetCpusetCpus); numatune memory/memnode nodesets and <memory> device "
           "nodemasks exist; strictly bound memory fits those nodes; each page size's share of the guest (per "
           "cell, <hugepages/> as the host's default size, memory devices by <pagesize>) is offered, has a "
           "hugetlbfs mount and fits the *free* pages of its strictly bound nodes (qemuGetDomainHupageMemPath); "
           "source and destination topology shapes match. placement='auto' is not pinning.",
    remedy="Pin to CPUs and nodes guests may use on the destination, or use placement='auto'.",
    codes=codes(ID, DENY, "cpus", "nodes", "memory", "hugepages") + codes(ID, WARN, "shape"),
    check=check,
    needs_dest=True,
    may_be_unverifiable=True,
)
