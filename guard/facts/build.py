"""HostFacts from libvirt's own documents: capabilities, domcapabilities, sysinfo,
network and node device XML. Pure functions of the documents' text.

A document may come from a destination that is broken or not ours to trust (the
pre-flight reads every destination's). Whatever is wrong with one, each parser below says
so as one InputError naming the document, never another exception, and what it returns
has the types the facts cache's loader checks: the hook reads facts through that loader,
the pre-flight and the collector use them as built here."""
from ..errors import InputError
from ..units import libvirt_bytes
from ..xmlsafe import parse_xml, text_of
from .model import Bios, CpuModel, DomainCaps, GuestSupport, HostCpu, HostFacts, Machine, Mdev, Network, NumaCell, Pool

# What code reading a parsed document can raise on one that is well-formed XML but not
# what libvirt writes (an attribute missing or not a number, an element where none was
# expected); anything else is a bug here, and stays one.
_MALFORMED = (ValueError, TypeError, KeyError, IndexError, AttributeError)


def _document(what, parse, text, *args, **kwargs):
    """parse(text, what, ...) with every failure an InputError that names the document,
    and its record(s) checked by their own loader (guard.records)."""
    try:
        parsed = parse(text, what, *args, **kwargs)
        for item in parsed if isinstance(parsed, tuple) and not hasattr(parsed, "_fields") else (parsed,):
            type(item).load(item.to_dict(), what)
        return parsed
    except InputError as exc:
        if str(exc).startswith(what):
            raise
        raise InputError("%s: %s" % (what, exc)) from exc
    except _MALFORMED as exc:
        raise InputError("%s is not a libvirt document this guard can read: %s" % (what, exc)) from exc


def _whole(value, thing):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InputError("%s is missing" % thing if value is None else "%s %r is not a whole number" % (thing, value))


def _expect(root, tag, what):
    if root.tag != tag:
        raise InputError("%s: expected <%s>, got <%s>" % (what, tag, root.tag))


def _page_bytes(page):
    return libvirt_bytes(page.get("size") or "0", page.get("unit"))


def _host_cpu(cpu):
    if cpu is None:
        return HostCpu()
    signature = cpu.find("signature")
    microcode = cpu.find("microcode")
    return HostCpu(
        arch=text_of(cpu, "arch"),
        model=text_of(cpu, "model"),
        vendor=text_of(cpu, "vendor"),
        signature="/".join(signature.get(k, "?") for k in ("family", "model", "stepping"))
        if signature is not None else None,
        microcode=microcode.get("version") if microcode is not None else None,
        features=tuple(sorted(f.get("name") for f in cpu.findall("feature") if f.get("name"))),
        page_sizes=tuple(sorted(_page_bytes(p) for p in cpu.findall("pages"))),
    )


def _cells(host):
    cells = []
    for cell in host.findall("topology/cells/cell"):
        memory = cell.find("memory")
        cells.append(NumaCell(
            id=_whole(cell.get("id"), "NUMA cell id"),
            memory_bytes=libvirt_bytes(memory.text, memory.get("unit")) if memory is not None else 0,
            cpus=tuple(sorted(_whole(c.get("id"), "NUMA cell cpu id") for c in cell.findall("cpus/cpu"))),
            pages=tuple((_page_bytes(p), _whole(p.text or 0, "NUMA cell page count")) for p in cell.findall("pages")),
        ))
    return tuple(cells)


def _machines(parent):
    return tuple(Machine(m.text.strip(), m.get("canonical")) for m in parent.findall("machine") if m.text)


def _guests(root):
    """One GuestSupport per (arch, domain type): a <domain> may override emulator and machines."""
    guests = []
    for guest in root.findall("guest"):
        if text_of(guest, "os_type") != "hvm":
            continue
        arch = guest.find("arch")
        if arch is None:
            continue
        default_emulator = text_of(arch, "emulator")
        default_machines = _machines(arch)
        for domain in arch.findall("domain"):
            guests.append(GuestSupport(
                arch=arch.get("name"),
                virt_type=domain.get("type"),
                emulator=text_of(domain, "emulator") or default_emulator,
                machines=_machines(domain) or default_machines,
            ))
    return tuple(guests)


