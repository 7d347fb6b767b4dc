"""The pre-flight's question to a destination, and the destination's answer: decide these
guests as this host's hook would.

`preflight --dest-shell CMD` runs `CMD migration-guard check --probe --batch` on each
destination and writes one request to its stdin:

    {"version": 1, "source_facts": {...HostFacts...} | null, "source_connection": "system",
     "guests": [{"xml": "<domain>...", "dirty_rate": 123.0 | null,
                 "source_state": {"flags": [...], "disks": [[target, path, storage, fs]], "snapshots": 0}}]}

The destination decides each guest with the Inputs its hook would build (incoming_inputs,
which guard.hook calls too: its config, its cached facts, its bypass, the probe run there, now),
plus the source's facts and state the pre-flight read on the source, and prints one JSON
decision a line (docs/design.md section 6), in the request's order. A guest whose XML is
unusable is an `error` line of its own. The pre-flight reads the lines back into Outcomes (outcome_from_dict).
"""
import json
import os

from ..bypass import read_bypass
from ..decide.core import Inputs, Outcome, failed
from ..errors import GuardError, InputError
from ..facts.cache import boot_clock, facts_age, load_cache
from ..facts.probe import gather as gather_probe
from ..guest.domain import parse_domain
from ..guest.metadata import verify_domain
from ..output.report import decision_json, dumps
from ..rules.findings import Finding
from ..rules.source_refusal import SourceDisk, SourceState
from ..runtime.trusted import fleet_keys

PROTOCOL = 1
MAX_REQUEST_BYTES = 256 * 1024 * 1024  # 16 MiB XMLs (the hook's cap), many guests


def authenticated(domain, config, now):
    """With a fleet key configured, the domain with its fingerprint kept only if signed with
    the current or the previous key and issued within max_age of `now`; else dropped, and
    why (guard.guest.metadata.verify_domain): source-fingerprint[...] denies it. Its waivers are
    marked verified only if signed for this guest with the fleet key and in force. The hook
    (incoming_inputs) and `check` both call this, so they verify alike."""
    if not config.fingerprint_key:
        return domain
    keys, problem = fleet_keys(config) if domain.fingerprint is not None or domain.waivers else ((), None)
    domain = verify_domain(domain, keys, now, config.fingerprint_max_age, problem)
    if domain.waivers:  # guard.guest.waiver loads only for the guests that carry one
        from ..guest.waiver import verify_waivers
        domain = domain._replace(waivers=verify_waivers(domain.waivers, domain.uuid, keys, now))
    return domain


def incoming_inputs(domain, config, now, **given):
    """The Inputs this host's hook decides an incoming guest by: the guest (its fingerprint
    verified with the fleet key and its age), this host's cached facts, its bypass, and what the probe
    sees here now. `check --probe --batch` decides the pre-flight's guests with it, so
    that the pre-flight's answer is the hook's. given: the caller's own Inputs fields (the
    pre-flight's source fingerprint, source state, dirty rate)."""
    domain = authenticated(domain, config, now)
    # The facts' age by the boot they were collected in and its clock, not the wall clock.
    boot = boot_clock()
    facts, problem = load_cache(config.paths.facts, config.max_facts_age, boot)
    bypass, bypass_note = read_bypass(config.paths.bypass, now)
    # A hook run by a non-root daemon serves a session connection (docs/design.md section 1).
    connection = "system" if os.geteuid() == 0 else "session"
    return Inputs(domain, facts, config, now, facts_problem=problem, connection=connection,
                  bypass=bypass, bypass_note=bypass_note, probe=gather_probe(domain, config.timeout),
                  facts_age=facts_age(facts, boot) if facts is not None else None, **given)


def state_to_dict(state):
    return None if state is None else {"flags": list(state.flags), "disks": [list(d) for d in state.disks],
                                       "snapshots": state.snapshots}


