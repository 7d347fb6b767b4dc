"""The domain parser: a libvirt domain XML into the guest model's records (guard.guest.model).

No policy lives here (nova's "no policy in the XML layer"): this module only turns XML
into those records. It accepts a bare <domain> and
the <domstatus> wrapper of libvirt's status files. The project's own <metadata> element
is read by guard.guest.metadata, which never raises: a guest's metadata cannot fail a decision.
"""
import functools

from lxml import etree

from ..errors import InputError
from ..units import libvirt_bytes
from ..xmlsafe import domain_element, parse_xml, text_of
from .cpuset import parse_idset
from .host_resources import READERS as RESOURCE_READERS  # resource_readers(), by make docs
from .metadata import read_metadata
from .model import (
    NO_PLATFORM,
    CpuFeature,
    Domain,
    Firmware,
    GuestCell,
    GuestCpu,
    HostBacked,
    HostDev,
    HostResource,
    HugePage,
    Interface,
    Listen,
    MemoryDevice,
    NodeBinding,
    Pin,
    Platform,
    StoragePath,
)

# Real guests repeat the same few cpusets on every vcpupin: parse each string once.
_cached_idset = functools.lru_cache(maxsize=1024)(parse_idset)

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
    """{tag: first child} of an element, in one pass: find() with a path runs lxml's
    ElementPath in Python, and iterchildren(tag) builds a tag matcher on every call; both
    cost more than looking at the few children a libvirt element has."""
    found = {}
    if element is not None:
        for child in element:
            tag = child.tag
            if tag not in found and isinstance(tag, str):
                found[tag] = child
    return found


def _each(element, tag):
    """The children of element with this tag, in document order (see _children for why
    not iterchildren(tag))."""
    return [child for child in element if child.tag == tag] if element is not None else []


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
    # A tight loop: guests with thousands of pins exist (see bench/engine.py).
    append, new_pin = pins.append, Pin.from_tuple
    for pin in cputune:
        tag = pin.tag
        if tag == "vcpupin":
            what = "vcpupin %s" % pin.get("vcpu")
        elif tag == "iothreadpin":
            what = "iothreadpin %s" % pin.get("iothread")
        elif tag == "emulatorpin":
            what = tag
        else:
            continue
        cpuset = pin.get("cpuset")
        if cpuset:
            append(new_pin((what, cpuset, _idset(cpuset, what))))
    return tuple(pins)


def _numatune(numatune):
    if numatune is None:
        return ()
    bindings = []
    for element in numatune:
        tag = element.tag
        nodeset = element.get("nodeset") if tag in ("memory", "memnode") else None
        if not nodeset:
            continue
        if tag == "memory":
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
    for page in _each(hugepages, "page"):
        size = libvirt_bytes(page.get("size") or "", page.get("unit"))
        nodeset = page.get("nodeset")
        pages.append(HugePage(size, nodeset, _idset(nodeset, "<page nodeset>") if nodeset else None))
    # <hugepages/> with no <page> means the host's default huge page size: size 0.
    return tuple(pages) or (HugePage(0),)


def _cells(numa):
    cells = []
    if numa is None:
        return ()
    for cell in _each(numa, "cell"):
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
    features = tuple(CpuFeature(f.get("name", ""), f.get("policy", "require")) for f in _each(cpu, "feature"))
    return GuestCpu(mode, _text(model) or None, _text(parts.get("vendor")), features)  # positional: see Domain


def _nvram_path(nvram):
    """The NVRAM file: <nvram>PATH</nvram> or <nvram type='file'><source file=.../>; None for
    network NVRAM and none at all."""
    if nvram is None:
        return None
    if nvram.get("type") not in (None, "file"):
        return None
    source = _children(nvram).get("source")
    return _text(nvram) or (source.get("file") if source is not None else None) or None


NO_FIRMWARE = Firmware()


