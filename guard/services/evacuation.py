"""The evacuation plan: one destination for each guest, within what each destination has
free. Pure: the pre-flight reads the figures (guard.services.preflight.read_capacity) and the
verdicts; this only assigns.

The order, documented in the README:
1. Guests go largest first (memory, then vCPUs, then name): the big ones have the fewest
   places, and first-fit decreasing leaves the least stranded.
2. Each goes to the destination that accepts it (its decision is `allow`) and has room
   for it, the one with the most free memory left (ties: the order the destinations were
   given), so that the load spreads instead of filling one host first.
3. Room: free memory less `[plan] memory_reserve`, free huge pages of the guest's page
   size (when the destination reported them), and vCPUs up to `[plan] vcpu_ratio` times
   the destination's CPUs, counting the guests it runs already and those the plan sends.
4. `order` numbers the moves in that sequence; the guests left over are `unplaced`, each
   with why: no destination accepts it (each destination's verdict), or the ones that do
   are full (what each lacks).
"""
from ..records import struct
from ..units import format_bytes

DEFAULT_HUGEPAGE_BYTES = 2 << 20

EXIT_PLACED, EXIT_UNPLACED, EXIT_ERROR = 0, 1, 2
# The exit codes, word for word in --help, the man page and the README (tests/test_cli_docs.py).
EXIT_CODES = (
    (EXIT_PLACED, "every guest has a destination (with --plan: one with room for it); an unreachable destination is "
                  "then only one choice fewer"),
    (EXIT_UNPLACED, "some guest has none, and every destination said why"),
    (EXIT_ERROR, "some guest has none and an error stood in for a verdict on it (an unreachable destination, an "
                 "unreadable guest), or the source could not be read"),
)

# memory_bytes: the guest's memory; vcpus: its vCPUs; page_bytes: the huge page size it is
# backed by, or None (ordinary memory).
Demand = struct("Demand", "memory_bytes vcpus page_bytes", defaults=(1, None))

# free_memory_bytes: free now; cpus: host CPUs; vcpus: vCPUs of the guests it runs;
# free_pages: {page size in bytes: free pages}, or None when not reported.
Capacity = struct("Capacity", "free_memory_bytes cpus vcpus free_pages", defaults=(None,))

Move = struct("Move", "guest dest memory_bytes order")
Unplaced = struct("Unplaced", "guest reason")


def _pages(demand):
    return -(-(demand.memory_bytes or 0) // demand.page_bytes) if demand.page_bytes else 0


class _Room:
    def __init__(self, capacity, reserve, ratio):
        self.memory = capacity.free_memory_bytes - reserve
        self.vcpus = capacity.cpus * ratio - capacity.vcpus
        self.pages = dict(capacity.free_pages) if capacity.free_pages is not None else None

    def lacks(self, demand):
        """Why the guest does not fit here, or None when it does."""
        if demand.page_bytes:
            if self.pages is not None and self.pages.get(demand.page_bytes, 0) < _pages(demand):
                return "%d free %s huge pages, needs %d" % (self.pages.get(demand.page_bytes, 0),
                                                           format_bytes(demand.page_bytes), _pages(demand))
        elif (demand.memory_bytes or 0) > self.memory:
            return "%s free after the reserve, needs %s" % (format_bytes(max(0, self.memory)),
                                                            format_bytes(demand.memory_bytes))
        if demand.vcpus > self.vcpus:
            return "room for %d more vCPUs, needs %d" % (max(0, int(self.vcpus)), demand.vcpus)
        return None

    def take(self, demand):
        if demand.page_bytes and self.pages is not None:
            self.pages[demand.page_bytes] = self.pages.get(demand.page_bytes, 0) - _pages(demand)
        elif not demand.page_bytes:
            self.memory -= demand.memory_bytes or 0
        self.vcpus -= demand.vcpus


def assign(guests, dests, accepting, demands, capacities, memory_reserve, vcpu_ratio, refusals):
    """([Move], [Unplaced]). guests, dests: names in order; accepting(guest): the
    destinations whose verdict is allow, in order; demands: {guest: Demand}; capacities:
    {dest: Capacity, or a str saying why it could not be read}; refusals(guest): why no
    destination accepts it (a line)."""
    rooms = {dest: _Room(capacities[dest], memory_reserve, vcpu_ratio) for dest in dests
             if isinstance(capacities.get(dest), Capacity)}
    rank = {dest: index for index, dest in enumerate(dests)}

    def size(guest):
        demand = demands[guest]
        return (-(demand.memory_bytes or 0), -demand.vcpus, guest)
    moves, unplaced = [], []
    for guest in sorted(guests, key=size):
        choices = accepting(guest)
        if not choices:
            unplaced.append(Unplaced(guest, "no destination accepts it: %s" % refusals(guest)))
            continue
        demand = demands[guest]
        full = []
        fitting = []
        for dest in choices:
            room = rooms.get(dest)
            why = "its free memory could not be read (%s)" % capacities.get(dest) if room is None else room.lacks(demand)
            if why is None:
                fitting.append(dest)
            else:
                full.append("%s: %s" % (dest, why))
        if not fitting:
            unplaced.append(Unplaced(guest, "accepted, but no room left: %s" % "; ".join(full)))
            continue
        dest = max(fitting, key=lambda d: (rooms[d].memory, -rank[d]))
        rooms[dest].take(demand)
        moves.append(Move(guest, dest, demand.memory_bytes, len(moves) + 1))
    return moves, unplaced
