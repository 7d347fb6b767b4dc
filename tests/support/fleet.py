"""A mixed fleet on libvirt's test driver (`test:///PATH` loads a `<node>` document): a
source running many guests of varied sizes, some with a PCI host device, and destinations
of different memory sizes. Used by tests/test_plan.py and bench/plan.py.

libvirt's test driver gives a custom node no NUMA cells, so its capabilities do not say
how much memory the host has (real QEMU hosts always list at least one cell); only
virNodeGetInfo does. `facts_with_node_memory` reads the facts as `collect` does and adds
that figure, as the collector itself should (requested from the facts owners): without
it every destination's memory is unknown and `memory-size[host]` is only unverifiable.
"""
import os
import uuid
from xml.sax.saxutils import escape

from guard.facts.collect import collect, open_connection

GiB_KiB = 1024 * 1024
HOSTDEV = ("<hostdev mode='subsystem' type='pci' managed='yes'><source>"
           "<address domain='0x0000' bus='0x%02x' slot='0x00' function='0x0'/></source></hostdev>")
UNREACHABLE = "qemu+unix:///system?socket=/nonexistent/libvirt-sock"
BIG_GUEST_GIB = 48


def guest_kind(index):
    """Every tenth guest has a host device, two in ten are big, the rest small."""
    if index % 10 == 0:
        return "hostdev"
    return "big" if index % 10 in (1, 2) else "small"


def guest_name(index):
    return "vm%04d-%s" % (index, guest_kind(index))


def guest_xml(index):
    kind = guest_kind(index)
    memory_gib = BIG_GUEST_GIB if kind == "big" else 1 + index % 8
    devices = HOSTDEV % (index % 250 + 1) if kind == "hostdev" else ""
    return ("<domain type='test'><name>%s</name><uuid>%s</uuid><memory unit='GiB'>%d</memory><vcpu>%d</vcpu>"
            "<os><type arch='i686'>hvm</type></os><devices>%s</devices></domain>"
            % (escape(guest_name(index)), uuid.uuid5(uuid.NAMESPACE_DNS, guest_name(index)), memory_gib, 1 + index % 4, devices))


def node_xml(memory_gib, cpus=16, guests=0):
    return ("<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>%d</cores><threads>1</threads>"
            "<active>%d</active><mhz>2400</mhz><model>i686</model></cpu><memory>%d</memory>%s</node>"
            % (cpus, cpus, memory_gib * GiB_KiB, "".join(guest_xml(i) for i in range(guests))))


def write_node(folder, name, memory_gib, guests=0):
    """The test:/// URI of a host described by a new node document in `folder`."""
    path = os.path.join(str(folder), name + ".xml")
    with open(path, "w") as handle:
        handle.write(node_xml(memory_gib, guests=guests))
    return "test://" + path


def fleet(folder, guests, big_dests, small_dests):
    """(source URI, [big destination URIs], [small destination URIs]): big hosts have
    256 GiB, small ones 32 GiB (below a big guest's 48)."""
    os.makedirs(str(folder), exist_ok=True)
    source = write_node(folder, "source", 512, guests)
    big = [write_node(folder, "big%d" % i, 256) for i in range(big_dests)]
    small = [write_node(folder, "small%d" % i, 32) for i in range(small_dests)]
    return source, big, small


def facts_with_node_memory(uri):
    """collect(uri), with the host's memory from virNodeGetInfo where the capabilities
    have no NUMA cells (see above)."""
    conn = open_connection(uri)
    try:
        facts = collect(uri, conn=conn)
        if facts.memory_bytes is None:
            facts = facts._replace(memory_bytes=conn.getInfo()[1] * 1024 * 1024)
        return facts
    finally:
        conn.close()
