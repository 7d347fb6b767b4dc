"""network and graphics-listen: what the guest connects to must exist where it lands.

libvirt resolves these only when QEMU is about to start on the destination, after the
hook said yes, and then fails the migration late:
- <interface type='network'>: virNetworkLookupByName / "network 'X' is not active"
  (src/qemu/qemu_interface.c, networkAllocatePort); an SR-IOV pool network
  (<forward mode='hostdev'>) likewise.
- <interface type='bridge'>: virNetDevTapCreateInBridgePort -> virNetDevGetMTU
  ("Cannot get interface MTU on 'br0': No such device", src/util/virnetdevtap.c).
- <interface type='direct'>: virNetDevMacVLanCreateWithVPortProfile on a missing source
  device fails (src/util/virnetdevmacvlan.c).
- VNC/SPICE listen addresses: QEMU binds the address given; one that is not the
  destination's fails ("Cannot assign requested address"; libvirt qemuProcessGraphicsSetupListen
  keeps an explicit address as it is).
- VNC and SPICE over TLS: a VNC display on a destination whose qemu.conf sets vnc_tls = 1
  gets a tls-creds-x509 server object (src/qemu/qemu_command.c qemuBuildGraphicsVNCCommandLine),
  and a SPICE display that takes a TLS port there its x509-dir (qemuBuildGraphicsSPICECommandLine);
  QEMU does not start without ca-cert.pem, server-cert.pem and server-key.pem in the folder
  (crypto/tlscredsx509.c qcrypto_tls_creds_x509_load, ui/spice-core.c qemu_spice_init). The
  folders and what they lack are the collector's (guard.facts.qemu_conf.tls_certificates).
"""
from ..guest.addresses import explicit_binds, sort_binds
from .base import DENY, Rule, codes, count, listing

NETWORK, LISTEN = "network", "graphics-listen"


def _networks(ctx):
    facts = ctx.dest
    names = [(i.network, "<interface type='network'>") for i in ctx.domain.interfaces
             if i.type == "network" and i.network]
    names += [(listen.network, "<graphics><listen type='network'>") for listen in ctx.domain.listens
              if listen.network]
    absent, inactive, unknown = [], [], []
    for name, element in names:
        network = facts.network(name)
        if network is None:
            (absent if facts.networks_complete else unknown).append("%s network='%s'" % (element, name))
        elif network.active is False:
            inactive.append("%s network='%s'" % (element, name))
    if absent:
        yield NETWORK_RULE.finding("absent",
                                   "%s: no such network on the destination (it has %s)"
                                   % (listing(absent), listing(sorted(n.name for n in facts.networks)) or "none"),
                                   "define and start the network on the destination (`virsh net-define`, `virsh net-start`), or "
                                   "migrate with `virsh migrate --xml` naming one it has", networks=len(absent))
    if inactive:
        yield NETWORK_RULE.finding("inactive",
                                   "%s: the network is defined on the destination but not active" % listing(inactive),
                                   "start it there (`virsh net-start NAME`; `virsh net-autostart NAME` keeps it so)",
                                   networks=len(inactive))
    if unknown:
        yield NETWORK_RULE.unverifiable("%s: the destination's facts do not list all its networks" % listing(unknown))


def _netdev_kind(ctx, name):
    """"bridge" / "device" / None (absent), or "?" when nobody looked."""
    probed = ctx.probe.netdevs if ctx.probe is not None and ctx.probe.netdevs is not None else None
    if probed is not None and name in probed:
        return probed[name]
    local = ctx.dest.local
    if local is None or local.netdevs is None:
        return "?"
    if name in (local.bridges or ()):
        return "bridge"
    return "device" if name in local.netdevs else None


def _devices(ctx):
    missing = {"bridge": [], "direct": []}
    unknown = []
    for iface in ctx.domain.interfaces:
        if iface.type not in missing or not iface.source:
            continue
        kind = _netdev_kind(ctx, iface.source)
        if kind is None:
            missing[iface.type].append(iface.source)
        elif kind == "?":
            unknown.append("<interface type='%s'> %s" % (iface.type, iface.source))
    if missing["bridge"]:
        names = sorted(set(missing["bridge"]))
        yield NETWORK_RULE.finding("bridge",
                                   "<interface type='bridge'> on %s: no such bridge on the destination (libvirt would fail "
                                   "there with \"Cannot get interface MTU on '%s': No such device\")"
                                   % (listing(names), names[0]),
                                   "create the bridge on the destination (nmcli connection add type bridge ifname %s ...), or "
                                   "migrate with `virsh migrate --xml` naming a bridge it has" % names[0], bridges=names)
    if missing["direct"]:
        names = sorted(set(missing["direct"]))
        yield NETWORK_RULE.finding("direct",
                                   "<interface type='direct'> (macvtap) on %s: no such network device on the destination"
                                   % listing(names),
                                   "migrate with `virsh migrate --xml` naming the destination's uplink device", devices=names)
    if unknown:
        yield NETWORK_RULE.unverifiable("%s: the destination's network devices are not in its facts" % listing(unknown))


def check_network(ctx):
    if not ctx.domain.interfaces and not ctx.domain.listens:
        return
    yield from _networks(ctx)
    yield from _devices(ctx)


def _address(listen):
    return listen.address


