"""Immutable records and their typed loading from JSON.

The hook imports every record type on each migration. A frozen dataclass costs six or
so generated methods, each compiled from source at import, and a namedtuple compiles one.
So records are `struct`s: tuples with named fields and namedtuple's interface
(immutable, compared and hashed by value, `_replace` for copies), made without compiling
anything, declared with a field table: (name, kind, default).

A kind is a loader `kind(value, where) -> value` that raises InputError naming the field
(`facts: cells[0].memory_bytes must be an integer, not 'lots'`). JSON written by the
collector and JSON a guest carries in its metadata are both loaded through kinds, so a
wrong type is a one-line error at the boundary, never an exception deep in a rule.
"""
from operator import itemgetter

from .errors import InputError

try:
    from _collections import _tuplegetter  # what namedtuple uses: a C field getter
except ImportError:  # not CPython
    from operator import itemgetter as _getter

    def _tuplegetter(index, doc):
        return property(_getter(index), doc=doc)

REQUIRED = object()
_MISSING = object()
_tuple_new = tuple.__new__


def struct(name, fields, defaults=(), methods=None):
    """An immutable record type like collections.namedtuple(name, fields, defaults=...),
    minus its cost: namedtuple compiles source for every type it makes (about half a
    million instructions each on CPython 3.9), and the hook imports some forty types on
    every migration. Instances are tuples; a call with every field positional goes
    straight to tuple.__new__. methods: more attributes of the type (record() adds its
    loader there rather than in a subclass: a class costs some ten microseconds)."""
    if isinstance(fields, str):
        fields = fields.replace(",", " ").split()
    fields = tuple(fields)
    defaults = tuple(defaults)
    count = len(fields)
    first_default = count - len(defaults)
    # Each field's default, or _MISSING where the field is required.
    fallback = (_MISSING,) * first_default + defaults

    def fill(args, kwargs):
        given = len(args)
        if given > count:
            raise TypeError("%s() takes %d arguments, %d given" % (name, count, given))
        # One pass in C: each remaining field from the keywords, else its default.
        values = list(args)
        values += [kwargs.pop(field, default) for field, default in zip(fields[given:], fallback[given:])]
        if kwargs:
            key = next(iter(kwargs))
            raise TypeError("%s() got %s argument %r" % (
                name, "multiple values for" if key in fields else "an unexpected keyword", key))
        if _MISSING in values:
            raise TypeError("%s() missing required argument %r" % (name, fields[values.index(_MISSING)]))
        return values

    # Every field's value out of a dict of keywords, in field order, in one call in C.
    by_name = itemgetter(*fields) if count > 1 else (lambda kwargs: (kwargs[fields[0]],))
    field_defaults = dict(zip(fields[first_default:], defaults))

    def __new__(cls, *args, **kwargs):
        if not kwargs:
            given = len(args)
            if given == count:
                return _tuple_new(cls, args)
            if first_default <= given < count:  # the rest from the defaults
                return _tuple_new(cls, args + defaults[given - first_default:])
        elif not args:  # by name, as the parsers and the catalogues build records: in C
            named = kwargs if len(kwargs) == count else {**field_defaults, **kwargs}
            if len(named) == count:  # no more keys than fields: a missing one raises KeyError
                try:
                    return _tuple_new(cls, by_name(named))
                except KeyError:
                    pass  # a misspelt or missing name: fill() says which
        return _tuple_new(cls, fill(args, kwargs))

    def _make(cls, iterable):
        values = _tuple_new(cls, iterable)
        if len(values) != count:
            raise TypeError("%s expects %d values, got %d" % (name, count, len(values)))
        return values

    def _replace(self, **changes):
        values = [changes.pop(field, value) for field, value in zip(fields, self)]
        if changes:
            raise TypeError("%s has no fields %s" % (name, ", ".join(sorted(changes))))
        return _tuple_new(type(self), values)

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % pair for pair in zip(fields, self)))

    def _asdict(self):
        return dict(zip(fields, self))

    namespace = {"__slots__": (), "_fields": fields, "_field_defaults": dict(field_defaults),
                 "__new__": __new__, "_make": classmethod(_make), "_replace": _replace, "__repr__": __repr__,
                 "_asdict": _asdict, "__getnewargs__": tuple.__iter__}
    for position, field in enumerate(fields):
        namespace[field] = _tuplegetter(position, "field %d" % position)
    # cls.from_tuple((every field, in order)): a call in C, a third of the cost of cls(...),
    # for parsers that build thousands of records in a loop. It checks nothing: the
    # caller passes exactly one value per field.
    namespace["from_tuple"] = classmethod(_tuple_new)
    namespace.update(methods or ())
    return type(name, (tuple,), namespace)


