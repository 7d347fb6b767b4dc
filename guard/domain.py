"""The domain model: what the rules need from a libvirt domain XML, and nothing else.

No policy lives here (nova's "no policy in the XML layer"): this module only turns XML
into immutable records (guard.records structs: the hook builds them for guests with thousands of
pins and devices, and imports them on every migration). It accepts a bare <domain> and
the <domstatus> wrapper of libvirt's status files. The project's own <metadata> element
is read by guard.metadata, which never raises: a guest's metadata cannot fail a decision.
"""
import functools

from .cpuset import parse_idset
from .errors import InputError
from .metadata import read_metadata
from .records import struct
from .units import libvirt_bytes
from .xmlsafe import parse_xml, text_of

# Real guests repeat the same few cpusets on every vcpupin: parse each string once.
_cached_idset = functools.lru_cache(maxsize=1024)(parse_idset)

# One pinning of something to host CPUs. what: "vcpu cpuset", "vcpupin 3", "emulatorpin",
# "iothreadpin 1".
Pin = struct("Pin", "what cpuset cpus")

# A numatune <memory> or <memnode>: guest memory bound to host NUMA nodes. mode: strict |
# preferred | interleave | restrictive; cell: the guest cell of a <memnode>, else None.
NodeBinding = struct("NodeBinding", "what mode nodeset nodes cell", defaults=(None,))

# nodes: the guest NUMA cells this size backs, or None for all of them. size_bytes 0 is
# <hugepages/> without <page>: the host's default huge page size.
HugePage = struct("HugePage", "size_bytes nodeset nodes", defaults=(None, None))

GuestCell = struct("GuestCell", "id memory_bytes")

CpuFeature = struct("CpuFeature", "name policy")  # policy: force | require | optional | disable | forbid


class GuestCpu(struct("GuestCpu", "mode model vendor features", defaults=(None, None, ()))):
    """mode: custom | host-model | host-passthrough | maximum."""

    __slots__ = ()

    def features_with(self, *policies):
        return tuple(f.name for f in self.features if f.policy in policies)


class Firmware(struct("Firmware", "firmware features loader_path loader_type loader_secure nvram_template",
                          defaults=(None, (), None, None, None, None))):
    """firmware: <os firmware='efi|bios'>; features: (name, enabled) of <firmware><feature>."""

    __slots__ = ()

    def wants(self, feature):
        return any(name == feature and enabled for name, enabled in self.features)


# mode: subsystem | capabilities; type: pci | usb | scsi | scsi_host | mdev | storage | misc |
# net; source: a short description for messages; teaming: transient makes a VF failover-capable.
HostDev = struct("HostDev", "mode type source teaming mdev_uuid model", defaults=(None, None, None))

# type: network | bridge | hostdev | vdpa | direct | user | ...
Interface = struct("Interface", "type mac network source teaming", defaults=(None, None, None, None))

class Domain(struct("Domain", (
        "name uuid virt_type arch machine emulator memory_bytes pins node_bindings hugepages cells cpu firmware "
        "hostdevs interfaces launch_security fingerprint fingerprint_problem exemptions"),
        defaults=((), (), (), (), None, Firmware(), (), (), None, None, None, ()))):
    """fingerprint: the source Fingerprint the guest carries (or None, with
    fingerprint_problem saying why when it carries an unusable one); exemptions: the
    guest's own (guard.metadata.Exemption), honoured only when the config opts in."""

    __slots__ = ()

    @property
    def cpu_mode(self):
        return self.cpu.mode if self.cpu else None


def _bytes(element, default_unit="KiB"):
    if element is None:
        return None
    return libvirt_bytes(element.text or "", element.get("unit"), default_unit)


def _idset(text, what):
    try:
        return _cached_idset(text)
    except InputError as exc:
        raise InputError("%s: %s" % (what, exc))


def _int(text, what):
    try:
        return int(text)
    except (TypeError, ValueError):
        raise InputError("%s: %r is not a whole number" % (what, text))


def _yes(value):
    if value is None:
        return None
    return value in ("yes", "on")


def _children(element):
    """{tag: first child} of an element, in one pass in C order: find() with a path runs
    lxml's ElementPath in Python, which dominates the cost of small documents."""
    found = {}
    if element is not None:
        for child in element:
            tag = child.tag
            if tag not in found and isinstance(tag, str):
                found[tag] = child
    return found