def check_listen(ctx):
    if ctx.domain.platform.spice_tls:
        yield from _spice_tls(ctx)
    yield from _tls_certificates(ctx)
    if not ctx.domain.listens:
        return
    explicit = explicit_binds([listen for listen in ctx.domain.listens if listen.address is not None], _address)
    if not explicit:
        return
    host = ctx.host("addresses")
    if host is None:
        yield LISTEN_RULE.unverifiable("%s listen address %s not checked: the destination's addresses are not known"
                                       % (count(len(explicit), "graphics"), listing(sorted({x.address for x in explicit}))),
                                       "run the hook or `check --probe` on the destination, or collect its facts locally")
        return
    foreign, names = sort_binds(explicit, _address, host)
    names = sorted({x.address for x in names})
    if names:
        yield LISTEN_RULE.unverifiable("graphics listen on host name %s: what it resolves to on the destination was not "
                                       "checked" % listing(names), "listen on an address, or a wildcard")
    foreign = sorted({"<graphics type='%s' listen='%s'>" % (x.graphics, x.address) for x in foreign})
    if foreign:
        yield LISTEN_RULE.finding("address",
                                  "%s: the destination has no such address, so QEMU cannot bind it there" % listing(foreign),
                                  "listen on 0.0.0.0 (or ::) in the guest's XML, or migrate with `virsh migrate --xml` giving "
                                  "a destination address", listens=len(foreign))


def _spice_tls(ctx):
    """A SPICE display that needs a TLS port (guard.guest.domain._spice_tls_port) on a destination
    whose qemu.conf has spice_tls off: libvirt refuses to start it there."""
    enabled = ctx.host("spice_tls")
    if enabled is None:
        yield LISTEN_RULE.unverifiable("the guest's SPICE display needs a TLS port; whether the destination's qemu.conf "
                                       "enables spice_tls is not known",
                                       "collect the destination's facts on the destination itself (it reads qemu.conf as "
                                       "root)")
    elif not enabled:
        yield LISTEN_RULE.finding("spice-tls",
                                  "the guest's SPICE display needs a TLS port (defaultMode or a channel 'secure', or a fixed "
                                  "tlsPort), and the destination's qemu.conf has spice_tls off: libvirt refuses to start it "
                                  "(\"Auto allocation of spice TLS port requested but spice TLS is disabled in qemu.conf\")",
                                  "set spice_tls = 1 (with certificates in spice_tls_x509_cert_dir) in the destination's "
                                  "/etc/libvirt/qemu.conf and restart its daemon, or drop the guest's secure SPICE channels")


def _tls_certificates(ctx):
    """The server certificates QEMU loads for the guest's VNC or SPICE display over TLS."""
    services = []
    if ctx.host("vnc_tls") and ("graphics", "type", "vnc") in ctx.domain.device_values:
        services.append(("vnc", "VNC display is served over TLS", "vnc_tls = 1"))
    if ctx.host("spice_tls") and ctx.domain.platform.spice_tls_port:
        services.append(("spice", "SPICE display takes a TLS port", "spice_tls = 1"))
    if not services:
        return
    folders = {entry[0]: entry for entry in ctx.host("tls_certs") or ()}
    for service, what, setting in services:
        if service not in folders:
            yield LISTEN_RULE.unverifiable("the destination's qemu.conf sets %s; whether its %s certificates are in place is "
                                           "not known" % (setting, service.upper()),
                                           "collect the destination's facts on the destination itself (it reads qemu.conf and "
                                           "the certificate folders as root)")
            continue
        _service, folder, missing = folders[service]
        if missing:
            text = ("the guest's %s on the destination (its qemu.conf sets %s), and the certificate folder %s "
                    "lacks %s: QEMU does not start there")
            yield LISTEN_RULE.finding("tls-certs", text % (what, setting, folder, ", ".join(missing)),
                                      "install the CA certificate and the host's server certificate and key (ca-cert.pem, "
                                      "server-cert.pem, server-key.pem) in the destination's %s_tls_x509_cert_dir (or "
                                      "default_tls_x509_cert_dir)" % service,
                                      text % (what, setting, "(named in the audit record)", ", ".join(missing)),
                                      service=service, missing=list(missing))


NETWORK_RULE = Rule(
    id=NETWORK, title="Guest networks", limitation="the guest's network must exist where it lands (libvirt "
                                                    "fails late otherwise)",
    checks="<interface type='network'> (SR-IOV pools included) and <graphics><listen type='network'> name a "
           "network the destination defines and has active; <interface type='bridge'> bridges and "
           "<interface type='direct'> source devices exist there (/sys/class/net at decision time, else "
           "the collected list).",
    remedy="Create the network, bridge or device on the destination, or migrate with `virsh migrate --xml`.",
    codes=codes(NETWORK, DENY, "absent", "inactive", "bridge", "direct"), check=check_network,
    needs_dest=True,
    may_be_unverifiable=True,
)

LISTEN_RULE = Rule(
    id=LISTEN, title="Graphics listen address", limitation="QEMU cannot bind a source-host address",
    checks="VNC/SPICE listen addresses (attribute or <listen type='address'>) that are not a wildcard, not "
           "loopback and not an address of the destination; a SPICE display that needs a TLS port against "
           "the destination's qemu.conf spice_tls; the server certificates (ca-cert.pem, server-cert.pem, "
           "server-key.pem) a VNC display needs where vnc_tls = 1 (qemu_command.c "
           "qemuBuildGraphicsVNCCommandLine) and a SPICE display that takes a TLS port needs where spice_tls = 1 "
           "(qemuBuildGraphicsSPICECommandLine), in the folder libvirt gives QEMU (qemu_conf.c "
           "virQEMUDriverConfigSetDefaults).",
    remedy="Listen on a wildcard address, or give the destination's address with `virsh migrate --xml`; enable "
           "spice_tls on the destination for secure SPICE channels, with its certificates in place.",
    codes=codes(LISTEN, DENY, "address", "spice-tls", "tls-certs"), check=check_listen, needs_dest=True,
    may_be_unverifiable=True,
)

RULES = (NETWORK_RULE, LISTEN_RULE)
