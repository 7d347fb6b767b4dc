"""The one decision: `decide(inputs) -> Outcome`. Pure.

The hook, `check` and `preflight` only gather Inputs (the parsed guest, destination facts
or why they are missing, source facts if the caller has them, config, bypass state, the
clock) and write the Outcome out; they cannot disagree because none of them decides.
Nothing here reads a file, the clock, the environment or libvirt.
"""
from . import policy
from .engine import evaluate
from .findings import DENY
from .records import struct
from .rules.base import Context, Options

EXIT_ACCEPT, EXIT_REFUSE = 0, 1

# domain: guard.domain.Domain; dest: HostFacts or None, with facts_problem saying why not;
# source: a Fingerprint the caller holds (check --source-facts, preflight), else the one the
# guest carries is used; bypass: guard.bypass.Bypass or None, bypass_note: why a bypass
# file was ignored; now: seconds since the epoch; connection / source_connection: "system"
# or "session" when known; dirty_rate: bytes/s measured by preflight; probe: what the
# destination itself said at decision time (guard.facts.model.Probe, gathered by guard.probe),
# None where nobody could look (preflight, check without --probe); source_state: what libvirt
# refuses on the source before it asks the destination (guard.rules.source_refusal.SourceState),
# which only the pre-flight, run on the source, knows.
Inputs = struct("Inputs", "domain dest config now facts_problem source connection source_connection "
                              "dirty_rate bypass bypass_note probe source_state",
                    defaults=(None, None, None, None, None, None, None, None, None))


class Outcome(struct("Outcome", "decision exit_code mode profile domain_name domain_uuid findings notes "
                                    "bypass fingerprint fingerprint_problem facts_problem facts_age reason")):
    """decision: allow | deny | would-deny | bypassed | error. fingerprint: where the
    source fingerprint came from ("metadata" | "given") or None, with fingerprint_problem
    saying why. reason: for an error, what went wrong."""

    __slots__ = ()

    @property
    def denies(self):
        return tuple(f for f in self.findings if f.action == DENY)

    def to_dict(self):
        """The JSON decision of `check --format json` and preflight (DESIGN.md 7)."""
        data = {"decision": self.decision, "mode": self.mode, "profile": self.profile,
                "domain": {"name": self.domain_name, "uuid": self.domain_uuid},
                "findings": [f.to_dict() for f in self.findings], "notes": list(self.notes)}
        if self.bypass is not None:
            data["bypass"] = self.bypass.to_dict()
        if self.reason is not None:
            data["reason"] = self.reason
        return data


def options_from(config, dirty_rate=None):
    return Options.from_tuple((config.memory_limit, config.bandwidth, config.max_downtime, dirty_rate))


def decide(inputs):
    config, domain, dest = inputs.config, inputs.domain, inputs.dest
    source, origin, source_problem = policy.source_of(inputs.source, domain)
    # Records of every decision are built positionally (from_tuple: every field, in order).
    # A fingerprint from the guest's metadata is trusted only when a fleet key is configured:
    # the hook and `check` then keep it only if its signature and age verified (guard.trusted.authenticated).
    trusted = origin == "given" or (origin == "metadata" and config.fingerprint_key is not None)
    ctx = Context.from_tuple((domain, dest, source, options_from(config, inputs.dirty_rate), inputs.connection,
                              inputs.source_connection, inputs.probe, trusted, inputs.source_state))
    findings = evaluate(ctx, inputs.facts_problem, source_problem)
    verdict, kept, notes = policy.apply(domain, findings, config, inputs.now)
    if inputs.bypass_note:
        notes.append(inputs.bypass_note)
    bypass = None
    if policy.bypassed(verdict, inputs.bypass):
        verdict, bypass = "bypassed", inputs.bypass
    facts_age = None
    if dest is not None and dest.collected_at is not None:
        facts_age = round(inputs.now - dest.collected_at, 1)
    return Outcome.from_tuple((verdict, EXIT_REFUSE if verdict == "deny" else EXIT_ACCEPT, config.mode,
                               config.profile, domain.name, domain.uuid, kept, tuple(notes), bypass, origin,
                               source_problem, inputs.facts_problem, facts_age, None))


def failed(config, reason, domain_name=None, domain_uuid=None):
    """The Outcome when no decision could be made (bad config or XML, a timeout, a bug, a
    signal): on_error says whether the migration goes ahead."""
    refuse = config.on_error != "allow"
    return Outcome("error", EXIT_REFUSE if refuse else EXIT_ACCEPT, config.mode, config.profile, domain_name,
                   domain_uuid, (), (), None, None, None, None, None, reason)
