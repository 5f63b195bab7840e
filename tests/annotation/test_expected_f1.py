"""Calibration and expected-F1 batch cuts (pure arithmetic on score matrices)."""
from __future__ import annotations

import numpy as np

from moralgap.annotation import expected_f1
from moralgap.annotation.expected_f1 import batch_thresholds, calibrated, expected_f1_cut, fit_calibration
from moralgap.annotation.thresholds import tune_thresholds


def _scores_and_truth(n: int, prevalence: float, seed: int):
    """Scores of a ranker that is right more often than not: positives score higher on average."""
    r = np.random.default_rng(seed)
    truth = r.random(n) < prevalence
    z = r.normal(np.where(truth, 1.0, -1.0), 1.2)
    return 1 / (1 + np.exp(-(z - 1.5))), truth  # over-confident negatives, as a tuned head gives


def test_calibration_is_increasing_and_matches_observed_rates():
    s, y = _scores_and_truth(4000, 0.2, seed=1)
    cal = fit_calibration(s[:, None], y[:, None])
    assert cal[0, 0] > 0
    p = calibrated(s[:, None], cal)[:, 0]
    assert np.all(np.diff(p[np.argsort(s)]) >= 0)
    for lo, hi in [(0.0, 0.2), (0.2, 0.5), (0.5, 1.0)]:
        band = (p >= lo) & (p < hi)
        assert abs(y[band].mean() - p[band].mean()) < 0.05, (lo, hi)


def test_values_without_enough_labels_or_with_a_backward_ranking_stay_uncalibrated():
    s, y = _scores_and_truth(500, 0.3, seed=2)
    few = np.zeros(500, dtype=bool)
    few[:2] = True
    cal = fit_calibration(np.c_[s, s, 1 - s], np.c_[y, few, y])
    assert np.isfinite(cal[0]).all() and np.isnan(cal[1]).all() and np.isnan(cal[2]).all()
    assert np.array_equal(calibrated(np.c_[s, s, s], cal)[:, 1:], np.c_[s, s])


def test_the_cut_maximises_expected_f1_over_every_possible_count():
    r = np.random.default_rng(3)
    scores = np.round(r.random(60), 2)  # rounding makes ties, which must stay together
    probs = scores ** 2
    cut = expected_f1_cut(scores, probs)
    accepted = scores >= cut

    def expected(mask):
        return 2 * probs[mask].sum() / (mask.sum() + probs.sum())

    assert not np.isin(scores[~accepted], scores[accepted]).any()  # no run of ties split
    best = max(expected(scores >= t) for t in np.unique(scores))
    assert np.isclose(expected(accepted), best)


def test_on_a_large_batch_the_cut_comes_close_to_the_best_f1_there():
    # what a per-value cut can reach on this batch, knowing its labels, is the ceiling
    s_hold, y_hold = _scores_and_truth(400, 0.1, seed=4)
    s_new, y_new = _scores_and_truth(5000, 0.1, seed=5)
    cal = fit_calibration(s_hold[:, None], y_hold[:, None])
    cut = batch_thresholds(s_new[:, None], cal, np.array([0.95]))[0]

    def f1(threshold):
        pred = s_new >= threshold
        return 2 * (pred & y_new).sum() / (pred.sum() + y_new.sum())

    best = max(f1(t) for t in np.quantile(s_new, np.linspace(0, 1, 401)))
    assert f1(cut) > best - 0.02
    assert f1(0.95) < best - 0.1  # the fallback alone would be far off: the cut did the work


def test_small_batches_uncalibrated_and_never_assigned_values_keep_their_thresholds(monkeypatch):
    s, y = _scores_and_truth(300, 0.3, seed=6)
    scores, truth = np.c_[s, s, s], np.c_[y, y, y]
    cal = fit_calibration(scores, truth)
    cal[1] = np.nan
    fallback = np.array([0.5, 0.5, np.inf])
    cuts = batch_thresholds(scores, cal, fallback)
    assert cuts[0] != 0.5 and cuts[1] == 0.5 and np.isinf(cuts[2])
    assert np.array_equal(batch_thresholds(scores[: expected_f1.MIN_BATCH - 1], cal, fallback), fallback)
    monkeypatch.setattr(expected_f1, "MIN_BATCH", 10)
    assert batch_thresholds(scores[:50], cal, fallback)[0] != 0.5
