"""Stamping the source fingerprint into running domains' live XML (never the persistent
definition), so that the destination hook can compare hosts.

Whoever can edit a domain's live XML, its tenant included, can write its <metadata>. So a
stamp is made from this host's facts, and the one field that facts cannot give once the
guest runs, the QEMU version it started with, comes only from what this host itself knows:
the collector service's own record of the start, or this host's own stamp, signed with the
fleet key and still fresh. Nothing else the live XML says is ever re-signed."""
import time

import libvirt

from .. import XMLNS, XMLNS_PREFIX
from ..errors import InputError
from ..facts.fingerprint import fingerprint_for
from ..guest.domain import parse_domain
from ..guest.metadata import authenticate, dated, issuer, metadata_xml


def _current(dom):
    """The running domain as guard.guest.domain reads it, or None."""
    try:
        return parse_domain(dom.XMLDesc(0))
    except (InputError, libvirt.libvirtError):
        return None


def own_qemu_version(current, facts, keys, now, max_age):
    """The QEMU version in the domain's current stamp if this host issued it: signed with a
    fleet key (`keys`), for this guest, by this host (hostname and host UUID), within max_age
    seconds of `now` (an older one could be a replay of a stamp from before the guest's
    QEMU restarted). Else None: without a key nothing in the live XML can be told from what
    the tenant wrote."""
    previous = current.fingerprint if current is not None else None
    if previous is None or not keys or not previous.qemu_version:
        return None
    if facts.host_uuid is None or previous.host_uuid != facts.host_uuid or previous.issued_by != issuer():
        return None
    trusted, _why, _problem = authenticate(previous, current.uuid, keys, now, max_age)
    return trusted.qemu_version if trusted is not None else None


def stamp_domain(dom, facts, started_here=False, keys=(), max_age=0.0, started_qemu=None, now=None):
    """Write this host's fingerprint, dated now, into a running domain's live XML, signed
    with the first of `keys` (the fleet's current key; none: unsigned). max_age: the
    config's [fingerprint] max_age (0: no earlier stamp is fresh enough to keep anything).

    The QEMU version is the one the domain's QEMU process runs: the host's current version
    when the domain was just started here; else `started_qemu` (what the caller saw when it
    started), else the version in this host's own fresh signed stamp (own_qemu_version), else
    the host's current version (a package update does not change a running QEMU, so that one
    may be newer than what runs: it errs towards refusing). Returns the fingerprint written."""
    now = time.time() if now is None else now
    current = _current(dom)
    fingerprint = dated(fingerprint_for(facts, current), now)
    if not started_here:
        qemu = started_qemu or own_qemu_version(current, facts, keys, now, max_age)
        if qemu:
            fingerprint = fingerprint._replace(qemu_version=qemu)
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT,
                    metadata_xml(fingerprint, dom.UUIDString(), keys[0] if keys else None),
                    XMLNS_PREFIX, XMLNS, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    return fingerprint
