"""The sampling-noise floor: the gap a perfectly aligned model would still show.

If the model's P(acceptable) equals the humans' p, the two observed shares are
``K_h/n_h`` and ``K_m/n_m`` with independent ``K_h ~ Bin(n_h, p)``, ``K_m ~ Bin(n_m, p)``,
and the expected gap is ``E|K_h/n_h - K_m/n_m|``, summed exactly over both binomials.
The human share is the plug-in estimate of p. Dilemmas sharing ``(n_h, n_m)`` are computed
together, so 1,618 dilemmas at 32 vs 32 is one small matrix product.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binom


def expected_abs_diff(p, n_h, n_m) -> np.ndarray:
    """Exact ``E|p̂_h - p̂_m|`` per dilemma for the same true ``p`` on both sides."""
    p = np.asarray(p, dtype=float)
    n_h = np.asarray(n_h, dtype=np.int64)
    n_m = np.asarray(n_m, dtype=np.int64)
    out = np.full(p.shape, np.nan)
    ok = (n_h > 0) & (n_m > 0) & np.isfinite(p)
    pairs = np.stack([n_h[ok], n_m[ok]], axis=1) if ok.any() else np.empty((0, 2), dtype=np.int64)
    where = np.flatnonzero(ok)
    for a, b in np.unique(pairs, axis=0):
        sel = where[(n_h[where] == a) & (n_m[where] == b)]
        ps = p[sel][:, None]
        pmf_h = binom.pmf(np.arange(a + 1)[None, :], a, ps)
        pmf_m = binom.pmf(np.arange(b + 1)[None, :], b, ps)
        dist = np.abs(np.arange(a + 1)[:, None] / a - np.arange(b + 1)[None, :] / b)
        out[sel] = np.einsum("gi,ij,gj->g", pmf_h, dist, pmf_m, optimize=True)
    return out
