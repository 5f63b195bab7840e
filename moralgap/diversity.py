"""Value diversity of a set of rationales, as plain functions on value counts.

Every function takes counts either as a mapping ``value_id -> count`` or as a sequence (a
count vector over a fixed list of values). The taxonomy, profiling and alignment stages all use
them (build statistics, profiles, human vs model values), so they depend on nothing but numpy
and scipy.

Normalised entropy divides Shannon entropy by ``log(n_values)``. The paper normalises by the
number of values in the taxonomy; callers get that by passing a vector over all the
taxonomy's values (zeros included) or ``n_values=len(taxonomy values)``. Passing
``n_values="observed"`` normalises by the number of values actually seen instead, which
measures evenness among the values used rather than coverage of the taxonomy.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy.spatial.distance import jensenshannon

Counts = Mapping[str, float] | Sequence[float] | np.ndarray


def _vector(counts: Counts) -> np.ndarray:
    values = list(counts.values()) if isinstance(counts, Mapping) else counts
    vec = np.asarray(values, dtype=float).ravel()
    if vec.size and (not np.all(np.isfinite(vec)) or np.any(vec < 0)):
        raise ValueError("counts must be finite and non-negative")
    return vec


def _value_ids_of(annotation: Any) -> list[str]:
    if isinstance(annotation, Mapping):
        return list(annotation.get("value_ids") or [])
    return list(getattr(annotation, "value_ids", None) or [])


def value_counts(annotations: Iterable[Any], value_ids: Sequence[str] | None = None) -> dict[str, int]:
    """Mentions per value: each rationale counts a value at most once.

    ``annotations`` are :class:`~moralgap.records.ValueAnnotation` records or dicts with
    ``value_ids``. With ``value_ids`` the result has exactly those keys, in that order (zeros
    included), and an id outside them raises ``ValueError``; without it, only the values seen.
    """
    counter: Counter[str] = Counter()
    for ann in annotations:
        counter.update(set(_value_ids_of(ann)))
    if value_ids is None:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    unknown = sorted(set(counter) - set(value_ids))
    if unknown:
        raise ValueError(f"value id(s) not in the given value list: {', '.join(unknown[:10])}")
    return {v: counter.get(v, 0) for v in value_ids}


def normalised_entropy(counts: Counts, n_values: int | str | None = None) -> float:
    """Shannon entropy of the count distribution divided by ``log(n_values)``, in [0, 1].

    ``n_values=None`` uses the number of entries in ``counts`` (pass a full vector over the
    taxonomy for the paper's definition); ``"observed"`` uses the number of non-zero entries.
    Returns ``nan`` for no mentions and 0.0 when the normaliser has one value or fewer.
    """
    vec = _vector(counts)
    total = vec.sum()
    if total <= 0:
        return float("nan")
    p = vec[vec > 0] / total
    if n_values is None:
        n = vec.size
    elif n_values == "observed":
        n = p.size
    elif isinstance(n_values, (int, np.integer)) and not isinstance(n_values, bool):
        n = int(n_values)
        if n < p.size:
            raise ValueError(f"n_values={n} is smaller than the {p.size} values observed")
    else:
        raise ValueError(f"n_values must be an int, 'observed' or None, got {n_values!r}")
    if n <= 1:
        return 0.0
    entropy = float(-(p * np.log(p)).sum())
    return max(0.0, entropy / np.log(n))


def top_k_share(counts: Counts, k: int = 10) -> float:
    """Share of all mentions carried by the ``k`` most frequent values."""
    if k < 1:
        raise ValueError("k must be at least 1")
    vec = _vector(counts)
    total = vec.sum()
    if total <= 0:
        return float("nan")
    return float(np.sort(vec)[::-1][:k].sum() / total)


def distinct_count(counts: Counts) -> int:
    """Number of values mentioned at least once."""
    return int(np.count_nonzero(_vector(counts)))


def js_divergence(p: Counts, q: Counts) -> float:
    """Jensen-Shannon divergence (base 2, so in [0, 1]) between two value distributions.

    Inputs are counts or probabilities; each is normalised. Two mappings are aligned on the
    union of their keys (missing = 0); two sequences must have the same length.
    """
    if isinstance(p, Mapping) and isinstance(q, Mapping):
        keys = sorted(set(p) | set(q))
        p, q = [p.get(k, 0.0) for k in keys], [q.get(k, 0.0) for k in keys]
    elif isinstance(p, Mapping) or isinstance(q, Mapping):
        raise ValueError("js_divergence needs two mappings or two sequences, not one of each")
    a, b = _vector(p), _vector(q)
    if a.size != b.size:
        raise ValueError(f"distributions have different lengths ({a.size} and {b.size})")
    if a.sum() <= 0 or b.sum() <= 0:
        return float("nan")
    # scipy returns the JS *distance* (square root of the divergence).
    return float(jensenshannon(a, b, base=2) ** 2)


def diversity_summary(counts: Counts, *, n_values: int | str | None = None, k: int = 10) -> dict[str, float | int]:
    """The diversity figures reported for one set of rationales."""
    vec = _vector(counts)
    return {
        "mentions": int(round(vec.sum())),
        "distinct_values": distinct_count(vec),
        "normalised_entropy": normalised_entropy(vec, n_values),
        f"top_{k}_share": top_k_share(vec, k),
    }