def _firmware(os_el, parts):
    if os_el is None:
        return NO_FIRMWARE
    loader, nvram, firmware = parts.get("loader"), parts.get("nvram"), parts.get("firmware")
    features = ()
    if firmware is not None:
        features = tuple((f.get("name", ""), f.get("enabled") == "yes") for f in _each(firmware, "feature"))
    # Positional, in Firmware's field order (named in the comments): keywords cost a dict and a
    # Python-level __new__ per call, more than the rest of building this record.
    return Firmware.from_tuple((
        os_el.get("firmware"),  # firmware
        features,  # features
        _text(loader) or None,  # loader_path
        loader.get("type") if loader is not None else None,  # loader_type
        _yes(loader.get("secure")) if loader is not None else None,  # loader_secure
        nvram.get("template") if nvram is not None else None,  # nvram_template
        _nvram_path(nvram),  # nvram_path
    ))


def _number(text):
    """An address number as libvirt reads it (virStrToLong_uip, base 0): 0x.. hex, 0.. octal,
    else decimal; None when it is none of these."""
    text = (text or "0").strip()
    try:
        if text[:2].lower() == "0x":
            return int(text[2:], 16)
        if len(text) > 1 and text[0] == "0":
            return int(text[1:], 8)
        return int(text)
    except ValueError:
        return None


def pci_address(address):
    """libvirt's form of a PCI address element, 0000:06:12.5, whatever notation the XML used."""
    parts = [_number(address.get(k)) for k in ("domain", "bus", "slot", "function")]
    if None in parts:
        return ":".join(address.get(k) or "?" for k in ("domain", "bus", "slot", "function"))
    return "%04x:%02x:%02x.%x" % tuple(parts)


def _describe_source(source):
    """A short, stable description of a <source> for messages: address, vendor/product, adapter."""
    if source is None:
        return "?"
    address = source.find("address")
    if address is not None:
        if address.get("uuid"):
            return address.get("uuid")
        if address.get("domain") is not None or address.get("slot") is not None:
            return pci_address(address)
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


def mdev_path(uuid):
    """Where an active mdev shows on its host: a defined one that was never started has no
    such entry, and QEMU cannot open it (the mediated-device rule and the probe both ask)."""
    return "/sys/bus/mdev/devices/%s" % uuid


def _hostdev(hostdev, found):
    parts = _children(hostdev)
    source, teaming, driver = parts.get("source"), parts.get("teaming"), parts.get("driver")
    address = _children(source).get("address")
    found.hostdevs.append(HostDev(
        mode=hostdev.get("mode", "subsystem"),
        type=hostdev.get("type", "?"),
        source=_describe_source(source),
        teaming=teaming.get("type") if teaming is not None else None,
        mdev_uuid=address.get("uuid") if address is not None else None,
        model=hostdev.get("model"),
        managed=hostdev.get("managed") == "yes",
        driver_model=driver.get("model") if driver is not None else None,
    ))


def _source_and(element, other, another=None):
    """The first <source>, <other> and <another> children of a device: the readers of the
    devices guests have by thousands (<interface>, <disk>) take them here rather than
    through _children, whose dict costs more per device than the rest of its reading
    (bench/engine.py)."""
    source = first = second = None
    for child in element:
        tag = child.tag
        if tag == "source":
            if source is None:
                source = child
        elif tag == other:
            if first is None:
                first = child
        elif tag == another and second is None:
            second = child
    return source, first, second


def _interface(iface, found):
    source, mac, teaming = _source_and(iface, "mac", "teaming")
    mac = mac.get("address") if mac is not None else None
    teaming = teaming.get("type") if teaming is not None else None
    network = described = socket = None
    if source is not None:
        get = source.get
        network = get("network")
        described = get("dev") or get("bridge") or network or _describe_source(source)
        if get("type") == "unix" and get("path"):
            socket = (get("path"), get("mode", "client"))
            described = get("path")
    kind = iface.get("type", "?")
    managed = driver_model = None
    if kind == "hostdev":  # an assigned VF: whether libvirt binds its driver, and which
        managed = iface.get("managed") == "yes"
        driver = _children(iface).get("driver")
        driver_model = driver.get("model") if driver is not None else None
    found.interfaces.append(Interface.from_tuple((kind, mac, network, described, teaming, socket, managed,
                                                  driver_model)))


