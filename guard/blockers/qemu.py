"""qemu entries of the blocker catalogue (guard.blockers): every call of migrate_add_blocker
(in 6.2 migrate_add_blocker(Error *, Error **); from 8.2 migrate_add_blocker(Error **, ...),
migrate_add_blocker_normal, migrate_add_blocker_modes, migrate_add_blocker_internal), every
VMStateDescription with `.unmigratable = 1`, and the places QEMU refuses a migration at
migration time (a vmstate pre_save / pre_load / post_load, a device's realize on the
destination), read from QEMU 7.2.0 (Debian's qemu_7.2+dfsg source) and QEMU 10.0.13
(Debian's qemu_10.0.13+ds source) side by side; what changed between them (and before 7.2)
is dated from the qemu-devel pull requests and the upstream commits that added or lifted
each blocker (vfio multiple devices: PULL 16 Feb 2023 -> 8.0; vfio vIOMMU: PULL 7 Mar 2023
-> 8.0; vhost-user-fs internal migration: commit bca3e2a1, Oct 2023 -> 8.2; vdpa per-feature
blockers replacing the CVQ one: commit f13f5f64 -> 8.2). Each trigger is the libvirt domain
XML that makes libvirt create the device or backend (libvirt 9.0 and 11.3 src/qemu/qemu_command.c),
or says no domain XML reaches it. "Not in RHEL 9" rests on RHEL 9's device list
(configs/devices/x86_64-softmmu/x86_64-rh-devices.mak of the qemu-kvm 7.2 rebase,
"0005-Enable-disable-devices-for-RHEL.patch") and the el9 configure line (qemu-kvm-8.1.0-3.el9:
--disable-virtfs, --disable-virglrenderer, --disable-vvfat, --disable-parallels, --disable-qcow1,
read-only whitelist vdi,vmdk,vhdx,vpc). A QEMU migration blocker or unmigratable vmstate is
refused on the source: libvirt 9.0 and later read them from query-migrate blocked-reasons in
qemuMigrationSrcIsAllowed before the destination is asked (libvirt 8.0 does not, and QEMU's
`migrate` fails on the source after the destination started); those are the pre-flight's.
"""
from .base import Blocker

# Most QEMU blockers are refused on the source before the destination's hook runs.
SOURCE = ("source-side: a QEMU migration blocker, refused on the source (libvirt 9.0+ reads query-migrate "
          "blocked-reasons before the destination is asked); the pre-flight's")
UNREACHABLE = "not reachable from a domain XML"
RHEL_DEVICES = "not in RHEL 9 (build option: RHEL 9's x86_64-rh-devices.mak has no %s)"
RHEL_CONFIGURE = "not in RHEL 9 (build option: el9 qemu-kvm is configured with %s)"

