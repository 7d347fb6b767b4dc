"""memory-size: passing and failing fixtures."""
import pytest
from support.helpers import corpus_facts, decide, minimal_guest
from support.rulecase import Case, minimal, run_case

from guard.config import Config

MIB = 1 << 20
LINK = Config(bandwidth=50.0 * MIB, max_downtime=0.3)

CASES = [
    Case("memory-size", "2 TiB guest", minimal(memory="2 TiB"), dest=corpus_facts, expect="memory-size[limit]"),
    Case("memory-size", "guest larger than the destination", minimal(memory="8 GiB"), expect="memory-size[host]"),
    Case("memory-size", "small guest", minimal(), near=("memory-size[limit]", "memory-size[host]")),
    Case("memory-size", "dirties 100 MiB/s over a 50 MiB/s link", minimal(memory="2 GiB"),
         expect="memory-size[convergence]", action="warn", kwargs={"config": LINK, "dirty_rate": 100.0 * MIB}),
    Case("memory-size", "quiet guest over the same link", minimal(memory="64 MiB"),
         near=("memory-size[convergence]",), kwargs={"config": LINK, "dirty_rate": 1.0 * MIB}),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)


def test_the_limit_gives_rhels_reason_only_for_rhels_limit():
    """RHEL 9's 1 TB rationale beside a site's own 100 MiB limit reads as a contradiction
    (seen in the demo): a lower limit is named as the host's own."""
    def message(config=None):
        outcome = decide(minimal_guest(memory="2 TiB"), corpus_facts(), **({"config": config} if config else {}))
        return next(f.message for f in outcome.findings if f.code == "memory-size[limit]")
    assert message() == ("guest has 2 TiB of memory, over the 1 TiB limit; RHEL 9 says VMs with more than 1 TB "
                         "of memory may not migrate reliably")
    assert message(Config(memory_limit=100 * MIB)) == (
        "guest has 2 TiB of memory, over this host's [memory] limit of 100 MiB (RHEL 9's is 1 TB)")


def test_the_default_limit_is_one_constant():
    """The 1 TiB default is written once (guard.rules.base.MEMORY_LIMIT): the config's
    default, the rules' Options, the catalogue's text and the shipped config.toml say it."""
    import os

    from guard.config import load_config
    from guard.rules import BY_ID
    from guard.rules.base import MEMORY_LIMIT, Options
    from guard.units import format_bytes
    assert MEMORY_LIMIT == 1 << 40
    assert Config().memory_limit == Options().memory_limit_bytes == MEMORY_LIMIT
    assert "[memory] limit (%s by default)" % format_bytes(MEMORY_LIMIT) in BY_ID["memory-size"].checks
    shipped = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "config",
                           "config.toml")
    assert load_config(shipped).memory_limit == MEMORY_LIMIT