def _facts_from_capabilities(text, what):
    root = parse_xml(text, what)
    _expect(root, "capabilities", what)
    host = root.find("host")
    if host is None:
        raise InputError("%s: no <host>" % what)
    cells = _cells(host)
    return HostFacts(
        host_uuid=text_of(host, "uuid"),
        cpu=_host_cpu(host.find("cpu")),
        cells=cells,
        memory_bytes=sum(c.memory_bytes for c in cells) or None,
        guests=_guests(root),
        # One <secmodel> per security driver the daemon stacked (src/qemu/qemu_conf.c
        # virQEMUDriverCreateCapabilities, from qemuSecurityGetNested): what a guest's seclabel
        # model is checked against. libvirt always has one (the "none" driver at least), so a
        # document without any is not one to judge by.
        security_models=tuple(text_of(m, "model") for m in host.findall("secmodel") if text_of(m, "model")) or None,
    )


def _enum(parent, name):
    if parent is None:
        return None
    enum = parent.find("enum[@name='%s']" % name)
    if enum is None:
        return None
    return tuple(v.text.strip() for v in enum.findall("value") if v.text)


def _domcaps_from_xml(text, what):
    root = parse_xml(text, what)
    _expect(root, "domainCapabilities", what)
    cpu = root.find("cpu")
    modes, models = [], []
    required, disabled = (), ()
    if cpu is not None:
        for mode in cpu.findall("mode"):
            modes.append((mode.get("name"), mode.get("supported") == "yes"))
            if mode.get("name") == "host-model" and mode.get("supported") == "yes":
                required = tuple(f.get("name") for f in mode.findall("feature") if f.get("policy") == "require")
                disabled = tuple(f.get("name") for f in mode.findall("feature") if f.get("policy") == "disable")
        custom = cpu.find("mode[@name='custom']")
        if custom is not None:
            blockers = {b.get("model"): tuple(f.get("name") for f in b.findall("feature"))
                        for b in custom.findall("blockers")}
            for model in custom.findall("model"):
                name = (model.text or "").strip()
                models.append(CpuModel(name, model.get("usable"), blockers.get(name)))
    os_el = root.find("os")
    loader = os_el.find("loader") if os_el is not None else None
    sev = root.find("features/sev")
    hyperv = root.find("features/hyperv")
    hyperv_features = None
    if hyperv is not None:
        hyperv_features = (_enum(hyperv, "features") or ()) if hyperv.get("supported") == "yes" else ()
    return DomainCaps(
        virt_type=text_of(root, "domain"),
        arch=text_of(root, "arch"),
        machine=text_of(root, "machine"),
        emulator=text_of(root, "path"),
        cpu_modes=tuple(modes),
        host_model_required=required,
        host_model_disabled=disabled,
        cpu_models=tuple(models),
        firmware=_enum(os_el, "firmware"),
        loaders=tuple(v.text.strip() for v in loader.findall("value") if v.text) if loader is not None else (),
        loader_secure=_enum(loader, "secure") or (),
        sev=sev is not None and sev.get("supported") == "yes",
        launch_security=_enum(root.find("features/launchSecurity"), "sectype") or (),
        hyperv=hyperv_features,
        devices=_devices(root.find("devices")),
    )


def _devices(devices):
    """<devices>: (device, enum, values) per enum of each supported device, (device, "supported",
    ()) for one the destination does not support; None when the document has no <devices>."""
    if devices is None:
        return None
    found = []
    for device in devices:
        if not isinstance(device.tag, str):
            continue
        if device.get("supported") == "no":
            found.append((device.tag, "supported", ()))
            continue
        for enum in device.findall("enum"):
            found.append((device.tag, enum.get("name", ""), tuple(v.text.strip() for v in enum.findall("value")
                                                                  if v.text)))
    return tuple(found)


