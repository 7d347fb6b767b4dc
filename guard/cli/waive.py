"""`migration-guard waive GUEST --rule CODE --for DURATION --reason TEXT`: an override aimed
at one guest and some codes, signed with the fleet key, carried by the guest to any
destination (guard.guest.waiver). Run on the source, where the guest runs."""
import os
import time

from .. import __version__
from ..bypass import login_user
from ..config import CONFIG_HELP, load_config
from ..errors import GuardError
from ..guest.waiver import (
    MAX_FIELD_CHARS,
    MAX_WAIVERS,
    WAIVER_PREFIX,
    WAIVER_XMLNS,
    Waiver,
    in_force,
    read_waivers,
    sign,
    waivers_xml,
)
from ..output import escaping
from ..output.audit import record_action
from ..output.audit_record import waiver_record
from ..runtime.trusted import fleet_keys
from ..units import format_time, parse_duration

MAX_WAIVER_SECONDS = 7 * 86400


def register(sub):
    parser = sub.add_parser("waive", help="let one guest through chosen rule codes, on any destination, for a while",
                            description="Write a waiver into GUEST's metadata, signed with the fleet key: every "
                                        "destination's hook then lets this guest through the named rules or codes "
                                        "until it expires, and audits it; no other guest and no other code. Needs "
                                        "[fingerprint] key. Run on the source. `bypass` is the host-wide "
                                        "break-glass instead.")
    parser.add_argument("guest", metavar="GUEST", help="the guest's name on the source")
    parser.add_argument("--rule", action="append", metavar="CODE",
                        help="rule id or code to waive, e.g. microcode or bios[version] (repeatable)")
    parser.add_argument("--for", dest="duration", metavar="DURATION", help="how long, e.g. 2h, 1h30m (at most 7d)")
    parser.add_argument("--reason", help="why (a change ticket): shown in every decision and audit record")
    parser.add_argument("--list", action="store_true", help="show the guest's waivers in force instead")
    parser.add_argument("--clear", action="store_true", help="remove every waiver from the guest instead")
    parser.add_argument("--uri", default="qemu:///system", help="the source's libvirt URI (default qemu:///system)")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.set_defaults(run=run)


def _current(dom):
    import libvirt
    from lxml import etree
    try:
        text = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, WAIVER_XMLNS, 0)
    except libvirt.libvirtError:
        return ()  # none yet ("metadata not found")
    holder = etree.Element("metadata")
    element = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    # libvirt returns the element without its namespace: put it back for read_waivers.
    wrapped = etree.SubElement(holder, "{%s}waivers" % WAIVER_XMLNS)
    for child in element:
        wrapped.append(child)
    return read_waivers(holder)


def _write(dom, waivers):
    import libvirt
    flags = libvirt.VIR_DOMAIN_AFFECT_LIVE if dom.isActive() else 0
    if dom.isPersistent():
        flags |= libvirt.VIR_DOMAIN_AFFECT_CONFIG
    text = waivers_xml(waivers) if waivers else None  # None removes the element
    dom.setMetadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, text, WAIVER_PREFIX if text else None, WAIVER_XMLNS,
                    flags)


def _audit(config, event, now, guest, by, waiver):
    """Setting and clearing a waiver are audit records and journal entries, as the bypass's."""
    record_action(config.paths.audit_log,
                  waiver_record(event, now, os.uname().nodename, os.getuid(), by, guest, waiver, __version__),
                  "waiver %s for %s by %s" % ("set" if event == "waiver-set" else "cleared", guest[0], by),
                  MG_DOMAIN=guest[0])


def run(args):
    config = load_config(args.config)
    if not config.fingerprint_key:
        raise GuardError("waivers must be signed: set [fingerprint] key (the fleet key) first; `bypass` is the "
                         "host-wide alternative")
    keys, problem = fleet_keys(config)
    if not keys:
        raise GuardError("cannot sign: %s" % problem)
    if not (args.list or args.clear):
        if not args.rule or not args.duration or not args.reason:
            raise GuardError("give --rule CODE (repeatable), --for DURATION and --reason TEXT (or --list / --clear)")
        from ..rules import known_rule, suggestion
        for code in args.rule:
            if code == "*" or not known_rule(code):
                raise GuardError("cannot waive %r%s: name rule ids or codes (`migration-guard rules`)"
                                 % (code, suggestion(code)))
        seconds = parse_duration(args.duration, "--for")
        if not 0 < seconds <= MAX_WAIVER_SECONDS:
            raise GuardError("--for must be between 1s and 7d")
        if len(args.reason) > MAX_FIELD_CHARS:
            raise GuardError("--reason is over %d characters" % MAX_FIELD_CHARS)
    import libvirt

    from ..facts.collect import open_connection
    conn = open_connection(args.uri, read_only=False)
    try:
        try:
            dom = conn.lookupByName(args.guest)
            guest = (dom.name(), dom.UUIDString())
            now = time.time()
            current = in_force(_current(dom), now)
            if args.list:
                for waiver in current:
                    print(escaping.text("%s until %s by %s: %s" % (",".join(waiver.codes), format_time(waiver.until),
                                                                  waiver.by or "?", waiver.reason)))
                if not current:
                    print("no waiver in force for %s" % escaping.text(args.guest))
                return 0
            if args.clear:
                _write(dom, ())
                _audit(config, "waiver-clear", now, guest, login_user(), None)
                print("waivers cleared for %s" % escaping.text(args.guest))
                return 0
            if len(current) >= MAX_WAIVERS:
                raise GuardError("%s already has %d waivers in force: clear them first" % (args.guest, len(current)))
            waiver = sign(Waiver(tuple(dict.fromkeys(args.rule)), int(now + seconds), int(now), login_user(),
                                 args.reason), dom.UUIDString(), keys[0])
            _write(dom, current + (waiver,))
        except libvirt.libvirtError as exc:
            raise GuardError("%s on %s: %s" % (args.guest, args.uri, exc.get_error_message()))
    finally:
        conn.close()
    _audit(config, "waiver-set", now, guest, waiver.by, waiver)
    print(escaping.text("waiver for %s until %s: %s; every destination's hook lets this guest through those codes "
                        "and audits it" % (args.guest, format_time(waiver.until), ", ".join(waiver.codes))))
    return 0
