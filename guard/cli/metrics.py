"""`migration-guard metrics [--output FILE]`: Prometheus text for node_exporter's textfile
collector; also what `facts collect` and `facts watch` write to [paths] metrics."""
import sys
import time

from .. import __version__
from ..bypass import read_bypass
from ..config import CONFIG_HELP, load_config
from ..facts.cache import load_cache
from ..output.audit import Filter, read_records
from ..runtime.files import write_atomic
from ..services.metrics import count_decisions, render


def register(sub):
    parser = sub.add_parser("metrics", help="Prometheus metrics from the audit log, facts cache and bypass",
                            description="Print Prometheus text-format metrics: decisions by decision, their "
                                        "findings by code and action (from the audit log and its rotations), the "
                                        "version and policy enforced, whether the hook is live, the facts cache's "
                                        "age, whether a bypass is active. --output writes them atomically (for "
                                        "node_exporter's textfile collector: name the file *.prom).")
    parser.add_argument("--output", metavar="FILE", help="write here (atomically, mode 0644) instead of stdout")
    parser.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    parser.set_defaults(run=run)


def hook_live():
    """True / False: whether the running libvirt daemon runs the hook (as `status` judges
    it); None when that cannot be told (no systemd, no daemon running)."""
    from ..services import activation
    from ..services.status import FAIL, PASS, check_daemon, check_hook
    if check_hook(activation.HOOKS_DIR).result == FAIL:
        return False
    result = check_daemon(activation.HOOKS_DIR, activation.MARKER).result
    return True if result == PASS else False if result == FAIL else None


def snapshot(config, now, live=hook_live):
    """The metrics text for a config's paths, at epoch `now`."""
    counts = count_decisions(record for _line, record in read_records(config.paths.audit_log, Filter()))
    # Its age not judged: a cache that is merely old (or of an earlier boot) is still present,
    # and its age is the metric. One the hook can never use (untrusted, malformed) is not.
    facts, _problem = load_cache(config.paths.facts, None)
    bypass, _note = read_bypass(config.paths.bypass, now)
    return render(counts, facts is not None, facts.collected_at if facts is not None else None,
                  bypass is not None, now, info=(__version__, config.mode, config.profile, config.digest or "defaults"),
                  hook_live=live())


def write_metrics(path, text):
    write_atomic(path, text, mode=0o644)


def refresh_after_collection(config_file):
    """Rewrite [paths] metrics when set, after a facts collection. Never raises: a metrics
    failure must not fail the collection. Returns why it failed, or None."""
    try:
        config = load_config(config_file)
        if config.paths.metrics:
            write_metrics(config.paths.metrics, snapshot(config, time.time()))
    except Exception as exc:  # noqa: BLE001 - reported by the caller as a warning
        return "%s: %s" % (type(exc).__name__, exc)
    return None


def run(args):
    config = load_config(args.config)
    text = snapshot(config, time.time())
    if args.output:
        write_metrics(args.output, text)
    else:
        sys.stdout.write(text)
    return 0
