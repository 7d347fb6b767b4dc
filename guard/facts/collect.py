"""Live collection: a read-only libvirt connection, plus local extras when the URI is local.

Only read-only libvirt calls are made. Used by `facts collect`, `facts watch` and the
pre-flight (which collects a remote destination's facts over qemu+ssh://).
"""
import hashlib
import os
import time
from urllib.parse import urlparse

import libvirt

from ..errors import GuardError, InputError
from .build import build_facts, facts_from_capabilities
from .cache import as_collected
from .local import bios_from_dmi, read_local

MACHINE_FAMILIES = {"x86_64": ("pc", "q35"), "i686": ("pc", "q35")}
MDEV_FLAGS = (getattr(libvirt, "VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV", 0)
              | getattr(libvirt, "VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES", 0))


class CollectError(GuardError):
    pass


def quiet_libvirt():
    # libvirt prints every error to stderr by default; we report our own one line instead.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)


def is_local(uri):
    parsed = urlparse(uri or "qemu:///system")
    return not parsed.hostname


def _version(number):
    return "%d.%d.%d" % (number // 1000000, (number // 1000) % 1000, number % 1000)


def open_connection(uri, read_only=True):
    """A libvirt connection, or CollectError with libvirt's one-line reason."""
    quiet_libvirt()
    try:
        return libvirt.openReadOnly(uri) if read_only else libvirt.open(uri)
    except libvirt.libvirtError as exc:
        raise CollectError("cannot connect to %s: %s" % (uri, exc.get_error_message()))


def _domain_capabilities(conn, uri, requests):
    """domcapabilities documents. libvirt (9.0 at least) refuses virConnectGetDomainCapabilities
    on a read-only connection ("read only access prevents ..."): at the first refusal the
    collector opens a full connection (the same privileges as the daemon's socket) and asks
    it for this and every later document."""
    documents = []
    source, full = conn, None
    try:
        for arch, machine, virt_type in requests:
            for _attempt in range(2):
                try:
                    documents.append(source.getDomainCapabilities(None, arch, machine, virt_type, 0))
                except libvirt.libvirtError as exc:
                    if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED and full is None:
                        full = source = open_connection(uri, read_only=False)
                        continue  # the same request, on the full connection
                    # else e.g. kvm listed but unusable, or no q35 on this QEMU: skip it
                break
    except CollectError:
        pass  # no full connection to be had: the rules that need domcapabilities say unverifiable
    finally:
        if full is not None:
            full.close()
    return documents


def collect_documents(conn, uri):
    """The libvirt documents the facts are built from, plus versions: the raw calls (and
    the parse of capabilities, which says what domcapabilities to ask for)."""
    capabilities = conn.getCapabilities()
    host = facts_from_capabilities(capabilities)
    arch = host.cpu.arch or os.uname().machine
    virt_types = sorted({g.virt_type for g in host.guests if g.arch == arch})
    domcaps = _domain_capabilities(conn, uri, [(arch, machine, virt_type) for virt_type in virt_types
                                               for machine in MACHINE_FAMILIES.get(arch, (None,))])
    try:
        sysinfo = conn.getSysinfo(0)
    except libvirt.libvirtError:
        sysinfo = None  # "Host SMBIOS information is not available" in VMs and containers
    networks, networks_complete = [], True
    try:
        networks = [(n.XMLDesc(0), bool(n.isActive())) for n in conn.listAllNetworks(0)]
    except libvirt.libvirtError:
        networks_complete = False  # e.g. no network driver: the rules say unverifiable
    pools = None
    try:
        pools = [(p.XMLDesc(0), bool(p.isActive())) for p in conn.listAllStoragePools(0)]
    except libvirt.libvirtError:
        pass
    nodedevs = []
    try:
        nodedevs = [d.XMLDesc(0) for d in conn.listAllDevices(MDEV_FLAGS)] if MDEV_FLAGS else []
    except libvirt.libvirtError:
        pass
    # Capabilities without NUMA cells (libvirt's test driver with a custom node, some
    # containers) do not say how much memory the host has; virNodeGetInfo does.
    node_memory = conn.getInfo()[1] * 1024 * 1024 if host.memory_bytes is None else None
    return {"capabilities": capabilities, "host": host, "domcapabilities": domcaps, "sysinfo": sysinfo,
            "networks": networks, "networks_complete": networks_complete, "pools": pools,
            "nodedevs": nodedevs, "node_memory": node_memory, "libvirt_version": _version(conn.getLibVersion()),
            "qemu_version": _version(conn.getVersion()), "hostname": conn.getHostname()}


def _digest(docs):
    hasher = hashlib.sha256()
    for key in ("capabilities", "sysinfo", "node_memory", "libvirt_version", "qemu_version", "hostname"):
        hasher.update(repr(docs[key]).encode())
    for key in ("domcapabilities", "networks", "nodedevs", "pools"):
        for document in docs[key] or ():
            hasher.update(repr(document).encode())
    hasher.update(repr(docs["networks_complete"]).encode())
    return hasher.hexdigest()


def collect(uri="qemu:///system", conn=None, local_root="/", memo=None):
    """HostFacts of the host behind `uri`; local extras only when the URI is local.

    `memo` (a dict kept by a long-running collector) maps the digest of libvirt's
    documents to the facts parsed from them: an unchanged host is not parsed again."""
    own = conn is None
    conn = conn or open_connection(uri)
    try:
        docs = collect_documents(conn, uri)
    except libvirt.libvirtError as exc:
        raise CollectError("collecting from %s failed: %s" % (uri, exc.get_error_message()))
    except InputError as exc:  # a malformed document (guard.facts.build names it): this host's error
        raise CollectError("collecting from %s failed: %s" % (uri, exc))
    finally:
        if own:
            conn.close()
    local = is_local(uri)
    digest = _digest(docs) if memo is not None else None
    facts = memo.get(digest) if memo is not None else None
    if facts is None:
        try:
            facts = build_facts(docs["host"], docs["domcapabilities"], docs["sysinfo"], docs["networks"],
                                docs["nodedevs"], docs["pools"], docs["networks_complete"],
                                libvirt_version=docs["libvirt_version"],
                                qemu_version=docs["qemu_version"], hostname=docs["hostname"],
                                kernel_release=os.uname().release if local else None)
        except InputError as exc:
            raise CollectError("collecting from %s failed: %s" % (uri, exc))
        if memo is not None:
            memo.clear()
            memo[digest] = facts
    # Now, by the wall clock; for this host's own facts also by its boot and that boot's clock,
    # by which its hook judges their age (another host's boot is not this one's).
    facts = as_collected(facts) if local else facts._replace(collected_at=time.time())
    if facts.memory_bytes is None and docs.get("node_memory"):
        facts = facts._replace(memory_bytes=docs["node_memory"])
    if local:
        facts = facts._replace(local=read_local(local_root),
                                    bios=facts.bios or bios_from_dmi(local_root))
    return facts