def _text(element):
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _pins(vcpu, cputune):
    pins = []
    if vcpu is not None and vcpu.get("cpuset") and vcpu.get("placement", "static") != "auto":
        pins.append(Pin("vcpu cpuset", vcpu.get("cpuset"), _idset(vcpu.get("cpuset"), "<vcpu cpuset>")))
    if cputune is None:
        return tuple(pins)
    append = pins.append
    for pin in cputune.iterchildren("vcpupin", "emulatorpin", "iothreadpin"):
        cpuset = pin.get("cpuset")
        if not cpuset:
            continue
        tag = pin.tag
        if tag == "vcpupin":
            what = "vcpupin %s" % pin.get("vcpu")
        elif tag == "iothreadpin":
            what = "iothreadpin %s" % pin.get("iothread")
        else:
            what = tag
        append(Pin(what, cpuset, _idset(cpuset, what)))
    return tuple(pins)


def _numatune(numatune):
    if numatune is None:
        return ()
    bindings = []
    for element in numatune.iterchildren("memory", "memnode"):
        nodeset = element.get("nodeset")
        if not nodeset:
            continue
        if element.tag == "memory":
            # placement='auto' asks numad for nodes at start: nothing is pinned by name.
            if element.get("placement") != "auto":
                bindings.append(NodeBinding("numatune memory", element.get("mode", "strict"), nodeset,
                                            _idset(nodeset, "<numatune><memory nodeset>")))
            continue
        cell = _int(element.get("cellid"), "<memnode cellid>")
        bindings.append(NodeBinding("numatune memnode %d" % cell, element.get("mode", "strict"), nodeset,
                                    _idset(nodeset, "<memnode nodeset>"), cell))
    # memory first, then memnodes in document order, as libvirt lists them
    return tuple(sorted(bindings, key=lambda b: b.cell is not None))


def _hugepages(backing):
    hugepages = _children(backing).get("hugepages")
    if hugepages is None:
        return ()
    pages = []
    for page in hugepages.iterchildren("page"):
        size = libvirt_bytes(page.get("size") or "", page.get("unit"))
        nodeset = page.get("nodeset")
        pages.append(HugePage(size, nodeset, _idset(nodeset, "<page nodeset>") if nodeset else None))
    # <hugepages/> with no <page> means the host's default huge page size: size 0.
    return tuple(pages) or (HugePage(0),)


def _cells(numa):
    cells = []
    if numa is None:
        return ()
    for cell in numa.iterchildren("cell"):
        memory = libvirt_bytes(cell.get("memory") or "0", cell.get("unit"))
        cells.append(GuestCell(_int(cell.get("id", str(len(cells))), "<cell id>"), memory))
    return tuple(cells)


def _cpu(cpu, parts):
    if cpu is None:
        return None
    model = parts.get("model")
    mode = cpu.get("mode") or ("custom" if model is not None else None)
    if mode is None:
        # <cpu> holding only topology or NUMA cells: QEMU's default model, nothing to check.
        return None
    features = tuple(CpuFeature(f.get("name", ""), f.get("policy", "require")) for f in cpu.iterchildren("feature"))
    return GuestCpu(mode=mode, model=_text(model) or None, vendor=_text(parts.get("vendor")), features=features)


def _firmware(os_el, parts):
    if os_el is None:
        return Firmware()
    loader, nvram, firmware = parts.get("loader"), parts.get("nvram"), parts.get("firmware")
    features = ()
    if firmware is not None:
        features = tuple((f.get("name", ""), f.get("enabled") == "yes") for f in firmware.iterchildren("feature"))
    return Firmware(
        firmware=os_el.get("firmware"),
        features=features,
        loader_path=_text(loader) or None,
        loader_type=loader.get("type") if loader is not None else None,
        loader_secure=_yes(loader.get("secure")) if loader is not None else None,
        nvram_template=nvram.get("template") if nvram is not None else None,
    )