# Disk types whose source is a host path, and the attribute naming it.
_DISK_PATH_ATTR = {"file": "file", "block": "dev", "dir": "dir"}
_INPUT_KINDS = {"passthrough": "input-passthrough", "evdev": "input-evdev"}


def _droppable(policy, device):
    """Whether libvirt drops this disk's missing source on an incoming migration instead of
    failing (src/qemu/qemu_domain.c qemuDomainCheckDiskStartupPolicy, cold_boot false):
    'requisite' always; 'optional' only for a CD-ROM or floppy, since QEMU saved the section of
    any other disk in the migration stream; 'mandatory' and no policy never."""
    return policy == "requisite" or (policy == "optional" and device in ("cdrom", "floppy"))


def _disk(disk, found):
    source, readonly, transient = _source_and(disk, "readonly", "transient")
    readonly = readonly is not None
    if transient is not None:
        target = _children(disk).get("target")
        found.transient.append(target.get("dev", "?") if target is not None else "?")
    if source is None:
        return  # an empty CD-ROM or floppy
    dtype = disk.get("type", "file")
    device = disk.get("device", "disk")
    get = source.get
    optional = _droppable(get("startupPolicy"), device)
    if dtype == "volume":
        found.storage.append(StoragePath.from_tuple((device, "volume", None, get("pool"), get("volume"), optional,
                                                     readonly)))
    elif dtype == "vhostuser":
        found.backed.append(HostBacked("vhost-user", "<disk type='vhostuser'> %s" % get("path"), get("path")))
    else:
        attr = _DISK_PATH_ATTR.get(dtype)
        path = get(attr) if attr else None
        if path:
            found.storage.append(StoragePath.from_tuple((device, dtype, path, None, None, optional, readonly)))


def _memory_device(mem, found):
    parts = _children(mem)
    parts_s, parts_t = _children(parts.get("source")), _children(parts.get("target"))
    nodemask = _text(parts_s.get("nodemask"))
    node = _text(parts_t.get("node"))
    page = parts_s.get("pagesize")
    found.memory.append(MemoryDevice(
        model=mem.get("model", "?"),
        size_bytes=_bytes(parts_t.get("size")) or 0,
        target_node=_int(node, "<memory><target><node>") if node else None,
        nodemask=nodemask,
        nodes=_idset(nodemask, "<memory><source><nodemask>") if nodemask else None,
        page_bytes=_bytes(page),
        path=_text(parts_s.get("path")),
    ))


def _spice_tls_port(graphics):
    """(needs, takes) for this SPICE display on the destination, where the incoming definition
    is parsed as inactive (autoport ports reset). needs: libvirt wants a TLS port for it whatever
    qemu.conf says: qemu_process.c qemuProcessSPICEAllocatePorts for defaultMode='secure' or a
    channel mode='secure' ("Auto allocation of spice TLS port requested but spice TLS is disabled
    in qemu.conf"), qemu_validate.c for a fixed tlsPort ("spice TLS port set in XML configuration,
    but TLS is disabled in qemu.conf"). takes: it gets one, and QEMU the x509-dir it loads the
    certificates from (qemu_command.c qemuBuildGraphicsSPICECommandLine), where qemu.conf sets
    spice_tls = 1: an autoport display in mode 'any' takes one too. Neither for socket or 'none'
    listens."""
    if any(listen.get("type") in ("socket", "none") for listen in _each(graphics, "listen")):
        return False, False
    try:
        tls_port = int(graphics.get("tlsPort") or 0)
    except ValueError:
        tls_port = 0
    autoport = graphics.get("autoport") == "yes" or graphics.get("port") in (None, "-1")
    secure = graphics.get("defaultMode") == "secure" or any(
        channel.get("mode") == "secure" for channel in _each(graphics, "channel"))
    fixed = (not autoport and tls_port > 0) or tls_port == -1
    return (autoport and secure) or fixed, (autoport and (secure or graphics.get("defaultMode") != "insecure")) or fixed


