"""`migration-guard config check [--config FILE] [--show]`: validate a policy file and show
the policy in effect (every key, and every rule code's action after the profile)."""
import datetime
import json
import sys

from ..config import DEFAULT_PATH, compile_config, config_path, load_config
from ..rules import REGISTRY
from ..units import decimal_size_note, format_duration


def register(sub):
    parser = sub.add_parser("config", help="validate the policy file, show the policy in effect")
    config_sub = parser.add_subparsers(dest="config_command", metavar="ACTION", parser_class=type(parser))
    config_sub.required = True
    check = config_sub.add_parser(
        "check", help="validate a config file (exit 0 valid, 2 invalid)",
        description="Validate a policy file as the hook reads it: exit 0 and 'config OK: PATH', or exit 2 with "
                    "the file, line and key at fault. --show prints the effective policy: every key with its "
                    "value, and the action of every rule code after the profile and [rules] overrides.")
    check.add_argument("--config", metavar="FILE",
                       help="default: $MIGRATION_GUARD_CONFIG or %s" % DEFAULT_PATH)
    action = check.add_mutually_exclusive_group()
    action.add_argument("--show", action="store_true", help="print the effective policy")
    check.add_argument("--format", choices=("text", "json"), default="text", help="format of --show")
    action.add_argument("--compile", action="store_true",
                       help="also write FILE.compiled.json, which spares the hook the TOML parser while FILE is "
                            "unchanged (run after every edit; packaging and the Ansible role do)")
    check.set_defaults(run=run_check)


def rule_actions(config):
    """[(code, rule id, action, where it comes from)] for every declared code. As in the
    policy: a [rules] entry for the code, then for its rule, then the code's declared action
    under the profile. The action is deny, warn or off; a declared "deny|warn" means the rule
    decides per finding (e.g. host-cpu: deny for host-passthrough guests, else warn)."""
    table = dict(config.rules)
    result = []
    for rule in REGISTRY:
        for declared in rule.codes:
            for key in (declared.code, rule.id):
                if key in table:
                    result.append((declared.code, rule.id, table[key], 'rules."%s"' % key))
                    break
            else:
                strict = config.profile == "strict"
                result.append((declared.code, rule.id, declared.strict if strict else declared.default,
                               "profile %s" % config.profile))
    return result


