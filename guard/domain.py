"""The domain model: what the rules need from a libvirt domain XML, and nothing else.

No policy lives here (nova's "no policy in the XML layer"): this module only turns XML
into immutable records (namedtuples: the hook builds them for guests with thousands of
pins and devices, and imports them on every migration). It accepts a bare <domain> and
the <domstatus> wrapper of libvirt's status files. The project's own <metadata> element
is read by guard.metadata, which never raises: a guest's metadata cannot fail a decision.
"""
import functools
from collections import namedtuple

from .cpuset import parse_idset
from .errors import InputError
from .metadata import read_metadata
from .units import libvirt_bytes
from .xmlsafe import parse_xml, text_of

# Real guests repeat the same few cpusets on every vcpupin: parse each string once.
_cached_idset = functools.lru_cache(maxsize=1024)(parse_idset)

# One pinning of something to host CPUs. what: "vcpu cpuset", "vcpupin 3", "emulatorpin",
# "iothreadpin 1".
Pin = namedtuple("Pin", "what cpuset cpus")

# A numatune <memory> or <memnode>: guest memory bound to host NUMA nodes. mode: strict |
# preferred | interleave | restrictive; cell: the guest cell of a <memnode>, else None.
NodeBinding = namedtuple("NodeBinding", "what mode nodeset nodes cell", defaults=(None,))

# nodes: the guest NUMA cells this size backs, or None for all of them. size_bytes 0 is
# <hugepages/> without <page>: the host's default huge page size.
HugePage = namedtuple("HugePage", "size_bytes nodeset nodes", defaults=(None, None))

GuestCell = namedtuple("GuestCell", "id memory_bytes")

CpuFeature = namedtuple("CpuFeature", "name policy")  # policy: force | require | optional | disable | forbid


class GuestCpu(namedtuple("GuestCpu", "mode model vendor features", defaults=(None, None, ()))):
    """mode: custom | host-model | host-passthrough | maximum."""

    __slots__ = ()

    def features_with(self, *policies):
        return tuple(f.name for f in self.features if f.policy in policies)


class Firmware(namedtuple("Firmware", "firmware features loader_path loader_type loader_secure nvram_template",
                          defaults=(None, (), None, None, None, None))):
    """firmware: <os firmware='efi|bios'>; features: (name, enabled) of <firmware><feature>."""

    __slots__ = ()

    def wants(self, feature):
        return any(name == feature and enabled for name, enabled in self.features)


# mode: subsystem | capabilities; type: pci | usb | scsi | scsi_host | mdev | storage | misc |
# net; source: a short description for messages; teaming: transient makes a VF failover-capable.
HostDev = namedtuple("HostDev", "mode type source teaming mdev_uuid model", defaults=(None, None, None))

# type: network | bridge | hostdev | vdpa | direct | user | ...
Interface = namedtuple("Interface", "type mac network source teaming", defaults=(None, None, None, None))

