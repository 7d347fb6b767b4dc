"""host-resource: passing and failing fixtures, one pair per code. The resources are found by
the catalogue's libvirt-schema xpaths (guard.blockers.schema); their presence comes from a
Probe, as the hook gathers it on the destination (minimal XML: the corpus guests name paths
of libvirt's test suite, which no real host has)."""
import pytest
from support.rulecase import Case, minimal, run_case
from support.rulehosts import host

from guard.facts.model import Probe
from guard.guest.model import HostResource

FILE_SERIAL = "<serial type='file'><source path='/var/log/guests/web01.log'/><target port='1'/></serial>"
UNIX_CONNECT = ("<channel type='unix'><source mode='connect' path='/run/agentd/web01.sock'/>"
                "<target type='virtio' name='org.example.agent.0'/></channel>")
TCP_BIND = ("<serial type='tcp'><source mode='bind' host='%s' service='4555'/><protocol type='raw'/>"
            "<target port='2'/></serial>")
TAP = "<interface type='ethernet'><target dev='tapweb01' managed='no'/><model type='virtio'/></interface>"
RNG = "<rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng>"
KERNEL = "<kernel>/srv/boot/vmlinuz-web01</kernel><initrd>/srv/boot/initrd-web01</initrd>"
PARTITION = "<resource><partition>/machine/tenants</partition></resource>"
SWTPM = "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"
BACKED_DISK = ("<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/vm/top.qcow2'/>"
               "<backingStore type='file'><format type='qcow2'/><source file='/srv/base/base.qcow2'/><backingStore/>"
               "</backingStore><target dev='vdb' bus='virtio'/></disk>")
CODE = "host-resource[%s]"


def probed(**fields):
    fields.setdefault("guests", ())
    return {"probe": Probe(**fields)}


def pair(variant, name, xml, failing, passing, **case):
    return [Case("host-resource", "%s, missing on the destination (minimal XML)" % name, xml, dest=host(),
                 expect=CODE % variant, kwargs=failing, **case),
            Case("host-resource", "%s, present on the destination (minimal XML)" % name, xml, dest=host(),
                 near=(CODE % variant,), kwargs=passing)]


CASES = (
    pair("directory", "file serial log in /var/log/guests", minimal(extra=FILE_SERIAL),
         probed(paths={"/var/log/guests": False}), probed(paths={"/var/log/guests": True}),
         message_has=("/var/log/guests/web01.log",))
    + pair("socket", "unix channel connecting to /run/agentd/web01.sock", minimal(extra=UNIX_CONNECT),
           probed(paths={"/run/agentd/web01.sock": False}), probed(paths={"/run/agentd/web01.sock": True}))
    + pair("socket", "unix channel that reconnects, to /run/agentd/web01.sock: libvirt's DAC driver still stats it",
           minimal(extra=UNIX_CONNECT.replace("/>", "><reconnect enabled='yes' timeout='2'/></source>", 1)),
           probed(paths={"/run/agentd/web01.sock": False}), probed(paths={"/run/agentd/web01.sock": True}))
    + pair("address", "TCP serial listening on the source's 192.0.2.99", minimal(extra=TCP_BIND % "192.0.2.99"),
           probed(addresses=("127.0.0.1", "192.0.2.10")), probed(addresses=("127.0.0.1", "192.0.2.99")),
           message_has=("192.0.2.99",))
    + pair("netdev", "unmanaged tap tapweb01", minimal(extra=TAP), probed(netdevs={"tapweb01": None}),
           probed(netdevs={"tapweb01": "device"}))
    + pair("file", "RNG backend /dev/hwrng", minimal(extra=RNG), probed(paths={"/dev/hwrng": False}),
           probed(paths={"/dev/hwrng": True}))
    + pair("file", "direct kernel boot from /srv/boot", minimal(os_extra=KERNEL),
           probed(paths={"/srv/boot/vmlinuz-web01": False, "/srv/boot/initrd-web01": True}),
           probed(paths={"/srv/boot/vmlinuz-web01": True, "/srv/boot/initrd-web01": True}))
    + pair("backing", "qcow2 backing file in /srv/base", minimal(extra=BACKED_DISK),
           probed(paths={"/srv/base/base.qcow2": False}), probed(paths={"/srv/base/base.qcow2": True}),
           action="warn")
    + pair("cgroup", "partition /machine/tenants", minimal(top=PARTITION),
           probed(paths={"/sys/fs/cgroup/machine/tenants.partition": False}),
           probed(paths={"/sys/fs/cgroup/machine/tenants.partition": True}))
    + pair("binary", "TPM emulator (swtpm)", minimal(extra=SWTPM), probed(paths={"/usr/bin/swtpm": False}),
           probed(paths={"/usr/bin/swtpm": True}))
    + [Case("host-resource", "a guest-agent channel with no path: libvirt makes one at start (minimal XML)",
            minimal(extra="<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>"),
            dest=host(), near=(CODE % "directory", CODE % "socket"), kwargs=probed(paths={})),
       Case("host-resource", "TCP serial on a scoped link-local address the destination has (minimal XML)",
            minimal(extra=TCP_BIND % "fe80::1%eth0"), dest=host(), near=(CODE % "address",),
            kwargs=probed(addresses=("127.0.0.1", "fe80:0:0:0:0:0:0:1"))),
       Case("host-resource", "TCP serial on a scoped link-local address the destination lacks (minimal XML)",
            minimal(extra=TCP_BIND % "fe80::2%eth0"), dest=host(), expect=CODE % "address",
            kwargs=probed(addresses=("127.0.0.1", "fe80:0:0:0:0:0:0:1"))),
       Case("host-resource", "a kernel path of 5000 characters: the message shows 160 of them (minimal XML)",
            minimal(os_extra="<kernel>/srv/%s</kernel>" % ("k" * 5000)), dest=host(), expect=CODE % "file",
            message_has=("/srv/kkk", "…"), kwargs=probed(paths={"/srv/" + "k" * 5000: False})),
       Case("host-resource", "TCP serial on a wildcard: every host has it (minimal XML)",
            minimal(extra=TCP_BIND % "0.0.0.0"), dest=host(), near=(CODE % "address",),
            kwargs=probed(addresses=("127.0.0.1",)))]
)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_rule_fixture(case):
    run_case(case)