def _describe_source(source):
    """A short, stable description of a <source> for messages: address, vendor/product, adapter."""
    if source is None:
        return "?"
    address = source.find("address")
    if address is not None:
        if address.get("uuid"):
            return address.get("uuid")
        if address.get("domain") is not None or address.get("slot") is not None:
            return "%s:%s:%s.%s" % tuple(
                (address.get(k) or "0").replace("0x", "") for k in ("domain", "bus", "slot", "function"))
        if address.get("bus") is not None and address.get("device") is not None:
            return "usb %s:%s" % (address.get("bus"), address.get("device"))
    vendor, product = source.find("vendor"), source.find("product")
    if vendor is not None and product is not None:
        return "usb %s:%s" % (vendor.get("id"), product.get("id"))
    adapter = source.find("adapter")
    if adapter is not None:
        return adapter.get("name") or adapter.get("wwpn") or "scsi adapter"
    if source.get("protocol"):
        return "%s %s" % (source.get("protocol"), source.get("name"))
    if source.get("wwpn"):
        return "vhost-scsi %s" % source.get("wwpn")
    for child in ("block", "char", "interface"):
        found = text_of(source, child)
        if found:
            return found
    return "?"


def _hostdevs(devices):
    hostdevs = []
    for hostdev in devices.iterchildren("hostdev"):
        source = hostdev.find("source")
        teaming = hostdev.find("teaming")
        address = source.find("address") if source is not None else None
        hostdevs.append(HostDev(
            mode=hostdev.get("mode", "subsystem"),
            type=hostdev.get("type", "?"),
            source=_describe_source(source),
            teaming=teaming.get("type") if teaming is not None else None,
            mdev_uuid=address.get("uuid") if address is not None else None,
            model=hostdev.get("model"),
        ))
    return tuple(hostdevs)


def _interfaces(devices):
    # A tight loop: guests with thousands of NICs exist, and every Python-level step per
    # element shows at that size. iterchildren filters tags in C.
    interfaces = []
    append = interfaces.append
    for iface in devices.iterchildren("interface"):
        source = mac = teaming = None
        for child in iface.iterchildren("source", "mac", "teaming"):
            tag = child.tag
            if tag == "source":
                source = child
            elif tag == "mac":
                mac = child.get("address")
            else:
                teaming = child.get("type")
        network = described = None
        if source is not None:
            network = source.get("network")
            described = source.get("dev") or source.get("bridge") or network or _describe_source(source)
        append(Interface(iface.get("type", "?"), mac, network, described, teaming))
    return tuple(interfaces)


def domain_element(root):
    """The <domain> element of a domain document or a <domstatus> status file."""
    if root.tag == "domstatus":
        inner = root.find("domain")
        if inner is None:
            raise InputError("<domstatus> holds no <domain>")
        return inner
    if root.tag != "domain":
        raise InputError("expected a <domain> document, got <%s>" % root.tag)
    return root


def domain_from_element(root):
    root = domain_element(root)
    top = _children(root)
    name = _text(top.get("name"))
    if not name:
        raise InputError("the domain has no <name>")
    cpu = top.get("cpu")
    cpu_parts = _children(cpu)
    memory = _bytes(top.get("memory"))
    cells = _cells(cpu_parts.get("numa"))
    if memory is None and cells:
        # libvirt derives the total from the guest NUMA cells when <memory> is absent.
        memory = sum(cell.memory_bytes for cell in cells)
    if memory is None:
        raise InputError("domain %s has no <memory>" % name)
    os_el = top.get("os")
    os_parts = _children(os_el)
    os_type = os_parts.get("type")
    devices = top.get("devices")
    if devices is None:
        devices = root.makeelement("devices")
    fingerprint, fingerprint_problem, exemptions = read_metadata(top.get("metadata"))
    launch = top.get("launchSecurity")
    return Domain(
        name=name,
        uuid=_text(top.get("uuid")),
        virt_type=root.get("type", "?"),
        arch=os_type.get("arch") if os_type is not None else None,
        machine=os_type.get("machine") if os_type is not None else None,
        emulator=next((e.text.strip() for e in devices.iterchildren("emulator") if e.text), None),
        memory_bytes=memory,
        pins=_pins(top.get("vcpu"), top.get("cputune")),
        node_bindings=_numatune(top.get("numatune")),
        hugepages=_hugepages(top.get("memoryBacking")),
        cells=cells,
        cpu=_cpu(cpu, cpu_parts),
        firmware=_firmware(os_el, os_parts),
        hostdevs=_hostdevs(devices),
        interfaces=_interfaces(devices),
        launch_security=launch.get("type") if launch is not None else None,
        fingerprint=fingerprint,
        fingerprint_problem=fingerprint_problem,
        exemptions=exemptions,
    )


def parse_domain(data, what="domain XML"):
    """A Domain from XML bytes or text; InputError with one line on anything malformed."""
    return domain_from_element(parse_xml(data, what))