BLOCKERS = (
    # target/i386: the CPU and the accelerator
    Blocker(id="qemu-invtsc", component="qemu", where="target/i386/kvm/kvm.c: kvm_arch_init_vcpu",
            trigger="<cpu><feature name='invtsc' policy='require'/> (or <cpu mode='host-passthrough' "
                    "migratable='off'> under KVM on a host with invtsc) without <clock><timer name='tsc' "
                    "frequency='...'/>: \"State blocked by non-migratable CPU device (invtsc flag)\"",
            rule="unmigratable[invtsc]", since="6.2"),
    Blocker(id="qemu-hv-passthrough", component="qemu", where="target/i386/kvm/kvm.c: hyperv_init_vcpu",
            trigger="<features><hyperv mode='passthrough'/> (libvirt passes hv-passthrough=on): \"'hv-passthrough' "
                    "CPU flag prevents migration, use explicit set of hv-* flags instead\"",
            rule="unmigratable[hyperv-passthrough]", since="6.2"),
    Blocker(id="qemu-hv-no-nonarch-coresharing", component="qemu", where="target/i386/kvm/kvm.c: hyperv_init_vcpu",
            trigger="-cpu ...,hv-no-nonarch-coresharing=auto (libvirt never sets this property)",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-tsc-frequency-mismatch", component="qemu", where="target/i386/kvm/kvm.c: kvm_arch_set_tsc_khz",
            trigger="<clock><timer name='tsc' frequency='HZ'/> on a destination whose TSC differs by more than "
                    "250 ppm and that has no TSC scaling: QEMU fails to start there (\"TSC frequency mismatch "
                    "between VM ... and host ..., and TSC scaling unavailable\"; libvirt's "
                    "qemuProcessStartValidateTSC refuses the same, after the hook)",
            reason="not caught yet: compare the timer's frequency with the destination's capabilities "
                   "<cpu><counter name='tsc' frequency=... scaling=...>",
            since="6.2"),
    Blocker(id="qemu-hv-reenlightenment", component="qemu",
            where="target/i386/machine.c: hyperv_reenlightenment_post_load",
            trigger="<features><hyperv><reenlightenment state='on'/> without <clock><timer name='tsc' "
                    "frequency='...'/>, once the guest enabled re-enlightenment notifications (Hyper-V role, WSL2): "
                    "the destination refuses the state (\"Guest enabled re-enlightenment notifications, "
                    "'tsc-frequency=' has to be specified\")",
            rule="unmigratable[reenlightenment]", since="6.2"),
    Blocker(id="qemu-nested-state", component="qemu", where="target/i386/machine.c: cpu_post_load",
            trigger="a guest CPU with vmx/svm (<cpu mode='host-passthrough'>, or <feature name='vmx' "
                    "policy='require'/>) running its own nested guest, migrated to a host whose kvm_intel/kvm_amd "
                    "has nested=0: \"vCPU set in guest-mode inconsistent with migrated kernel nested state\" "
                    "(cpu_pre_save refuses on the source when its kernel cannot save nested state)",
            rule="bios[nested]", since="6.2"),
    Blocker(id="qemu-sev", component="qemu", where="target/i386/sev.c: sev_launch_finish",
            trigger="<launchSecurity type='sev'>: \"SEV: Migration is not implemented\"",
            rule="confidential-computing[sev]", since="6.2"),
    Blocker(id="qemu-sev-snp", component="qemu", where="target/i386/sev.c: sev_snp_launch_finish",
            trigger="<launchSecurity type='sev-snp'>: \"SEV-SNP: Migration is not implemented\"",
            rule="confidential-computing[sev-snp]", since="9.1"),
    Blocker(id="qemu-whpx", component="qemu", where="target/i386/whpx/whpx-all.c: whpx_init_vcpu",
            trigger="the Windows Hypervisor Platform accelerator (-accel whpx)",
            reason="not in RHEL 9 (arch or build option: a Windows host accelerator)", since="6.2"),
    Blocker(id="qemu-nvmm", component="qemu", where="target/i386/nvmm/nvmm-all.c: nvmm_init_vcpu",
            trigger="the NetBSD NVMM accelerator (-accel nvmm)",
            reason="not in RHEL 9 (arch or build option: a NetBSD host accelerator)", since="6.2"),
    Blocker(id="qemu-amd-iommu", component="qemu", where="hw/i386/amd_iommu.c: vmstate_amdvi_sysbus",
            trigger="-device amd-iommu (unmigratable vmstate); libvirt up to 10.10 has no <iommu model='amd'>",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-xen-xenstore", component="qemu", where="hw/i386/kvm/xen_xenstore.c: xen_xenstore_vmstate",
            trigger="KVM Xen guest emulation (-accel kvm,xen-version=...), unmigratable vmstate",
            reason=UNREACHABLE, since="8.0"),
    Blocker(id="qemu-hyperv-syndbg", component="qemu", where="hw/hyperv/syndbg.c: vmstate_hv_syndbg",
            trigger="-device hv-syndbg (Hyper-V synthetic debugger), unmigratable vmstate; libvirt creates no such "
                    "device",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-sgx-epc", component="qemu", where="backends/hostmem-epc.c: sgx_epc_backend_memory_alloc",
            trigger="<memory model='sgx-epc'> on a destination without SGX: QEMU fails to start there (\"failed to "
                    "open /dev/sgx_vepc to alloc SGX EPC\"); the EPC itself is not migrated",
            reason="not caught yet: the destination needs /dev/sgx_vepc and enough EPC (domcapabilities "
                   "<sgx supported='yes'>), a path the XML does not name",
            since="6.2"),
    # hw/vfio: assigned devices
    Blocker(id="qemu-vfio-no-migration", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="<hostdev mode='subsystem' type='pci'> whose device or kernel driver has no VFIO migration "
                    "support (before 8.0 every device without a v1 migration region; in 7.2 every device unless "
                    "x-enable-migration=on): \"VFIO device doesn't support migration\", later \"VFIO migration is "
                    "not supported in kernel\"",
            rule="device-passthrough[pci]", since="6.2"),
    Blocker(id="qemu-vfio-dirty-tracking", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="<hostdev mode='subsystem' type='pci'> with a migration-capable driver but neither device nor "
                    "IOMMU dirty tracking: \"VFIO device doesn't support device and IOMMU dirty tracking\"",
            rule="device-passthrough[pci]", since="8.1"),
    Blocker(id="qemu-vfio-multiple-devices", component="qemu",
            where="hw/vfio/common.c: vfio_block_multiple_devices_migration",
            trigger="two or more migration-capable <hostdev mode='subsystem' type='pci'> not all of which support "
                    "P2P migration (any two before 8.1): \"Multiple VFIO devices migration is supported only if all "
                    "of them support P2P migration\"",
            rule="device-passthrough[pci]", since="8.0"),
    Blocker(id="qemu-vfio-viommu", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="a migration-capable <hostdev mode='subsystem' type='pci'> behind a virtual IOMMU (<iommu "
                    "model='intel'> or model='virtio'): \"Migration is currently not supported with vIOMMU enabled\"",
            rule="device-passthrough[pci]", since="8.0"),
    Blocker(id="qemu-vfio-viommu-mdev", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="a migration-capable vGPU (<hostdev type='mdev'>, an NVIDIA vGPU on RHEL 9.4+) behind a virtual "
                    "IOMMU: \"Migration is currently not supported with vIOMMU enabled\"",
            rule="mediated-device[vgpu-conditions]", since="8.0"),
    Blocker(id="qemu-vfio-postcopy", component="qemu", where="hw/vfio/migration.c: vfio_save_prepare",
            trigger="a migration-capable <hostdev mode='subsystem' type='pci'> migrated with --postcopy: \"VFIO "
                    "migration is not supported with postcopy migration\"",
            reason="only with flag --postcopy, which the hook cannot see (the hostdev itself is "
                   "device-passthrough[pci])",
            since="8.2"),
    Blocker(id="qemu-vfio-mdev", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="<hostdev mode='subsystem' type='mdev' model='vfio-pci'> (a vGPU) whose vendor driver has no "
                    "VFIO migration support: the same blocker as an assigned PCI device",
            rule="mediated-device[absent]", since="6.2"),
    Blocker(id="qemu-vfio-mdev-nvidia", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="<hostdev type='mdev'> on an NVIDIA vGPU whose host driver implements VFIO migration (v2, QEMU "
                    "8.0 and later): no blocker. RHEL supports it from 9.4 (libvirt 10.0, QEMU 8.2) with the same vGPU "
                    "driver on both hosts and no vIOMMU; the rule checks each and warns when all hold",
            rule="mediated-device[nvidia-vgpu]", since="8.2"),
    Blocker(id="qemu-vfio-mlx5-vf", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="<hostdev mode='subsystem' type='pci'>, <interface type='hostdev'> or a VF pool's VF that is a "
                    "Mellanox ConnectX-7 VF on the mlx5_vfio_pci variant driver, which implements VFIO migration "
                    "(v2, and device dirty tracking): no blocker. RHEL supports it from 9.4 (libvirt 10.0, QEMU 8.2) "
                    "with the same PSID and firmware on both hosts and no vIOMMU; the rule checks each and warns "
                    "when all hold",
            rule="sriov[mlx5-vf]", since="8.2"),
    Blocker(id="qemu-vfio-viommu-mlx5", component="qemu", where="hw/vfio/migration.c: vfio_migration_realize",
            trigger="a migration-capable Mellanox VF (mlx5_vfio_pci, RHEL 9.4+) behind a virtual IOMMU: "
                    "\"Migration is currently not supported with vIOMMU enabled\"",
            rule="sriov[mlx5-vf-conditions]", since="8.0"),
    Blocker(id="qemu-vfio-ccw", component="qemu", where="hw/vfio/ccw.c: vfio_ccw_vmstate",
            trigger="<hostdev mode='subsystem' type='mdev' model='vfio-ccw'> (s390x), unmigratable vmstate",
            rule="mediated-device[absent]", since="6.2"),
    Blocker(id="qemu-vfio-ap", component="qemu", where="hw/vfio/ap.c: vfio_ap_vmstate",
            trigger="<hostdev mode='subsystem' type='mdev' model='vfio-ap'> (s390x crypto adapter), unmigratable "
                    "vmstate",
            rule="mediated-device[absent]", since="6.2"),
    Blocker(id="qemu-vfio-platform", component="qemu", where="hw/vfio/platform.c: vfio_platform_vmstate",
            trigger="-device vfio-platform, vfio-amd-xgbe, vfio-calxeda-xgmac (unmigratable vmstate); libvirt "
                    "assigns no platform devices",
            reason=UNREACHABLE, since="6.2"),
    # hw/virtio and net: vhost backends
    Blocker(id="qemu-vhost-log-all", component="qemu", where="hw/virtio/vhost.c: vhost_dev_init",
            trigger="a vhost backend without dirty-page logging: <interface type='vhostuser'>, <disk "
                    "type='vhostuser'> or another vhost-user device whose daemon lacks VHOST_F_LOG_ALL: "
                    "\"Migration disabled: vhost lacks VHOST_F_LOG_ALL feature.\"",
            reason=SOURCE + "; not caught yet: the backend daemon's features are not in the facts",
            since="6.2"),
    Blocker(id="qemu-vhost-user-log-shmfd", component="qemu", where="hw/virtio/vhost-user.c: vhost_user_backend_init",
            trigger="<interface type='vhostuser'>, <disk type='vhostuser'> whose vhost-user daemon lacks "
                    "VHOST_USER_PROTOCOL_F_LOG_SHMFD: \"Migration disabled: vhost-user backend lacks "
                    "VHOST_USER_PROTOCOL_F_LOG_SHMFD feature.\"",
            reason=SOURCE + "; not caught yet: the backend daemon's protocol features are not in the facts",
            since="6.2"),
    Blocker(id="qemu-vhost-vdpa-net", component="qemu", where="net/vhost-vdpa.c: net_vhost_vdpa_init",
            trigger="<interface type='vdpa'>: before 8.2 blocked unless QEMU shadows the virtqueues (vhost-vdpa "
                    "lacks VHOST_F_LOG_ALL); from 8.2 blocked when the device has features the shadow virtqueue "
                    "cannot handle (vhost_vdpa_net_valid_svq_features: \"vdpa svq does not work with features ...\")",
            rule="sriov[vdpa]", since="6.2"),
    Blocker(id="qemu-vhost-user-fs", component="qemu", where="hw/virtio/vhost-user-fs.c: vuf_vmstate",
            trigger="<filesystem type='mount'><driver type='virtiofs'/> (vhost-user-fs-pci): unmigratable vmstate "
                    "until 8.2 (libvirt 9.0 refuses first: \"migration with virtiofs device is not supported\")",
            rule="device-passthrough[virtiofs]", since="6.2", lifted="8.2"),
    Blocker(id="qemu-vhost-user-fs-backend-state", component="qemu",
            where="hw/virtio/vhost-user-fs.c: vuf_check_migration_support",
            trigger="<filesystem><driver type='virtiofs'/> whose virtiofsd cannot transfer its state "
                    "(no --migration-mode, no VHOST_USER_PROTOCOL_F_DEVICE_STATE): pre_save on the source, pre_load "
                    "on the destination (\"Back-end of ... does not support migration through qemu\")",
            reason="not caught yet: virtiofsd's device-state support is not in the facts (the virtiofs rule says "
                   "unverifiable; libvirt 10.6+ refuses its own virtiofsd without migrate-precopy on the source)",
            since="8.2"),
    Blocker(id="qemu-virtio-input-host", component="qemu",
            where="hw/input/virtio-input-host.c: vmstate_virtio_input_host",
            trigger="<input type='passthrough' bus='virtio'><source evdev='/dev/input/eventN'/> "
                    "(virtio-input-host-pci), unmigratable vmstate",
            rule="device-passthrough[input-passthrough]", since="6.2"),
    Blocker(id="qemu-vhost-user-input", component="qemu", where="hw/input/vhost-user-input.c: vmstate_vhost_input",
            trigger="-device vhost-user-input-pci (unmigratable vmstate); libvirt creates no such device",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-vhost-user-vsock", component="qemu", where="hw/virtio/vhost-user-vsock.c: vuv_vmstate",
            trigger="-device vhost-user-vsock-pci (unmigratable vmstate); libvirt's <vsock> is the kernel's "
                    "vhost-vsock, which migrates",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-vhost-user-rng", component="qemu", where="hw/virtio/vhost-user-rng.c: vu_rng_vmstate",
            trigger="-device vhost-user-rng-pci (unmigratable vmstate); libvirt's <rng> is virtio-rng",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-vhost-user-i2c", component="qemu", where="hw/virtio/vhost-user-i2c.c: vu_i2c_vmstate",
            trigger="-device vhost-user-i2c-pci (unmigratable vmstate)", reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-vhost-user-gpio", component="qemu", where="hw/virtio/vhost-user-gpio.c: vu_gpio_vmstate",
            trigger="-device vhost-user-gpio-pci (unmigratable vmstate)", reason=UNREACHABLE, since="7.2"),
    Blocker(id="qemu-vhost-user-scmi", component="qemu", where="hw/virtio/vhost-user-scmi.c: vu_scmi_vmstate",
            trigger="-device vhost-user-scmi-pci (unmigratable vmstate)", reason=UNREACHABLE, since="8.1"),
    Blocker(id="qemu-vdpa-dev", component="qemu", where="hw/virtio/vdpa-dev.c: vmstate_vhost_vdpa_device",
            trigger="-device vhost-vdpa-device-pci (generic vDPA, unmigratable vmstate); libvirt's vDPA NICs and "
                    "disks use vhost-vdpa netdevs and the virtio-blk-vhost-vdpa block driver instead",
            reason=UNREACHABLE, since="8.0"),
    Blocker(id="qemu-virtio-crypto", component="qemu", where="hw/virtio/virtio-crypto.c: vmstate_virtio_crypto",
            trigger="<crypto model='virtio' type='qemu'><backend model='builtin'/> (virtio-crypto-pci), "
                    "unmigratable vmstate",
            reason=RHEL_DEVICES % "CONFIG_VIRTIO_CRYPTO", since="6.2"),
    Blocker(id="qemu-virtio-snd", component="qemu", where="hw/audio/virtio-snd.c: vmstate_virtio_snd_device",
            trigger="<sound model='virtio'> (virtio-sound-pci), unmigratable vmstate",
            rule="unmigratable[virtio-sound]", since="8.2"),
    # hw/display
    Blocker(id="qemu-virgl", component="qemu", where="hw/display/virtio-gpu-base.c: virtio_gpu_base_device_realize",
            trigger="<video><model type='virtio'><acceleration accel3d='yes'/></model></video> (virtio-gpu-gl / "
                    "virgl=on): \"virgl is not yet migratable\"",
            rule="unmigratable[virgl]", since="6.2"),
    Blocker(id="qemu-vhost-user-gpu-virgl", component="qemu",
            where="hw/display/virtio-gpu-base.c: virtio_gpu_base_device_realize",
            trigger="<video><driver name='vhostuser'/><model type='virtio'><acceleration accel3d='yes'/></model>: "
                    "libvirt starts vhost-user-gpu --virgl, the backend offers VIRTIO_GPU_F_VIRGL and "
                    "vhost_user_gpu_device_realize sets virgl: \"virgl is not yet migratable\"",
            rule="device-passthrough[vhost-user-gpu]", since="6.2"),
    Blocker(id="qemu-vhost-user-gpu-state", component="qemu", where="hw/display/vhost-user-gpu.c: "
                                                                 "vhost_user_gpu_class_init",
            trigger="<video><driver name='vhostuser'/> without 3D acceleration: vhost-user-gpu has no vmstate, so "
                    "QEMU does not refuse, but neither the GPU's state nor the daemon's is migrated",
            rule="device-passthrough[vhost-user-gpu]", since="6.2"),
    Blocker(id="qemu-virtio-gpu-rutabaga", component="qemu",
            where="hw/display/virtio-gpu-rutabaga.c: virtio_gpu_rutabaga_realize",
            trigger="-device virtio-gpu-rutabaga-pci; libvirt creates no such device", reason=UNREACHABLE,
            since="8.2"),
    # hw/scsi, hw/misc, backends, hw/usb
    Blocker(id="qemu-vhost-scsi", component="qemu", where="hw/scsi/vhost-scsi.c: vhost_scsi_realize",
            trigger="<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='...'/> "
                    "(vhost-scsi-pci; libvirt never sets migratable=on): \"vhost-scsi does not support migration in "
                    "all cases\"",
            rule="device-passthrough[scsi_host]", since="6.2"),
    Blocker(id="qemu-ivshmem-peer", component="qemu", where="hw/misc/ivshmem.c: ivshmem_common_realize",
            trigger="<shmem name='...'> with role='peer' or no role (ivshmem-plain master=off): \"Migration is "
                    "disabled when using feature 'peer mode' in device 'ivshmem'\" (libvirt also refuses any "
                    "role but 'master'); RHEL 9 builds no ivshmem",
            rule="device-passthrough[shmem]", since="6.2"),
    Blocker(id="qemu-ivshmem-doorbell-master", component="qemu", where="hw/misc/ivshmem.c: ivshmem_common_realize",
            trigger="<shmem name='...' role='master'><model type='ivshmem-doorbell'/><server path='...'/>: libvirt "
                    "sets master only for a shmem without a server (qemuBuildShmemDevProps), so ivshmem-doorbell "
                    "keeps its default master=off and QEMU blocks migration although libvirt lets role='master' pass",
            reason=SOURCE + "; not caught yet: device-passthrough passes role='master' with a <server> (it checks "
                            "only the socket), a rule should deny an ivshmem-doorbell whatever its role",
            since="6.2"),
    Blocker(id="qemu-tpm-emulator-no-state", component="qemu",
            where="backends/tpm/tpm_emulator.c: tpm_emulator_block_migration",
            trigger="<tpm><backend type='emulator'/> with a swtpm lacking PTM_CAP_GET_STATEBLOB / SET_STATEBLOB / "
                    "STOP: \"Migration disabled: TPM emulator does not support migration\"",
            reason=SOURCE + "; not caught yet: swtpm's capabilities are not in the facts (RHEL 9's swtpm has them)",
            since="6.2"),
    Blocker(id="qemu-tpm-passthrough", component="qemu",
            where="backends/tpm/tpm_passthrough.c: tpm_passthrough_handle_device_opts",
            trigger="<tpm><backend type='passthrough'><device path='/dev/tpm0'/>: docs/specs/tpm.rst says migration "
                    "is disabled, but the code adds no blocker: QEMU migrates and the guest lands on another host's "
                    "TPM, its state lost",
            rule="device-passthrough[tpm-passthrough]", since="6.2"),
    Blocker(id="qemu-usb-host", component="qemu", where="hw/usb/host-libusb.c: usb_host_post_load",
            trigger="<hostdev mode='subsystem' type='usb'>: no blocker; after loading, QEMU detaches the device "
                    "and reattaches whatever matches vendor/product or bus/address on the destination (libvirt "
                    "must find it there to start)",
            rule="device-passthrough[usb]", since="6.2"),
    Blocker(id="qemu-usb-serial", component="qemu", where="hw/usb/dev-serial.c: vmstate_usb_serial",
            trigger="<serial type='...'><target type='usb-serial'/></serial> (usb-serial), unmigratable vmstate",
            reason=RHEL_DEVICES % "CONFIG_USB_SERIAL", since="6.2"),
    Blocker(id="qemu-usb-audio", component="qemu", where="hw/usb/dev-audio.c: vmstate_usb_audio",
            trigger="<sound model='usb'> (usb-audio), unmigratable vmstate",
            reason=RHEL_DEVICES % "CONFIG_USB_AUDIO", since="6.2"),
    Blocker(id="qemu-usb-net", component="qemu", where="hw/usb/dev-network.c: vmstate_usb_net",
            trigger="<interface ...><model type='usb-net'/> (usb-net), unmigratable vmstate",
            reason=RHEL_DEVICES % "CONFIG_USB_NETWORK", since="6.2"),
    Blocker(id="qemu-usb-mtp", component="qemu", where="hw/usb/dev-mtp.c: vmstate_usb_mtp",
            trigger="<filesystem type='mount'><driver type='mtp'/> (usb-mtp, libvirt 10.x), unmigratable vmstate",
            reason=RHEL_DEVICES % "CONFIG_USB_MTP", since="6.2"),
    Blocker(id="qemu-usb-uas", component="qemu", where="hw/usb/dev-uas.c: vmstate_usb_uas",
            trigger="-device usb-uas (unmigratable vmstate); libvirt's USB disks are usb-storage",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-usb-wacom", component="qemu", where="hw/usb/dev-wacom.c: vmstate_usb_wacom",
            trigger="-device usb-wacom-tablet (unmigratable vmstate); libvirt's tablet is usb-tablet",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-nvme-emulated", component="qemu", where="hw/nvme/ctrl.c: nvme_vmstate",
            trigger="-device nvme (emulated NVMe controller, unmigratable vmstate); libvirt up to 10.10 creates none",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-9pfs", component="qemu", where="hw/9pfs/9p.c: v9fs_attach",
            trigger="<filesystem type='mount' accessmode='passthrough|mapped|squash'> with the default (path) driver "
                    "(virtio-9p-pci), once the guest mounts it: \"Migration is disabled when VirtFS export path ... "
                    "is mounted in the guest\"",
            reason=RHEL_CONFIGURE % "--disable-virtfs", since="6.2"),
    # block/: image formats and drivers
    Blocker(id="qemu-block-vmdk", component="qemu", where="block/vmdk.c: vmdk_open",
            trigger="<disk><driver type='vmdk'/> (read-only on RHEL 9, whose whitelist opens vmdk read-only): "
                    "\"The vmdk format used by node ... does not support live migration\"",
            reason=SOURCE + "; not caught yet: a storage rule on <driver type> in vmdk, vdi, vhdx, vpc",
            since="6.2"),
    Blocker(id="qemu-block-vdi", component="qemu", where="block/vdi.c: vdi_open",
            trigger="<disk><driver type='vdi'/> (read-only on RHEL 9): \"The vdi format used by node ... does not "
                    "support live migration\"",
            reason=SOURCE + "; not caught yet: a storage rule on <driver type='vdi'>", since="6.2"),
    Blocker(id="qemu-block-vhdx", component="qemu", where="block/vhdx.c: vhdx_open",
            trigger="<disk><driver type='vhdx'/> (read-only on RHEL 9): \"The vhdx format used by node ... does not "
                    "support live migration\"",
            reason=SOURCE + "; not caught yet: a storage rule on <driver type='vhdx'>", since="6.2"),
    Blocker(id="qemu-block-vpc", component="qemu", where="block/vpc.c: vpc_open",
            trigger="<disk><driver type='vpc'/> (read-only on RHEL 9): \"The vpc format used by node ... does not "
                    "support live migration\"",
            reason=SOURCE + "; not caught yet: a storage rule on <driver type='vpc'>", since="6.2"),
    Blocker(id="qemu-block-parallels", component="qemu", where="block/parallels.c: parallels_open",
            trigger="<disk><driver type='parallels'/>: \"The Parallels format used by node ... does not support "
                    "live migration\"",
            reason=RHEL_CONFIGURE % "--disable-parallels", since="6.2"),
    Blocker(id="qemu-block-qcow", component="qemu", where="block/qcow.c: qcow_open",
            trigger="<disk><driver type='qcow'/> (qcow version 1): \"The qcow format used by node ... does not "
                    "support live migration\"",
            reason=RHEL_CONFIGURE % "--disable-qcow1", since="6.2"),
    Blocker(id="qemu-block-vvfat", component="qemu", where="block/vvfat.c: vvfat_open",
            trigger="<disk type='dir'> written by the guest (vvfat read-write): \"The vvfat (rw) format used by "
                    "node ... does not support live migration\"",
            reason=RHEL_CONFIGURE % "--disable-vvfat", since="6.2"),
    Blocker(id="qemu-block-nvme", component="qemu", where="block/nvme.c: nvme_file_open",
            trigger="<disk type='nvme'><source type='pci'><address .../></source>: no QEMU blocker; the destination "
                    "opens the same PCI NVMe controller through VFIO, which must exist and be free there",
            reason="only with --unsafe (libvirt's qemuMigrationSrcIsSafe calls an NVMe disk unsafe otherwise), "
                   "which the hook cannot see; not caught yet: the controller's PCI address on the destination",
            since="6.2"),
    # ui, dump, migration core, plugins
    Blocker(id="qemu-vdagent", component="qemu", where="ui/vdagent.c: vdagent_chr_open",
            trigger="<channel type='qemu-vdagent'> (QEMU's built-in spice vdagent): \"The vdagent chardev doesn't "
                    "yet support migration\"",
            rule="unmigratable[qemu-vdagent]", since="6.2"),
    Blocker(id="qemu-dump-in-progress", component="qemu", where="dump/dump.c: qmp_dump_guest_memory",
            trigger="a dump-guest-memory in progress (virsh dump --memory-only); libvirt's domain job lock "
                    "refuses the migration first",
            reason=UNREACHABLE, since="6.2"),
    Blocker(id="qemu-postcopy-userfault", component="qemu",
            where="migration/postcopy-ram.c: postcopy_ram_supported_by_host",
            trigger="virsh migrate --postcopy to a destination without usable userfaultfd (or without userfault "
                    "support for hugetlbfs-backed guest memory): \"userfaultfd not available\", \"Userfault on this "
                    "host does not support huge pages\"",
            reason="only with flag --postcopy, which the hook cannot see", since="6.2"),
    Blocker(id="qemu-plugin-time-control", component="qemu",
            where="plugins/api-system.c: qemu_plugin_request_time_control",
            trigger="a TCG plugin that takes time control (-plugin ...): \"TCG plugin time control does not support "
                    "migration\"",
            reason=UNREACHABLE, since="9.0"),
    Blocker(id="qemu-remote-proxy", component="qemu", where="hw/remote/proxy.c: pci_proxy_dev_realize",
            trigger="-device x-pci-proxy-dev (multi-process QEMU): \"... does not support migration\"",
            reason=UNREACHABLE, since="6.2"),
    # s390x, aarch64, ppc64
    Blocker(id="qemu-s390-pv", component="qemu", where="hw/s390x/s390-virtio-ccw.c: s390_machine_protect",
            trigger="<launchSecurity type='s390-pv'/> once the guest switches to protected mode: \"protected VMs "
                    "are currently not migratable\"",
            rule="confidential-computing[s390-pv]", since="6.2"),
    Blocker(id="qemu-s390-zpci", component="qemu", where="hw/s390x/s390-pci-bus.c: s390_pci_device_vmstate",
            trigger="on s390x, any device on a PCI address (<address type='pci'> with <zpci>, a virtio-*-pci device "
                    "or <hostdev type='pci'>): QEMU adds a zpci device whose vmstate is unmigratable",
            reason=SOURCE + "; not caught yet: only the <hostdev> case is device-passthrough[pci], a PCI-addressed "
                            "virtio device on s390x is not",
            since="6.2"),
    Blocker(id="qemu-arm-vgicv3", component="qemu", where="hw/intc/arm_gicv3_kvm.c: kvm_arm_gicv3_realize",
            trigger="<features><gic version='3'/> (aarch64) on a host kernel without vGICv3 register access: \"This "
                    "operating system kernel does not support vGICv3 migration\"",
            reason="not caught yet: a host kernel condition (RHEL 9's kernels have the access) the facts do not hold",
            since="6.2"),
    Blocker(id="qemu-arm-vits", component="qemu", where="hw/intc/arm_gicv3_its_kvm.c: kvm_arm_its_realize",
            trigger="an aarch64 virt guest with the in-kernel ITS on a kernel without ITS register access: \"This "
                    "operating system kernel does not support vITS migration\"",
            reason="not caught yet: a host kernel condition (RHEL 9's kernels have the access) the facts do not hold",
            since="6.2"),
    Blocker(id="qemu-arm-vgicv2", component="qemu", where="hw/intc/arm_gic_kvm.c: kvm_arm_gic_realize",
            trigger="<features><gic version='2'/> (aarch64) on a kernel that cannot save the vGICv2 state: \"This "
                    "operating system kernel does not support vGICv2 migration\"",
            reason="not caught yet: a host kernel condition (RHEL 9's kernels have the access) the facts do not hold",
            since="6.2"),
    Blocker(id="qemu-arm-mte", component="qemu", where="target/arm/kvm.c: kvm_arm_enable_mte",
            trigger="-machine virt,mte=on under KVM: \"Live migration disabled due to MTE enabled\"; libvirt sets "
                    "no mte",
            reason=UNREACHABLE, since="8.1"),
    Blocker(id="qemu-ppc-pef", component="qemu", where="hw/ppc/pef.c: kvmppc_svm_init",
            trigger="a pseries guest with a pef-guest confidential-guest-support object (POWER secure VM)",
            reason="not in RHEL 9 (arch or build option: RHEL 9 ships no ppc64le KVM)", since="6.2"),
    Blocker(id="qemu-spapr-fwnmi", component="qemu", where="hw/ppc/spapr_events.c: spapr_mce_req_event",
            trigger="a pseries guest handling a machine check through FWNMI (blocked until the guest's handler "
                    "returns)",
            reason="not in RHEL 9 (arch or build option: RHEL 9 ships no ppc64le KVM)", since="6.2"),
    Blocker(id="qemu-ram-alloc-host", component="qemu", where="system/physmem.c: ram_block_add",
            trigger="guest <memory> the destination host cannot back: \"cannot set up guest memory 'pc.ram': Cannot "
                    "allocate memory\" when QEMU starts there (softmmu/physmem.c before 8.0)",
            rule="memory-size[host]", since="6.2"),
    Blocker(id="qemu-hostmem-bind-strict", component="qemu", where="backends/hostmem.c: host_memory_backend_memory_complete",
            trigger="<numatune><memory mode='strict' nodeset=...> (or a <memnode>) whose host nodes cannot hold the "
                    "guest's memory there: mbind() to the nodes, then preallocation or the first touch fails "
                    "(\"Insufficient free host memory pages available to allocate guest RAM\", or the kernel's OOM)",
            rule="numa-pinning[memory]", since="6.2"),
)