def _graphics(graphics, found):
    gtype = graphics.get("type")
    if gtype not in ("vnc", "spice"):
        return
    if gtype == "spice":
        needs, takes = _spice_tls_port(graphics)
        found.spice_tls, found.spice_tls_port = found.spice_tls or needs, found.spice_tls_port or takes
    listens = found.listens
    attr = graphics.get("listen")
    if attr is not None:
        listens.append(Listen(gtype, attr.strip()))
    for listen in _each(graphics, "listen"):
        kind = listen.get("type")
        if kind == "address" and listen.get("address") is not None and listen.get("address") != attr:
            listens.append(Listen(gtype, listen.get("address").strip()))
        elif kind == "network" and listen.get("network"):
            listens.append(Listen(gtype, None, listen.get("network")))


def _filesystem(dev, found):
    parts = _children(dev)
    source, driver = parts.get("source"), parts.get("driver")
    if driver is not None and driver.get("type") == "virtiofs" or (source is not None and source.get("socket")):
        path = source.get("socket") if source is not None else None
        found.backed.append(HostBacked("virtiofs", "<filesystem> virtiofs %s" % (
            (source.get("dir") or path) if source is not None else "?"), path))
    elif source is not None and dev.get("type", "mount") == "mount" and source.get("dir"):
        found.storage.append(StoragePath("filesystem", "dir", source.get("dir")))


def _tpm(dev, found):
    backend = _children(dev).get("backend")
    if backend is not None and backend.get("type") == "passthrough":
        device = _children(backend).get("device")
        found.backed.append(HostBacked("tpm-passthrough", "<tpm><backend type='passthrough'> %s" % (
            device.get("path") if device is not None else "/dev/tpm0"), None))


def _input(dev, found):
    kind = _INPUT_KINDS.get(dev.get("type"))
    if kind:
        source = _children(dev).get("source")
        path = source.get("evdev") or source.get("dev") if source is not None else None
        found.backed.append(HostBacked(kind, "<input type='%s'> %s" % (dev.get("type"), path or "?"), None))


def _shmem(dev, found):
    server = _children(dev).get("server")
    name = dev.get("name", "?")
    if dev.get("role") != "master":
        found.backed.append(HostBacked("shmem-peer", "<shmem name='%s'>" % name))
    elif server is not None:
        path = server.get("path") or "/var/lib/libvirt/shmem-%s-sock" % name
        found.backed.append(HostBacked("shmem-server", "<shmem name='%s'> server %s" % (name, path), path))


def _video(dev, found):
    parts = _children(dev)
    driver = parts.get("driver")
    if driver is not None and driver.get("name") == "vhostuser":
        found.backed.append(HostBacked("vhost-user-gpu", "<video><driver name='vhostuser'>"))
    acceleration = _children(parts.get("model")).get("acceleration")
    if acceleration is not None and acceleration.get("accel3d") == "yes":
        found.unmigratable.append(("virgl", "<video><model><acceleration accel3d='yes'>"))


def _sound(dev, found):
    if dev.get("model") == "virtio":
        found.unmigratable.append(("virtio-sound", "<sound model='virtio'>"))


def _channel(dev, found):
    if dev.get("type") == "qemu-vdagent":
        found.unmigratable.append(("qemu-vdagent", "<channel type='qemu-vdagent'>"))


def _emulator(dev, found):
    if found.emulator is None and dev.text:
        found.emulator = dev.text.strip()


class _Devices:
    """What one pass over <devices> collects."""

    __slots__ = ("hostdevs", "interfaces", "storage", "backed", "memory", "listens", "emulator", "transient", "tags",
                 "unmigratable", "spice_tls", "spice_tls_port")

    def __init__(self):
        self.hostdevs, self.interfaces, self.storage, self.backed, self.memory, self.listens = [], [], [], [], [], []
        self.transient, self.unmigratable = [], []
        self.tags = set()
        self.emulator = None
        self.spice_tls = self.spice_tls_port = False


