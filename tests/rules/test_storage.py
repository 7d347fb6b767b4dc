"""storage: passing and failing fixtures. Existence comes from a Probe, as the hook gathers
it on the destination; corpus guests where the corpus has the case."""
import pytest
from support.rulecase import Case, corpus, minimal, run_case
from support.rulehosts import host, probe

DISK = ("<disk type='file' device='disk'><source file='%s'/><target dev='vda' bus='virtio'/>%s</disk>")
CODES = ("storage[missing]", "storage[uncopyable]", "storage[pool]")

CASES = [
    Case("storage", "file disk missing, in a pool's directory: copy-storage creates it (minimal XML)",
         minimal(extra=DISK % ("/var/lib/libvirt/images/g.qcow2", "")), dest=host(), expect="storage[missing]",
         action="warn", kwargs=probe(paths={"/var/lib/libvirt/images/g.qcow2": False})),
    Case("storage", "file disk present (minimal XML)", minimal(extra=DISK % ("/var/lib/libvirt/images/g.qcow2", "")),
         dest=host(), near=CODES, kwargs=probe(paths={"/var/lib/libvirt/images/g.qcow2": True})),
    Case("storage", "block device missing (corpus hostdev-pci-address's /dev/HostVG/QEMUGuest2)",
         corpus("hostdev-pci-address"), dest=host(), expect="storage[uncopyable]",
         kwargs=probe(paths={"/dev/HostVG/QEMUGuest2": False}), message_has=("/dev/HostVG/QEMUGuest2",)),
    Case("storage", "read-only image missing: never copied (minimal XML)",
         minimal(extra=DISK % ("/var/lib/libvirt/images/ro.img", "<readonly/>")), dest=host(),
         expect="storage[uncopyable]", kwargs=probe(paths={"/var/lib/libvirt/images/ro.img": False})),
    Case("storage", "file disk missing outside any pool: even copy-storage fails (minimal XML)",
         minimal(extra=DISK % ("/data/vm/g.qcow2", "")), dest=host(), expect="storage[pool]",
         kwargs=probe(paths={"/data/vm/g.qcow2": False}), message_has=("/data/vm",)),
    Case("storage", "volume in a pool the destination lacks (corpus disk-source-pool)", corpus("disk-source-pool"),
         dest=host(), expect="storage[pool]", message_has=("pool-disk",), kwargs=probe(paths={"/tmp/idedisk.img": True})),
    Case("storage", "volume in an inactive pool (minimal XML)", minimal(
        extra="<disk type='volume' device='disk'><source pool='stopped' volume='v1'/><target dev='vda'/></disk>"),
        dest=host(), expect="storage[pool]", message_has=("inactive",)),
    Case("storage", "volume in an active pool (minimal XML)", minimal(
        extra="<disk type='volume' device='disk'><source pool='default' volume='v1'/><target dev='vda'/></disk>"),
        dest=host(), near=CODES),
    Case("storage", "optional CD-ROM missing: libvirt drops it (minimal XML)", minimal(
        extra="<disk type='file' device='cdrom'><source file='/iso/x.iso' startupPolicy='optional'/>"
              "<target dev='hdc'/><readonly/></disk>"), dest=host(), near=CODES,
        kwargs=probe(paths={"/iso/x.iso": False})),
    Case("storage", "NVRAM file missing: libvirt makes it from the template (corpus firmware-auto-efi-nvram-path)",
         corpus("firmware-auto-efi-nvram-path"), dest=host(), near=CODES,
         kwargs=probe(paths={"/path/to/guest_VARS.fd": False})),
    Case("storage", "requisite disk missing: libvirt drops it on an incoming migration (minimal XML)", minimal(
        extra="<disk type='file' device='disk'><source file='/data/vm/r.img' startupPolicy='requisite'/>"
              "<target dev='vdb'/></disk>"), dest=host(), near=CODES, kwargs=probe(paths={"/data/vm/r.img": False})),
    Case("storage", "optional *disk* missing: not dropped on migration, its section is in the stream (minimal XML)",
         minimal(extra="<disk type='file' device='disk'><source file='/data/vm/o.img' startupPolicy='optional'/>"
                       "<target dev='vdb'/></disk>"), dest=host(), expect="storage[pool]",
         kwargs=probe(paths={"/data/vm/o.img": False})),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)
