"""The explicit rule registry: one record per rule, in catalogue order."""
from . import (
    cpu,
    defined_guest,
    device_support,
    devices,
    host_identity,
    host_resource,
    memory,
    migration_flags,
    network,
    numa,
    platform,
    session,
    source_fingerprint,
    source_refusal,
    storage,
    unmigratable,
    unverifiable,
)

_CHECKING = (
    (session.RULE, source_refusal.RULE, migration_flags.RULE)
    + devices.RULES
    + (numa.RULE, cpu.RULE, unmigratable.RULE, device_support.RULE, source_fingerprint.RULE)
    + host_identity.RULES
    + platform.RULES
    + network.RULES
    + (storage.RULE, host_resource.RULE, defined_guest.RULE, memory.RULE)
)
# unverifiable's codes are derived from the rules above (guard.rules.unverifiable.record).
REGISTRY = _CHECKING + (unverifiable.record(_CHECKING),)

BY_ID = {rule.id: rule for rule in REGISTRY}
# The rules whose refusals hold when only the definition moves (`virsh migrate --offline`).
OFFLINE_RULES = frozenset(rule.id for rule in REGISTRY if rule.offline)


def all_codes():
    return {code.code for rule in REGISTRY for code in rule.codes}


def suggestion(name):
    """" (did you mean numa-pinning?)" for a misspelt rule id or code, or ""."""
    import difflib  # only on the error path
    known = sorted(set(BY_ID) | all_codes())
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return " (did you mean %s?)" % " or ".join(close) if close else ""


def known_rule(name):
    """True for a rule id, a declared code, or a rule id with a variant it could report."""
    return name in BY_ID or name in all_codes()
