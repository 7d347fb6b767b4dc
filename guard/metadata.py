"""The project's element in a domain's <metadata>: read (at the parser boundary) and written.

    <metadata>
      <mguard:guard xmlns:mguard="https://migration-guard.dev/xmlns/1">
        <fingerprint>{compact JSON, guard.fingerprint.Fingerprint}</fingerprint>
        <exemption rules="bios,microcode" reason="..." until="2026-12-31"/>
      </mguard:guard>
    </metadata>

Everything here is guest-controlled: whoever can edit a domain's XML can write it. So
reading never raises: an unusable fingerprint becomes a problem string (the engine
reports it as `unverifiable[source-fingerprint]` and every other rule still runs), and a
malformed exemption is dropped.
"""
import json

from lxml import etree

from . import XMLNS, XMLNS_PREFIX
from .errors import InputError
from .fingerprint import canonical_dict, fingerprint_from_data
from .records import struct

_NS = {"mg": XMLNS}
MAX_FINGERPRINT_CHARS = 64 * 1024  # a real one is under 2 KiB
MAX_EXEMPTIONS = 64


Exemption = struct("Exemption", "rules reason until")  # honoured only when the config opts in


class Metadata(tuple):
    """(fingerprint or None, fingerprint problem or None, exemptions)."""

    __slots__ = ()

    def __new__(cls, fingerprint=None, problem=None, exemptions=()):
        return tuple.__new__(cls, (fingerprint, problem, exemptions))


NO_METADATA = Metadata()  # what most guests carry


def _local_name(element):
    return element.tag.rpartition("}")[2] if isinstance(element.tag, str) else None


def _fingerprint(node):
    """(Fingerprint, None) or (None, why it is unusable)."""
    text = node.text or ""
    if len(text) > MAX_FINGERPRINT_CHARS:
        return None, "the source fingerprint in <metadata> is over %d characters" % MAX_FINGERPRINT_CHARS
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return None, "the source fingerprint in <metadata> is not JSON (%s)" % str(exc).splitlines()[0][:80]
    try:
        return fingerprint_from_data(data), None
    except RecursionError:
        return None, "the source fingerprint in <metadata> is nested too deeply"
    except InputError as exc:
        return None, "the source fingerprint in <metadata> is unusable: %s" % exc


def _exemption(item):
    rules = tuple(r.strip() for r in (item.get("rules") or "").split(",") if r.strip())
    reason = (item.get("reason") or "").strip()
    if not rules or not reason:
        return None
    return Exemption(rules, reason, item.get("until"))


def read_metadata(metadata):
    """The project's part of a domain's <metadata> element (or None), never raising."""
    guard = metadata.find("mg:guard", _NS) if metadata is not None else None
    if guard is None:
        return NO_METADATA
    fingerprint = problem = None
    exemptions = []
    for child in guard:
        name = _local_name(child)
        # virDomainSetMetadata namespaces only the top element: children may carry our
        # namespace or none.
        if name == "fingerprint" and fingerprint is None and problem is None:
            fingerprint, problem = _fingerprint(child)
        elif name == "exemption" and len(exemptions) < MAX_EXEMPTIONS:
            found = _exemption(child)
            if found is not None:
                exemptions.append(found)
    return Metadata(fingerprint, problem, tuple(exemptions))


def fingerprint_json(fingerprint):
    data = canonical_dict(fingerprint)
    if fingerprint.signature is not None:
        data["signature"] = fingerprint.signature
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


SIGNATURE_PREFIX = "hmac-sha256:"


def signature_of(fingerprint, uuid, key):
    """HMAC-SHA256, with the fleet key, over the fingerprint (canonical JSON of its typed
    fields, the signature left out) and the guest's UUID: a fingerprint cannot be forged
    without the key, nor copied onto another guest. hmac/hashlib load only here (a
    configured key), not on every hook run."""
    import hashlib
    import hmac
    data = canonical_dict(fingerprint)
    message = "%s\n%s" % (json.dumps(data, sort_keys=True, separators=(",", ":")), (uuid or "").strip().lower())
    return SIGNATURE_PREFIX + hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def signed(fingerprint, uuid, key):
    """The fingerprint with its signature for the guest `uuid`; unchanged without a key."""
    if key is None:
        return fingerprint
    return fingerprint._replace(signature=signature_of(fingerprint, uuid, key))


def verified(fingerprint, uuid, key, key_problem=None):
    """(fingerprint or None, why it is not used or None). Pure: given the key's bytes, or
    None with key_problem saying why there is none (then no fingerprint can be trusted)."""
    if fingerprint is None:
        return None, None
    if key is None:
        return None, "the source fingerprint cannot be verified (%s)" % key_problem
    if not fingerprint.signature:
        return None, "the source fingerprint is not signed, and a [fingerprint] key is configured"
    import hmac
    if not hmac.compare_digest(signature_of(fingerprint, uuid, key), fingerprint.signature):
        return None, ("the source fingerprint's signature does not match: altered, forged, copied from another "
                      "guest or signed with another key")
    return fingerprint, None


def guard_element(fingerprint, namespaced=True):
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


def metadata_xml(fingerprint, uuid=None, key=None):
    """Text for virDomainSetMetadata's metadata argument (libvirt adds the namespace);
    signed for the guest `uuid` when a key is given."""
    return etree.tostring(guard_element(signed(fingerprint, uuid, key), namespaced=False), encoding="unicode")


def stamp_xml(xml, fingerprint, key=None):
    """The domain XML with `fingerprint` in its <metadata> (signed for the guest's UUID
    when a key is given), any older one replaced. Everything else is left as it was."""
    from .domain import domain_element
    from .xmlsafe import parse_xml
    root = parse_xml(xml, "domain XML")
    domain = domain_element(root)
    fingerprint = signed(fingerprint, domain.findtext("uuid"), key)
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
    metadata.append(guard_element(fingerprint))
    return etree.tostring(root, encoding="unicode") + "\n"
