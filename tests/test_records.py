"""guard.records: struct construction by position and by name, and typed loading, whose
fast paths (keywords with defaults filled in C, field values of an exact type taken as
they are) must say exactly what the slow ones say."""
import pytest

from guard.errors import InputError
from guard.records import BOOL, INT, NUMBER, REQUIRED, STR, optional, record, seq, struct

Pair = struct("Pair", "a b c d", defaults=(3, 4))


@pytest.mark.parametrize("make, expected", [
    (lambda: Pair(1, 2), (1, 2, 3, 4)),
    (lambda: Pair(1, 2, 5), (1, 2, 5, 4)),
    (lambda: Pair(a=1, b=2), (1, 2, 3, 4)),
    (lambda: Pair(b=2, a=1, d=9), (1, 2, 3, 9)),
    (lambda: Pair(a=1, b=2, c=5, d=6), (1, 2, 5, 6)),
    (lambda: Pair(1, b=2, d=7), (1, 2, 3, 7)),
])
def test_a_struct_is_built_by_position_or_by_name_with_its_defaults(make, expected):
    value = make()
    assert tuple(value) == expected and type(value) is Pair and value.d == expected[3]


@pytest.mark.parametrize("kwargs, error", [
    ({"a": 1}, "missing required argument 'b'"),
    ({"a": 1, "b": 2, "x": 5}, "unexpected keyword argument 'x'"),
    ({"a": 1, "x": 2, "c": 3, "d": 4}, "unexpected keyword argument 'x'"),  # as many names as fields, one wrong
    ({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}, "unexpected keyword argument 'e'"),
])
def test_a_struct_refuses_a_missing_or_unknown_name(kwargs, error):
    with pytest.raises(TypeError, match=error):
        Pair(**kwargs)


def test_a_struct_refuses_a_value_given_twice():
    with pytest.raises(TypeError, match="multiple values for argument 'a'"):
        Pair(1, 2, a=3)


def test_field_defaults_are_a_copy():
    Pair._field_defaults["c"] = "changed"
    try:
        assert Pair(a=1, b=2).c == 3
    finally:
        Pair._field_defaults["c"] = 3


Thing = record("Thing", (
    ("name", STR, REQUIRED),
    ("count", INT, 0),
    ("ratio", NUMBER, 1.0),
    ("on", BOOL, False),
    ("label", optional(STR), None),
    ("tags", seq(STR), ()),
))


def test_a_record_loads_its_fields_and_defaults():
    loaded = Thing.load({"name": "x", "count": 2, "ratio": 0.5, "on": True, "label": None, "tags": ["t"],
                         "unknown": 1}, "thing")
    assert loaded == Thing("x", 2, 0.5, True, None, ("t",)) and type(loaded) is Thing
    assert Thing.load({"name": "y"}, "thing") == Thing("y")
    assert Thing.load({"name": "y"}, "thing").to_dict() == {"name": "y", "count": 0, "ratio": 1.0, "on": False,
                                                            "label": None, "tags": []}


@pytest.mark.parametrize("data, error", [
    ({}, "thing.name is missing"),
    ({"name": 1}, "thing.name must be a string, not 1"),
    ({"name": "x", "count": True}, "thing.count must be an integer, not True"),  # bool is not an int here
    ({"name": "x", "count": 1.5}, "thing.count must be an integer"),
    ({"name": "x", "ratio": float("nan")}, "thing.ratio must be a number, not nan"),  # a float is checked
    ({"name": "x", "on": 1}, "thing.on must be true or false, not 1"),
    ({"name": "x", "label": 3}, "thing.label must be a string, not 3"),
    ({"name": "x", "tags": "t"}, "thing.tags must be a list"),
    ([], "thing must be an object"),
])
def test_a_record_refuses_a_wrong_type_naming_the_field(data, error):
    with pytest.raises(InputError, match=error.replace("[", r"\[").replace(".", r"\.")):
        Thing.load(data, "thing")


def test_a_str_subclass_still_loads():
    class Text(str):
        pass
    assert Thing.load({"name": Text("x")}, "thing").name == "x"
