"""network and graphics-listen: passing and failing fixtures. Corpus guests where libvirt's
corpus has the case (graphics-vnc, graphics-spice, net-midonet), minimal XML otherwise."""
import pytest
from support.rulecase import Case, corpus, minimal, run_case
from support.rulehosts import host

from guard.facts.model import Probe

NET = "<interface type='network'><source network='%s'/><mac address='52:54:00:00:00:0%d'/></interface>"
BRIDGE = "<interface type='bridge'><source bridge='%s'/><mac address='52:54:00:00:01:01'/></interface>"
DIRECT = "<interface type='direct'><source dev='%s' mode='bridge'/><mac address='52:54:00:00:02:01'/></interface>"
VNC = "<graphics type='vnc' port='-1' autoport='yes' listen='%s'><listen type='address' address='%s'/></graphics>"
NETWORK_CODES = ("network[absent]", "network[inactive]", "network[bridge]", "network[direct]")
# What the collector found in the destination's certificate folders (guard.facts.qemu_conf).
ALL_CERTS = (("migrate", "/etc/pki/qemu", ()), ("vnc", "/etc/pki/qemu", ()), ("spice", "/etc/pki/qemu", ()))
NO_KEYS = (("migrate", "/etc/pki/qemu", ("server-key.pem",)), ("vnc", "/etc/pki/qemu", ("server-key.pem",)),
           ("spice", "/etc/pki/libvirt-spice", ("ca-cert.pem", "server-cert.pem", "server-key.pem")))

