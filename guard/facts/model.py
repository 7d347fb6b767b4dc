"""Host facts: a versioned, JSON-serialisable picture of one hypervisor.

Built from libvirt's own documents (see build.py) so the same model serves the
local collector, a remote pre-flight and tests on real documents. Everything is
frozen; sequences are tuples so that a HostFacts compares and hashes by value.
"""
import dataclasses
from dataclasses import dataclass
from typing import Optional, Tuple

from ..errors import InputError

SCHEMA_VERSION = 1


def _plain(value):
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _freeze(value):
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


class _Record:
    """from_dict/to_dict for the dataclasses below; NESTED names fields holding records."""

    NESTED = {}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise InputError("facts: %s must be an object" % cls.__name__)
        known = cls._names()
        values = {}
        for key, value in data.items():
            if key not in known:
                continue  # written by a newer minor version: ignore, schema guards the rest
            nested = cls.NESTED.get(key)
            if nested is not None and value is not None:
                if isinstance(value, (list, tuple)):
                    value = tuple(nested.from_dict(item) for item in value)
                else:
                    value = nested.from_dict(value)
            else:
                value = _freeze(value)
            values[key] = value
        try:
            return cls(**values)
        except TypeError as exc:
            raise InputError("facts: %s is incomplete: %s" % (cls.__name__, exc))

    @classmethod
    def _names(cls):
        """Field names, computed once per class (dataclasses.fields is slow on the hook's path)."""
        names = cls.__dict__.get("_field_names")
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(cls))
            setattr(cls, "_field_names", names)
        return names

    def to_dict(self):
        """A plain dict for JSON. Records are immutable, so each one converts once and keeps
        the result: the collector re-serialises the same domcapabilities every refresh.
        Callers must not modify the returned dict."""
        cached = self.__dict__.get("_plain_dict")
        if cached is not None:
            return cached
        plain = {name: _plain(getattr(self, name)) for name in self._names()}
        object.__setattr__(self, "_plain_dict", plain)
        return plain


@dataclass(frozen=True)
class HostCpu(_Record):
    arch: Optional[str] = None
    model: Optional[str] = None
    vendor: Optional[str] = None
    signature: Optional[str] = None  # "family/model/stepping"
    microcode: Optional[str] = None
    features: Tuple[str, ...] = ()
    page_sizes: Tuple[int, ...] = ()  # bytes, every page size the host offers
    sockets: Optional[int] = None
    cores: Optional[int] = None
    threads: Optional[int] = None


@dataclass(frozen=True)
class NumaCell(_Record):
    id: int
    memory_bytes: int
    cpus: Tuple[int, ...] = ()
    pages: Tuple[Tuple[int, int], ...] = ()  # (page size in bytes, pages reserved)

    def pages_of(self, size):
        return sum(count for page_size, count in self.pages if page_size == size)


@dataclass(frozen=True)
class Machine(_Record):
    name: str
    canonical: Optional[str] = None  # set when name is an alias ("pc" -> "pc-i440fx-7.2")


@dataclass(frozen=True)
class GuestSupport(_Record):
    """One <guest><arch> of virsh capabilities, per domain type."""

    arch: str
    virt_type: str
    emulator: Optional[str] = None
    machines: Tuple[Machine, ...] = ()
    NESTED = {"machines": Machine}

    def machine_names(self):
        return {m.name for m in self.machines} | {m.canonical for m in self.machines if m.canonical}


@dataclass(frozen=True)
class CpuModel(_Record):
    name: str
    usable: Optional[str] = None  # yes | no | unknown
    vendor: Optional[str] = None
    canonical: Optional[str] = None
    blockers: Optional[Tuple[str, ...]] = None  # None: this libvirt does not report blockers


