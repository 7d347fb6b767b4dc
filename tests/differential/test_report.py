"""The classes, on hand-made results (no libvirt needed)."""
from report import (
    FALSE_ALLOW,
    FALSE_DENY,
    GUARD_ERROR,
    NOT_RUN,
    POLICY,
    TRUE_ALLOW,
    TRUE_DENY,
    as_preflight,
    classify,
    error_line,
    rates,
)


def result(migrated, decision, deny_codes=(), started=True):
    return {"started": started, "migrated": migrated, "decision": decision, "deny_codes": list(deny_codes)}


def test_classes():
    assert classify(result(True, "allow")) == TRUE_ALLOW
    assert classify(result(False, "deny", ["network[absent]"])) == TRUE_DENY
    assert classify(result(False, "allow")) == FALSE_ALLOW
    assert classify(result(True, "deny", ["firmware[file]"])) == FALSE_DENY
    assert classify(result(True, "deny", ["memory-size[limit]"])) == POLICY
    # a policy deny does not excuse another, wrong, deny
    assert classify(result(True, "deny", ["memory-size[limit]", "emulator[binary]"])) == FALSE_DENY
    assert classify(result(False, "error")) == GUARD_ERROR
    assert classify(result(False, None, started=False)) == NOT_RUN


def test_rates():
    results = [result(True, "allow"), result(False, "allow"), result(False, "deny", ["x"]),
               result(True, "deny", ["y"]), result(True, "deny", ["memory-size[limit]"])]
    summary = rates(results)
    assert summary["false_allow_rate"] == 0.5 and summary["false_deny_rate"] == 0.5
    assert summary["agreement"] == 3 / 5


def test_error_line_keeps_libvirts_words_and_drops_timestamps():
    stderr = ("error: internal error: qemu unexpectedly closed the monitor: 2026-11-29T18:36:01.123456Z "
              "qemu-system-x86_64: unable to map backing store for guest RAM: Cannot allocate memory\n")
    assert error_line(stderr) == ("internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: "
                                  "unable to map backing store for guest RAM: Cannot allocate memory")


def test_the_preflight_is_classified_by_its_own_decision():
    record = dict(result(False, "deny", ["storage[missing]"]), pre_decision="allow", pre_deny_codes=[])
    assert classify(record) == TRUE_DENY
    assert classify(as_preflight(record)) == FALSE_ALLOW
    assert rates([record], as_preflight)["false_allow_rate"] == 1.0
    assert classify(as_preflight(result(True, "allow"))) == GUARD_ERROR  # the pre-flight never ran: not a pass
