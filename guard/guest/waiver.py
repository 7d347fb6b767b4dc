"""Waivers: an override aimed at one guest and some codes, carried by the guest itself.

`migration-guard waive GUEST --rule CODE --for 2h --reason TEXT`, run on the source, writes

    <metadata>
      <mgwaiver:waivers xmlns:mgwaiver="https://migration-guard.dev/xmlns/waiver/1">
        <waiver codes="bios[version],microcode" until="1796212345" issued_at="1796205145"
                by="alice" reason="CHG0012345" signature="hmac-sha256:..."/>
      </mgwaiver:waivers>
    </metadata>

into the guest's live (and persistent) definition. It sits in a namespace of its own: the
watch rewrites the <mguard:guard> element on every stamp (virDomainSetMetadata replaces an
element by namespace), which must not erase it. Every destination's hook honours a waiver
for that guest only when it verifies: signed with the fleet key (current or previous) over
its codes, expiry, author, reason, issue time and the guest's UUID, so a tenant can neither
write one nor move one to another guest, and not expired. It then waives those codes for
that guest, audited as such, and nothing else: `bypass` stays the host-wide break-glass.
Without a fleet key a waiver cannot be made, and one found is ignored.
"""
import json

from lxml import etree

from ..records import struct

WAIVER_XMLNS = "https://migration-guard.dev/xmlns/waiver/1"
WAIVER_PREFIX = "mgwaiver"
MAX_WAIVERS = 16
MAX_FIELD_CHARS = 500

# codes: rule ids or codes, as exemptions name them; until, issued_at: epoch seconds;
# verified: set by verify_waivers (never read from the XML).
Waiver = struct("Waiver", "codes until issued_at by reason signature verified", defaults=(None, False))


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def read_waivers(metadata):
    """The waivers in a domain's <metadata> element (or None), unverified; never raising:
    a malformed one is dropped."""
    if metadata is None:
        return ()
    holder = metadata.find("{%s}waivers" % WAIVER_XMLNS)
    if holder is None:
        return ()
    found = []
    for item in holder:
        if not isinstance(item.tag, str) or etree.QName(item).localname != "waiver" or len(found) >= MAX_WAIVERS:
            continue
        codes = tuple(c.strip() for c in (item.get("codes") or "").split(",") if c.strip())
        until, issued = _int(item.get("until")), _int(item.get("issued_at"))
        reason, by = (item.get("reason") or "")[:MAX_FIELD_CHARS], (item.get("by") or "")[:MAX_FIELD_CHARS]
        if codes and until is not None and issued is not None and reason:
            found.append(Waiver(codes, until, issued, by, reason, item.get("signature")))
    return tuple(found)


def _message(waiver, uuid):
    body = {"codes": sorted(waiver.codes), "until": waiver.until, "issued_at": waiver.issued_at, "by": waiver.by,
            "reason": waiver.reason, "uuid": (uuid or "").strip().lower()}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature_of(waiver, uuid, key):
    from ..signing import hmac_signature  # as stamps are signed, over the waiver's message
    return hmac_signature(key, _message(waiver, uuid))


def sign(waiver, uuid, key):
    return waiver._replace(signature=signature_of(waiver, uuid, key), verified=False)


def verify_waivers(waivers, uuid, keys, now):
    """The waivers, each marked verified when signed for this guest with one of the fleet
    `keys` and still in force (until > now); the others stay unverified, and ignored."""
    import hmac
    marked = []
    for waiver in waivers:
        good = waiver.signature is not None and waiver.until > now and any(
            hmac.compare_digest(waiver.signature, signature_of(waiver, uuid, key)) for key in keys)
        marked.append(waiver._replace(verified=bool(good)))
    return tuple(marked)


def waivers_xml(waivers):
    """Text for virDomainSetMetadata(key=WAIVER_PREFIX, uri=WAIVER_XMLNS): libvirt adds the
    namespace to the top element."""
    holder = etree.Element("waivers")
    for waiver in waivers:
        etree.SubElement(holder, "waiver", codes=",".join(waiver.codes), until=str(waiver.until),
                         issued_at=str(waiver.issued_at), by=waiver.by, reason=waiver.reason,
                         signature=waiver.signature or "")
    return etree.tostring(holder, encoding="unicode")


def in_force(waivers, now):
    return tuple(w for w in waivers if w.until > now)
