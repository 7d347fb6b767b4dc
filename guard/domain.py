"""The domain model: what the rules need from a libvirt domain XML, and nothing else.

Per-device records are NamedTuples (immutable, and cheaper to build than frozen
dataclasses: a guest can have thousands of pins and devices); the rest are frozen dataclasses.

No policy lives here (nova's "no policy in the XML layer"): this module only
turns XML into frozen dataclasses. It accepts a bare <domain> and the
<domstatus> wrapper of libvirt's status files.
"""
import functools
import json
from dataclasses import dataclass, field
from typing import NamedTuple, Optional, Tuple

from . import XMLNS
from .cpuset import parse_idset
from .errors import InputError
from .units import libvirt_bytes
from .xmlsafe import parse_xml, text_of

_NS = {"mg": XMLNS}

# Real guests repeat the same few cpusets on every vcpupin: parse each string once.
_cached_idset = functools.lru_cache(maxsize=1024)(parse_idset)


class Pin(NamedTuple):
    """One pinning of something (a vCPU, the emulator, an iothread) to host CPUs."""

    what: str  # "vcpu cpuset", "vcpupin 3", "emulatorpin", "iothreadpin 1"
    cpuset: str
    cpus: frozenset


@dataclass(frozen=True)
class NodeBinding:
    """A numatune <memory> or <memnode>: guest memory bound to host NUMA nodes."""

    what: str  # "numatune memory", "numatune memnode 2"
    mode: str  # strict | preferred | interleave | restrictive
    nodeset: str
    nodes: frozenset
    cell: Optional[int] = None  # guest cell for memnode


@dataclass(frozen=True)
class HugePage:
    size_bytes: int
    nodeset: Optional[str] = None
    nodes: Optional[frozenset] = None  # guest NUMA cells this size backs


@dataclass(frozen=True)
class GuestCell:
    id: int
    cpus: Optional[str]
    memory_bytes: int


class CpuFeature(NamedTuple):
    name: str
    policy: str  # force | require | optional | disable | forbid


@dataclass(frozen=True)
class GuestCpu:
    mode: str  # custom | host-model | host-passthrough | maximum
    match: Optional[str] = None
    check: Optional[str] = None
    model: Optional[str] = None
    fallback: Optional[str] = None
    vendor: Optional[str] = None
    features: Tuple[CpuFeature, ...] = ()

    def features_with(self, *policies):
        return tuple(f.name for f in self.features if f.policy in policies)


@dataclass(frozen=True)
class Firmware:
    firmware: Optional[str] = None  # <os firmware='efi|bios'>
    features: Tuple[Tuple[str, bool], ...] = ()  # <firmware><feature name enabled>
    loader_path: Optional[str] = None
    loader_type: Optional[str] = None
    loader_secure: Optional[bool] = None
    nvram_template: Optional[str] = None

    def wants(self, feature):
        return any(name == feature and enabled for name, enabled in self.features)


class HostDev(NamedTuple):
    mode: str  # subsystem | capabilities
    type: str  # pci | usb | scsi | scsi_host | mdev | storage | misc | net
    source: str  # a short description of the source, for messages
    managed: Optional[bool] = None
    teaming: Optional[str] = None  # teaming type (transient makes a VF failover-capable)
    mdev_uuid: Optional[str] = None
    model: Optional[str] = None


class Interface(NamedTuple):
    type: str  # network | bridge | hostdev | vdpa | direct | user | ...
    mac: Optional[str] = None
    network: Optional[str] = None
    source_mode: Optional[str] = None  # direct: vepa | bridge | private | passthrough
    source: Optional[str] = None
    teaming: Optional[str] = None
    model: Optional[str] = None


@dataclass(frozen=True)
class Exemption:
    """An exemption the domain carries in its own metadata (honoured only when opted in)."""

    rules: Tuple[str, ...]
    reason: str
    until: Optional[str] = None


