"""The hook's bounded waits (guard.runtime.bounded, on _thread): real threads, real time."""
import time

from guard.runtime.bounded import Event, Timer, map_within


def test_event_waits_until_set_or_the_time_is_up():
    event = Event()
    start = time.monotonic()
    assert event.wait(0.2) is False and time.monotonic() - start >= 0.19
    event.set()
    event.set()  # a second set is harmless
    assert event.wait(5) is True and event.wait(0) is True


def test_timer_fires_unless_cancelled():
    fired = []
    Timer(0.05, lambda: fired.append("late"))
    cancelled = Timer(0.05, lambda: fired.append("cancelled"))
    cancelled.cancel()
    time.sleep(0.4)
    assert fired == ["late"]


def test_map_within_leaves_a_hung_item_behind_and_keeps_the_budget():
    def work(item):
        if item == "hung":
            time.sleep(3)
        return item.upper()
    start = time.monotonic()
    results = map_within(work, ["a", "hung", "b", "a"], 2, 0.5)
    assert time.monotonic() - start < 1.5
    assert results == {"a": "A", "b": "B"}
