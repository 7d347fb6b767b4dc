"""host-resource: every other host resource the guest names must be usable where it lands.

The resources come from the blocker catalogue's libvirt-schema entries (guard.blockers.schema,
read from libvirt's domaincommon.rng and the code that opens each one): chardev files and
sockets, the RNG device, direct kernel boot files, NVDIMM backing files, fw_cfg files, NBD
sockets, unmanaged taps, UDP and TCP chardev addresses, cgroup partitions, helper binaries.
Disks, firmware, the emulator, graphics listen addresses, bridges and macvtap devices have
rules of their own. Each is judged the way libvirt or QEMU uses it on the destination, where
a missing one fails the migration after the hook has answered:
- read / open / exec: the file, device node or binary must exist (QEMU's open, libvirt's
  virFileExists / virFindFileInPath); a disk's backing or data file only warns, as a missing
  disk image does (storage[missing]): --copy-storage-all copies the chain;
- connect: the unix socket must exist (QEMU's connect(): "Failed to connect to ... No such file");
- create, and bind of a unix socket: the directory must exist (open(O_CREAT), bind());
- bind of an address: it must be one of the destination's, or a wildcard or loopback
  ("Cannot assign requested address");
- a network device (an unmanaged tap) must exist in the daemon's network namespace
  (virNetDevExists; libvirt does not create a tap it was told it does not manage);
- a cgroup partition must exist (virCgroupNewPartition with create=false).
Existence is the destination's own answer at decision time (guard.facts.probe): without a probe
(preflight, check without --probe) the resources are unverifiable, never assumed present.
"""
from ..guest.addresses import explicit_binds, sort_binds
from .base import DENY, WARN, Rule, codes, count, listing

ID = "host-resource"

# variant: (what the message says is missing, the remedy); every variant denies but backing.
_MISSING = {
    "backing": ("a backing file or data file of a disk missing on the destination: only a --copy-storage-all "
                "migration (which copies the whole chain into the destination's image) can succeed",
                "use `virsh migrate --copy-storage-all`, or make the storage shared; sites on shared storage only set "
                "[rules.\"host-resource[backing]\"] action = \"deny\""),
    "file": ("no such file, device or directory on the destination",
             "make the file reachable on the destination (shared storage, the same path), or migrate with "
             "`virsh migrate --xml` naming one it has"),
    "socket": ("no such socket on the destination: whatever serves it there (a daemon, a vhost-user backend) "
               "is not running",
               "start the service that creates the socket on the destination before migrating"),
    "directory": ("the directory libvirt or QEMU creates it in does not exist on the destination",
                  "create the directory on the destination (with the same ownership and SELinux label), or "
                  "migrate with `virsh migrate --xml` naming a path there"),
    "netdev": ("no such network device on the destination; libvirt does not create a tap it was told it does not "
               "manage (managed='no')",
               "create the tap device on the destination first (`ip tuntap add dev NAME mode tap`)"),
    "cgroup": ("no such cgroup partition on the destination",
               "create the partition's cgroup (or systemd slice) on the destination"),
    "binary": ("the helper program is not installed on the destination",
               "install it on the destination (swtpm: `dnf install swtpm swtpm-tools`; virtiofsd: `dnf install "
               "virtiofsd`)"),
}


def _present(ctx, item):
    """True / False / None (not known) for one resource that is not an address."""
    if item.resource == "netdev":
        probed = ctx.probe.netdevs if ctx.probe is not None else None
        if probed is not None and item.value in probed:
            return probed[item.value] is not None
        local = ctx.dest.local if ctx.dest is not None else None
        listed = local.netdevs if local is not None else None
        return None if listed is None else item.value in listed
    return ctx.path_exists(item.checked_path)


# Values are the tenant's text: a message shows at most this much of each (audit records and
# virsh's error line stay small whatever the XML holds).
SHOWN_CHARS = 160


def _describe(item):
    value = item.value
    if item.resource == "binary" and not value.startswith("/"):
        value = item.checked_path  # the program libvirt runs for it
    if len(value) > SHOWN_CHARS:
        value = value[:SHOWN_CHARS - 1] + "…"
    return "%s %s" % (item.element[:SHOWN_CHARS], value)


def _value(item):
    return item.value


def _addresses(ctx, binds):
    """(binds the destination has no address for, binds it was not checked for)."""
    explicit = explicit_binds(binds, _value)
    if not explicit:
        return [], []
    host = ctx.host("addresses")
    if host is None:
        return [], explicit
    return sort_binds(explicit, _value, host)  # a host name is resolved by QEMU there: not checked


def check(ctx):
    resources = ctx.domain.resources
    if not resources:
        return
    missing, undecided = {}, []
    binds = [r for r in resources if r.resource == "address"]
    for item in resources:
        if item.resource == "address":
            continue
        present = _present(ctx, item)
        if present is None:
            undecided.append(_describe(item))
        elif present is False:
            missing.setdefault(item.code, []).append(item)
    for variant, items in missing.items():
        message, remedy = _MISSING[variant]
        shown = ["%s (%s)" % (_describe(i), i.checked_path[:SHOWN_CHARS]) if variant == "directory"
                 else _describe(i) for i in items]
        # The paths for the audit record; the refusal counts them. A tap's name is no path.
        counted = None if variant == "netdev" else "%s: %s" % (_counted(len(items)), message)
        yield RULE.finding(variant, "%s: %s" % (listing(shown), message),
                           remedy, counted, resources=len(items))
    foreign, unknown = _addresses(ctx, binds)
    if foreign:
        yield RULE.finding("address",
                           "%s: the destination has no such address, so QEMU cannot bind it there (\"Cannot assign "
                           "requested address\")" % listing([_describe(b) for b in foreign]),
                           "bind a wildcard address (0.0.0.0 or ::) in the guest's XML, or migrate with `virsh migrate "
                           "--xml` giving a destination address", addresses=len(foreign))
    undecided += [_describe(b) for b in unknown]
    if undecided:
        yield RULE.unverifiable("%s not checked on the destination (%s)" % (
            count(len(undecided), "host resource"), listing(undecided, 3)),
            "the hook checks them on the destination; run `migration-guard check --probe` there to see the same"
            if ctx.probe is None else
            "check the destination's mounts (a hung NFS mount shows this way), or run `check --probe` there",
            "%s not checked on the destination" % _counted(len(undecided)), resources=len(undecided))


def _counted(number):
    return "%s (named in the audit record)" % count(number, "host resource")


RULE = Rule(
    id=ID,
    title="Host resources",
    limitation="every host resource the guest names must be usable where it lands (libvirt and QEMU fail late "
               "otherwise)",
    checks="Every host resource found by the blocker catalogue's libvirt-schema entries (docs/blockers.md) that no "
           "other rule checks, the way libvirt uses it on the destination at decision time: files, device nodes "
           "and helper binaries it reads or runs exist; unix sockets it connects to exist; the directory of what "
           "it creates or binds exists; addresses it binds are the destination's, a wildcard or loopback; "
           "unmanaged taps exist in the daemon's network namespace; cgroup partitions exist.",
    remedy="Make the resource exist on the destination, or migrate with `virsh migrate --xml` naming one it has.",
    codes=codes(ID, DENY, "file", "socket", "directory", "address", "netdev", "cgroup", "binary")
    + codes(ID, WARN, "backing"),
    check=check,
    # The probe answers on the destination itself: unusable facts must not silence it.
    needs_dest=False,
    may_be_unverifiable=True,
)
