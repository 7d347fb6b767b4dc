"""Network addresses a guest asks QEMU to bind, as the destination will see them. Pure.

Shared by the rules that judge a bind (graphics-listen, host-resource[address]) and the probe
that decides whether it must read the host's addresses at all.
"""
LOOPBACK_PREFIXES = ("127.", "::1", "0:0:0:0:0:0:0:1")
WILDCARDS = ("", "0.0.0.0", "::", "0:0:0:0:0:0:0:0")


def is_wildcard_or_loopback(address):
    """True for an address every host can bind: a wildcard, loopback or localhost (a host name
    that merely starts like a loopback address, 127.example.com, is not one)."""
    bare = address.strip("[]")
    if bare in WILDCARDS or bare == "localhost":
        return True
    return bare.startswith(LOOPBACK_PREFIXES) and canonical(bare) is not None


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
