"""Network addresses a guest asks QEMU to bind, as the destination will see them. Pure.

Shared by the rules that judge a bind (graphics-listen, host-resource[address]) and the probe
that decides whether it must read the host's addresses at all.
"""


# The spellings nearly every guest uses, answered without parsing.
COMMON = ("", "localhost", "0.0.0.0", "::", "127.0.0.1", "::1")


def is_wildcard_or_loopback(address):
    """True for an address every host can bind: a wildcard (0.0.0.0, ::, ::0), loopback
    (127.0.0.0/8, ::1, ::ffff:127.x) or localhost; a host name that merely starts like one
    (127.example.com) is not, nor is an address like ::10."""
    bare = address.strip("[]")
    if bare in COMMON:
        return True  # most guests: no import of ipaddress on the hook's path
    import ipaddress
    try:
        parsed = ipaddress.ip_address(bare.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(parsed, "ipv4_mapped", None)
    return parsed.is_unspecified or parsed.is_loopback or (mapped is not None and mapped.is_loopback)


def canonical(address):
    """An address in one spelling (IPv6 expanded), or None when it is not an IP address. A
    scoped IPv6 address (fe80::1%eth0) parses on Python 3.9 and later but has no exploded
    form: it is compared without its scope."""
    import ipaddress  # only for guests with an explicit address to bind
    bare = address.strip("[]").split("%", 1)[0]
    try:
        parsed = ipaddress.ip_address(bare)
        return parsed.exploded if parsed.version == 6 else str(parsed)
    except ValueError:
        return None


def explicit_binds(items, address_of):
    """The items whose address (address_of(item)) only some hosts have: not a wildcard nor loopback."""
    return [item for item in items if not is_wildcard_or_loopback(address_of(item))]


def sort_binds(explicit, address_of, host):
    """(the explicit binds whose address is not among the host's addresses, those whose address is
    a host name, which QEMU resolves on the destination), each in the items' order. host: the
    destination's addresses, in any spelling."""
    mine = {canonical(a) for a in host}
    foreign, names = [], []
    for item in explicit:
        spelled = canonical(address_of(item))
        if spelled is None:
            names.append(item)
        elif spelled not in mine:
            foreign.append(item)
    return foreign, names
