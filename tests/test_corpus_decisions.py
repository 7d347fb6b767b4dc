"""Every domain XML in libvirt's corpus through the whole engine against real host facts:
a decision or a clean one-line error for each, never a crash."""
import glob
import os

from support.helpers import corpus_facts, corpus_tests, debian12_facts, decide, read
from test_parsing import DOMAIN_FOLDERS

from guard.errors import InputError


def test_every_corpus_domain_gets_a_decision_or_clean_error():
    counts = {"allow": 0, "deny": 0, "error": 0}
    hosts = (debian12_facts(), corpus_facts())
    for folder in DOMAIN_FOLDERS:
        for path in sorted(glob.glob(os.path.join(corpus_tests(), folder, "*.xml"))):
            xml = read(path)
            for facts in hosts:
                try:
                    decision = decide(xml, facts)
                except InputError as exc:
                    assert "\n" not in str(exc)
                    counts["error"] += 1
                    continue
                assert decision.decision in ("allow", "deny")
                assert all(f.action in ("deny", "warn", "info") and f.message for f in decision.findings)
                counts[decision.decision] += 1
    assert counts["allow"] > 100 and counts["deny"] > 100, counts
    assert counts["error"] <= 10, counts
