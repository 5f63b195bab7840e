"""Choosing the rationales a person should label next: uncertain, and unlike each other.

Uncertainty of a rationale is how close its closest value score sits to that value's
threshold, measured in log-odds so that 0.02 vs 0.05 counts as much as 0.5 vs 0.7. The most
uncertain ``pool_factor * n`` rationales form a pool; k-means on their embeddings splits the
pool into ``n`` groups and the most uncertain member of each group is taken, so one batch does
not spend a person's time on twenty near-duplicates of the same hard case.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moralgap.seeding import DEFAULT_SEED

from .expected_f1 import clipped_logit


def uncertainty(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Higher is more uncertain: minus the smallest log-odds distance to a threshold."""
    if scores.size == 0:
        return np.zeros(len(scores))
    return -np.abs(clipped_logit(scores) - clipped_logit(thresholds)).min(axis=1)


@dataclass
class Pick:
    index: int
    uncertainty: float
    group: int


def select_next(scores: np.ndarray, thresholds: np.ndarray, embeddings: np.ndarray, n: int, *,
                pool_factor: int = 5, seed: int = DEFAULT_SEED) -> list[Pick]:
    """Indices of up to ``n`` distinct rows worth labelling, most uncertain first."""
    m = len(scores)
    if n <= 0 or m == 0:
        return []
    u = uncertainty(scores, thresholds)
    order = np.argsort(-u, kind="stable")
    if m <= n:
        return [Pick(int(i), float(u[i]), k) for k, i in enumerate(order)]
    pool = order[: min(m, max(n, pool_factor * n))]
    from sklearn.cluster import KMeans

    groups = KMeans(n_clusters=n, n_init=3, random_state=seed).fit_predict(embeddings[pool])
    picks: dict[int, int] = {}
    for i, g in zip(pool, groups):  # pool is sorted by uncertainty: the first member of a group wins
        picks.setdefault(int(g), int(i))
    chosen = sorted(picks.items(), key=lambda gi: -u[gi[1]])
    # k-means may leave a group empty; top up from the pool so the batch has n items.
    taken = {i for _, i in chosen}
    out = [Pick(i, float(u[i]), g) for g, i in chosen]
    for i in pool:
        if len(out) >= n:
            break
        if int(i) not in taken:
            out.append(Pick(int(i), float(u[i]), -1))
            taken.add(int(i))
    return out
