"""Per-value cuts that maximise the expected F1 over a batch of rationales.

A tuned threshold is one number per value, chosen on a few hundred held-out rationales; it
is noisy for a rare value and blind to a corpus where a value is more or less common than in
the training labels. The alternative used here decides once the whole batch is scored: each
value's scores are first calibrated into probabilities (one logistic curve per value, fitted
on the same held-out predictions the thresholds are tuned on), and then the batch's
rationales are accepted in order of probability up to the count that maximises the expected
F1 of that value over the batch, ``2 * sum(accepted p) / (n accepted + sum(all p))``. No label
of the batch is read; its scores alone set the cut, so a rationale's values depend on the
batch it is annotated with, and a small batch (fewer than ``MIN_BATCH``) keeps the tuned
thresholds, where the expectation would be too coarse to trust.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from .thresholds import MIN_POSITIVES, best_cut

MIN_BATCH = 200
_EPS = 1e-6  # keeps the logit of a saturated score finite


def clipped_logit(scores: np.ndarray) -> np.ndarray:
    """Log-odds of scores in [0, 1], clipped so that 0 and 1 stay finite."""
    return logit(np.clip(np.asarray(scores, dtype=np.float64), _EPS, 1 - _EPS))


def fit_calibration(scores: np.ndarray, truth: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Per value ``(slope, intercept)`` of a logistic curve over the logit of its score.

    Values with fewer than ``MIN_POSITIVES`` positives (or negatives), or whose held-out
    scores rank them backwards (slope <= 0), get NaN: no calibration, and the batch decision
    keeps their tuned threshold.
    """
    from sklearn.linear_model import LogisticRegression

    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth).astype(bool)
    out = np.full((scores.shape[1], 2), np.nan)
    for j in range(scores.shape[1]):
        pos = int(truth[:, j].sum())
        if pos < MIN_POSITIVES or len(truth) - pos < MIN_POSITIVES:
            continue
        model = LogisticRegression(random_state=seed).fit(clipped_logit(scores[:, j])[:, None], truth[:, j])
        if model.coef_[0, 0] > 0:
            out[j] = model.coef_[0, 0], model.intercept_[0]
    return out


def calibrated(scores: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """Probabilities from scores; an uncalibrated value keeps its score."""
    scores = np.asarray(scores, dtype=np.float64)
    probs = expit(clipped_logit(scores) * calibration[:, 0] + calibration[:, 1])  # NaN where uncalibrated
    return np.where(np.isnan(calibration[:, 0]), scores, probs)


def expected_f1_cut(scores: np.ndarray, probs: np.ndarray) -> float:
    """The score threshold accepting the items that maximise expected F1, given their probabilities.

    ``probs`` must rank the items as ``scores`` do (a calibration is increasing), so the cut
    can be placed on the scores themselves, half-way to the next item as tuned thresholds are.
    """
    return best_cut(scores, probs)[0]


def batch_thresholds(scores: np.ndarray, calibration: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Per-value score thresholds for this batch; ``fallback`` (tuned) where no decision is made here."""
    scores = np.asarray(scores, dtype=np.float64)
    out = np.array(fallback, dtype=np.float64, copy=True)
    if len(scores) < MIN_BATCH:
        return out
    probs = calibrated(scores, calibration)
    for j in range(scores.shape[1]):
        if np.isfinite(out[j]) and not np.isnan(calibration[j, 0]):
            out[j] = expected_f1_cut(scores[:, j], probs[:, j])
    return out