# Each <devices> child the rules need, and its reader. One pass over <devices> dispatching
# on the tag: per-tag passes with iterchildren(tag) cost a tag matcher each.
_DEVICE_READERS = {"disk": _disk, "interface": _interface, "hostdev": _hostdev, "memory": _memory_device,
                   "graphics": _graphics, "filesystem": _filesystem, "tpm": _tpm, "input": _input,
                   "shmem": _shmem, "video": _video, "emulator": _emulator, "sound": _sound, "channel": _channel}


def _devices(devices):
    found = _Devices()
    if devices is not None:
        readers, seen = _DEVICE_READERS, found.tags.add
        for dev in devices:
            tag = dev.tag
            seen(tag)
            seen((tag, dev.get("type")))
            reader = readers.get(tag)
            if reader is not None:
                reader(dev, found)
    return found


def _hyperv(features):
    if features is None:
        return None
    hyperv = _children(features).get("hyperv")
    if hyperv is None:
        return None
    mode = hyperv.get("mode", "custom")
    on = tuple(child.tag for child in hyperv if isinstance(child.tag, str) and child.get("state") == "on")
    return (mode, on)


# The device values libvirt's start-time validation checks against what the destination's
# QEMU offers, and that domcapabilities list as <devices><DEVICE><enum name=ENUM> (src/qemu/
# qemu_capabilities.c virQEMUCapsFillDomainDevice*Caps from the same capabilities as src/qemu/
# qemu_validate.c): (device, enum, xpath of the guest's values). An absent value is libvirt's
# default, which every QEMU has. <channel type> is not here: its enum lists only some types.
DEVICE_ENUMS = (
    ("disk", "diskDevice", "devices/disk/@device"),
    ("disk", "bus", "devices/disk/target/@bus"),
    ("graphics", "type", "devices/graphics/@type"),
    ("video", "modelType", "devices/video/model/@type"),
    ("rng", "model", "devices/rng/@model"),
    ("rng", "backendModel", "devices/rng/backend/@model"),
    ("filesystem", "driverType", "devices/filesystem/driver/@type"),
    ("tpm", "model", "devices/tpm/@model"),
    ("tpm", "backendModel", "devices/tpm/backend/@type"),
    ("redirdev", "bus", "devices/redirdev/@bus"),
)
# Compiled XPaths by expression, each on its first use in this process: compiling one costs
# some 15 us (more than running it), and most guests need few of them.
_XPATHS = {}


def _xpath(path, smart_strings=True):
    select = _XPATHS.get((path, smart_strings))
    if select is None:
        select = _XPATHS[(path, smart_strings)] = etree.XPath(path, smart_strings=smart_strings)
    return select


def _device_values(root, present):
    """(device, enum, value) for each DEVICE_ENUMS value the guest gives, once each."""
    found = []
    for device, enum, path in DEVICE_ENUMS:
        if device in present:
            # Plain strings, not lxml's "smart" ones that know their element: a guest with thousands
            # of disks gives thousands of bus values, of which a set keeps a few.
            found.extend((device, enum, value) for value in dict.fromkeys(_xpath(path, False)(root)))
    return tuple(found)


def _branches(xpath):
    """The branches of a top-level union "A | B" (catalogue xpaths have no union inside a
    predicate: tests/rules/test_blockers.py). Each is run as an XPath of its own: libxml2 merges
    a union's node sets in time that grows with the product of their sizes, which a guest with
    thousands of devices could turn into seconds."""
    return [branch.strip() for branch in xpath.split("|")]


def _first_elements(branch):
    """What a catalogue xpath branch starts from: element names (children of <domain>, or of
    <devices>), or (name, type) where a device's first step asks for a type ("devices/serial
    [@type='file']/..."); None when it starts from any device (devices/*/..., devices/descendant::...)."""
    device = branch.startswith("devices/")
    if device:
        branch = branch[len("devices/"):]
    first = branch.split("/", 1)[0]
    if "::" in first.split("[", 1)[0]:
        return None  # an axis step (descendant::...): it may find its element anywhere
    names = _names_after(first, "self::") if first.startswith("*") else [first.split("[", 1)[0]]
    if not names or names == ["*"]:
        return None
    types = _names_after(first, "[@type='", "']") if device else ()
    return frozenset((name, kind) for name in names for kind in types) if types else frozenset(names)


