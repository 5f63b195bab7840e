"""Bootstrap confidence intervals that resample dilemmas, vectorised over resamples.

One ``(B, n)`` index matrix per question, produced in blocks of bounded size
(:class:`Resamples`); the same rows are replayed for paired comparisons, so the two
conditions are resampled on the same dilemmas. Intervals are percentile 95% by
default. All randomness comes from :func:`moralgap.seeding.rng` with a key naming the use.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from moralgap.seeding import rng


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"value": self.value, "ci_low": self.low, "ci_high": self.high}


# Index entries per block: 4M int64 = 32 MB, so memory stays bounded whatever the number of
# resamples (the full matrix at 100,000 resamples x 1,618 dilemmas would be 1.3 GB).
BLOCK_ENTRIES = 1 << 22


@dataclass(frozen=True)
class Resamples:
    """A (resamples x n) bootstrap index matrix produced block by block, never held whole.

    Blocks are consecutive rows drawn from one generator, so they are exactly the rows of the
    matrix one ``integers(0, n, size=(B, n))`` call would give: results do not depend on the
    block size. Iterating again replays the same rows (paired comparisons reuse them).
    """

    n: int
    n_resamples: int
    seed: int
    keys: tuple

    def blocks(self):
        if self.n == 0:
            yield np.empty((self.n_resamples, 0), dtype=np.int64)
            return
        g = rng(self.seed, "bootstrap", *self.keys)
        rows = max(1, BLOCK_ENTRIES // self.n)
        for start in range(0, self.n_resamples, rows):
            yield g.integers(0, self.n, size=(min(rows, self.n_resamples - start), self.n))


def resample_index(n: int, n_resamples: int, seed: int, *keys) -> Resamples:
    return Resamples(n, n_resamples, seed, keys)


def _per_resample(idx, stat) -> np.ndarray:
    """``stat(rows)`` for every row of the index, block by block (a plain array works too)."""
    if isinstance(idx, np.ndarray):
        return stat(idx)
    return np.concatenate([stat(block) for block in idx.blocks()])


def _interval(samples: np.ndarray, level: float) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    lo, hi = np.quantile(samples, [a, 1 - a])
    return float(lo), float(hi)


def mean_ci(values: np.ndarray, idx: np.ndarray, level: float = 0.95) -> Estimate:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"))
    return Estimate(float(values.mean()), *_interval(_per_resample(idx, lambda rows: values[rows].mean(axis=1)), level))


def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (xc * yc).sum(axis=-1) / np.sqrt((xc * xc).sum(axis=-1) * (yc * yc).sum(axis=-1))


def pearson_ci(x: np.ndarray, y: np.ndarray, idx: np.ndarray, level: float = 0.95) -> Estimate:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 3:
        return Estimate(float("nan"), float("nan"), float("nan"))
    boot = _per_resample(idx, lambda rows: _rowwise_pearson(x[rows], y[rows]))
    return Estimate(float(_rowwise_pearson(x, y)), *_interval(boot, level))


def paired_change_ci(base: np.ndarray, other: np.ndarray, idx: np.ndarray, level: float = 0.95,
                     relative: bool = True) -> Estimate:
    """Change of the mean from ``base`` to ``other`` (same dilemmas, same order): relative
    ``(mean(other) - mean(base)) / mean(base)`` or absolute difference."""
    base, other = np.asarray(base, float), np.asarray(other, float)
    if base.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"))

    def change(rows):
        mb, mo = base[rows].mean(axis=1), other[rows].mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (mo - mb) / mb if relative else mo - mb

    boot = _per_resample(idx, change)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = (other.mean() - base.mean()) / base.mean() if relative else other.mean() - base.mean()
    return Estimate(float(point), *_interval(boot, level))


def spearman(x: np.ndarray, y: np.ndarray) -> Optional[float]:
    from scipy.stats import rankdata

    if len(x) < 3:
        return float("nan")
    return float(_rowwise_pearson(rankdata(x), rankdata(y)))