@dataclass(frozen=True)
class DomainCaps(_Record):
    """One virsh domcapabilities document: a (virt type, arch, machine) triple."""

    virt_type: str
    arch: Optional[str] = None
    machine: Optional[str] = None
    emulator: Optional[str] = None
    cpu_modes: Tuple[Tuple[str, bool], ...] = ()
    host_model: Optional[str] = None
    host_model_vendor: Optional[str] = None
    host_model_required: Tuple[str, ...] = ()
    host_model_disabled: Tuple[str, ...] = ()
    cpu_models: Tuple[CpuModel, ...] = ()
    firmware: Optional[Tuple[str, ...]] = None  # None: no <enum name='firmware'> at all
    loaders: Tuple[str, ...] = ()
    loader_secure: Tuple[str, ...] = ()
    sev: bool = False
    launch_security: Tuple[str, ...] = ()
    NESTED = {"cpu_models": CpuModel}

    def mode_supported(self, mode):
        for name, supported in self.cpu_modes:
            if name == mode:
                return supported
        return None

    def cpu_model(self, name):
        for model in self.cpu_models:
            if model.name == name:
                return model
        return None


@dataclass(frozen=True)
class Bios(_Record):
    vendor: Optional[str] = None
    version: Optional[str] = None
    date: Optional[str] = None
    release: Optional[str] = None
    system_manufacturer: Optional[str] = None
    system_product: Optional[str] = None


@dataclass(frozen=True)
class Network(_Record):
    name: str
    forward_mode: Optional[str] = None


@dataclass(frozen=True)
class Mdev(_Record):
    uuid: str
    type: Optional[str] = None
    parent: Optional[str] = None


@dataclass(frozen=True)
class MdevType(_Record):
    id: str
    parent: Optional[str] = None
    name: Optional[str] = None
    available: int = 0


@dataclass(frozen=True)
class LocalFacts(_Record):
    """What the collector reads from the host itself, beyond libvirt's documents."""

    kernel_cmdline: Optional[str] = None
    microcode: Optional[str] = None
    smt: Optional[str] = None  # on | off | forceoff | notsupported
    nested: Optional[bool] = None
    vulnerabilities: Tuple[Tuple[str, str], ...] = ()
    boot_mode: Optional[str] = None  # uefi | legacy
    firmware_files: Tuple[str, ...] = ()


@dataclass(frozen=True)
class HostFacts(_Record):
    schema: int = SCHEMA_VERSION
    hostname: Optional[str] = None
    host_uuid: Optional[str] = None
    collected_at: Optional[float] = None  # seconds since the epoch
    libvirt_version: Optional[str] = None
    qemu_version: Optional[str] = None
    kernel_release: Optional[str] = None
    cpu: HostCpu = dataclasses.field(default_factory=HostCpu)
    cells: Tuple[NumaCell, ...] = ()
    memory_bytes: Optional[int] = None
    guests: Tuple[GuestSupport, ...] = ()
    domcaps: Tuple[DomainCaps, ...] = ()
    bios: Optional[Bios] = None
    networks: Tuple[Network, ...] = ()
    mdevs: Tuple[Mdev, ...] = ()
    mdev_types: Tuple[MdevType, ...] = ()
    local: Optional[LocalFacts] = None
    NESTED = {"cpu": HostCpu, "cells": NumaCell, "guests": GuestSupport, "domcaps": DomainCaps,
              "bios": Bios, "networks": Network, "mdevs": Mdev, "mdev_types": MdevType, "local": LocalFacts}

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise InputError("facts: not a JSON object")
        if data.get("schema") != SCHEMA_VERSION:
            raise InputError("facts: schema version %r, this guard reads %d (re-run the collector)"
                             % (data.get("schema"), SCHEMA_VERSION))
        return super(HostFacts, cls).from_dict(data)

    def cpu_ids(self):
        return {cpu for cell in self.cells for cpu in cell.cpus}

    def cell(self, node):
        for cell in self.cells:
            if cell.id == node:
                return cell
        return None

    def guest_support(self, arch, virt_type):
        return [g for g in self.guests if g.arch == arch and g.virt_type == virt_type]

    def network(self, name):
        for network in self.networks:
            if network.name == name:
                return network
        return None

    @property
    def microcode(self):
        if self.local is not None and self.local.microcode:
            return self.local.microcode
        return self.cpu.microcode
