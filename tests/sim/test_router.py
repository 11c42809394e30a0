"""Routers: least tokens, shortest queue, round robin (entry pool only), over a pool of replicas."""

import numpy as np

from servecost.sim.router import ROUTERS, least_tokens, round_robin, shortest_queue


class Fleet:
    def __init__(self, tokens, load):
        self.tokens, self.load, self.rr = np.asarray(tokens, float), np.asarray(load, float), -1


def test_routers_by_name():
    """The scenario names map to the functions, in the schema's order."""
    assert list(ROUTERS) == ["least_tokens", "round_robin", "shortest_queue"]
    assert ROUTERS["least_tokens"] is least_tokens


def test_least_tokens_and_shortest_queue_within_the_pool():
    """Indices are fleet-wide: the pool's start is added; ties go to the lowest index."""
    f = Fleet([5, 1, 9, 3, 3], [0, 4, 1, 2, 2])
    decode = slice(2, 5)
    assert least_tokens(f, decode, False) == 3
    assert shortest_queue(f, decode, False) == 2
    assert least_tokens(f, slice(0, 5), True) == 1


def test_round_robin_cycles_the_entry_pool():
    """Round robin takes 0, 1, 2, 0, ... on the entry pool and leaves the cursor alone for hand-offs,
    which go to the least-tokens decode replica."""
    f = Fleet([0, 0, 0, 7, 2], [0] * 5)
    entry = slice(0, 3)
    assert [round_robin(f, entry, True) for _ in range(4)] == [0, 1, 2, 0]
    assert round_robin(f, slice(3, 5), False) == 4
    assert round_robin(f, entry, True) == 1