class Domain(namedtuple("Domain", (
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


def _pins(root):
    pins = []
    vcpu = root.find("vcpu")
    if vcpu is not None and vcpu.get("cpuset") and vcpu.get("placement", "static") != "auto":
        pins.append(Pin("vcpu cpuset", vcpu.get("cpuset"), _idset(vcpu.get("cpuset"), "<vcpu cpuset>")))
    cputune = root.find("cputune")
    if cputune is None:
        return tuple(pins)
    for element, label, key in (("vcpupin", "vcpupin", "vcpu"), ("emulatorpin", "emulatorpin", None),
                                ("iothreadpin", "iothreadpin", "iothread")):
        for pin in cputune.iterchildren(element):
            cpuset = pin.get("cpuset")
            if not cpuset:
                continue
            what = "%s %s" % (label, pin.get(key)) if key else label
            pins.append(Pin(what, cpuset, _idset(cpuset, "<%s>" % what)))
    return tuple(pins)


def _numatune(root):
    numatune = root.find("numatune")
    if numatune is None:
        return ()
    bindings = []
    memory = numatune.find("memory")
    if memory is not None:
        # placement='auto' asks numad for nodes at start: nothing is pinned by name.
        if memory.get("nodeset") and memory.get("placement") != "auto":
            bindings.append(NodeBinding("numatune memory", memory.get("mode", "strict"), memory.get("nodeset"),
                                        _idset(memory.get("nodeset"), "<numatune><memory nodeset>")))
    for memnode in numatune.findall("memnode"):
        if not memnode.get("nodeset"):
            continue
        cell = _int(memnode.get("cellid"), "<memnode cellid>")
        bindings.append(NodeBinding("numatune memnode %d" % cell, memnode.get("mode", "strict"),
                                    memnode.get("nodeset"), _idset(memnode.get("nodeset"), "<memnode nodeset>"),
                                    cell))
    return tuple(bindings)


def _hugepages(root):
    hugepages = root.find("memoryBacking/hugepages")
    if hugepages is None:
        return ()
    pages = []
    for page in hugepages.findall("page"):
        size = libvirt_bytes(page.get("size") or "", page.get("unit"))
        nodeset = page.get("nodeset")
        pages.append(HugePage(size, nodeset, _idset(nodeset, "<page nodeset>") if nodeset else None))
    # <hugepages/> with no <page> means the host's default huge page size: size 0.
    return tuple(pages) or (HugePage(0),)


def _cells(root):
    cells = []
    for cell in root.findall("cpu/numa/cell"):
        memory = libvirt_bytes(cell.get("memory") or "0", cell.get("unit"))
        cells.append(GuestCell(_int(cell.get("id", str(len(cells))), "<cell id>"), memory))
    return tuple(cells)


def _cpu(root):
    cpu = root.find("cpu")
    if cpu is None:
        return None
    model = cpu.find("model")
    features = tuple(CpuFeature(f.get("name", ""), f.get("policy", "require")) for f in cpu.findall("feature"))
    mode = cpu.get("mode") or ("custom" if model is not None else None)
    if mode is None:
        # <cpu> holding only topology or NUMA cells: QEMU's default model, nothing to check.
        return None
    return GuestCpu(
        mode=mode,
        model=model.text.strip() if model is not None and model.text else None,
        vendor=text_of(cpu, "vendor"),
        features=features,
    )


def _firmware(root):
    os_el = root.find("os")
    if os_el is None:
        return Firmware()
    loader = os_el.find("loader")
    nvram = os_el.find("nvram")
    features = tuple((f.get("name", ""), f.get("enabled") == "yes") for f in os_el.findall("firmware/feature"))
    return Firmware(
        firmware=os_el.get("firmware"),
        features=features,
        loader_path=loader.text.strip() if loader is not None and loader.text and loader.text.strip() else None,
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
    interfaces = []
    # iterchildren filters in C; find/findall walk every child in Python (lxml's
    # ElementPath), which dominates the cost of guests with thousands of devices.
    for iface in devices.iterchildren("interface"):
        parts = {child.tag: child for child in iface if isinstance(child.tag, str)}
        source, teaming, mac = (parts.get(k) for k in ("source", "teaming", "mac"))
        described = None
        if source is not None:
            described = source.get("dev") or source.get("bridge") or source.get("network")
            if described is None:
                described = _describe_source(source)
        interfaces.append(Interface(
            type=iface.get("type", "?"),
            mac=mac.get("address") if mac is not None else None,
            network=source.get("network") if source is not None else None,
            source=described,
            teaming=teaming.get("type") if teaming is not None else None,
        ))
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
    name = text_of(root, "name")
    if not name:
        raise InputError("the domain has no <name>")
    memory = _bytes(root.find("memory"))
    cells = _cells(root)
    if memory is None and cells:
        # libvirt derives the total from the guest NUMA cells when <memory> is absent.
        memory = sum(cell.memory_bytes for cell in cells)
    if memory is None:
        raise InputError("domain %s has no <memory>" % name)
    os_type = root.find("os/type")
    devices = root.find("devices")
    if devices is None:
        devices = root.makeelement("devices")
    fingerprint, fingerprint_problem, exemptions = read_metadata(root)
    launch = root.find("launchSecurity")
    return Domain(
        name=name,
        uuid=text_of(root, "uuid"),
        virt_type=root.get("type", "?"),
        arch=os_type.get("arch") if os_type is not None else None,
        machine=os_type.get("machine") if os_type is not None else None,
        emulator=next((e.text.strip() for e in devices.iterchildren("emulator") if e.text), None),
        memory_bytes=memory,
        pins=_pins(root),
        node_bindings=_numatune(root),
        hugepages=_hugepages(root),
        cells=cells,
        cpu=_cpu(root),
        firmware=_firmware(root),
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
