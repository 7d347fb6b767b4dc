"""Decision engine throughput (not a test): decisions per second over libvirt's corpus,
against the floor of just parsing the same XML with lxml, and the cost of synthetic
domains from 1 KiB to 1 MiB, each against a bare lxml parse of the same bytes and against
that parse plus one look at every element's tag and attributes. Targets:
>= 10,000 decisions/s; a 1 MiB domain <= 25 ms; cost linear in size."""
import glob
import os
import sys

from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from support.helpers import NOW, corpus_facts, corpus_tests, debian12_facts  # noqa: E402
from timing import interleaved  # noqa: E402

from guard.config import Config  # noqa: E402
from guard.decide.core import Inputs, decide  # noqa: E402
from guard.errors import InputError  # noqa: E402
from guard.guest.domain import parse_domain  # noqa: E402


def synthetic(target_bytes):
    """A guest with many pins, disks and NICs, grown to about target_bytes."""
    head = ("<domain type='qemu'><name>big</name><memory unit='MiB'>512</memory><vcpu>64</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os><cputune>")
    pins, devices, i = [], [], 0
    size = len(head) + 200
    while size < target_bytes:
        pin = "<vcpupin vcpu='%d' cpuset='0-1,^1'/>" % i
        dev = ("<disk type='file' device='disk'><source file='/var/lib/libvirt/images/d%d.qcow2'/>"
               "<target dev='vd%d' bus='virtio'/></disk><interface type='network'><source network='n%d'/>"
               "<mac address='52:54:00:00:%02x:%02x'/></interface>" % (i, i, i, (i >> 8) & 255, i & 255))
        pins.append(pin)
        devices.append(dev)
        size += len(pin) + len(dev)
        i += 1
    return (head + "".join(pins) + "</cputune><devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
            + "".join(devices) + "</devices></domain>").encode()


def touch_every_element(data):
    """The floor of any reader built on lxml elements: parse, then take every element's tag
    and attributes once, with no rule and no record. A domain's guard reads no less than
    this; a target under it is out of reach for a per-element reader on this machine."""
    for element in etree.fromstring(data).iter():
        element.tag, element.items()


def main():
    config = Config()
    documents = [open(p, "rb").read() for p in sorted(glob.glob(os.path.join(corpus_tests(), "qemuxmlconfdata",
                                                                                "*.xml")))]
    facts = corpus_facts()

    def decide_all():
        for data in documents:
            try:
                decide(Inputs(parse_domain(data), facts, config, NOW))
            except InputError:
                pass

    def parse_all():
        for data in documents:
            etree.fromstring(data)

    decide_all()
    engine, floor = interleaved(7, decide_all, parse_all)
    typical = sorted(map(len, documents))[len(documents) // 2]
    print("Python %s" % sys.version.split()[0])
    print("corpus: %d domain XMLs (typical %d bytes)" % (len(documents), typical))
    print("  engine (parse + rules + policy):  %.0f decisions/s (target >= 10000)" % (len(documents) / engine))
    print("  floor (lxml parse only):          %.0f documents/s" % (len(documents) / floor))
    print("  ratio engine/floor time:          %.1fx" % (engine / floor))
    print("synthetic domains against the Debian 12 host:")
    host = debian12_facts()
    previous = None
    for kib in (1, 16, 64, 256, 1024):
        data = synthetic(kib * 1024)
        seconds, parse, touch = interleaved(
            7, lambda data=data: decide(Inputs(parse_domain(data), host, config, NOW)),
            lambda data=data: etree.fromstring(data), lambda data=data: touch_every_element(data))
        growth = "" if previous is None else "  (x%.1f time for x%.1f size)" % (seconds / previous[0],
                                                                              len(data) / previous[1])
        print("  %5d KiB: %7.2f ms, %4.1fx a bare lxml parse (%.2f ms), %4.1fx parse + touch every element (%.2f ms)%s"
              % (len(data) // 1024, seconds * 1000, seconds / parse, parse * 1000, seconds / touch, touch * 1000,
                 growth))
        previous = (seconds, len(data))
    print("target: 1 MiB <= 25 ms (parse + touch every element, the per-element floor: %.1f ms here)" % (touch * 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
