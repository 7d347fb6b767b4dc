"""Stamping the source fingerprint into running domains' live XML (never the persistent
definition), so that the destination hook can compare hosts."""

import time

import libvirt

from . import XMLNS, XMLNS_PREFIX
from .domain import parse_domain
from .errors import InputError
from .fingerprint import fingerprint_for
from .metadata import dated, metadata_xml


def _current(dom):
    """The running domain as guard.domain reads it, or None."""
    try:
        return parse_domain(dom.XMLDesc(0))
    except (InputError, libvirt.libvirtError):
        return None


_CONFIGURED = object()


def configured_key():
    """The fleet key of this host's config ([fingerprint] key), or None when unset.
    Raises Untrusted (guard.trusted) when set but unusable: better no stamp than an
    unsigned one every hook of the fleet would refuse to trust."""
    from .config import load_config
    from .trusted import read_key
    path = load_config().fingerprint_key
    return read_key(path) if path else None


def stamp_domain(dom, facts, started_here=False, key=_CONFIGURED):
    """Write this host's fingerprint into a running domain's live XML, signed with the
    fleet key when the config names one (`key`: the key bytes, None for unsigned).

    The QEMU version is the one the domain's QEMU process runs: the host's current version
    when the domain was just started here, else the version already recorded (a package
    update does not change a running QEMU). Returns the fingerprint written."""
    if key is _CONFIGURED:
        key = configured_key()
    current = _current(dom)
    fingerprint = dated(fingerprint_for(facts, current), time.time())
    if not started_here:
        previous = current.fingerprint if current is not None else None
        if previous is not None and previous.host_uuid == fingerprint.host_uuid and previous.qemu_version:
            fingerprint = fingerprint._replace(qemu_version=previous.qemu_version)
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, metadata_xml(fingerprint, dom.UUIDString(), key),
                    XMLNS_PREFIX, XMLNS, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    return fingerprint
