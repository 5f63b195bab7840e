"""Dynamic Moral Profiling: one fresh value profile per generation, and the control profiles.

For dilemma d of group t and sample i, theta ~ Dirichlet(alpha * G0_t) is drawn from
``moralgap.seeding.rng(seed, d, i)``, so any single prompt can be regenerated without the
others. Its top-k values are renormalised and rounded to two decimals by largest remainder,
so the weights shown always add up to exactly 1.00; a value whose weight rounds to 0.00 is
left out rather than shown with no importance.

Controls, each built so that only the property under test differs from DMP:

* ``uniform``: theta ~ Dirichlet(alpha / K, ..., alpha / K): same concentration, flat G0;
* ``shuffled``: the DMP theta of the same (d, i) with its weights moved onto a permutation of
  the values (from ``rng(seed, d, i, "shuffled")``): the multiset of weights is unchanged, the
  link between a topic and its values is broken;
* ``persona``: the DMP top-k weights of the same (d, i), shown on k distinct items of a list of
  interests and tastes that are not moral values (from ``rng(seed, d, i, "persona")``).

A Dirichlet parameter of exactly 0 (a maximum-likelihood fit gives one to a value never seen)
is the limit in which that value always gets weight 0: the draw is made on the other values.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.errors import ConfigError, InputError
from moralgap.seeding import rng

from .dirichlet import dirichlet_parameters
from .profiles import Profiles

PROFILED = ("dmp", "uniform", "shuffled", "persona")
UNPROFILED = ("vanilla", "population")
CONDITIONS = ("vanilla", "dmp", "uniform", "shuffled", "persona", "population")
DEFAULT_PERSONA_ITEMS = Path(__file__).with_name("templates") / "persona_items.txt"


@dataclass(frozen=True)
class ProfileItem:
    value_id: str
    name: str
    weight: float

    def to_json(self) -> dict:
        return {"value_id": self.value_id, "name": self.name, "weight": self.weight}


def draw_dirichlet(gen: np.random.Generator, params: np.ndarray) -> np.ndarray:
    """One draw from Dirichlet(params), where entries equal to 0 get weight 0."""
    params = np.asarray(params, dtype=float)
    if np.any(~np.isfinite(params)) or np.any(params < 0) or not np.any(params > 0):
        raise ValueError("Dirichlet parameters must be finite, non-negative and not all zero")
    theta = np.zeros(params.size)
    support = np.flatnonzero(params > 0)
    if support.size == 1:
        theta[support] = 1.0
    else:
        theta[support] = gen.dirichlet(params[support])
    return theta


def largest_remainder_round(weights: Sequence[float], decimals: int = 2) -> np.ndarray:
    """Round non-negative weights summing to 1 to ``decimals`` places so they still sum to exactly 1.

    Returns integers in units of 10**-decimals (hundredths by default): floor every weight,
    then give the units left over to the largest remainders (ties: larger weight, then
    earlier position), so the result is deterministic.
    """
    w = np.asarray(weights, dtype=float)
    if w.size == 0 or np.any(w < 0) or not np.isclose(w.sum(), 1.0, atol=1e-9):
        raise ValueError("weights must be non-negative and sum to 1")
    unit = 10**decimals
    scaled = w / w.sum() * unit
    floors = np.floor(scaled).astype(int)
    left = unit - int(floors.sum())
    order = sorted(range(w.size), key=lambda i: (-(scaled[i] - floors[i]), -w[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def top_k_weights(theta: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the k largest entries (largest first) and their renormalised, rounded weights in hundredths."""
    if k < 1:
        raise ValueError("k must be at least 1")
    order = np.argsort(-theta, kind="stable")[: min(k, int(np.count_nonzero(theta)) or 1)]
    top = theta[order]
    hundredths = largest_remainder_round(top / top.sum())
    keep = hundredths > 0
    return order[keep], hundredths[keep]


