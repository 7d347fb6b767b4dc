"""Network addresses a guest asks QEMU to bind, as the destination will see them. Pure.

Shared by the rules that judge a bind (graphics-listen, host-resource[address]) and the probe
that decides whether it must read the host's addresses at all.
"""
LOOPBACK_PREFIXES = ("127.", "::1", "0:0:0:0:0:0:0:1")
WILDCARDS = ("", "0.0.0.0", "::", "0:0:0:0:0:0:0:0")


def is_wildcard_or_loopback(address):
    """True for an address every host can bind: a wildcard, loopback or localhost."""
    bare = address.strip("[]")
    return bare in WILDCARDS or bare.startswith(LOOPBACK_PREFIXES) or bare == "localhost"


def canonical(address):
    """An address in one spelling (IPv6 expanded), or None when it is not an IP address."""
    import ipaddress  # only for guests with an explicit address to bind
    try:
        parsed = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return None
    return parsed.exploded if parsed.version == 6 else str(parsed)
