"""The source fingerprint: the host facts that identity rules compare, carried by the VM.

The destination hook sees only the domain XML, so the source's facts travel inside it,
in <metadata> under the project's namespace, as compact JSON. The same projection of
destination facts is what the rules compare it with, so `check --source-facts` and a
stamped XML give the same verdict by construction.
"""
import json
from dataclasses import dataclass
from typing import Optional, Tuple

from lxml import etree

from . import XMLNS, XMLNS_PREFIX
from .domain import domain_element
from .errors import InputError
from .facts.model import _Record
from .xmlsafe import parse_xml

FINGERPRINT_VERSION = 1

# Kernel parameters that change what the CPU exposes to guests or how it is mitigated.
CPU_CMDLINE_PARAMS = (
    "mitigations", "nosmt", "tsx", "spectre_v2", "spectre_v2_user", "spec_store_bypass_disable", "pti",
    "nopti", "l1tf", "mds", "tsx_async_abort", "mmio_stale_data", "retbleed", "srbds", "gather_data_sampling",
    "spec_rstack_overflow", "nospectre_v1", "nospectre_v2", "clearcpuid", "kvm.nx_huge_pages",
    "kvm_intel.nested", "kvm-intel.nested", "kvm_amd.nested", "kvm-amd.nested", "nosgx", "noxsave",
)


def cpu_cmdline(cmdline):
    """The CPU-relevant parameters of a kernel command line, sorted, as "name=value" or "name"."""
    if not cmdline:
        return ()
    keep = []
    for word in cmdline.split():
        name = word.split("=", 1)[0]
        if name in CPU_CMDLINE_PARAMS:
            keep.append(word)
    return tuple(sorted(keep))


@dataclass(frozen=True)
class Fingerprint(_Record):
    version: int = FINGERPRINT_VERSION
    host: Optional[str] = None
    host_uuid: Optional[str] = None
    collected_at: Optional[float] = None
    cpu_model: Optional[str] = None
    cpu_vendor: Optional[str] = None
    cpu_signature: Optional[str] = None
    cpu_features: Tuple[str, ...] = ()
    microcode: Optional[str] = None
    bios_vendor: Optional[str] = None
    bios_version: Optional[str] = None
    bios_date: Optional[str] = None
    qemu_version: Optional[str] = None
    libvirt_version: Optional[str] = None
    kernel_release: Optional[str] = None
    smt: Optional[str] = None
    nested: Optional[bool] = None
    boot_mode: Optional[str] = None
    vulnerabilities: Tuple[Tuple[str, str], ...] = ()
    cpu_cmdline: Tuple[str, ...] = ()
    numa: Tuple[Tuple[int, int, int], ...] = ()  # (cell id, CPU count, memory bytes)

    def numa_shape(self):
        """Cells and CPUs per cell: what NUMA pinning depends on (memory sizes may differ)."""
        return tuple((cell, cpus) for cell, cpus, _memory in self.numa)


def fingerprint_of(facts):
    """The identity projection of a host's facts."""
    bios = facts.bios
    local = facts.local
    return Fingerprint(
        host=facts.hostname,
        host_uuid=facts.host_uuid,
        collected_at=facts.collected_at,
        cpu_model=facts.cpu.model,
        cpu_vendor=facts.cpu.vendor,
        cpu_signature=facts.cpu.signature,
        cpu_features=facts.cpu.features,
        microcode=facts.microcode,
        bios_vendor=bios.vendor if bios else None,
        bios_version=bios.version if bios else None,
        bios_date=bios.date if bios else None,
        qemu_version=facts.qemu_version,
        libvirt_version=facts.libvirt_version,
        kernel_release=facts.kernel_release,
        smt=local.smt if local else None,
        nested=local.nested if local else None,
        boot_mode=local.boot_mode if local else None,
        vulnerabilities=local.vulnerabilities if local else (),
        cpu_cmdline=cpu_cmdline(local.kernel_cmdline) if local else (),
        numa=tuple((c.id, len(c.cpus), c.memory_bytes) for c in facts.cells),
    )


def fingerprint_from_metadata(data):
    """A Fingerprint from the JSON object found in a domain's metadata."""
    if data.get("version") != FINGERPRINT_VERSION:
        raise InputError("source fingerprint version %r is not %d" % (data.get("version"), FINGERPRINT_VERSION))
    return Fingerprint.from_dict(data)


def fingerprint_json(fingerprint):
    return json.dumps(fingerprint.to_dict(), sort_keys=True, separators=(",", ":"))


def metadata_element(fingerprint, namespaced=True):
    """The <guard> element as libvirt stores it: virDomainSetMetadata(key=XMLNS_PREFIX,
    uri=XMLNS) puts the namespace on the top element only, and refuses a document that
    declares it already ("failed to create a new XML namespace")."""
    if namespaced:
        guard = etree.Element("{%s}guard" % XMLNS, nsmap={XMLNS_PREFIX: XMLNS})
    else:
        guard = etree.Element("guard")
    node = etree.SubElement(guard, "fingerprint")
    node.text = fingerprint_json(fingerprint)
    return guard


def metadata_xml(fingerprint):
    """Text for virDomainSetMetadata's metadata argument (libvirt adds the namespace)."""
    return etree.tostring(metadata_element(fingerprint, namespaced=False), encoding="unicode")


def stamp_xml(xml, facts):
    """The domain XML with the source fingerprint of `facts` in its <metadata>, any older
    fingerprint replaced. Everything else is left as it was."""
    root = parse_xml(xml, "domain XML")
    domain = domain_element(root)
    metadata = domain.find("metadata")
    if metadata is None:
        metadata = etree.Element("metadata")
        # libvirt's schema puts <metadata> right after the name/uuid/title/description block.
        anchor = None
        for tag in ("description", "title", "genid", "uuid", "name"):
            anchor = domain.find(tag)
            if anchor is not None:
                break
        if anchor is not None:
            anchor.addnext(metadata)
        else:
            domain.insert(0, metadata)
    for old in metadata.findall("{%s}guard" % XMLNS):
        metadata.remove(old)
    metadata.append(metadata_element(fingerprint_of(facts)))
    return etree.tostring(root, encoding="unicode") + "\n"


def source_fingerprint(facts=None, domain=None):
    """The source fingerprint to check against: given facts win over the stamped one."""
    if facts is not None:
        return fingerprint_of(facts)
    if domain is not None and domain.fingerprint is not None:
        return fingerprint_from_metadata(domain.fingerprint)
    return None

