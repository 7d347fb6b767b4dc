"""guard.guest.domain's host-resource readers: guard/guest/host_resources.py is what `make docs` derives
from the blocker catalogue (guard.guest.domain.resource_readers), and which elements a catalogue
xpath starts from (_first_elements) decides whether it runs for a guest at all, so it must
find exactly the names the xpath says, for every entry of the catalogue."""
import re

import pytest

from guard.blockers import catalogue
from guard.blockers.schema import BLOCKERS
from guard.guest import domain
from guard.guest.host_resources import READERS


def test_the_parsers_readers_are_the_catalogues():
    assert READERS == domain.resource_readers(BLOCKERS), "regenerate with: make docs"
    assert domain.RESOURCE_READERS is READERS and len(READERS) > 50

BRANCHES = sorted({branch for entry in catalogue() if entry.xpath for branch in domain._branches(entry.xpath)})


def by_pattern(branch):
    """_first_elements as regular expressions say it (what it was before it avoided them)."""
    device = branch.startswith("devices/")
    if device:
        branch = branch[len("devices/"):]
    first = branch.split("/", 1)[0]
    if "::" in first.split("[", 1)[0]:
        return None
    names = re.findall(r"self::([\w-]+)", first) if first.startswith("*") else [first.split("[", 1)[0]]
    if not names or names == ["*"]:
        return None
    types = re.findall(r"\[@type='([\w-]+)'\]", first) if device else ()
    return frozenset((name, kind) for name in names for kind in types) if types else frozenset(names)


@pytest.mark.parametrize("branch", BRANCHES + [
    "devices/*[self::serial-x or self::a_b]/source/@path",
    "devices/serial[@type='file-1'][@type='not one']/source/@path",
    "devices/*[self::serial][@type='file' or @type='dev']/x",
    "*[self::]/x",
    "os/loader",
])
def test_first_elements_are_what_the_xpath_names(branch):
    assert domain._first_elements(branch) == by_pattern(branch)


def test_the_catalogue_has_branches_of_each_kind():
    kinds = {type(domain._first_elements(b)) for b in BRANCHES}
    assert kinds == {frozenset, type(None)} and len(BRANCHES) > 50
