"""Event kinds of the simulator's heap, `(t_s, seq, kind, who)`; `who` is a request or replica index."""

from enum import IntEnum


class Kind(IntEnum):
    ARRIVAL = 0     # a request with a given arrival time (read from the sorted arrivals, not the heap)
    CLIENT = 1      # closed loop: a client's next request reaches the fleet (who: request)
    HANDOFF = 2     # disaggregated: a prefilled request's KV reaches the decode pool (who: request)
    STEP = 3        # a replica's step or decode block ends (who: replica)


ARRIVAL, CLIENT, HANDOFF, STEP = Kind.ARRIVAL, Kind.CLIENT, Kind.HANDOFF, Kind.STEP
