"""Immutable records and their typed loading from JSON.

The hook imports every record type on each migration. A frozen dataclass costs six or
so generated methods, each compiled from source at import; a namedtuple is one small
class. So records are namedtuples (immutable, compared and hashed by value, `_replace`
for copies), declared with a field table: (name, kind, default).

A kind is a loader `kind(value, where) -> value` that raises InputError naming the field
(`facts: cells[0].memory_bytes must be an integer, not 'lots'`). JSON written by the
collector and JSON a guest carries in its metadata are both loaded through kinds, so a
wrong type is a one-line error at the boundary, never an exception deep in a rule.
"""
from collections import namedtuple

from .errors import InputError

REQUIRED = object()


def _bad(where, expected, value):
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return InputError("%s must be %s, not %s" % (where, expected, shown))


def STR(value, where):
    if isinstance(value, str):
        return value
    raise _bad(where, "a string", value)


def INT(value, where):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _bad(where, "an integer", value)


def NUMBER(value, where):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:  # not NaN
        return value
    raise _bad(where, "a number", value)


def BOOL(value, where):
    if isinstance(value, bool):
        return value
    raise _bad(where, "true or false", value)


# Exact types a scalar kind accepts without further checks: the fast path of seq(), which
# the hook runs over every list of the facts cache on each migration.
_FAST_TYPES = {STR: (str,), INT: (int,), NUMBER: (int, float), BOOL: (bool,)}


def optional(kind):
    def load(value, where):
        return None if value is None else kind(value, where)
    return load


def seq(kind):
    """A JSON array of `kind`, as a tuple."""
    fast = _FAST_TYPES.get(kind)

    def load(value, where):
        if not isinstance(value, (list, tuple)):
            raise _bad(where, "a list", value)
        if fast is not None and all(type(item) in fast for item in value):
            return tuple(value)
        return tuple(kind(item, "%s[%d]" % (where, index)) for index, item in enumerate(value))
    return load


def tup(*kinds):
    """A JSON array of fixed length, each item of its own kind, as a tuple."""
    def load(value, where):
        if not isinstance(value, (list, tuple)) or len(value) != len(kinds):
            raise _bad(where, "a list of %d items" % len(kinds), value)
        return tuple(kind(item, "%s[%d]" % (where, index)) for index, (kind, item) in enumerate(zip(kinds, value)))
    return load


def record(name, fields, doc=None):
    """A namedtuple base class for `fields` [(name, kind, default)], required fields first.
    Subclass it with `__slots__ = ()` to add methods."""
    names = tuple(f[0] for f in fields)
    defaults = tuple(f[2] for f in fields if f[2] is not REQUIRED)
    base = namedtuple(name, names, defaults=defaults)
    kinds = {f[0]: f[1] for f in fields}
    required = tuple(f[0] for f in fields if f[2] is REQUIRED)

    class Record(base):
        __slots__ = ()
        KINDS = kinds
        REQUIRED_FIELDS = required

        @classmethod
        def load(cls, value, where):
            """A record from a JSON object; unknown keys are ignored (written by a newer
            minor version), missing ones take their defaults, wrong types raise InputError."""
            if not isinstance(value, dict):
                raise _bad(where, "an object", value)
            values = {}
            for key, kind in cls.KINDS.items():
                if key in value:
                    values[key] = kind(value[key], "%s.%s" % (where, key) if where else key)
                elif key in cls.REQUIRED_FIELDS:
                    raise InputError("%s.%s is missing" % (where, key) if where else "%s is missing" % key)
            return cls(**values)

        def to_dict(self):
            return {key: plain(getattr(self, key)) for key in self._fields}

    Record.__name__ = Record.__qualname__ = name
    Record.__doc__ = doc
    return Record


def plain(value):
    """A record, tuple or scalar as plain JSON-ready data."""
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    return value
