"""Per-value decision thresholds chosen on data, and the scores that judge them.

Both annotators turn a score matrix (rationales x values) into value sets through one
threshold per value. A threshold is the score that maximises that value's F1 on scored,
labelled items (cross-validated predictions for the trained classifier, the taxonomy's own
exemplars for the zero-shot annotator); a value with too few positives to tune on falls back
to the threshold tuned on all values pooled, so a rare value never gets a threshold from one
or two examples.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_POSITIVES = 3


def _f1_curve(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 of ``scores >= t`` for every distinct score ``t``, in one sort.

    ``truth`` may be 0/1 labels or probabilities; with probabilities this is the expected F1.
    """
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], truth[order].astype(np.float64)
    tp = np.cumsum(y)
    predicted = np.arange(1, len(s) + 1, dtype=np.float64)
    positives = y.sum()
    # Only the last index of a run of tied scores is a reachable cut.
    last = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(positives + predicted > 0, 2 * tp / (positives + predicted), 0.0)
    return s[last], f1[last]


def best_cut(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """The cut maximising (expected) F1 of ``scores >= cut`` over non-empty ``scores``, and that F1.

    The cut is placed half-way between the chosen score and the next lower one, so a new item
    scoring like the weakest accepted item is still accepted.
    """
    cuts, f1 = _f1_curve(np.asarray(scores, dtype=np.float64), truth)
    k = int(np.argmax(f1))
    below = cuts[k + 1] if k + 1 < len(cuts) else cuts[k]
    return float((cuts[k] + below) / 2), float(f1[k])


def best_threshold(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """The threshold maximising F1 of ``scores >= threshold`` on 0/1 labels, and that F1."""
    truth = np.asarray(truth).astype(bool)
    if not truth.any() or len(scores) == 0:
        return float("inf"), 0.0
    return best_cut(scores, truth)


def tune_thresholds(scores: np.ndarray, truth: np.ndarray, *, min_positives: int = MIN_POSITIVES) -> np.ndarray:
    """One threshold per column; columns with fewer than ``min_positives`` positives get the pooled one."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth).astype(bool)
    pooled, _ = best_threshold(scores.ravel(), truth.ravel())
    out = np.full(scores.shape[1], pooled, dtype=np.float64)
    for j in range(scores.shape[1]):
        if truth[:, j].sum() >= min_positives:
            out[j], _ = best_threshold(scores[:, j], truth[:, j])
    return out


@dataclass
class ValueScore:
    value_id: str
    support: int
    precision: float
    recall: float
    f1: float
    threshold: float

    def as_dict(self) -> dict:
        # A value never seen positive has an infinite threshold; JSON has no infinity.
        return {k: ((round(v, 4) if np.isfinite(v) else None) if isinstance(v, float) else v)
                for k, v in self.__dict__.items()}


def per_value_report(pred: np.ndarray, truth: np.ndarray, value_ids: list[str], thresholds) -> dict:
    """Per-value precision / recall / F1 plus macro and micro F1 over values with support."""
    pred = np.asarray(pred).astype(bool)
    truth = np.asarray(truth).astype(bool)
    rows: list[ValueScore] = []
    for j, vid in enumerate(value_ids):
        tp = int((pred[:, j] & truth[:, j]).sum())
        fp = int((pred[:, j] & ~truth[:, j]).sum())
        fn = int((~pred[:, j] & truth[:, j]).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        rows.append(ValueScore(vid, int(truth[:, j].sum()), p, r, f, float(thresholds[j])))
    supported = [r for r in rows if r.support > 0]
    tp = int((pred & truth).sum())
    denom = int(pred.sum() + truth.sum())
    return {
        "macro_f1": round(float(np.mean([r.f1 for r in supported])), 4) if supported else 0.0,
        "micro_f1": round(2 * tp / denom, 4) if denom else 0.0,
        "n_items": int(len(truth)),
        "values": [r.as_dict() for r in rows],
    }
