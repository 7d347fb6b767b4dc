"""Destinations for the fixtures of rules that need what the collector or the probe
reads on the host itself (networks, bridges, addresses, cgroups, huge pages, paths)."""
from guard.facts.model import LocalFacts, Network, Pool, Probe
from support.helpers import debian12_facts

NETWORKS = (Network("default", "nat", True, "virbr0"), Network("backup", None, False, "virbr1"),
            Network("hostdev", "hostdev", True))
LOCAL = dict(netdevs=("lo", "eth0", "virbr0", "br0"), bridges=("virbr0", "br0"),
             addresses=("127.0.0.1", "192.0.2.10", "0:0:0:0:0:0:0:1", "2001:db8:0:0:0:0:0:10"),
             guest_cpus=(0, 1), hugetlbfs=(2 << 20,), default_hugepage_bytes=2 << 20)
POOLS = (Pool("default", True, "/var/lib/libvirt/images"), Pool("stopped", False, "/srv/stopped"))


def host(facts_fn=debian12_facts, networks=NETWORKS, pools=POOLS, **local):
    """A destination with networks, storage pools and local extras (LOCAL, changed as given)."""
    values = dict(LOCAL)
    values.update(local)

    def build():
        return facts_fn()._replace(networks=networks, networks_complete=True, pools=pools,
                                   local=LocalFacts(**values))
    return build


def probe(**fields):
    """kwargs for a Case: a Probe with paths={path: True/False/None} and other fields."""
    return {"probe": Probe(**fields)}
