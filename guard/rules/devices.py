"""Assigned host devices: device-passthrough, sriov and mediated-device."""
from ..findings import DENY, finding
from .base import Rule, codes

PASSTHROUGH = "device-passthrough"
SRIOV = "sriov"
MDEV = "mediated-device"

# QEMU unplugs a VF with <teaming type='transient'> before migration and the guest
# fails over to its persistent virtio twin: the one assigned device that migrates.
TRANSIENT = "transient"
SUBSYSTEM_TYPES = ("pci", "usb", "scsi", "scsi_host")


def check_passthrough(ctx):
    for dev in ctx.domain.hostdevs:
        if dev.type == "mdev":
            continue
        if dev.mode == "subsystem" and dev.type == "pci" and dev.teaming == TRANSIENT:
            continue
        # Guest-controlled text: a subsystem type libvirt does not define is still a host device.
        if dev.mode != "subsystem":
            variant = "capabilities"
        else:
            variant = dev.type if dev.type in SUBSYSTEM_TYPES else "other"
        yield finding(PASSTHROUGH, variant, DENY,
                      "guest has a %s host device assigned (%s); assigned devices cannot be migrated"
                      % (dev.type, dev.source),
                      "detach it before migrating (`virsh detach-device --live`) and re-attach on the destination",
                      device_type=dev.type, mode=dev.mode, source=dev.source)


def check_sriov(ctx):
    for iface in ctx.domain.interfaces:
        if iface.teaming == TRANSIENT:
            continue
        if iface.type == "hostdev":
            yield finding(SRIOV, "hostdev", DENY,
                          "interface %s is an SR-IOV VF assigned with <interface type='hostdev'> (%s)"
                          % (iface.mac or "?", iface.source),
                          "use a virtio NIC, or pair the VF with a virtio NIC using <teaming type='transient'>",
                          mac=iface.mac, source=iface.source)
        elif iface.type == "vdpa":
            yield finding(SRIOV, "vdpa", DENY,
                          "interface %s is a vDPA device (%s), which libvirt cannot migrate"
                          % (iface.mac or "?", iface.source),
                          "use a virtio NIC on a bridge or network", mac=iface.mac, source=iface.source)
        elif iface.type == "network" and ctx.dest is not None:
            network = ctx.dest.network(iface.network)
            if network is not None and network.forward_mode == "hostdev":
                yield finding(SRIOV, "network-pool", DENY,
                              "interface %s uses network '%s', an SR-IOV VF pool (<forward mode='hostdev'>)"
                              % (iface.mac or "?", iface.network),
                              "use a bridged or NAT network, or add <teaming type='transient'> with a virtio twin",
                              mac=iface.mac, network=iface.network, dest_forward_mode=network.forward_mode)


def check_mdev(ctx):
    for dev in ctx.domain.hostdevs:
        if dev.type != "mdev":
            continue
        present = None
        if ctx.dest is not None:
            present = next((m for m in ctx.dest.mdevs if m.uuid == dev.mdev_uuid), None)
        # An admin may opt in to vendor vGPU migration for the case the destination
        # has the same mdev ready: `[rules."mediated-device[present]"] action = "warn"`.
        variant = "present" if present is not None else "absent"
        dest_note = ("the destination has mdev %s (type %s)" % (dev.mdev_uuid, present.type) if present
                     else "the destination has no mdev %s" % dev.mdev_uuid)
        yield finding(MDEV, variant, DENY,
                      "guest has mediated device %s (%s) assigned; %s" % (dev.mdev_uuid, dev.model or "mdev",
                                                                         dest_note),
                      "detach the mdev before migrating, or opt in to vendor vGPU migration for destinations "
                      "that have it with [rules.\"mediated-device[present]\"] action = \"warn\"",
                      mdev_uuid=dev.mdev_uuid, dest_mdev_type=present.type if present else None)


RULES = (
    Rule(id=PASSTHROUGH, title="Device passthrough", limitation="Device passthrough",
         checks="<hostdev> of type pci, usb, scsi, scsi_host and mode='capabilities'; a PCI hostdev with "
                "<teaming type='transient'> (a failover VF that QEMU unplugs) is allowed.",
         remedy="Detach the device before migrating and re-attach it on the destination.",
         codes=codes(PASSTHROUGH, DENY, *SUBSYSTEM_TYPES + ("capabilities", "other")),
         check=check_passthrough),
    Rule(id=SRIOV, title="SR-IOV device assignment", limitation="SR-IOV device assignment",
         checks="<interface type='hostdev'> (unless transient teaming), <interface type='network'> on a "
                "<forward mode='hostdev'> pool of the destination, <interface type='vdpa'>. "
                "<interface type='direct' mode='passthrough'> is macvtap and is not SR-IOV.",
         remedy="Use virtio NICs, or a VF teamed with a virtio NIC (<teaming type='transient'>).",
         codes=codes(SRIOV, DENY, "hostdev", "network-pool", "vdpa"),
         check=check_sriov),
    Rule(id=MDEV, title="Mediated devices", limitation="Mediated devices, such as vGPUs",
         checks="<hostdev type='mdev'>; the code says whether the destination has the same mdev "
                "(`present`, which an administrator may opt in to allow) or not (`absent`).",
         remedy="Detach the mediated device before migrating.",
         codes=codes(MDEV, DENY, "present", "absent"),
         check=check_mdev),
)