CASES = [
    Case("network", "network the destination does not define (minimal XML)", minimal(extra=NET % ("lab", 1)),
         dest=host(), expect="network[absent]", message_has=("network='lab'", "default")),
    Case("network", "SR-IOV pool network absent on the destination (minimal XML)",
         minimal(extra=NET % ("sriov-pool", 2)), dest=host(), expect="network[absent]"),
    Case("network", "network defined but inactive (minimal XML)", minimal(extra=NET % ("backup", 3)), dest=host(),
         expect="network[inactive]", message_has=("backup",)),
    Case("network", "corpus guest on network 'nat-network;plug-network-basic' the host lacks", corpus("net-mtu"),
         dest=host(), expect="network[absent]"),
    Case("network", "active network (minimal XML)", minimal(extra=NET % ("default", 4)), dest=host(),
         near=NETWORK_CODES),
    Case("network", "bridge the destination lacks (corpus net-midonet)", corpus("net-midonet"), dest=host(),
         expect="network[bridge]", message_has=("midonet", "Cannot get interface MTU")),
    Case("network", "bridge missing at decision time though the collector saw it (minimal XML)",
         minimal(extra=BRIDGE % "br0"), dest=host(), expect="network[bridge]",
         kwargs={"probe": Probe(netdevs={"br0": None})}),
    Case("network", "bridge present (minimal XML)", minimal(extra=BRIDGE % "br0"), dest=host(), near=NETWORK_CODES),
    Case("network", "macvtap source device absent (minimal XML)", minimal(extra=DIRECT % "ens1f0"), dest=host(),
         expect="network[direct]", message_has=("ens1f0",)),
    Case("network", "macvtap source device present (minimal XML)", minimal(extra=DIRECT % "eth0"), dest=host(),
         near=NETWORK_CODES),
    Case("graphics-listen", "VNC on an IPv6 address the destination lacks (corpus graphics-vnc)",
         corpus("graphics-vnc"), dest=host(), expect="graphics-listen[address]",
         message_has=("2001:1:2:3:4:5:1234:1234",)),
    Case("graphics-listen", "SPICE on loopback (corpus graphics-spice)", corpus("graphics-spice"), dest=host(),
         near=("graphics-listen[address]",)),
    # qemu.conf spice_tls: a fixed tlsPort, or an autoport display with a secure channel, needs it.
    Case("graphics-listen", "SPICE tlsPort, destination's spice_tls off (corpus graphics-spice)",
         corpus("graphics-spice"), dest=host(spice_tls=False), expect="graphics-listen[spice-tls]",
         message_has=("spice_tls off",)),
    Case("graphics-listen", "the same with spice_tls on (corpus graphics-spice)", corpus("graphics-spice"),
         dest=host(spice_tls=True), near=("graphics-listen[spice-tls]",)),
    Case("graphics-listen", "autoport SPICE, a secure channel, spice_tls off (minimal XML)",
         minimal(extra="<graphics type='spice' autoport='yes'><channel name='main' mode='secure'/></graphics>"),
         dest=host(spice_tls=False), expect="graphics-listen[spice-tls]"),
    Case("graphics-listen", "autoport SPICE, no secure channel, spice_tls off (minimal XML)",
         minimal(extra="<graphics type='spice' autoport='yes'/>"), dest=host(spice_tls=False),
         near=("graphics-listen[spice-tls]",)),
    Case("graphics-listen", "SPICE on a unix socket needs no TLS port (minimal XML)",
         minimal(extra="<graphics type='spice' defaultMode='secure'><listen type='socket'/></graphics>"),
         dest=host(spice_tls=False), near=("graphics-listen[spice-tls]",)),
    Case("graphics-listen", "VNC on the destination's own address, IPv6 spelt short (minimal XML)",
         minimal(extra=VNC % ("2001:db8::10", "2001:db8::10")), dest=host(), near=("graphics-listen[address]",)),
    Case("graphics-listen", "VNC on a wildcard (minimal XML)", minimal(extra=VNC % ("0.0.0.0", "0.0.0.0")),
         dest=host(), near=("graphics-listen[address]",)),
    Case("graphics-listen", "VNC on a host name: not judged as an address (minimal XML)",
         minimal(extra=VNC % ("vnc.example.com", "vnc.example.com")), dest=host(), near=("graphics-listen[address]",)),
    Case("graphics-listen", "VNC on a source address the probe does not find (minimal XML)",
         minimal(extra=VNC % ("192.0.2.10", "192.0.2.10")), dest=host(), expect="graphics-listen[address]",
         kwargs={"probe": Probe(addresses=("127.0.0.1", "198.51.100.7"))}),
    # qemu.conf vnc_tls / spice_tls: the server certificates QEMU loads for the display.
    Case("graphics-listen", "VNC where vnc_tls = 1 and the key is missing (corpus graphics-vnc-tls)",
         corpus("graphics-vnc-tls"), dest=host(vnc_tls=True, tls_certs=NO_KEYS), expect="graphics-listen[tls-certs]",
         message_has=("VNC display", "lacks server-key.pem")),
    Case("graphics-listen", "VNC where vnc_tls = 1 and every certificate is there (corpus graphics-vnc-tls)",
         corpus("graphics-vnc-tls"), dest=host(vnc_tls=True, tls_certs=ALL_CERTS), near=("graphics-listen[tls-certs]",)),
    Case("graphics-listen", "VNC where vnc_tls = 0: no certificates loaded (corpus graphics-vnc-tls)",
         corpus("graphics-vnc-tls"), dest=host(vnc_tls=False, tls_certs=NO_KEYS), near=("graphics-listen[tls-certs]",)),
    Case("graphics-listen", "SPICE tlsPort where spice_tls = 1 and its folder is empty (corpus graphics-spice)",
         corpus("graphics-spice"), dest=host(spice_tls=True, tls_certs=NO_KEYS), expect="graphics-listen[tls-certs]",
         message_has=("/etc/pki/libvirt-spice lacks ca-cert.pem, server-cert.pem, server-key.pem",)),
    Case("graphics-listen", "autoport SPICE in mode 'any' takes a TLS port where spice_tls = 1 (minimal XML)",
         minimal(extra="<graphics type='spice' autoport='yes'/>"), dest=host(spice_tls=True, tls_certs=NO_KEYS),
         expect="graphics-listen[tls-certs]"),
    Case("graphics-listen", "autoport SPICE in mode 'insecure' takes none (minimal XML)",
         minimal(extra="<graphics type='spice' autoport='yes' defaultMode='insecure'/>"),
         dest=host(spice_tls=True, tls_certs=NO_KEYS), near=("graphics-listen[tls-certs]",)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
