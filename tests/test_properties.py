"""Property-based: mutations of real XML never crash the parser or the engine. Every
outcome is a Decision or an InputError with one line."""
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from support.helpers import corpus_tests, debian12_facts, decide, read

from guard.errors import InputError

# lxml itself refuses control characters in values; those never reach the guard.
XML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
ATTRIBUTE_VALUES = st.one_of(XML_TEXT, st.sampled_from(
    ["0-3,^2", "^", "-1", "99999999", "auto", "strict", "host-passthrough", "transient", "KiB", "TiB", "", "efi"]))


def _seed_documents():
    names = ["numatune-memnode", "cputune-numatune", "hostdev-pci-address", "net-virtio-teaming", "cpu-Haswell",
             "firmware-manual-efi-secboot", "hugepages-nodeset", "launch-security-sev-direct", "x86_64-q35-headless"]
    return [read(os.path.join(corpus_tests(), "qemuxmlconfdata", n + ".xml")) for n in names]


def _outcome(data):
    try:
        decision = decide(data, debian12_facts())
    except InputError as exc:
        assert "\n" not in str(exc)
        return "error"
    assert decision.decision in ("allow", "deny")
    return decision.decision


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_attribute_and_text_mutations_never_crash(data):
    seeds = _seed_documents()
    root = etree.fromstring(data.draw(st.sampled_from(seeds)))
    elements = list(root.iter())
    for _ in range(data.draw(st.integers(1, 6))):
        element = data.draw(st.sampled_from(elements))
        if element.attrib and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(sorted(element.attrib)))
            element.set(key, data.draw(ATTRIBUTE_VALUES))
        elif data.draw(st.booleans()) and element.getparent() is not None:
            element.getparent().remove(element)
            elements = list(root.iter())
        else:
            element.text = data.draw(ATTRIBUTE_VALUES)
    _outcome(etree.tostring(root))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_crash(blob):
    _outcome(blob)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 4000), st.binary(max_size=40))
def test_truncated_and_spliced_documents_never_crash(cut, junk):
    for seed in _seed_documents()[:3]:
        _outcome(seed[:cut] + junk + seed[cut:])