def _bios_from_sysinfo(text, what):
    root = parse_xml(text, what)
    _expect(root, "sysinfo", what)

    def entry(section, name):
        return text_of(root, "%s/entry[@name='%s']" % (section, name))

    return Bios(vendor=entry("bios", "vendor"), version=entry("bios", "version"), date=entry("bios", "date"))


def _network_from_xml(text, what, active=None):
    root = parse_xml(text, what)
    _expect(root, "network", what)
    forward = root.find("forward")
    bridge = root.find("bridge")
    return Network(text_of(root, "name") or "?", forward.get("mode", "nat") if forward is not None else None,
                   active, bridge.get("name") if bridge is not None else None)


def _pool_from_xml(text, what, active=None):
    root = parse_xml(text, what)
    _expect(root, "pool", what)
    return Pool(text_of(root, "name") or "?", active, text_of(root, "target/path"))


def _nodedev_from_xml(text, what):
    root = parse_xml(text, what)
    _expect(root, "device", what)
    name = text_of(root, "name")
    mdevs = []
    for cap in root.iter("capability"):
        if cap.get("type") == "mdev":
            type_el = cap.find("type")
            uuid = text_of(cap, "uuid") or (name[5:].replace("_", "-") if name and name.startswith("mdev_") else None)
            if uuid:
                mdevs.append(Mdev(uuid, type_el.get("id") if type_el is not None else None))
    return tuple(mdevs)


def facts_from_capabilities(text, what="capabilities"):
    """HostFacts of the host part of `virsh capabilities`."""
    return _document(what, _facts_from_capabilities, text)


def domcaps_from_xml(text, what="domcapabilities"):
    return _document(what, _domcaps_from_xml, text)


def bios_from_sysinfo(text, what="sysinfo"):
    return _document(what, _bios_from_sysinfo, text)


def network_from_xml(text, what="network", active=None):
    """A Network from `virsh net-dumpxml`; whether it is active is not in the document
    (the collector asks virNetworkIsActive; `facts build --inactive-network` says so)."""
    return _document(what, _network_from_xml, text, active=active)


def pool_from_xml(text, what="pool", active=None):
    """A Pool from `virsh pool-dumpxml`: its name and target path."""
    return _document(what, _pool_from_xml, text, active=active)


def nodedev_from_xml(text, what="node device"):
    """The mdevs one node device document describes."""
    return _document(what, _nodedev_from_xml, text)


def _nth(what, index, count):
    return what if count == 1 else "%s (%d of %d)" % (what, index + 1, count)


def _with_state(documents, parse, what):
    """Documents given as text, or as (text, active) pairs by the collector."""
    documents = list(documents)
    return tuple(parse(d[0], _nth(what, i, len(documents)), active=d[1]) if isinstance(d, tuple)
                 else parse(d, _nth(what, i, len(documents))) for i, d in enumerate(documents))


def build_facts(capabilities, domcapabilities=(), sysinfo=None, networks=(), nodedevs=(), pools=None,
                networks_complete=True, **versions):
    """HostFacts from documents given as text (capabilities may also be the HostFacts
    already parsed from it); networks and pools as text or (text, active) pairs; pools
    None: not listed. The networks given are all the host has unless networks_complete
    says otherwise. versions: qemu_version, libvirt_version, kernel_release, hostname,
    collected_at."""
    facts = capabilities if isinstance(capabilities, HostFacts) else facts_from_capabilities(capabilities)
    mdevs = []
    nodedevs, domcapabilities = list(nodedevs), list(domcapabilities)
    for index, document in enumerate(nodedevs):
        mdevs.extend(nodedev_from_xml(document, _nth("node device", index, len(nodedevs))))
    return facts._replace(
        domcaps=tuple(domcaps_from_xml(d, _nth("domcapabilities", i, len(domcapabilities)))
                      for i, d in enumerate(domcapabilities)),
        bios=bios_from_sysinfo(sysinfo) if sysinfo else None,
        networks=_with_state(networks, network_from_xml, "network"),
        networks_complete=networks_complete,
        pools=_with_state(pools, pool_from_xml, "pool") if pools is not None else None,
        mdevs=tuple(mdevs),
        **{k: v for k, v in versions.items() if v is not None}
    )
