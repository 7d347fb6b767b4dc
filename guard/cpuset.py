"""libvirt's CPU and NUMA node list syntax ("0-3,^2,8"), as virBitmapParse reads it."""
from .errors import InputError

# A list naming more ids than this is not a real host's; refuse it rather than
# allocate a huge set from a hostile "0-4000000000".
MAX_ID = 1 << 16


def parse_idset(text):
    """The set of ids a libvirt cpuset/nodeset string names.

    Items are comma separated; "N-M" is a range, "^N" removes an id (or "^N-M" a
    range) from what the earlier items added. Whitespace around items is allowed.
    """
    if text is None:
        raise InputError("empty cpu/node list")
    included = set()
    excluded = set()
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise InputError("empty item in cpu/node list %r" % (text,))
        target = included
        if item.startswith("^"):
            target = excluded
            item = item[1:].strip()
        low, sep, high = item.partition("-")
        try:
            first = int(low)
            last = int(high) if sep else first
        except ValueError:
            raise InputError("bad cpu/node list %r" % (text,))
        if first < 0 or last < first or last > MAX_ID:
            raise InputError("bad range %r in cpu/node list %r" % (item, text))
        target.update(range(first, last + 1))
    return frozenset(included - excluded)


def format_idset(ids):
    """Compact "0-3,8" form of a set of ids, for messages."""
    parts = []
    ordered = sorted(ids)
    index = 0
    while index < len(ordered):
        start = end = ordered[index]
        while index + 1 < len(ordered) and ordered[index + 1] == end + 1:
            index += 1
            end = ordered[index]
        parts.append(str(start) if start == end else "%d-%d" % (start, end))
        index += 1
    return ",".join(parts)