def state_from_dict(data):
    if data is None:
        return None
    try:
        disks = tuple(SourceDisk(*[None if v is None else str(v) for v in disk][:4]) for disk in data.get("disks", ()))
        snapshots = data.get("snapshots")
        return SourceState(flags=tuple(str(f) for f in data.get("flags", ())), disks=disks,
                           snapshots=int(snapshots) if snapshots is not None else None)
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputError("source_state: %s" % exc)


def request(guests, source_facts=None, source_connection=None):
    """The request's bytes. guests: [(xml text, dirty rate or None, SourceState or None)]."""
    return json.dumps({"version": PROTOCOL, "source_connection": source_connection,
                       "source_facts": source_facts.to_dict() if source_facts is not None else None,
                       "guests": [{"xml": xml, "dirty_rate": rate, "source_state": state_to_dict(state)}
                                  for xml, rate, state in guests]}).encode()


def _read_request(stream):
    data = stream.read(MAX_REQUEST_BYTES + 1)
    if len(data) > MAX_REQUEST_BYTES:
        raise InputError("request over %d bytes" % MAX_REQUEST_BYTES)
    try:
        body = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError("request is not JSON: %s" % exc)
    if not isinstance(body, dict) or not isinstance(body.get("guests"), list):
        raise InputError("request has no list of guests")
    if body.get("version") != PROTOCOL:
        raise InputError("request protocol %r, this guard speaks %d" % (body.get("version"), PROTOCOL))
    return body


def decide_batch(stdin, stdout, config, now):
    """Decide every guest of the request on stdin as this host's hook would; one JSON line
    each on stdout. Exit 0 once every guest has its line, whatever they say."""
    from ..decide.core import decide
    from ..facts.fingerprint import fingerprint_of
    from ..facts.model import HostFacts
    body = _read_request(stdin)
    source = None
    if body.get("source_facts") is not None:
        source = fingerprint_of(HostFacts.from_dict(body["source_facts"]))
    connection = body.get("source_connection")
    for index, guest in enumerate(body["guests"]):
        what = "guest %d of the request" % (index + 1)
        try:
            if not isinstance(guest, dict) or not isinstance(guest.get("xml"), str):
                raise InputError("%s has no XML" % what)
            domain = parse_domain(guest["xml"].encode("utf-8"), what)
            rate = guest.get("dirty_rate")
            inputs = incoming_inputs(domain, config, now, source=source, source_connection=connection,
                                     dirty_rate=float(rate) if rate is not None else None,
                                     source_state=state_from_dict(guest.get("source_state")))
            outcome = decide(inputs)
        except (GuardError, TypeError, ValueError) as exc:
            outcome = failed(config, str(exc))
        stdout.write(dumps(decision_json(outcome)) + "\n")
    stdout.flush()
    return 0


def _finding(data):
    evidence = data.get("evidence") or {}
    return Finding(data.get("rule"), data.get("code"), data.get("action"), data.get("message") or "",
                   data.get("remedy") or "", tuple(sorted(evidence.items())), data.get("action"))


def outcome_from_dict(data, config):
    """An Outcome from a destination's JSON decision. What the decision JSON does not carry
    (where the fingerprint came from, the facts' age) is None; the exit code follows the
    decision as the hook's would."""
    from ..bypass import Bypass
    try:
        decision = data["decision"]
        domain = data.get("domain") or {}
        given = data.get("bypass")
        bypass = Bypass(given.get("created"), given.get("until"), given.get("reason"), given.get("by")) if given else None
        return Outcome(decision, 1 if decision == "deny" or (decision == "error" and config.on_error != "allow")
                       else 0, data.get("mode"), data.get("profile"), domain.get("name"), domain.get("uuid"),
                       tuple(_finding(f) for f in data.get("findings", ())), tuple(data.get("notes", ())), bypass,
                       None, None, None, None, data.get("reason"))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InputError("not a decision: %s" % exc)
