"""One seed controls all randomness.

Components never use global random state: they get a ``numpy.random.Generator`` from
:func:`rng`, derived from the run seed plus a key naming what it is for, so adding a new
random step does not shift the streams of the existing ones.
"""
from __future__ import annotations

import hashlib
import random

import numpy as np

DEFAULT_SEED = 13


def _key_ints(*keys) -> list[int]:
    out = []
    for k in keys:
        if isinstance(k, (int, np.integer)) and k >= 0:
            out.append(int(k))
        else:
            out.append(int.from_bytes(hashlib.sha256(str(k).encode()).digest()[:8], "little"))
    return out


def rng(seed: int, *keys) -> np.random.Generator:
    """A generator for ``(seed, *keys)``: the same keys give the same stream on any machine."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *_key_ints(*keys)])))


def seed_everything(seed: int) -> None:
    """For libraries that only read global state (torch, hdbscan's internals, random)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:
        pass
