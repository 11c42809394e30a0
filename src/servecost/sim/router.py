"""Routers: which replica of a pool gets a request (scenario `fleet.router`).

A router is a function of the fleet (its per-replica `tokens` and `load`, and the round-robin cursor
`rr`), the pool (a slice of replica indices) and whether the pool is the entry pool (the first
replicas a request reaches) rather than the decode pool of a disaggregated fleet.
"""

import numpy as np


def least_tokens(fleet, pool: slice, entry: bool) -> int:
    """The replica with the fewest tokens still to process (prompt + output of what it holds)."""
    return pool.start + int(np.argmin(fleet.tokens[pool]))


def shortest_queue(fleet, pool: slice, entry: bool) -> int:
    """The replica holding or queueing the fewest requests."""
    return pool.start + int(np.argmin(fleet.load[pool]))


def round_robin(fleet, pool: slice, entry: bool) -> int:
    """The next entry replica in turn; KV hand-offs to a decode pool go to the least-tokens one."""
    if not entry:
        return least_tokens(fleet, pool, entry)
    fleet.rr = (fleet.rr + 1) % (pool.stop - pool.start)
    return pool.start + fleet.rr


ROUTERS = {"least_tokens": least_tokens, "round_robin": round_robin, "shortest_queue": shortest_queue}