def load_persona_items(path: str | Path | None = None) -> list[str]:
    """One item per line; blank lines and lines starting with '#' are ignored; duplicates refused."""
    p = Path(path) if path is not None else DEFAULT_PERSONA_ITEMS
    if not p.is_file():
        raise InputError(p, "file not found")
    items: list[str] = []
    for line_no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        if item in items:
            raise InputError(p, f"duplicate persona item {item!r}", line=line_no)
        items.append(item)
    return items


def _persona_id(item: str) -> str:
    return "persona:" + "-".join("".join(c if c.isalnum() else " " for c in item.lower()).split())


class DMPSampler:
    """Profiles for (dilemma, sample, condition), each regenerable alone from the seed.

    ``dirichlet='paper'`` samples Dirichlet(alpha * G0) with ``alpha`` (default: the one in
    profiles.json); ``'mle'`` samples the group's maximum-likelihood Dirichlet instead.
    """

    def __init__(self, profiles: Profiles, *, k: int = 3, seed: int = 13, alpha: float | None = None,
                 dirichlet: str = "paper", persona_items: Sequence[str] | None = None):
        if k < 1:
            raise ValueError("k must be at least 1")
        if dirichlet not in ("paper", "mle"):
            raise ValueError(f"dirichlet must be 'paper' or 'mle', got {dirichlet!r}")
        self.profiles = profiles
        self.k = k
        self.seed = seed
        self.alpha = profiles.alpha if alpha is None else float(alpha)
        if not np.isfinite(self.alpha) or self.alpha <= 0:
            raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
        self.dirichlet = dirichlet
        self.persona_items = list(persona_items) if persona_items is not None else load_persona_items()
        if len(self.persona_items) < k:
            raise ConfigError(f"the persona list has {len(self.persona_items)} items, fewer than k={k}")
        self._ids = profiles.value_ids
        self._names = profiles.value_names

    def parameters(self, group: str, condition: str = "dmp") -> np.ndarray:
        """The Dirichlet parameters a profiled condition samples for a group."""
        n = len(self._ids)
        if condition == "uniform":
            return dirichlet_parameters(np.full(n, 1.0 / n), self.alpha)
        if self.dirichlet == "mle":
            a = self.profiles.mle_alpha(group)
            if a is None:
                raise ConfigError(f"group {group!r} has no maximum-likelihood Dirichlet ({self.profiles.group(group)['mle'].get('reason')}); "
                                  "use the paper's alpha * G0")
            return a
        return dirichlet_parameters(self.profiles.g0(group), self.alpha)

    def theta(self, dilemma_id: str, sample: int, group: str, condition: str = "dmp") -> np.ndarray:
        """The full weight vector over the taxonomy's values for a profiled condition (persona: the DMP theta)."""
        if condition not in PROFILED:
            raise ValueError(f"condition {condition!r} has no profile")
        base = "uniform" if condition == "uniform" else "dmp"
        theta = draw_dirichlet(rng(self.seed, dilemma_id, sample), self.parameters(group, base))
        if condition == "shuffled":
            perm = rng(self.seed, dilemma_id, sample, "shuffled").permutation(theta.size)
            theta = theta[perm]
        return theta

    def profile(self, dilemma_id: str, sample: int, group: str, condition: str) -> list[ProfileItem] | None:
        """The profile shown in the prompt: top-k items, weights in [0, 1] adding up to exactly 1.00."""
        if condition in UNPROFILED:
            return None
        if condition not in CONDITIONS:
            raise ValueError(f"unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}")
        idx, hundredths = top_k_weights(self.theta(dilemma_id, sample, group, condition), self.k)
        if condition == "persona":
            picks = rng(self.seed, dilemma_id, sample, "persona").choice(len(self.persona_items), size=len(idx), replace=False)
            return [ProfileItem(_persona_id(self.persona_items[p]), self.persona_items[p], h / 100) for p, h in zip(picks, hundredths)]
        return [ProfileItem(self._ids[i], self._names[self._ids[i]], h / 100) for i, h in zip(idx, hundredths)]
