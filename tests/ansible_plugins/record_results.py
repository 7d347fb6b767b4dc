"""A test-only Ansible callback: every task result as one JSON line in $MG_ANSIBLE_RESULTS,
so tests/test_ansible.py asserts on what a run reports rather than on screen text."""
import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: record_results
    type: aggregate
    short_description: task results as JSON lines, for tests
    description: Appends one JSON object per task result to the file named by MG_ANSIBLE_RESULTS.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        entry = {"task": result._task.name or result._task.action, "host": result._host.get_name(), "status": status,
                 "changed": bool(result._result.get("changed")), "result": result._result}
        with open(os.environ["MG_ANSIBLE_RESULTS"], "a") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")