_WORD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def _names_after(text, before, after=""):
    """The names ([A-Za-z0-9_-]+) that follow each `before` in text (and are followed by
    `after`): what re.findall would find in the catalogue's ASCII xpaths, without compiling a
    pattern on the hook's path (that costs more than all of these calls)."""
    found = []
    for piece in text.split(before)[1:]:
        if after:
            name, sep, _rest = piece.partition(after)
            if not sep or name.strip(_WORD):  # no `after`, or a character no name has
                continue
        else:
            name = piece[:len(piece) - len(piece.lstrip(_WORD))]
        if name:
            found.append(name)
    return found


def resource_readers(entries):
    """((resource, access, code, XPath branch, first elements), ...): one per branch of each
    blocker catalogue libvirt-schema entry (guard.blockers.schema) the host-resource rule
    checks. `make docs` writes them into guard/guest/host_resources.py, which the parser reads: the
    hook then loads neither the catalogue nor this derivation (half a millisecond of each
    run), and tests/test_resource_readers.py fails until the two agree. A branch runs only
    for a guest that has one of the elements it starts from (_first_elements), and is
    compiled only then (_xpath): each location path costs about half a microsecond to run
    and thirty times that to compile, and most guests name none of these."""
    return tuple(
        (entry.resource, entry.access, entry.rule[len("host-resource["):-1], branch, _first_elements(branch))
        for entry in entries if entry.xpath and (entry.rule or "").startswith("host-resource[")
        for branch in _branches(entry.xpath))


def _element_of(value, root):
    """Where value stands, for messages: the device that names it ("<serial type='file'>"), or
    outside <devices> the top-level element and the one holding it ("<os><kernel>")."""
    holder = element = value.getparent()
    while element is not None:
        parent = element.getparent()
        if parent is None or parent is root or parent.tag == "devices":
            break
        element = parent
    if element is None:
        return "<domain>"
    if element.getparent() is root and holder is not element:
        return "<%s><%s>" % (element.tag, holder.tag)
    for attribute in ("type", "model"):
        if element.get(attribute):
            return "<%s %s='%s'>" % (element.tag, attribute, element.get(attribute))
    return "<%s>" % element.tag


def _resources(root, present):
    """The host resources the guest names; present: the tags of <domain>'s and <devices>'s children,
    and (tag, type) of the devices."""
    found = []
    for resource, access, code, branch, starts in RESOURCE_READERS:
        if starts is not None and starts.isdisjoint(present):
            continue
        for value in _xpath(branch)(root):
            text = str(value).strip()
            if text:
                found.append(HostResource(resource, access, text, _element_of(value, root), code))
    return tuple(dict.fromkeys(found))


def _platform(clock, cpu, devices):
    frequency = None
    for timer in _each(clock, "timer"):
        if timer.get("name") == "tsc" and timer.get("frequency"):
            try:
                frequency = int(timer.get("frequency"))
            except ValueError:
                raise InputError("<timer name='tsc' frequency>: %r is not a whole number" % timer.get("frequency"))
    migratable = _yes(cpu.get("migratable")) if cpu is not None else None
    iommu = "iommu" in devices.tags
    if (frequency is None and migratable is None and not devices.transient and not devices.unmigratable and not iommu
            and not devices.spice_tls and not devices.spice_tls_port):
        return NO_PLATFORM
    return Platform(frequency, migratable, tuple(devices.transient), tuple(dict.fromkeys(devices.unmigratable)),
                    iommu, devices.spice_tls, devices.spice_tls_port)


# The seclabels whose model libvirt checks against the security drivers it loaded, before it
# starts a guest (src/security/security_manager.c virSecurityManagerCheckAllLabel, called by
# qemuProcessStartValidate): the domain's own, each disk source's and each character device
# source's. Model 'none' always passes (virSecurityManagerCheckModel), and a domain seclabel
# without a model takes the host's first driver (src/conf/domain_conf.c
# virSecurityLabelDefsParseXML): neither is kept.
_LABELLED_DEVICES = frozenset(("disk", "serial", "parallel", "console", "channel"))
_SHOWN_MODEL = 64  # a model is the tenant's text: keep what messages quote of it short


