"""The one decision: `decide(inputs) -> Outcome`. Pure.

The hook, `check` and `preflight` only gather Inputs (the parsed guest, destination facts
or why they are missing, source facts if the caller has them, config, bypass state, the
clock) and write the Outcome out; they cannot disagree because none of them decides.
Nothing here reads a file, the clock, the environment or libvirt.
"""
from ..records import struct
from ..rules.base import Context, Options
from ..rules.findings import DENY
from . import policy
from .engine import evaluate

EXIT_ACCEPT, EXIT_REFUSE = 0, 1

# domain: guard.guest.domain.Domain; dest: HostFacts or None, with facts_problem saying why not;
# source: a Fingerprint the caller holds (check --source-facts, preflight), else the one the
# guest carries is used; bypass: guard.bypass.Bypass or None, bypass_note: why a bypass
# file was ignored; now: seconds since the epoch; connection / source_connection: "system"
# or "session" when known; dirty_rate: bytes/s measured by preflight; probe: what the
# destination itself said at decision time (guard.facts.model.Probe, gathered by guard.facts.probe),
# None where nobody could look (preflight, check without --probe); source_state: what libvirt
# refuses on the source before it asks the destination (guard.rules.source_refusal.SourceState),
# which only the pre-flight, run on the source, knows; facts_age: seconds since dest was
# collected, by the clock of the boot it was collected in (the hook), else from now and its
# wall-clock collection time.
Inputs = struct("Inputs", "domain dest config now facts_problem source connection source_connection "
                              "dirty_rate bypass bypass_note probe source_state facts_age",
                    defaults=(None, None, None, None, None, None, None, None, None, None))


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
        """The JSON decision of `check --format json` and preflight (docs/design.md section 6)."""
        data = {"decision": self.decision, "mode": self.mode, "profile": self.profile,
                "domain": {"name": self.domain_name, "uuid": self.domain_uuid},
                "findings": [f.to_dict() for f in self.findings], "notes": list(self.notes)}
        if self.bypass is not None:
            data["bypass"] = self.bypass.to_dict()
        if self.reason is not None:
            data["reason"] = self.reason
        return data


def options_from(config, dirty_rate=None):
    return Options(memory_limit_bytes=config.memory_limit, bandwidth_bytes_per_s=config.bandwidth,
                   max_downtime_s=config.max_downtime, dirty_rate_bytes_per_s=dirty_rate)


def decide(inputs):
    config, domain, dest = inputs.config, inputs.domain, inputs.dest
    source, origin, source_problem = policy.source_of(inputs.source, domain)
    # Records are built by name (a length-checked call in C): an added field cannot shift others.
    # A fingerprint from the guest's metadata is trusted only when a fleet key is configured:
    # the hook and `check` then keep it only if its signature and age verified (guard.services.incoming.authenticated).
    trusted = origin == "given" or (origin == "metadata" and config.fingerprint_key is not None)
    ctx = Context(domain=domain, dest=dest, source=source, options=options_from(config, inputs.dirty_rate),
                  connection=inputs.connection, source_connection=inputs.source_connection, probe=inputs.probe,
                  source_trusted=trusted, source_state=inputs.source_state)
    findings = evaluate(ctx, inputs.facts_problem, source_problem)
    verdict, kept, notes = policy.apply(domain, findings, config, inputs.now)
    if inputs.bypass_note:
        notes.append(inputs.bypass_note)
    if dest is None and inputs.facts_problem is not None and verdict != "deny":
        # Facts that cannot be trusted (missing, refused, malformed, stale): the rules that
        # need them did not run, so an allow here would be a guess that turns their denies
        # into warnings. An error, decided by on_error like any other failure to decide. A
        # deny of the rules that need no facts stands (refused whatever the facts say).
        return _failed_with(config, "destination facts unusable: %s; run `migration-guard facts collect` "
                                    "(the collector service keeps them fresh)" % inputs.facts_problem,
                            domain.name, domain.uuid, kept, notes, origin, source_problem, inputs.facts_problem)
    bypass = None
    if policy.bypassed(verdict, inputs.bypass):
        verdict, bypass = "bypassed", inputs.bypass
    facts_age = inputs.facts_age
    if facts_age is None and dest is not None and dest.collected_at is not None:
        facts_age = inputs.now - dest.collected_at
    return Outcome(decision=verdict, exit_code=EXIT_REFUSE if verdict == "deny" else EXIT_ACCEPT, mode=config.mode,
                   profile=config.profile, domain_name=domain.name, domain_uuid=domain.uuid, findings=kept,
                   notes=tuple(notes), bypass=bypass, fingerprint=origin, fingerprint_problem=source_problem,
                   facts_problem=inputs.facts_problem, facts_age=round(facts_age, 1) if facts_age is not None else None,
                   reason=None)


def failed(config, reason, domain_name=None, domain_uuid=None):
    """The Outcome when no decision could be made (bad config or XML, a timeout, a bug, a
    signal): on_error says whether the migration goes ahead."""
    return _failed_with(config, reason, domain_name, domain_uuid)


def _failed_with(config, reason, domain_name, domain_uuid, findings=(), notes=(), fingerprint=None,
                 fingerprint_problem=None, facts_problem=None):
    """An error Outcome, with what was found before it was one (findings, notes)."""
    refuse = config.on_error != "allow"
    return Outcome(decision="error", exit_code=EXIT_REFUSE if refuse else EXIT_ACCEPT, mode=config.mode,
                   profile=config.profile, domain_name=domain_name, domain_uuid=domain_uuid, findings=tuple(findings),
                   notes=tuple(notes), bypass=None, fingerprint=fingerprint, fingerprint_problem=fingerprint_problem,
                   facts_problem=facts_problem, facts_age=None, reason=reason)
