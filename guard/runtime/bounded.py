"""Bounded waits for the hook, on _thread: the threading module costs more to import than
a whole decision, and the hook runs on every migration. Only what the hook needs: a
cancellable timer, a one-shot event, and a map over items within a time budget. Every
thread here is a daemon thread in effect: nothing waits for it at exit."""
import _thread
import time

_END = object()


class Event:
    """A one-shot flag: set() once, wait(timeout) until it is set or the time is up."""

    def __init__(self):
        self._lock = _thread.allocate_lock()
        self._lock.acquire()

    def set(self):
        try:
            self._lock.release()
        except RuntimeError:  # set already
            pass

    def wait(self, timeout):
        """True if set within timeout seconds."""
        if self._lock.acquire(timeout=max(0.0, timeout)):
            self._lock.release()
            return True
        return False


class Timer:
    """Call function() in a thread after `seconds`, unless cancel() comes first."""

    def __init__(self, seconds, function):
        self._cancelled = Event()
        _thread.start_new_thread(self._run, (seconds, function))

    def _run(self, seconds, function):
        if not self._cancelled.wait(seconds):
            function()

    def cancel(self):
        self._cancelled.set()


def map_within(function, items, workers, budget_s):
    """{item: function(item)} for the items answered within budget_s seconds, computed by
    up to `workers` threads; an item not answered by then is missing from the result. A
    thread stuck in the kernel (a stat on a dead NFS mount) is left behind."""
    pending = iter(list(dict.fromkeys(items)))
    results = {}
    lock = _thread.allocate_lock()

    def work(finished):
        try:
            while True:
                with lock:
                    item = next(pending, _END)
                if item is _END:
                    return
                results[item] = function(item)
        finally:
            finished.set()

    deadline = time.monotonic() + budget_s
    threads = []
    for _ in range(max(1, workers)):
        finished = Event()
        _thread.start_new_thread(work, (finished,))
        threads.append(finished)
    for finished in threads:
        finished.wait(deadline - time.monotonic())
    return dict(results)  # a copy: a thread left behind may still write to the original