@dataclass(frozen=True)
class Domain:
    name: str
    uuid: Optional[str]
    virt_type: str
    arch: Optional[str]
    machine: Optional[str]
    emulator: Optional[str]
    memory_bytes: int
    current_memory_bytes: Optional[int] = None
    max_memory_bytes: Optional[int] = None
    vcpus: int = 1
    vcpu_placement: str = "static"
    pins: Tuple[Pin, ...] = ()
    numatune_placement: Optional[str] = None
    node_bindings: Tuple[NodeBinding, ...] = ()
    hugepages: Tuple[HugePage, ...] = ()
    cells: Tuple[GuestCell, ...] = ()
    cpu: Optional[GuestCpu] = None
    firmware: Firmware = field(default_factory=Firmware)
    hostdevs: Tuple[HostDev, ...] = ()
    interfaces: Tuple[Interface, ...] = ()
    launch_security: Optional[str] = None
    tpm_models: Tuple[str, ...] = ()
    filesystems: Tuple[str, ...] = ()
    shmems: Tuple[str, ...] = ()
    fingerprint: Optional[dict] = None
    fingerprint_error: Optional[str] = None
    exemptions: Tuple[Exemption, ...] = ()

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
        return None, ()
    bindings = []
    placement = None
    memory = numatune.find("memory")
    if memory is not None:
        placement = memory.get("placement") or ("static" if memory.get("nodeset") else None)
        # placement='auto' asks numad for nodes at start: nothing is pinned by name.
        if memory.get("nodeset") and placement != "auto":
            bindings.append(NodeBinding("numatune memory", memory.get("mode", "strict"), memory.get("nodeset"),
                                        _idset(memory.get("nodeset"), "<numatune><memory nodeset>")))
    for memnode in numatune.findall("memnode"):
        if not memnode.get("nodeset"):
            continue
        cell = _int(memnode.get("cellid"), "<memnode cellid>")
        bindings.append(NodeBinding("numatune memnode %d" % cell, memnode.get("mode", "strict"),
                                    memnode.get("nodeset"), _idset(memnode.get("nodeset"), "<memnode nodeset>"),
                                    cell))
    return placement, tuple(bindings)


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
        cells.append(GuestCell(_int(cell.get("id", str(len(cells))), "<cell id>"), cell.get("cpus"), memory))
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
        match=cpu.get("match"),
        check=cpu.get("check"),
        model=model.text.strip() if model is not None and model.text else None,
        fallback=model.get("fallback") if model is not None else None,
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
            managed=_yes(hostdev.get("managed")),
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
        source, teaming, model, mac = (parts.get(k) for k in ("source", "teaming", "model", "mac"))
        described = None
        if source is not None:
            described = source.get("dev") or source.get("bridge") or source.get("network")
            if described is None:
                described = _describe_source(source)
        interfaces.append(Interface(
            type=iface.get("type", "?"),
            mac=mac.get("address") if mac is not None else None,
            network=source.get("network") if source is not None else None,
            source_mode=source.get("mode") if source is not None else None,
            source=described,
            teaming=teaming.get("type") if teaming is not None else None,
            model=model.get("type") if model is not None else None,
        ))
    return tuple(interfaces)


def _child(parent, local_name):
    """A child by local name: virDomainSetMetadata namespaces only the top element, so
    children may carry the project's namespace or none."""
    for child in parent:
        if isinstance(child.tag, str) and child.tag.rpartition("}")[2] == local_name:
            return child
    return None


def _metadata(root):
    """The fingerprint and exemptions the project keeps in <metadata>."""
    fingerprint = None
    error = None
    guard = root.find("metadata/mg:guard", _NS)
    if guard is None:
        return None, None, ()
    node = _child(guard, "fingerprint")
    if node is not None:
        try:
            fingerprint = json.loads(node.text or "")
            if not isinstance(fingerprint, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            fingerprint, error = None, "the source fingerprint in <metadata> is unreadable (%s)" % exc
    exemptions = []
    for item in guard:
        if isinstance(item.tag, str) and item.tag.rpartition("}")[2] == "exemption":
            rules = tuple(r.strip() for r in (item.get("rules") or "").split(",") if r.strip())
            if rules and item.get("reason"):
                exemptions.append(Exemption(rules, item.get("reason"), item.get("until")))
    return fingerprint, error, tuple(exemptions)


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
    vcpu = root.find("vcpu")
    devices = root.find("devices")
    if devices is None:
        devices = root.makeelement("devices")
    fingerprint, fingerprint_error, exemptions = _metadata(root)
    placement, bindings = _numatune(root)
    launch = root.find("launchSecurity")
    return Domain(
        name=name,
        uuid=text_of(root, "uuid"),
        virt_type=root.get("type", "?"),
        arch=os_type.get("arch") if os_type is not None else None,
        machine=os_type.get("machine") if os_type is not None else None,
        emulator=next((e.text.strip() for e in devices.iterchildren("emulator") if e.text), None),
        memory_bytes=memory,
        current_memory_bytes=_bytes(root.find("currentMemory")),
        max_memory_bytes=_bytes(root.find("maxMemory")),
        vcpus=_int(vcpu.text, "<vcpu>") if vcpu is not None and vcpu.text else 1,
        vcpu_placement=vcpu.get("placement", "static") if vcpu is not None else "static",
        pins=_pins(root),
        numatune_placement=placement,
        node_bindings=bindings,
        hugepages=_hugepages(root),
        cells=cells,
        cpu=_cpu(root),
        firmware=_firmware(root),
        hostdevs=_hostdevs(devices),
        interfaces=_interfaces(devices),
        launch_security=launch.get("type") if launch is not None else None,
        tpm_models=tuple(t.get("model", "tpm-tis") for t in devices.iterchildren("tpm")),
        filesystems=tuple((f.find("driver").get("type") if f.find("driver") is not None else None) or "path"
                          for f in devices.iterchildren("filesystem")),
        shmems=tuple(s.get("name", "") for s in devices.iterchildren("shmem")),
        fingerprint=fingerprint,
        fingerprint_error=fingerprint_error,
        exemptions=exemptions,
    )


def parse_domain(data, what="domain XML"):
    """A Domain from XML bytes or text; InputError with one line on anything malformed."""
    return domain_from_element(parse_xml(data, what))