def _unconfined(root):
    """The models ("" where none is named) of the domain's own <seclabel type='none'>: an
    unconfined guest, which a host with security_require_confined refuses to start
    (src/security/security_manager.c virSecurityManagerGenLabel). Model 'none' is no driver."""
    return tuple(dict.fromkeys((label.get("model") or "")[:_SHOWN_MODEL] for label in root.findall("seclabel")
                               if label.get("type") == "none" and label.get("model") != "none"))


def _security_models(root):
    """((model, element), ...) of the seclabels that name a security driver, once each. One
    walk in C for the tag (most guests have none), then where each stands: <metadata> or a
    device libvirt does not check may hold one too."""
    own, devices = [], []
    for label in root.iter("seclabel"):
        model = label.get("model")
        if not model or model == "none":
            continue
        parent = label.getparent()
        if parent is root:
            own.append((model[:_SHOWN_MODEL], "<seclabel type='%s'>" % label.get("type", "dynamic")[:16]))
            continue
        device = parent.getparent() if parent.tag == "source" else None
        holder = device.getparent() if device is not None else None
        if holder is not None and device.tag in _LABELLED_DEVICES and holder.tag == "devices" \
                and holder.getparent() is root:
            devices.append((model[:_SHOWN_MODEL], "<%s><source><seclabel>" % device.tag))
    return tuple(dict.fromkeys(own + devices))  # the domain's own first, as libvirt checks them


# guard.guest.waiver.WAIVER_XMLNS: that module loads only for the guests that carry a waiver.
_WAIVERS = "{https://migration-guard.dev/xmlns/waiver/1}waivers"


def _waivers(metadata):
    if metadata is None or metadata.find(_WAIVERS) is None:
        return ()
    from .waiver import read_waivers
    return read_waivers(metadata)


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
    devices = _devices(top.get("devices"))
    metadata = top.get("metadata")
    fingerprint, fingerprint_problem, exemptions = read_metadata(metadata)
    launch = top.get("launchSecurity")
    firmware = _firmware(os_el, os_parts)
    present = devices.tags.union(top)  # what the guest has: <domain>'s and <devices>'s children
    # By name: a field added or moved cannot shift the others (a length-checked call in C).
    return Domain(
        name=name,
        uuid=_text(top.get("uuid")),
        virt_type=root.get("type", "?"),
        arch=os_type.get("arch") if os_type is not None else None,
        machine=os_type.get("machine") if os_type is not None else None,
        emulator=devices.emulator,
        memory_bytes=memory,
        pins=_pins(top.get("vcpu"), top.get("cputune")),
        node_bindings=_numatune(top.get("numatune")),
        hugepages=_hugepages(top.get("memoryBacking")),
        cells=cells,
        cpu=_cpu(cpu, cpu_parts),
        firmware=firmware,
        hostdevs=tuple(devices.hostdevs),
        interfaces=tuple(devices.interfaces),
        launch_security=launch.get("type") if launch is not None else None,
        fingerprint=fingerprint,
        fingerprint_problem=fingerprint_problem,
        exemptions=exemptions,
        os_type=(_text(os_type) or "hvm") if os_type is not None else "hvm",
        memory_devices=tuple(devices.memory),
        hyperv=_hyperv(top.get("features")),
        backed=tuple(devices.backed),
        storage=tuple(devices.storage),
        listens=tuple(devices.listens),
        resources=_resources(root, present),
        platform=_platform(top.get("clock"), cpu, devices),
        device_values=_device_values(root, present),
        fingerprint_check=None,  # set by guard.guest.metadata.verify_domain when a fleet key is configured
        waivers=_waivers(metadata),  # unverified until guard.services.incoming.authenticated
        security_models=_security_models(root),
        unconfined=_unconfined(root),
    )


def parse_domain(data, what="domain XML"):
    """A Domain from XML bytes or text; InputError with one line on anything malformed."""
    return domain_from_element(parse_xml(data, what, drop_blanks=True))
