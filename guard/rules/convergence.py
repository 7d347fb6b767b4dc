"""Will pre-copy live migration converge? A pure estimate of QEMU's iterative copy.

Each round sends what the guest dirtied during the previous one. With dirty rate d and
bandwidth b, round n sends M·(d/b)^n; the migration can stop once one round fits in the
allowed downtime (b · max_downtime). It never gets there when d >= b.
"""
from ..records import struct

MAX_ROUNDS = 30  # QEMU gives up on nothing, but beyond this many rounds an admin would


class Estimate(struct("Estimate", "converges rounds seconds reason memory_bytes dirty_rate bandwidth "
                                      "max_downtime")):
    """rounds and seconds are None when it does not converge; reason says why."""

    __slots__ = ()

    def evidence(self):
        return {"converges": self.converges, "rounds": self.rounds, "seconds": self.seconds,
                "memory_bytes": self.memory_bytes, "dirty_rate_bytes_per_s": self.dirty_rate,
                "bandwidth_bytes_per_s": self.bandwidth, "max_downtime_s": self.max_downtime}


def estimate(memory_bytes, dirty_rate, bandwidth, max_downtime):
    def result(converges, rounds, seconds, reason):
        return Estimate(converges, rounds, seconds, reason, memory_bytes, dirty_rate, bandwidth, max_downtime)

    if bandwidth <= 0:
        return result(False, None, None, "no bandwidth")
    threshold = bandwidth * max_downtime
    remaining = float(memory_bytes)
    seconds = 0.0
    for rounds in range(1, MAX_ROUNDS + 1):
        duration = remaining / bandwidth
        seconds += duration
        remaining = min(float(memory_bytes), dirty_rate * duration)
        if remaining <= threshold:
            return result(True, rounds, seconds + remaining / bandwidth,
                          "converges in %d rounds, about %.0fs" % (rounds, seconds + remaining / bandwidth))
    if dirty_rate >= bandwidth:
        return result(False, None, None, "the guest dirties memory as fast as it can be sent")
    return result(False, None, None, "still %d bytes dirty after %d rounds" % (remaining, MAX_ROUNDS))
