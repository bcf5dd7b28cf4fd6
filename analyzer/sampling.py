"""Choose an export's examples and split them: in proportion to production day by day, one side per cluster.

Days are the strata: a day's share of the examples follows its share of production (requests with
sample rates undone), so weekdays and weekends keep the weight they have in the traffic. Within a
day, order is a seeded hash, so the same month and seed give the same examples and the same split.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np


def point(key: str, seed: int) -> float:
    """A seeded hash of ``key`` as a number in [0, 1): the order examples and clusters are drawn in."""
    return int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:15], 16) / 16**15


def allocate(total: int, weights: dict[str, float], available: dict[str, int]) -> dict[str, int]:
    """Split ``total`` over the strata in proportion to ``weights``, none above what it has available.

    Largest remainders round the shares to whole examples; a stratum with fewer examples than its
    share gives all it has and the rest is shared again among the others.
    """
    quota = {k: 0 for k in available}
    open_ = {k for k in available if available[k] > 0}
    left = min(total, sum(available.values()))
    while left > 0 and open_:
        weight = sum(weights.get(k, 0.0) for k in open_) or float(len(open_))
        ideal = {k: left * (weights.get(k, 0.0) if weight else 1.0) / weight for k in open_}
        full = {k for k in open_ if quota[k] + ideal[k] >= available[k]}
        if full:
            for k in full:
                left -= available[k] - quota[k]
                quota[k] = available[k]
            open_ -= full
            continue
        floors = {k: int(ideal[k]) for k in open_}
        rest = left - sum(floors.values())
        for k in sorted(open_, key=lambda k: (-(ideal[k] - floors[k]), k))[:rest]:
            floors[k] += 1
        for k in open_:
            quota[k] += floors[k]
        left = 0
    return quota


def choose(days: list[str], keys: list[str], cap: int | None, production: dict[str, float], seed: int) -> np.ndarray:
    """A mask of the examples kept under ``cap``: each day's quota (by production) of its first by seeded hash."""
    n = len(days)
    if cap is None or cap >= n:
        return np.ones(n, dtype=bool)
    by_day: dict[str, list[int]] = defaultdict(list)
    for i, day in enumerate(days):
        by_day[day].append(i)
    quota = allocate(cap, production, {d: len(ix) for d, ix in by_day.items()})
    mask = np.zeros(n, dtype=bool)
    for day, ix in by_day.items():
        ix.sort(key=lambda i: point("sample:" + keys[i], seed))
        mask[ix[:quota[day]]] = True
    return mask


def points(keys, seed: int, prefix: str = "") -> np.ndarray:
    """:func:`point` of each of ``keys`` (any iterable of strings), as an array."""
    return np.fromiter((point(prefix + k, seed) for k in keys), dtype=np.float64)


def split(roots: np.ndarray, days: np.ndarray, root_points: np.ndarray, eval_share: float) -> np.ndarray:
    """Which examples go to eval: whole clusters (``roots``), day by day, until each day holds ``eval_share``.

    A cluster belongs to the day of its first example (its root, the smallest row); clusters are
    taken in the order of ``root_points`` (a seeded hash of each distinct root's key, in the order of
    ``np.unique(roots)``), so the split does not depend on the order rows came in.
    """
    unique, sizes = np.unique(roots, return_counts=True)
    cluster_days = days[unique]
    order = np.lexsort((root_points, cluster_days))  # by day, then by seeded hash
    d, n = cluster_days[order], sizes[order]
    first = np.r_[True, d[1:] != d[:-1]]
    starts = np.flatnonzero(first)
    day_totals = np.add.reduceat(n, starts)
    target = np.round(eval_share * day_totals)[np.cumsum(first) - 1]
    taken_before = np.cumsum(n) - n - np.repeat(np.cumsum(n)[starts] - n[starts], np.diff(np.r_[starts, len(n)]))
    eval_clusters = np.zeros(len(unique), dtype=bool)
    eval_clusters[order] = taken_before < target  # take clusters while the day is short of its share
    return eval_clusters[np.searchsorted(unique, roots)]


__all__ = ["allocate", "choose", "point", "points", "split"]
