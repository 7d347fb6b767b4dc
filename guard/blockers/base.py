"""The blocker catalogue's record (guard.blockers): one entry, and the words its fields use.
The three families (guard.blockers.qemu, .libvirt, .schema) build their entries with it;
guard.blockers gathers them."""
from ..records import struct

COMPONENTS = ("qemu", "libvirt", "libvirt-schema")

# What the resource is (libvirt-schema entries).
RESOURCES = ("file", "directory", "socket", "address", "netdev", "device", "cgroup", "binary")

# What libvirt or QEMU does with it on the destination:
# read: opens an existing file or device (it must exist);
# create: creates a file in a directory (the directory must exist; the file need not);
# bind: listens on a unix socket path (its directory must exist) or a network address (it must
#   be one of the host's, or a wildcard);
# connect: connects to a unix socket that something else must have created;
# open: opens or attaches a network device or cgroup that must exist;
# exec: runs a helper binary.
ACCESSES = ("read", "create", "bind", "connect", "open", "exec")

# id: stable, kebab-case, unique across families; where: "file: function" in the
# component's source tree; trigger: the XML, migration flag or host condition that sets it
# off, as an administrator reads it; rule: the code that catches it, or None with `reason`
# saying why none does (caught elsewhere, source-side and the pre-flight's, out of RHEL 9's
# scope, or not yet caught); since / lifted: the first upstream version it applies to and
# the first that no longer has it (None: open-ended), of the component (QEMU for qemu
# entries, libvirt otherwise). resource, access, xpath: libvirt-schema entries only; xpath
# is relative to <domain> and selects the attribute or text naming the resource.
Blocker = struct("Blocker", "id component where trigger rule reason since lifted resource access xpath",
                 defaults=(None, None, None, None, None, None, None))

# The versions RHEL 9.0 to 9.6 ship: the range the catalogue covers.
RHEL9_QEMU = ("6.2", "9.1")
RHEL9_LIBVIRT = ("8.0", "10.10")
