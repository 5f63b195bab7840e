"""Agreement between annotators who each chose a *set* of values per rationale.

- Krippendorff's alpha over the value sets with the MASI distance (Passonneau 2006), computed
  by the ``krippendorff`` package from a unit x distinct-set count matrix and a MASI
  distance matrix between the distinct sets. Missing annotations are allowed; units with
  fewer than two annotators do not count.
- Per value (present/absent): Cohen's kappa averaged over annotator pairs (scikit-learn) and
  Fleiss' kappa over the units that the usual number of annotators rated (statsmodels).
- Per annotator: agreement with the majority set of each unit (values chosen by more than
  half of the unit's annotators), as mean MASI similarity and exact-match rate.
- The most confused value pairs: within a unit, a value one annotator chose and another did
  not, paired with a value the other chose and the first did not.
"""
from __future__ import annotations

import itertools
import warnings
from collections import Counter, defaultdict
from typing import Iterable

import numpy as np

from moralgap.records import ValueAnnotation

Units = dict[str, dict[str, frozenset]]  # rationale id -> annotator -> chosen value ids


def masi_distance(a: frozenset, b: frozenset) -> float:
    """1 - Jaccard * monotonicity, with monotonicity 1 (equal), 2/3 (subset), 1/3 (overlap), 0."""
    if a == b:
        return 0.0
    inter, union = len(a & b), len(a | b)
    if inter == 0:
        return 1.0
    if a <= b or b <= a:
        m = 2 / 3
    else:
        m = 1 / 3
    return 1.0 - (inter / union) * m


def units_from_rows(rows: Iterable[ValueAnnotation]) -> Units:
    units: Units = defaultdict(dict)
    for r in rows:
        units[r.rationale_id][r.annotator or r.source] = frozenset(r.value_ids)
    return dict(units)


def krippendorff_alpha_masi(units: Units) -> float | None:
    """Alpha over value sets; None where it is undefined (no unit with two annotators, one set only)."""
    import krippendorff

    paired = {u: coders for u, coders in units.items() if len(coders) >= 2}
    if not paired:
        return None
    domain = sorted({s for coders in paired.values() for s in coders.values()}, key=lambda s: sorted(s))
    if len(domain) < 2:
        return None  # everybody chose the same set everywhere: no variation to measure against
    index = {s: i for i, s in enumerate(domain)}
    counts = np.zeros((len(paired), len(domain)))
    for row, coders in enumerate(paired.values()):
        for s in coders.values():
            counts[row, index[s]] += 1
    dist = np.array([[masi_distance(a, b) for b in domain] for a in domain])

    def metric(v1, v2, i1, i2, n_v, dtype=np.float64):
        return dist[i1, i2].astype(dtype)

    return float(krippendorff.alpha(value_counts=counts, level_of_measurement=metric))


def _kappa_or_none(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def per_value_kappa(units: Units, value_ids: Iterable[str] | None = None) -> dict[str, dict]:
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.inter_rater import fleiss_kappa

    coders = sorted({c for cs in units.values() for c in cs})
    values = sorted(set(value_ids) if value_ids is not None else {v for cs in units.values() for s in cs.values() for v in s})
    rated = Counter(len(cs) for cs in units.values() if len(cs) >= 2)
    m = rated.most_common(1)[0][0] if rated else 0
    full = [cs for cs in units.values() if len(cs) == m] if m else []
    out: dict[str, dict] = {}
    for v in values:
        pair_kappas = []
        for a, b in itertools.combinations(coders, 2):
            both = [cs for cs in units.values() if a in cs and b in cs]
            ya = [int(v in cs[a]) for cs in both]
            yb = [int(v in cs[b]) for cs in both]
            if len(both) >= 2 and len(set(ya) | set(yb)) == 2:
                pair_kappas.append(cohen_kappa_score(ya, yb))
        fleiss = None
        if full:
            table = np.array([[sum(v not in s for s in cs.values()), sum(v in s for s in cs.values())] for cs in full])
            if table[:, 1].sum() not in (0, table.sum()):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    fleiss = _kappa_or_none(fleiss_kappa(table, method="fleiss"))
        chosen = sum(v in s for cs in units.values() for s in cs.values())
        out[v] = {
            "cohen_kappa_mean": float(np.mean(pair_kappas)) if pair_kappas else None,
            "cohen_pairs": len(pair_kappas),
            "fleiss_kappa": fleiss,
            "fleiss_units": len(full),
            "times_chosen": int(chosen),
        }
    return out


def majority_set(coders: dict[str, frozenset]) -> frozenset:
    n = len(coders)
    counts = Counter(v for s in coders.values() for v in s)
    return frozenset(v for v, c in counts.items() if c > n / 2)


def annotator_vs_majority(units: Units) -> dict[str, dict]:
    sims: dict[str, list[float]] = defaultdict(list)
    exact: dict[str, list[bool]] = defaultdict(list)
    for coders in units.values():
        if len(coders) < 2:
            continue
        maj = majority_set(coders)
        for c, s in coders.items():
            sims[c].append(1.0 - masi_distance(s, maj))
            exact[c].append(s == maj)
    return {c: {"units": len(sims[c]), "masi_agreement": float(np.mean(sims[c])),
                "exact_match": float(np.mean(exact[c]))} for c in sorted(sims)}


def confused_pairs(units: Units, top: int = 10) -> list[dict]:
    counts: Counter = Counter()
    for coders in units.values():
        for a, b in itertools.combinations(sorted(coders), 2):
            only_a, only_b = coders[a] - coders[b], coders[b] - coders[a]
            for x in only_a:
                for y in only_b:
                    counts[tuple(sorted((x, y)))] += 1
    return [{"values": list(pair), "count": n} for pair, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]]


def agreement_report(rows: Iterable[ValueAnnotation], *, value_ids: Iterable[str] | None = None,
                     names: dict[str, str] | None = None, top_pairs: int = 10) -> dict:
    """Everything above in one JSON-ready dict."""
    units = units_from_rows(rows)
    names = names or {}
    pairs = confused_pairs(units, top_pairs)
    for p in pairs:
        p["names"] = [names.get(v, v) for v in p["values"]]
    per_value = per_value_kappa(units, value_ids)
    for v, d in per_value.items():
        d["name"] = names.get(v, v)
    return {
        "units": len(units),
        "units_with_2plus": sum(len(c) >= 2 for c in units.values()),
        "annotators": sorted({c for cs in units.values() for c in cs}),
        "krippendorff_alpha_masi": krippendorff_alpha_masi(units),
        "per_value": per_value,
        "annotator_vs_majority": annotator_vs_majority(units),
        "confused_pairs": pairs,
    }
