"""Dirichlet models of value profiles: the paper's alpha * G0 and maximum-likelihood fits.

Two maximum-likelihood estimators, both Minka's fixed-point iterations ("Estimating a
Dirichlet distribution", 2000), written on scipy.special:

* :func:`fit_dirichlet` for observed probability vectors (every entry > 0);
* :func:`fit_dirichlet_multinomial` for *count* vectors, each a multinomial draw from its own
  theta ~ Dirichlet(a) (the Polya / Dirichlet-multinomial model). Profiles use this one: a
  dilemma's rationales name a handful of values, so its empirical value distribution is mostly
  zeros and a plain Dirichlet fit (which needs log p) would be meaningless on it.

The concentration ``sum(a)`` says how much dilemmas of a group agree on values: large means
every dilemma draws on the group's overall mix, small means each dilemma has its own few values.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import digamma, gammaln, polygamma

MAX_CONCENTRATION = 1e6


@dataclass
class DirichletFit:
    alpha: np.ndarray
    n_iter: int
    converged: bool
    loglik: float
    n_obs: int
    notes: list[str] = field(default_factory=list)

    @property
    def concentration(self) -> float:
        return float(self.alpha.sum())

    @property
    def mean(self) -> np.ndarray:
        return self.alpha / self.alpha.sum()


def dirichlet_parameters(g0, alpha: float) -> np.ndarray:
    """The paper's Dirichlet parameters ``alpha * G0``, validated."""
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    g = np.asarray(g0, dtype=float)
    if g.ndim != 1 or g.size == 0 or np.any(~np.isfinite(g)) or np.any(g < 0) or not np.isclose(g.sum(), 1.0, atol=1e-6):
        raise ValueError("G0 must be a non-negative probability vector summing to 1")
    return alpha * g


def inverse_digamma(y: np.ndarray, n_newton: int = 6) -> np.ndarray:
    """Solve ``digamma(x) = y`` for x > 0 (Minka's initialisation, then Newton steps)."""
    y = np.asarray(y, dtype=float)
    euler = -digamma(1.0)
    with np.errstate(divide="ignore", over="ignore"):
        x = np.where(y >= -2.22, np.exp(y) + 0.5, -1.0 / (y + euler))
    for _ in range(n_newton):
        x = x - (digamma(x) - y) / polygamma(1, x)
        x = np.maximum(x, 1e-12)
    return x


def _check_matrix(x, what: str) -> np.ndarray:
    m = np.asarray(x, dtype=float)
    if m.ndim != 2 or m.shape[0] < 2 or m.shape[1] < 2:
        raise ValueError(f"{what} must be a 2-D array with at least 2 rows and 2 columns, got shape {m.shape}")
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise ValueError(f"{what} must be finite and non-negative")
    return m


def fit_dirichlet(proportions, *, max_iter: int = 20000, tol: float = 1e-9) -> DirichletFit:
    """Maximum-likelihood Dirichlet for rows that are probability vectors with no zero entry."""
    p = _check_matrix(proportions, "proportions")
    if np.any(p <= 0):
        raise ValueError("proportions must be > 0 everywhere; use fit_dirichlet_multinomial for counts with zeros")
    p = p / p.sum(axis=1, keepdims=True)
    n = p.shape[0]
    log_pbar = np.log(p).mean(axis=0)
    a = _moment_start(p)
    converged = False
    for it in range(1, max_iter + 1):
        new = inverse_digamma(digamma(a.sum()) + log_pbar)
        step = np.max(np.abs(new - a) / a)
        a = new
        if step < tol:
            converged = True
            break
    loglik = n * (gammaln(a.sum()) - gammaln(a).sum() + ((a - 1) * log_pbar).sum())
    return DirichletFit(a, it, converged, float(loglik), n)


def _moment_start(p: np.ndarray) -> np.ndarray:
    """Method-of-moments starting point: mean times a precision from the median per-coordinate variance ratio."""
    mean = p.mean(axis=0)
    var = p.var(axis=0)
    ok = var > 0
    if not np.any(ok):
        return mean * 10.0
    s = np.median(mean[ok] * (1 - mean[ok]) / var[ok] - 1.0)
    return np.clip(mean, 1e-6, None) * float(np.clip(s, 0.1, 1e4))


def fit_dirichlet_multinomial(counts, *, max_iter: int = 20000, tol: float = 1e-9,
                              max_concentration: float = MAX_CONCENTRATION) -> DirichletFit:
    """Maximum-likelihood Dirichlet a from count rows, each row ~ Multinomial(n_i, theta_i), theta_i ~ Dir(a).

    Rows with no counts carry no information and are dropped; columns never observed get
    a_k = 0 (their maximum-likelihood value) and are left out of the iteration. When the data
    are no more spread out than a single multinomial, the likelihood keeps rising as the
    concentration grows; the fit stops at ``max_concentration`` and says so in ``notes``.
    """
    c = _check_matrix(counts, "counts")
    c = c[c.sum(axis=1) > 0]
    if c.shape[0] < 2:
        raise ValueError("need at least 2 rows with counts to fit a Dirichlet-multinomial")
    seen = c.sum(axis=0) > 0
    alpha = np.zeros(c.shape[1])
    notes: list[str] = []
    if seen.sum() < 2:
        alpha[seen] = max_concentration
        return DirichletFit(alpha, 0, False, float("nan"), c.shape[0], ["only one column observed: concentration unbounded"])
    x = c[:, seen]
    n_i = x.sum(axis=1)
    a = _moment_start(x / n_i[:, None])
    converged = False
    for it in range(1, max_iter + 1):
        s = a.sum()
        denom = (digamma(n_i + s) - digamma(s)).sum()
        numer = (digamma(x + a) - digamma(a)).sum(axis=0)
        new = np.maximum(a * numer / denom, 1e-300)
        # The fixed point moves the concentration very slowly when it is large; a Newton
        # search on the concentration alone, with the mean held, makes each round count.
        mean = new / new.sum()
        new = mean * _best_precision(x, n_i, mean, new.sum(), max_concentration)
        step = np.max(np.abs(new - a) / a)
        a = new
        if a.sum() >= max_concentration * (1 - 1e-9):
            notes.append(f"no overdispersion beyond the multinomial: concentration reached {max_concentration:g}, stopped")
            break
        if step < tol:
            converged = True
            break
    alpha[seen] = a
    s = a.sum()
    loglik = (gammaln(s) - gammaln(n_i + s)).sum() + (gammaln(x + a) - gammaln(a)).sum()
    if not converged and not notes:
        notes.append(f"did not converge in {max_iter} iterations")
    return DirichletFit(alpha, it, converged, float(loglik), c.shape[0], notes)


def _best_precision(x: np.ndarray, n_i: np.ndarray, mean: np.ndarray, s: float, cap: float, steps: int = 20) -> float:
    """Newton on log(s) for the Dirichlet-multinomial likelihood with the mean held fixed."""
    u, top = np.log(s), np.log(cap)
    for _ in range(steps):
        s = np.exp(u)
        sm = s * mean
        g = (digamma(s) - digamma(n_i + s)).sum() + (mean * (digamma(x + sm) - digamma(sm))).sum()
        h = (polygamma(1, s) - polygamma(1, n_i + s)).sum() + (mean**2 * (polygamma(1, x + sm) - polygamma(1, sm))).sum()
        d1, d2 = s * g, s * g + s * s * h
        delta = -d1 / d2 if d2 < 0 else np.sign(d1)
        u = min(u + float(np.clip(delta, -2.0, 2.0)), top)
        if abs(delta) < 1e-8 or u >= top:
            break
    return cap if u >= top else float(np.exp(u))
