"""Timing shared by the benchmarks (not a test)."""
import time


def interleaved(rounds, *funcs):
    """The best time of each func over `rounds` rounds, one call of each per round: this
    machine's speed drifts by 2x within seconds, and a floor timed at another moment than
    what it is the floor of makes their ratio meaningless."""
    best = [float("inf")] * len(funcs)
    for _ in range(rounds):
        for index, func in enumerate(funcs):
            start = time.perf_counter()
            func()
            best[index] = min(best[index], time.perf_counter() - start)
    return best
