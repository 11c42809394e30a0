"""Collective times over a link: latency + bytes / bandwidth (alpha-beta model).

Ring all-reduce moves 2(n-1)/n of the message per chip (Patarasuk & Yuan 2009). The catalogue's
latency is that of a small all-reduce over 8 chips; tree / NVLS algorithms take 2*log2(n) hops,
so it scales as log2(n) / log2(8).
"""

import numpy as np

REFERENCE_CHIPS = 8   # the catalogue latency is a small all-reduce across 8 chips


def allreduce_s(message_bytes, n, link_bytes_per_s, latency_s):
    """All-reduce of `message_bytes` across n chips; 0 when n == 1."""
    n = np.asarray(n, dtype=float)
    t_bytes_s = 2 * (n - 1) / n * message_bytes / link_bytes_per_s
    t_latency_s = np.log2(np.maximum(n, 1)) / np.log2(REFERENCE_CHIPS) * latency_s
    return np.where(n > 1, t_bytes_s + t_latency_s, 0.0)


def alltoall_s(bytes_per_chip, n, link_bytes_per_s, latency_s):
    """All-to-all where each chip sends `bytes_per_chip` spread over the other n-1 chips."""
    n = np.asarray(n, dtype=float)
    t_bytes_s = (n - 1) / n * bytes_per_chip / link_bytes_per_s
    return np.where(n > 1, t_bytes_s + latency_s, 0.0)


def p2p_s(message_bytes, link_bytes_per_s, latency_s):
    """One send from a pipeline stage to the next."""
    return message_bytes / link_bytes_per_s + latency_s


def bisection_share(chips, dims: int):
    """Share of a chip's link bandwidth that a uniform all-to-all over a k-dimensional torus slice of
    n chips (side s = n^(1/k)) gets, against a switch that gives each chip its full bandwidth.

    Each chip has 2k links of b per direction (B = 2k b). A cut across one dimension crosses 2n/s
    links (wrap-around doubles them; Dally & Towles, Principles and Practices of Interconnection
    Networks, 2004, ch. 3: bisection 4N/k channels of a k-ary n-cube torus). Half of each chip's D
    bytes cross it, n D / 4 per direction, so t = (n D / 4) / (2 n b / s) = D s / (8 b), against
    D / B on a switch: share = min(1, 8 b / (s B)) = min(1, 4 / (k s)).
    """
    side = np.maximum(np.asarray(chips, dtype=float), 1.0) ** (1.0 / dims)
    return np.minimum(1.0, 4 / (dims * side))