def where_text(where):
    """A field's path for messages. Loaders pass paths as nested (parent, key or index)
    pairs and format them only for an error: formatting every field's path of a large
    facts file on each load would cost more than checking it."""
    if not isinstance(where, tuple):
        return where or ""
    parent, step = where
    parent = where_text(parent)
    if isinstance(step, int):
        return "%s[%d]" % (parent, step)
    return "%s.%s" % (parent, step) if parent else step


def _bad(where, expected, value):
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return InputError("%s must be %s, not %s" % (where_text(where), expected, shown))


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
# The same for a record's fields, where a kind may be optional(): a value of one of these
# exact types is the field's value as it is, without a call (NUMBER's floats are checked
# for NaN by the call). Loading the facts cache takes some three thousand of them.
STR.exact, INT.exact, NUMBER.exact, BOOL.exact = (str,), (int,), (int,), (bool,)


def optional(kind):
    def load(value, where):
        return None if value is None else kind(value, where)
    load.exact = getattr(kind, "exact", ()) + (type(None),)
    return load


def seq(kind):
    """A JSON array of `kind`, as a tuple."""
    fast = _FAST_TYPES.get(kind)

    def load(value, where):
        if not isinstance(value, (list, tuple)):
            raise _bad(where, "a list", value)
        if fast is not None and all(type(item) in fast for item in value):
            return tuple(value)
        return tuple(kind(item, (where, index)) for index, item in enumerate(value))
    return load


def tup(*kinds):
    """A JSON array of fixed length, each item of its own kind, as a tuple."""
    def load(value, where):
        if not isinstance(value, (list, tuple)) or len(value) != len(kinds):
            raise _bad(where, "a list of %d items" % len(kinds), value)
        return tuple(kind(item, (where, index)) for index, (kind, item) in enumerate(zip(kinds, value)))
    return load


def record(name, fields, doc=None):
    """A namedtuple base class for `fields` [(name, kind, default)], required fields first,
    with `load` (from JSON) and `to_dict`. Subclass it with `__slots__ = ()` to add methods."""
    names = tuple(f[0] for f in fields)
    defaults = tuple(f[2] for f in fields if f[2] is not REQUIRED)
    table = tuple((f[0], f[1], f[2], getattr(f[1], "exact", ())) for f in fields)

    def load(cls, value, where):
        """A record from a JSON object; unknown keys are ignored (written by a newer
        minor version), missing ones take their defaults, wrong types raise InputError."""
        if not isinstance(value, dict):
            raise _bad(where, "an object", value)
        values = []
        for key, kind, default, exact in table:
            if key in value:
                item = value[key]
                values.append(item if type(item) in exact else kind(item, (where, key)))
            elif default is REQUIRED:
                raise InputError("%s is missing" % where_text((where, key)))
            else:
                values.append(default)
        return _tuple_new(cls, values)

    def to_dict(self):
        return {key: plain(getattr(self, key)) for key in self._fields}

    return struct(name, names, defaults, methods={"KINDS": {f[0]: f[1] for f in fields}, "load": classmethod(load),
                                                  "to_dict": to_dict, "__doc__": doc})


def plain(value):
    """A record, tuple or scalar as plain JSON-ready data."""
    to_dict = getattr(value, "to_dict", None)
    if to_dict is not None:
        return to_dict()
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    return value


# (id(record), what) -> (record, value): what rules derive from the destination's facts
# (its fingerprint, its machine types per arch) is the same for every guest decided against
# them, and preflight decides hundreds of guests against the same facts; several rules ask
# for the fingerprint within one decision. Holding the facts keeps their id from being
# reused. Callers never change a value (tuples, frozensets, records, lookup dicts).
_DERIVED = {}


def derived(facts, what, compute, *args):
    """compute(facts, *args), once per facts object and `what` (which names the args)."""
    key = (id(facts), what)
    hit = _DERIVED.get(key)
    if hit is not None and hit[0] is facts:
        return hit[1]
    if len(_DERIVED) >= 512:
        _DERIVED.clear()
    value = compute(facts, *args)
    _DERIVED[key] = (facts, value)
    return value
