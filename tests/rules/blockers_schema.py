"""Failing fixtures of the libvirt-schema entries of the blocker catalogue (guard.blockers.schema):
one Case per entry with a rule, reporting exactly that entry's code. libvirt's own test guests
(the qemuxmlconfdata corpus) where the corpus has the element, minimal XML after
docs/formatdomain.rst otherwise. Existence and addresses come from a Probe, as the hook gathers
them on the destination: the path itself for what libvirt reads, connects to or runs, the
directory for what it creates or binds."""
from support.helpers import corpus_facts, debian12_facts
from support.rulecase import Case, corpus, minimal, with_local
from support.rulehosts import host, probe

from guard.facts.model import Probe

HR = "host-resource"
# The destination's own addresses, for the address entries.
ADDRESSES = ("127.0.0.1", "192.0.2.10")


def _missing(*paths):
    return probe(paths={path: False for path in paths})


def _resource(entry, code, xml, *missing, action="deny", **kwargs):
    """A host-resource fixture: minimal XML with `xml` among the devices (or where kwargs put it)."""
    parts = {"extra": xml} if xml else {}
    parts.update(kwargs)
    return entry, Case(HR, "%s (minimal XML)" % entry, minimal(**parts), expect="%s[%s]" % (HR, code),
                       kwargs=_missing(*missing), message_has=missing, action=action)


def _bind(entry, xml):
    return entry, Case(HR, "%s: an address the destination lacks (minimal XML)" % entry, minimal(extra=xml),
                       expect=HR + "[address]", kwargs=probe(addresses=ADDRESSES), message_has=("192.0.2.",))


def _netdev(entry, xml, name):
    return entry, Case(HR, "%s: no such network device on the destination (minimal XML)" % entry,
                       minimal(extra=xml), expect=HR + "[netdev]", kwargs=probe(netdevs={name: None}),
                       message_has=(name,))


MAC = "<mac address='52:54:00:00:0a:%02d'/>"
DISK = "<disk type='file' device='disk'><source file='%s'/><target dev='vda' bus='virtio'/>%s</disk>"
LOADER = "<loader readonly='yes' type='pflash'>%s</loader>"
VIRTIOFS = ("<filesystem type='mount' accessmode='passthrough'><driver type='virtiofs'/>"
            "<binary path='/usr/libexec/virtiofsd'/><source dir='/srv/share'/><target dir='share'/></filesystem>")
PASST = "<interface type='user'>%s<backend type='passt'%s/><model type='virtio'/>%s</interface>"

