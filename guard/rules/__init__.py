"""The explicit rule registry: one record per rule, in catalogue order."""
from . import cpu, devices, host_identity, memory, network, numa, platform, session, storage, unverifiable

REGISTRY = (
    (session.RULE,)
    + devices.RULES
    + (numa.RULE, cpu.RULE)
    + host_identity.RULES
    + platform.RULES
    + network.RULES
    + (storage.RULE, memory.RULE, unverifiable.RULE)
)

BY_ID = {rule.id: rule for rule in REGISTRY}


def all_codes():
    return {code.code for rule in REGISTRY for code in rule.codes}
