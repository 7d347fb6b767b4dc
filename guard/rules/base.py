"""The rule record and the context every rule receives."""
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from ..domain import Domain
from ..facts.model import HostFacts
from ..findings import WARN, finding
from ..fingerprint import Fingerprint, fingerprint_of


@dataclass(frozen=True)
class Options:
    """The few policy values that change what a rule detects (not what is done about it)."""

    memory_limit_bytes: int = 1 << 40
    bandwidth_bytes_per_s: Optional[float] = None
    max_downtime_s: Optional[float] = None
    dirty_rate_bytes_per_s: Optional[float] = None  # measured by preflight; None in the hook


@dataclass(frozen=True)
class Context:
    domain: Domain
    dest: Optional[HostFacts]
    source: Optional[Fingerprint]
    options: Options = field(default_factory=Options)
    connection: Optional[str] = None  # "system" | "session": the libvirt connection the check serves
    source_connection: Optional[str] = None

    @property
    def dest_fingerprint(self):
        return fingerprint_of(self.dest) if self.dest is not None else None


@dataclass(frozen=True)
class Rule:
    """A declarative rule record (ansible-lint style): the registry holds one per rule id."""

    id: str
    title: str
    limitation: str  # the RHEL 9 wording (or origin) this rule enforces
    checks: str  # what it looks at, one sentence for `rules` and the docs
    default: str  # default action, as the catalogue states it
    strict: str
    remedy: str
    codes: Tuple[str, ...]
    check: Callable  # (Context) -> iterable of Finding
    needs_dest: bool = False  # needs destination facts; else only the domain XML
    needs_source: bool = False  # needs the source fingerprint


def unverifiable(rule_id, message, **evidence):
    """A check that could not run for lack of facts: reported, never guessed."""
    return finding("unverifiable", rule_id, WARN, message,
                   "refresh the destination's facts (`migration-guard facts collect`) or stamp the source "
                   "fingerprint (`migration-guard stamp`)", **evidence)


def machine_family(machine):
    """q35, i440fx, or the machine name itself: domcapabilities differ per family."""
    if not machine:
        return None
    if "q35" in machine:
        return "q35"
    if machine == "pc" or machine.startswith("pc-i440fx") or machine.startswith("pc-0") or machine.startswith("pc-1"):
        return "i440fx"
    return machine


def domcaps_for(domain, facts):
    """The destination's domcapabilities matching the guest's virt type, arch and machine
    family; a document of the same virt type and arch if no family matches; else None."""
    candidates = [d for d in facts.domcaps
                  if d.virt_type == domain.virt_type and (d.arch is None or domain.arch is None or d.arch == domain.arch)]
    family = machine_family(domain.machine)
    for caps in candidates:
        if machine_family(caps.machine) == family:
            return caps
    return candidates[0] if candidates else None