@pytest.mark.parametrize("path, directory", [
    # the source drops the paths libvirt generated from the migratable XML
    # (qemuDomainChrDefDropDefaultPath); one still there names the source's own domain-ID-NAME
    # directory, which the destination never makes (it makes its own ID's): it is looked for
    ("/var/lib/libvirt/qemu/channel/target/domain-7-web01/org.qemu.guest_agent.0",
     "/var/lib/libvirt/qemu/channel/target/domain-7-web01"),
    ("/var/lib/libvirt/qemu/web01.agent", "/var/lib/libvirt/qemu"),
    ("/var/log/guests/web01.log", "/var/log/guests"),
    ("/sock", "/"),
])
def test_what_is_made_or_bound_needs_its_directory(path, directory):
    assert HostResource("socket", "bind", path, "<channel type='unix'>").checked_path == directory


@pytest.mark.parametrize("partition, path", [
    ("/machine/tenants/a.slice", "/machine/tenants.partition/a.slice"),
    ("/machine/cpu", "/machine/cpu.partition"),  # libvirt's controller-name escape never matches (domain._escaped)
    ("/machine/cgroup.x", "/machine/_cgroup.x"),
    ("/machine/_x", "/machine/__x.partition"),
    ("/tenants", "/tenants.partition"),
])
def test_a_partition_is_found_where_libvirt_names_it(partition, path):
    assert HostResource("cgroup", "open", partition, "<resource>").checked_path == "/sys/fs/cgroup" + path


def test_a_partition_is_looked_for_as_libvirt_places_guests_there(tmp_path):
    from guard.facts.probe import cgroup_present
    wanted = "/sys/fs/cgroup/machine/tenants.partition"
    root = str(tmp_path)
    assert cgroup_present(wanted, root) is False
    (tmp_path / "sys/fs/cgroup/cpu,cpuacct/machine/tenants.partition").mkdir(parents=True)
    assert cgroup_present(wanted, root) is True  # cgroup v1: below the cpu controller
    other = tmp_path / "other"
    (other / "sys/fs/cgroup/machine/tenants.partition").mkdir(parents=True)
    assert cgroup_present(wanted, str(other)) is True  # cgroup v2
    booted = tmp_path / "booted"
    (booted / "run/systemd/system").mkdir(parents=True)
    assert cgroup_present(wanted, str(booted)) is False  # systemd without machined: libvirt's own cgroups
    (booted / "usr/lib/systemd").mkdir(parents=True)
    (booted / "usr/lib/systemd/systemd-machined").write_text("")
    assert cgroup_present(wanted, str(booted)) is True  # machined makes the partition's slice


def test_a_long_value_is_cut_in_the_message():
    from support.helpers import decide
    long_path = "/srv/" + "k" * 5000
    outcome = decide(minimal(os_extra="<kernel>%s</kernel>" % long_path)(), host()(), None,
                     probe=Probe(paths={long_path: False}, guests=()))
    found = [f for f in outcome.findings if f.code == CODE % "file"]
    assert found and len(found[0].message) < 400
