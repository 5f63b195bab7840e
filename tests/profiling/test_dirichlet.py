from __future__ import annotations

import numpy as np
import pytest
from scipy.special import digamma

from moralgap.profiling.dirichlet import dirichlet_parameters, fit_dirichlet, fit_dirichlet_multinomial, inverse_digamma


def test_inverse_digamma_inverts():
    x = np.array([0.001, 0.05, 0.5, 1.0, 3.0, 40.0, 1e4])
    assert np.allclose(inverse_digamma(digamma(x)), x, rtol=1e-8)


def test_fit_dirichlet_recovers_known_parameters():
    true = np.array([5.0, 2.0, 1.0, 0.5, 0.3, 0.2])
    draws = np.random.default_rng(1).dirichlet(true, size=5000)
    fit = fit_dirichlet(draws)
    assert fit.converged
    assert np.allclose(fit.alpha, true, rtol=0.06)
    assert fit.concentration == pytest.approx(true.sum(), rel=0.05)


def test_fit_dirichlet_multinomial_recovers_parameters_from_sparse_counts():
    gen = np.random.default_rng(2)
    g0 = gen.dirichlet(np.ones(20))
    true = 4.0 * g0
    theta = gen.dirichlet(true, size=1500)
    counts = np.array([gen.multinomial(25, t) for t in theta])
    assert (counts == 0).mean() > 0.3  # the sparse regime a per-dilemma value profile lives in
    fit = fit_dirichlet_multinomial(counts)
    assert fit.converged
    assert fit.concentration == pytest.approx(4.0, rel=0.1)
    assert np.abs(fit.mean - g0).max() < 0.01


def test_fit_dirichlet_multinomial_reports_unbounded_concentration():
    counts = np.random.default_rng(3).multinomial(3, [0.5, 0.3, 0.2], size=30)
    fit = fit_dirichlet_multinomial(counts, max_concentration=1e5)
    assert not fit.converged and fit.concentration == pytest.approx(1e5)
    assert "overdispersion" in fit.notes[0]


def test_unseen_columns_get_zero_and_empty_rows_are_ignored():
    counts = np.array([[3, 0, 1, 0], [0, 0, 4, 0], [0, 0, 0, 0], [2, 0, 2, 0], [5, 0, 0, 0]])
    fit = fit_dirichlet_multinomial(counts)
    assert fit.alpha[1] == 0 and fit.alpha[3] == 0 and fit.n_obs == 4


def test_bad_inputs():
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_parameters([0.5, 0.5], 0)
    with pytest.raises(ValueError, match="alpha"):
        dirichlet_parameters([0.5, 0.5], -1)
    with pytest.raises(ValueError, match="G0"):
        dirichlet_parameters([0.5, 0.6], 10)
    with pytest.raises(ValueError, match="> 0"):
        fit_dirichlet([[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(ValueError):
        fit_dirichlet_multinomial([[1, 2]])
