"""libvirt's CPU and NUMA node list syntax ("0-3,^2,8"), as virBitmapParse reads it.

Lists are kept as ranges, never expanded: a guest may pin thousands of vCPUs, each to a
list as wide as "0-65535,^7", and expanding those cost the hook gigabytes (issue 11).
"""
from ..errors import InputError

# A list naming ids above this is not a real host's; refuse it rather than work on a
# hostile "0-4000000000". (libvirt's own bitmaps are smaller still.)
MAX_ID = 1 << 16


def _merge(ranges):
    merged = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            if high > merged[-1][1]:
                merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return tuple(merged)


def _ranges_of(ids):
    """Merged (low, high) ranges of an IdRanges or any iterable of ids."""
    if isinstance(ids, IdRanges):
        return ids.ranges
    return _merge((i, i) for i in ids)


def _subtract(ranges, remove):
    result = []
    for low, high in ranges:
        for cut_low, cut_high in remove:
            if cut_high < low or cut_low > high:
                continue
            if cut_low > low:
                result.append((low, cut_low - 1))
            low = cut_high + 1
            if low > high:
                break
        if low <= high:
            result.append((low, high))
    return tuple(result)


def _intersect(left, right):
    result = []
    for low, high in left:
        for other_low, other_high in right:
            low_both, high_both = max(low, other_low), min(high, other_high)
            if low_both <= high_both:
                result.append((low_both, high_both))
    return _merge(result)


class IdRanges:
    """An immutable set of ids held as merged ranges. Supports what the rules need with
    plain sets of ids too: -, &, |, len, in, iteration (in order), ==, hashing."""

    __slots__ = ("ranges",)

    def __init__(self, ranges=()):
        self.ranges = _merge(ranges)

    @classmethod
    def of(cls, ids):
        return ids if isinstance(ids, IdRanges) else cls._raw(_ranges_of(ids))

    @classmethod
    def _raw(cls, ranges):
        made = object.__new__(cls)
        made.ranges = ranges
        return made

    def __sub__(self, other):
        return IdRanges._raw(_subtract(self.ranges, _ranges_of(other)))

    def __and__(self, other):
        return IdRanges._raw(_intersect(self.ranges, _ranges_of(other)))

    __rand__ = __and__

    def __or__(self, other):
        return IdRanges._raw(_merge(self.ranges + _ranges_of(other)))

    __ror__ = __or__

    def __len__(self):
        return sum(high - low + 1 for low, high in self.ranges)

    def __bool__(self):
        return bool(self.ranges)

    def __contains__(self, item):
        if not isinstance(item, int):
            return False
        return any(low <= item <= high for low, high in self.ranges)

    def __iter__(self):
        for low, high in self.ranges:
            yield from range(low, high + 1)

    def __eq__(self, other):
        if isinstance(other, IdRanges):
            return self.ranges == other.ranges
        if isinstance(other, (set, frozenset)):
            return self.ranges == _ranges_of(other)
        return NotImplemented

    def __hash__(self):
        return hash(self.ranges)

    def __repr__(self):
        return "IdRanges(%r)" % format_idset(self)


def parse_idset(text):
    """The ids a libvirt cpuset/nodeset string names, as IdRanges.

    Items are comma separated; "N-M" is a range, "^N" removes an id (or "^N-M" a
    range) from what the earlier items added. Whitespace around items is allowed.
    """
    if text is None:
        raise InputError("empty cpu/node list")
    included, excluded = [], []
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
        target.append((first, last))
    return IdRanges._raw(_subtract(_merge(included), _merge(excluded)))


def format_idset(ids):
    """Compact "0-3,8" form of a set of ids (IdRanges or any iterable), for messages."""
    return ",".join(str(low) if low == high else "%d-%d" % (low, high) for low, high in _ranges_of(ids))