def _exact_size(count):
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale and count % scale == 0:
            return "%d %s" % (count // scale, unit)
    return "%d B" % count


def _expired(exemption, now):
    return exemption.until is not None and exemption.until <= now


def policy_dict(config, now):
    """The effective policy as plain data (durations in seconds, sizes in bytes)."""
    return {
        "config": config.source, "digest": config.digest,
        "mode": config.mode, "profile": config.profile, "on_error": config.on_error,
        "timeout": config.timeout, "max_facts_age": config.max_facts_age,
        "allow_metadata_exemptions": config.allow_metadata_exemptions,
        "paths": {"facts": config.paths.facts, "audit_log": config.paths.audit_log,
                  "bypass": config.paths.bypass, "metrics": config.paths.metrics},
        "fingerprint": {"key": config.fingerprint_key, "previous_key": config.fingerprint_previous_key,
                        "max_age": config.fingerprint_max_age},
        "memory": {"limit": config.memory_limit, "bandwidth": config.bandwidth,
                   "max_downtime": config.max_downtime},
        "plan": {"memory_reserve": config.plan_memory_reserve, "vcpu_ratio": config.plan_vcpu_ratio},
        "maintenance": {"until": config.maintenance_until.isoformat() if config.maintenance_until else None,
                        "reason": config.maintenance_reason},
        "rules": {code: {"rule": rule, "action": action, "from": source}
                  for code, rule, action, source in rule_actions(config)},
        "exemptions": [{"domain": e.domain, "uuid": e.uuid, "rules": list(e.rules), "reason": e.reason,
                        "until": e.until.isoformat() if e.until else None, "expired": _expired(e, now)}
                       for e in config.exemptions],
    }


def _q(text):
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def policy_text(config, now):
    """The effective policy as TOML-like text: the config's own syntax where it has one."""
    lines = ["# effective policy of %s (digest %s)" % (config.source, config.digest or "-"),
             "mode = %s" % _q(config.mode), "profile = %s" % _q(config.profile),
             "on_error = %s" % _q(config.on_error), "timeout = %s" % _q(format_duration(config.timeout)),
             "max_facts_age = %s" % _q(format_duration(config.max_facts_age)),
             "allow_metadata_exemptions = %s" % ("true" if config.allow_metadata_exemptions else "false"),
             "", "[paths]"]
    for key in ("facts", "audit_log", "bypass", "metrics"):
        lines.append("%s = %s" % (key, _q(getattr(config.paths, key))))
    lines += ["", "[fingerprint]", "key = %s" % _q(config.fingerprint_key or ""),
              "previous_key = %s" % _q(config.fingerprint_previous_key or ""),
              "max_age = %s" % _q(format_duration(config.fingerprint_max_age))]
    lines += ["", "[memory]", "limit = %s" % _q(_exact_size(config.memory_limit))]
    lines.append("bandwidth = %s  # per second" % _q(_exact_size(int(config.bandwidth)))
                 if config.bandwidth is not None else "# bandwidth: unset (no convergence estimate)")
    lines.append("max_downtime = %s" % _q(format_duration(config.max_downtime))
                 if config.max_downtime is not None else "# max_downtime: unset")
    lines += ["", "[plan]", "memory_reserve = %s" % _q(_exact_size(config.plan_memory_reserve)),
              "vcpu_ratio = %g" % config.plan_vcpu_ratio]
    if config.maintenance_until is not None:
        lines += ["", "[maintenance]", "until = %s%s" % (config.maintenance_until.isoformat(), "  # ended" if
                                                          config.maintenance_until <= now else ""),
                  "reason = %s" % _q(config.maintenance_reason)]
    lines += ["", "# Every rule code's action: a [rules] entry for the code, else for its rule, else the",
              "# code's declared action under the profile (\"deny|warn\": the rule decides per finding).", "[rules]"]
    for code, _rule, action, source in rule_actions(config):
        lines.append("%s = { action = %s }  # %s" % (_q(code), _q(action), source))
    for exemption in config.exemptions:
        lines += ["", "[[exemptions]]"]
        if exemption.domain is not None:
            lines.append("domain = %s" % _q(exemption.domain))
        if exemption.uuid is not None:
            lines.append("uuid = %s" % _q(exemption.uuid))
        lines.append("rules = [%s]" % ", ".join(_q(r) for r in exemption.rules))
        lines.append("reason = %s" % _q(exemption.reason))
        if exemption.until is not None:
            lines.append("until = %s%s" % (exemption.until.isoformat(),
                                           "  # expired: ignored" if _expired(exemption, now) else ""))
    return "\n".join(lines)


SIZE_KEYS = (("memory", "limit"), ("memory", "bandwidth"), ("plan", "memory_reserve"))


def size_notes(path):
    """Notes on sizes written in decimal units ("1 TB" is 10^12 bytes, as libvirt reads it,
    where 1 TiB was likely meant); the config itself is valid either way."""
    from ..config import toml_parser
    with open(path, "rb") as handle:
        data = toml_parser().loads(handle.read().decode("utf-8"))
    notes = []
    for table, key in SIZE_KEYS:
        value = data.get(table, {}).get(key) if isinstance(data.get(table), dict) else None
        note = decimal_size_note(str(value).replace("/s", ""), "%s.%s" % (table, key)) if value is not None else None
        if note:
            notes.append(note)
    return notes


def run_check(args):
    path = config_path(args.config)
    if args.compile:  # compile_config validates the very bytes it compiles: ConfigError as below
        print("config OK: %s, compiled to %s" % (path, compile_config(path)))
        return 0
    config = load_config(args.config)  # ConfigError (exit 2) names file:line:key
    if not args.show:
        absent = config.source != path
        print("config OK: %s%s" % (path, " (absent: built-in defaults)" if absent else ""))
        if not absent:
            for note in size_notes(path):
                sys.stderr.write("note: %s\n" % note)
        return 0
    now = datetime.datetime.now(datetime.timezone.utc)
    if args.format == "json":
        print(json.dumps(policy_dict(config, now), indent=1))
    else:
        print(policy_text(config, now))
    return 0