CASES = dict([
    # ---- resources other rules check ----
    ("schema-disk-file", Case("storage", "file disk missing in a pool's directory (minimal XML)",
                              minimal(extra=DISK % ("/var/lib/libvirt/images/g.qcow2", "")), dest=host(),
                              expect="storage[missing]", action="warn",
                              kwargs=_missing("/var/lib/libvirt/images/g.qcow2"))),
    ("schema-disk-readonly", Case("storage", "read-only image missing (minimal XML)",
                                  minimal(extra=DISK % ("/var/lib/libvirt/images/ro.iso", "<readonly/>")),
                                  dest=host(), expect="storage[uncopyable]",
                                  kwargs=_missing("/var/lib/libvirt/images/ro.iso"))),
    ("schema-disk-block", Case("storage", "block device missing (minimal XML)", minimal(
        extra="<disk type='block' device='disk'><source dev='/dev/sdz'/><target dev='vdb' bus='virtio'/></disk>"),
        dest=host(), expect="storage[uncopyable]", kwargs=_missing("/dev/sdz"))),
    ("schema-disk-dir", Case("storage", "vvfat directory missing (minimal XML)", minimal(
        extra="<disk type='dir' device='disk'><driver name='qemu' type='fat'/><source dir='/srv/vvfat'/>"
              "<target dev='hdb' bus='ide'/><readonly/></disk>"),
        dest=host(), expect="storage[uncopyable]", kwargs=_missing("/srv/vvfat"))),
    ("schema-disk-volume", Case("storage", "volume in an inactive pool (minimal XML)", minimal(
        extra="<disk type='volume' device='disk'><source pool='stopped' volume='v1'/><target dev='vda'/></disk>"),
        dest=host(), expect="storage[pool]")),
    ("schema-filesystem-mount", Case("storage", "9p share whose directory is missing (minimal XML)", minimal(
        extra="<filesystem type='mount' accessmode='passthrough'><source dir='/srv/share9p'/>"
              "<target dir='share'/></filesystem>"),
        dest=host(), expect="storage[uncopyable]", kwargs=_missing("/srv/share9p"))),
    ("schema-os-loader", Case("firmware", "explicit loader the destination lacks (minimal XML)",
                              minimal(os_extra=LOADER % "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"),
                              dest=with_local(debian12_facts), expect="firmware[file]",
                              kwargs=_missing("/usr/share/OVMF/OVMF_CODE_4M.ms.fd"))),
    ("schema-nvram-template", Case("firmware", "nonstandard NVRAM template the destination lacks",
                                   corpus("firmware-manual-efi-nvram-template-nonstandard"), dest=corpus_facts,
                                   expect="firmware[file]",
                                   kwargs={"probe": Probe(paths={"/usr/share/edk2/ovmf/OVMF_CODE.fd": True,
                                                                 "/path/to/OVMF_VARS.fd": False})})),
    ("schema-emulator", Case("emulator", "emulator gone from the destination (minimal XML)", minimal(),
                             expect="emulator[binary]", kwargs=_missing("/usr/bin/qemu-system-x86_64"))),
    ("schema-graphics-listen-address", Case("graphics-listen", "VNC on an address the destination lacks",
                                            corpus("graphics-vnc"), dest=host(),
                                            expect="graphics-listen[address]")),
    ("schema-interface-bridge", Case("network", "bridge the destination lacks (corpus net-midonet)",
                                     corpus("net-midonet"), dest=host(), expect="network[bridge]")),
    ("schema-interface-direct", Case("network", "macvtap parent the destination lacks (minimal XML)", minimal(
        extra="<interface type='direct'><source dev='ens1f0' mode='bridge'/>%s</interface>" % (MAC % 1)),
        dest=host(), expect="network[direct]")),
    ("schema-vhostuser-net-client", Case("device-passthrough", "vhost-user NIC backend socket missing",
                                         corpus("net-vhostuser"), expect="device-passthrough[vhost-user]",
                                         kwargs=_missing("/tmp/vhost1.sock"))),
    ("schema-vhostuser-disk", Case("device-passthrough", "vhost-user-blk backend socket missing",
                                   corpus("disk-vhostuser"), expect="device-passthrough[vhost-user]",
                                   kwargs=_missing("/tmp/vhost1.sock"))),
    ("schema-virtiofs-socket", Case("device-passthrough", "external virtiofsd socket missing on a QEMU 9.2 host",
                                    corpus("vhost-user-fs-sock"), dest=corpus_facts,
                                    expect="device-passthrough[virtiofs]", kwargs=_missing("/tmp/sock"))),
    ("schema-shmem-server", Case("device-passthrough", "ivshmem-server socket missing (minimal XML)", minimal(
        extra="<shmem name='ivsh0' role='master'><model type='ivshmem-doorbell'/>"
              "<server path='/run/ivshmem/ivsh0.sock'/></shmem>"),
        expect="device-passthrough[shmem]", kwargs=_missing("/run/ivshmem/ivsh0.sock"))),
    ("schema-hostdev-pci", Case("device-passthrough", "PCI hostdev", corpus("hostdev-pci-address"),
                                expect="device-passthrough[pci]")),
    ("schema-hostdev-usb", Case("device-passthrough", "USB hostdev", corpus("hostdev-usb-address"),
                                expect="device-passthrough[usb]")),
    ("schema-hostdev-scsi", Case("device-passthrough", "SCSI hostdev", corpus("hostdev-scsi-lsi"),
                                 expect="device-passthrough[scsi]")),
    ("schema-hostdev-scsi-host", Case("device-passthrough", "vhost-scsi hostdev",
                                      corpus("hostdev-scsi-vhost-scsi-pcie"),
                                      expect="device-passthrough[scsi_host]")),
    ("schema-hostdev-mdev", Case("mediated-device", "vGPU the destination lacks", corpus("hostdev-mdev-display"),
                                 expect="mediated-device[absent]")),
    ("schema-hostdev-capabilities", Case("device-passthrough", "mode='capabilities' block device (minimal XML)",
                                         minimal(extra="<hostdev mode='capabilities' type='storage'><source>"
                                                       "<block>/dev/sdf1</block></source></hostdev>"),
                                         expect="device-passthrough[capabilities]")),
    ("schema-interface-hostdev", Case("sriov", "interface type=hostdev", corpus("net-hostdev-vfio-multidomain"),
                                      expect="sriov[hostdev]")),
    ("schema-interface-vdpa", Case("sriov", "vDPA interface", corpus("net-vdpa"), expect="sriov[vdpa]")),
    ("schema-tpm-passthrough", Case("device-passthrough", "TPM passthrough", corpus("tpm-passthrough"),
                                    expect="device-passthrough[tpm-passthrough]")),
    ("schema-input-passthrough", Case("device-passthrough", "virtio-input-host", corpus("virtio-input-passthrough"),
                                      expect="device-passthrough[input-passthrough]")),
    ("schema-input-evdev", Case("device-passthrough", "evdev input", corpus("input-linux"),
                                expect="device-passthrough[input-evdev]", action="warn")),
    ("schema-video-vhostuser", Case("device-passthrough", "vhost-user-gpu", corpus("vhost-user-gpu-secondary"),
                                    expect="device-passthrough[vhost-user-gpu]")),

    # ---- character device backends ----
    _resource("schema-chardev-file", "directory",
              "<serial type='file'><source path='/var/log/guests/g-serial.log'/><target port='1'/></serial>",
              "/var/log/guests"),
    _resource("schema-chardev-log", "directory",
              "<console type='pty'><log file='/var/log/guests/g-console.log' append='on'/>"
              "<target type='serial' port='0'/></console>", "/var/log/guests"),
    _resource("schema-chardev-dev", "file",
              "<serial type='dev'><source path='/dev/ttyUSB7'/><target port='1'/></serial>", "/dev/ttyUSB7"),
    _resource("schema-chardev-unix-bind", "directory",
              "<channel type='unix'><source mode='bind' path='/run/guest-agents/g.agent'/>"
              "<target type='virtio' name='org.qemu.guest_agent.0'/></channel>", "/run/guest-agents"),
    _resource("schema-chardev-unix-connect", "socket",
              "<serial type='unix'><source path='/run/console-proxy/g.sock'/><target port='1'/></serial>",
              "/run/console-proxy/g.sock"),
    _bind("schema-chardev-tcp-bind",
          "<serial type='tcp'><source mode='bind' host='192.0.2.99' service='4555'/><protocol type='raw'/>"
          "<target port='1'/></serial>"),
    _bind("schema-chardev-udp-bind",
          "<serial type='udp'><source mode='bind' host='192.0.2.98' service='1111'/>"
          "<source mode='connect' host='192.0.2.1' service='2222'/><target port='1'/></serial>"),
    _resource("schema-rng-random", "file",
              "<rng model='virtio'><backend model='random'>/dev/hwrng</backend></rng>", "/dev/hwrng"),

    # ---- boot, firmware and platform files ----
    _resource("schema-os-kernel", "file", "", "/srv/boot/vmlinuz", os_extra="<kernel>/srv/boot/vmlinuz</kernel>"),
    _resource("schema-os-initrd", "file", "", "/srv/boot/initrd.img",
              os_extra="<kernel>/srv/boot/vmlinuz</kernel><initrd>/srv/boot/initrd.img</initrd>"),
    _resource("schema-os-dtb", "file", "", "/srv/boot/virt.dtb",
              os_extra="<kernel>/srv/boot/vmlinuz</kernel><dtb>/srv/boot/virt.dtb</dtb>"),
    _resource("schema-os-acpi-table", "file", "", "/srv/acpi/slic.dat",
              os_extra="<acpi><table type='slic'>/srv/acpi/slic.dat</table></acpi>"),
    _resource("schema-sysinfo-fwcfg", "file", "", "/srv/ignition/g.ign",
              top="\n  <sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='/srv/ignition/g.ign'/>"
                  "</sysinfo>"),
    _resource("schema-rom-file", "file",
              "<interface type='user'>%s<model type='virtio'/><rom file='/srv/rom/efi-virtio.rom'/></interface>"
              % (MAC % 2), "/srv/rom/efi-virtio.rom"),
    _resource("schema-nvram-file", "directory", "", "/srv/nvram",
              os_extra=LOADER % "/usr/share/OVMF/OVMF_CODE.fd"
              + "<nvram template='/usr/share/OVMF/OVMF_VARS.fd'>/srv/nvram/g_VARS.fd</nvram>"),
    _resource("schema-memory-backing-path", "file",
              "<memory model='nvdimm'><source><path>/srv/pmem/nvdimm0</path></source>"
              "<target><size unit='KiB'>524288</size><node>0</node></target></memory>", "/srv/pmem/nvdimm0"),
    _resource("schema-pstore", "directory",
              "<pstore backend='acpi-erst'><path>/srv/pstore/g.raw</path><size unit='KiB'>8</size></pstore>",
              "/srv/pstore"),
    _resource("schema-blkiotune-device", "file", "", "/dev/sdz",
              top="\n  <blkiotune><device><path>/dev/sdz</path><weight>500</weight></device></blkiotune>"),
    # libvirt's cgroup name for the partition /machine/foo (vircgroup.c virCgroupSetPartitionSuffix).
    ("schema-resource-partition", Case(HR, "partition /machine/foo missing (minimal XML)",
                                       minimal(top="\n  <resource><partition>/machine/foo</partition></resource>"),
                                       expect=HR + "[cgroup]", message_has=("/machine/foo",),
                                       kwargs=_missing("/sys/fs/cgroup/machine/foo.partition"))),

    # ---- disk sources beyond the top image ----
    _resource("schema-disk-backing", "backing",
              "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
              "<source file='/var/lib/libvirt/images/top.qcow2'/><backingStore type='file'><format type='qcow2'/>"
              "<source file='/srv/base/base.qcow2'/><backingStore/></backingStore>"
              "<target dev='vdb' bus='virtio'/></disk>", "/srv/base/base.qcow2", action="warn"),
    _resource("schema-disk-datastore", "backing",
              "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
              "<source file='/var/lib/libvirt/images/d.qcow2'><dataStore type='file'><format type='raw'/>"
              "<source file='/srv/data/d.raw'/></dataStore></source><target dev='vdb' bus='virtio'/></disk>",
              "/srv/data/d.raw", action="warn"),
    _resource("schema-disk-nbd-unix", "socket",
              "<disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='exp'>"
              "<host transport='unix' socket='/run/nbd/exp.sock'/></source><target dev='vdc' bus='virtio'/></disk>",
              "/run/nbd/exp.sock"),
    _resource("schema-disk-rbd-config", "file",
              "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
              "<source protocol='rbd' name='pool/image'><host name='mon1.example.org' port='6789'/>"
              "<config file='/etc/ceph/other.conf'/></source><target dev='vdd' bus='virtio'/></disk>",
              "/etc/ceph/other.conf"),
    _resource("schema-disk-reservations", "socket",
              "<disk type='block' device='lun'><driver name='qemu' type='raw'/><source dev='/dev/sdx'>"
              "<reservations managed='no'><source type='unix' path='/run/pr-helper/pr.sock' mode='client'/>"
              "</reservations></source><target dev='sdb' bus='scsi'/></disk>", "/run/pr-helper/pr.sock"),
    _resource("schema-disk-vhostvdpa", "file",
              "<disk type='vhostvdpa' device='disk'><driver name='qemu' type='raw' cache='none' io='threads'/>"
              "<source dev='/dev/vhost-vdpa-3'/><target dev='vde' bus='virtio'/></disk>", "/dev/vhost-vdpa-3"),

    # ---- network interfaces ----
    _netdev("schema-interface-ethernet-unmanaged",
            "<interface type='ethernet'>%s<target dev='mytap0' managed='no'/><model type='virtio'/></interface>"
            % (MAC % 3), "mytap0"),
    _resource("schema-interface-script", "binary",
              "<interface type='ethernet'>%s<script path='/etc/qemu-ifup-lab'/><model type='virtio'/></interface>"
              % (MAC % 4), "/etc/qemu-ifup-lab"),
    _resource("schema-interface-backend-tap", "file",
              "<interface type='ethernet'>%s<model type='virtio'/><backend tap='/dev/net/tun-lab'/></interface>"
              % (MAC % 5), "/dev/net/tun-lab"),
    _resource("schema-interface-backend-vhost", "file",
              "<interface type='ethernet'>%s<model type='virtio'/><driver name='vhost'/>"
              "<backend vhost='/dev/vhost-net-lab'/></interface>" % (MAC % 6), "/dev/vhost-net-lab"),
    _bind("schema-interface-server",
          "<interface type='server'>%s<source address='192.0.2.55' port='5558'/></interface>" % (MAC % 7)),
    _bind("schema-interface-udp-local",
          "<interface type='udp'>%s<source address='192.0.2.1' port='5555'>"
          "<local address='192.0.2.56' port='5556'/></source></interface>" % (MAC % 8)),
    _resource("schema-vhostuser-net-server", "directory",
              "<interface type='vhostuser'>%s<source type='unix' path='/run/vhu/vhost0.sock' mode='server'/>"
              "<model type='virtio'/></interface>" % (MAC % 9), "/run/vhu"),
    _netdev("schema-passt-source-dev", PASST % (MAC % 10 + "<source dev='ens9'/>", "", ""), "ens9"),
    _bind("schema-passt-portforward-address",
          PASST % (MAC % 11, "", "<portForward proto='tcp' address='192.0.2.57'><range start='2022' to='22'/>"
                                 "</portForward>")),
    _netdev("schema-passt-portforward-dev",
            PASST % (MAC % 12, "", "<portForward proto='udp' dev='ens10'><range start='5353'/></portForward>"),
            "ens10"),
    _resource("schema-passt-logfile", "directory", PASST % (MAC % 13, " logFile='/run/user/107/passt.log'", ""),
              "/run/user/107"),

    ("schema-passt-binary", Case(HR, "passt missing on the destination (minimal XML)",
                                 minimal(extra=PASST % (MAC % 14, "", "")), expect=HR + "[binary]",
                                 kwargs=_missing("/usr/bin/passt"))),

    # ---- graphics, video, audio ----
    _resource("schema-graphics-socket", "directory", "<graphics type='vnc' socket='/run/vnc-sockets/g.sock'/>",
              "/run/vnc-sockets"),
    _resource("schema-graphics-rendernode", "file",
              "<graphics type='egl-headless'><gl rendernode='/dev/dri/renderD129'/></graphics>",
              "/dev/dri/renderD129"),
    _resource("schema-audio-pipewire", "file", "<audio id='1' type='pipewire' runtimeDir='/run/user/1000'/>",
              "/run/user/1000"),

    # ---- helpers libvirt runs, and their resources ----
    _resource("schema-virtiofs-source-dir", "file", VIRTIOFS, "/srv/share"),
    _resource("schema-virtiofs-binary", "binary", VIRTIOFS, "/usr/libexec/virtiofsd"),
    # The XML names no swtpm path: the rule looks for the helper libvirt finds in $PATH.
    ("schema-tpm-emulator", Case(HR, "swtpm missing on the destination (minimal XML)", minimal(
        extra="<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"),
        expect=HR + "[binary]", kwargs=_missing("/usr/bin/swtpm"))),
    _resource("schema-tpm-external", "socket",
              "<tpm model='tpm-crb'><backend type='external'><source type='unix' mode='connect' "
              "path='/run/swtpm/g.sock'/></backend></tpm>", "/run/swtpm/g.sock"),
    ("schema-smartcard-database", Case(HR, "NSS database directory missing (corpus smartcard-host-certificates-"
                                           "database)", corpus("smartcard-host-certificates-database"),
                                       expect=HR + "[file]", kwargs=_missing("/tmp/foo"), message_has=("/tmp/foo",))),
])
