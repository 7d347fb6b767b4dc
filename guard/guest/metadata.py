"""The project's element in a domain's <metadata>: read (at the parser boundary) and written.

    <metadata>
      <mguard:guard xmlns:mguard="https://migration-guard.dev/xmlns/1">
        <fingerprint>{compact JSON, guard.facts.fingerprint.Fingerprint}</fingerprint>
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

from .. import XMLNS, XMLNS_PREFIX
from ..errors import InputError
from ..facts.fingerprint import canonical_dict, fingerprint_from_data
from ..records import struct
from ..xmlsafe import domain_element, parse_xml

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


def signature_of(fingerprint, uuid, key):
    """HMAC-SHA256, with the fleet key, over the fingerprint (canonical JSON of its typed
    fields, the signature left out) and the guest's UUID: a fingerprint cannot be forged
    without the key, nor copied onto another guest. guard.signing (hmac, hashlib) loads
    only here (a configured key), not on every hook run."""
    from ..signing import hmac_signature
    data = canonical_dict(fingerprint)
    message = "%s\n%s" % (json.dumps(data, sort_keys=True, separators=(",", ":")), (uuid or "").strip().lower())
    return hmac_signature(key, message.encode("utf-8"))


def signed(fingerprint, uuid, key):
    """The fingerprint with its signature for the guest `uuid`; unchanged without a key."""
    if key is None:
        return fingerprint
    return fingerprint._replace(signature=signature_of(fingerprint, uuid, key))


def issuer():
    """The name a stamp gives for the host that issued it (issued_by)."""
    import os
    return os.uname().nodename


def dated(fingerprint, now):
    """The fingerprint as a stamp issued here at `now` (epoch seconds): issued_at and
    issued_by are signed with the rest."""
    return fingerprint._replace(issued_at=int(now), issued_by=issuer())


def verified(fingerprint, uuid, keys, key_problem=None):
    """(fingerprint or None, why it is not used or None), by its signature alone (see
    authenticate for its age). Pure: given the keys' bytes (one key, or a sequence of keys,
    any of which may have signed it), or none with key_problem saying why there is none
    (then no fingerprint can be trusted)."""
    if fingerprint is None:
        return None, None
    keys = (keys,) if isinstance(keys, bytes) else tuple(k for k in keys or () if k is not None)
    if not keys:
        return None, "the source fingerprint cannot be verified (%s)" % key_problem
    if not fingerprint.signature:
        return None, "the source fingerprint is not signed, and a [fingerprint] key is configured"
    import hmac
    if not any(hmac.compare_digest(signature_of(fingerprint, uuid, key), fingerprint.signature) for key in keys):
        why = ("the source fingerprint's signature does not match: altered, forged, copied from another guest or "
               "signed with another key")
        return None, why + (" (%s)" % key_problem if key_problem else "")
    return fingerprint, None


# How far ahead of this host's clock a stamp's issue time may be: hosts of a fleet keep time
# with NTP, so more than this is a wrong clock, and a stamp dated ahead would outlive max_age.
MAX_CLOCK_SKEW = 300.0


def _span(seconds):
    if seconds < 120:
        return "%ds" % seconds
    if seconds < 7200:
        return "%dmin" % (seconds // 60)
    if seconds < 2 * 86400:
        return "%.1fh" % (seconds / 3600)
    return "%dd" % (seconds // 86400)


def stale(fingerprint, now, max_age):
    """Why a signed stamp is too old to be trusted at epoch `now`, or None: undated (signed by
    a guard from before issued_at), issued more than max_age seconds ago, or dated ahead of
    this host's clock (beyond MAX_CLOCK_SKEW)."""
    if fingerprint.issued_at is None:
        return ("the source fingerprint is not dated (signed by a guard from before issued_at), so it could be a "
                "replay of any age")
    from ..units import format_duration
    age = now - fingerprint.issued_at
    by = fingerprint.issued_by or "an unnamed host"
    if age < -MAX_CLOCK_SKEW:
        return "the source fingerprint was issued %s in the future by %s: a clock is wrong" % (_span(-age), by)
    if age > max_age:
        return ("the source fingerprint expired: issued %s ago by %s, max_age %s (is the collector service running "
                "there, with this fleet key?)" % (_span(age), by, format_duration(max_age)))
    return None


# What went wrong, as the code source-fingerprint[...] reports it (guard.rules.source_fingerprint).
MISSING, UNSIGNED, SIGNATURE, EXPIRED, KEY = "missing", "unsigned", "signature", "expired", "key"


def authenticate(fingerprint, uuid, keys, now, max_age, key_problem=None):
    """(fingerprint or None, why not or None, what went wrong or None): a fingerprint is
    trusted only if one of `keys` signed it for the guest `uuid` and it was issued within
    max_age seconds of `now`. An expired or undated stamp is treated like an unsigned one:
    the signature binds the fingerprint and the guest, not the moment, so only its age
    stops a replay. Pure."""
    if fingerprint is None:
        return None, None, MISSING
    if not keys:
        return None, "the source fingerprint cannot be verified (%s)" % key_problem, KEY
    trusted, why = verified(fingerprint, uuid, keys, key_problem)
    if trusted is None:
        return None, why, UNSIGNED if not fingerprint.signature else SIGNATURE
    why = stale(fingerprint, now, max_age)
    if why is not None:
        return None, why, EXPIRED
    return fingerprint, None, None


def verify_domain(domain, keys, now, max_age, key_problem=None):
    """The domain with its fingerprint kept only if authenticate() trusts it; else dropped,
    fingerprint_problem saying why and fingerprint_check what went wrong (a missing one
    included): the code source-fingerprint[...] denies it, as a fleet key is configured."""
    fingerprint, why, check = authenticate(domain.fingerprint, domain.uuid, keys, now, max_age, key_problem)
    return domain._replace(fingerprint=fingerprint, fingerprint_problem=why or domain.fingerprint_problem,
                           fingerprint_check=check)


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
