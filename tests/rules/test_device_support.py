"""device-support: passing and failing fixtures. The destinations are the real Debian 12 host's
documents, and the same host as RHEL 9's qemu-kvm builds it: no SPICE, no QXL or Cirrus, no
rdp (domcapabilities enums trimmed as RHEL 9's are), without swtpm (the Debian host's own
domcapabilities: libvirt lists the TPM emulator only when swtpm is installed)."""
import pytest
from support.helpers import debian12_facts
from support.rulecase import Case, minimal, run_case

# What RHEL 9's qemu-kvm leaves out (its x86_64-rh-devices.mak and configure line).
RHEL9_LACKS = {("graphics", "type"): ("spice", "sdl"), ("video", "modelType"): ("qxl", "cirrus", "vmvga"),
               ("filesystem", "driverType"): ("path", "handle")}


def without(lacks):
    """The Debian 12 host, its domcapabilities' device enums without the values `lacks` names."""
    def build():
        facts = debian12_facts()
        caps = []
        for doc in facts.domcaps:
            devices = tuple((device, enum, tuple(v for v in values if v not in lacks.get((device, enum), ())))
                            for device, enum, values in doc.devices)
            caps.append(doc._replace(devices=devices))
        return facts._replace(domcaps=tuple(caps))
    return build


rhel9_like = without(RHEL9_LACKS)


def no_redirdev():
    facts = debian12_facts()
    return facts._replace(domcaps=tuple(d._replace(devices=tuple(x for x in d.devices if x[0] != "redirdev")
                                                   + (("redirdev", "supported", ()),)) for d in facts.domcaps))


def no_devices_listed():
    facts = debian12_facts()
    return facts._replace(domcaps=tuple(d._replace(devices=None) for d in facts.domcaps))


SPICE = "<graphics type='spice' autoport='yes'/>"
CODE = "device-support[%s]"

CASES = [
    Case("device-support", "SPICE graphics on a RHEL 9-like destination", minimal(extra=SPICE), dest=rhel9_like,
         expect=CODE % "graphics", message_has=("spice", "vnc")),
    Case("device-support", "VNC graphics on a RHEL 9-like destination", minimal(extra="<graphics type='vnc'/>"),
         dest=rhel9_like, near=(CODE % "graphics",)),
    Case("device-support", "QXL video on a RHEL 9-like destination",
         minimal(extra="<video><model type='qxl' ram='65536' vram='65536' heads='1'/></video>"), dest=rhel9_like,
         expect=CODE % "video", message_has=("qxl",)),
    Case("device-support", "virtio video on a RHEL 9-like destination",
         minimal(extra="<video><model type='virtio' heads='1'/></video>"), dest=rhel9_like, near=(CODE % "video",)),
    Case("device-support", "an IDE disk on a destination whose machine offers no IDE bus (q35's enums)",
         minimal(extra="<disk type='file' device='disk'><source file='/srv/d.img'/><target dev='hda' bus='ide'/>"
                       "</disk>"), dest=without({("disk", "bus"): ("ide",)}), expect=CODE % "disk", message_has=("ide",)),
    Case("device-support", "a virtio disk", minimal(extra="<disk type='file' device='disk'><source file='/srv/d.img'/>"
                                                        "<target dev='vda' bus='virtio'/></disk>"),
         dest=rhel9_like, near=(CODE % "disk",)),
    Case("device-support", "an RNG model the destination's QEMU lacks (virtio-foo)",
         minimal(extra="<rng model='virtio-foo'><backend model='random'>/dev/urandom</backend></rng>"),
         expect=CODE % "rng"),
    Case("device-support", "a virtio RNG", minimal(extra="<rng model='virtio'><backend model='random'>/dev/urandom"
                                                       "</backend></rng>"), near=(CODE % "rng",)),
    Case("device-support", "a 9p (path) filesystem on a RHEL 9-like destination",
         minimal(extra="<filesystem type='mount'><driver type='path'/><source dir='/srv/share'/><target dir='share'/>"
                       "</filesystem>"), dest=rhel9_like, expect=CODE % "filesystem"),
    Case("device-support", "a virtiofs filesystem on a RHEL 9-like destination",
         minimal(extra="<filesystem type='mount'><driver type='virtiofs'/><source dir='/srv/share'/>"
                       "<target dir='share'/></filesystem>"), dest=rhel9_like, near=(CODE % "filesystem",)),
    Case("device-support", "a TPM emulator on the Debian host without swtpm",
         minimal(extra="<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"),
         expect=CODE % "tpm", message_has=("emulator",)),
    Case("device-support", "a TPM passthrough backend model the host offers",
         minimal(extra="<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"),
         near=(CODE % "tpm",)),
    Case("device-support", "a USB redirdev on a destination that supports none",
         minimal(extra="<redirdev bus='usb' type='spicevmc'/>"), dest=no_redirdev, expect=CODE % "redirdev",
         message_has=("no <redirdev> at all",)),
    Case("device-support", "a USB redirdev on a destination that supports it",
         minimal(extra="<redirdev bus='usb' type='spicevmc'/>"), near=(CODE % "redirdev",)),
    Case("device-support", "SPICE on a destination whose facts do not list devices (an older collector)",
         minimal(extra=SPICE), dest=no_devices_listed, near=(CODE % "graphics",)),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)


@pytest.mark.parametrize("machine, family", [
    ("pc-q35-rhel9.4.0", "q35"), ("q35", "q35"), ("pc", "i440fx"), ("pc-i440fx-7.2", "i440fx"),
    ("virt-rhel9.4.0", "virt"), ("virt-9.2", "virt"), ("virt", "virt"), ("pseries-rhel9.2.0", "pseries"),
    ("s390-ccw-virtio-rhel9.4.0", "s390-ccw-virtio"), (None, None),
])
def test_machine_families_ignore_versions(machine, family):
    from guard.rules.base import machine_family
    assert machine_family(machine) == family
