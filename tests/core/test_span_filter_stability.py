"""The span filter stability benchmark (benchmarks/span_filter_stability.py) leaves out the same
rationales for a seed and repeat whatever order the labels come in, so its figures rerun."""
from __future__ import annotations

import numpy as np
import pytest

IDS = [f"r{i:03d}" for i in range(200) for _ in range(3)]  # three labelled spans per rationale


@pytest.fixture(scope="module")
def stability(benchmark_module):
    return benchmark_module("span_filter_stability")


def test_a_repeat_leaves_out_the_share_asked_of_whole_rationales(stability):
    out = stability.left_out(IDS, 0.02, np.random.default_rng([13, 0]))
    assert len(out) == 4 and out <= set(IDS)


def test_the_rationales_left_out_depend_on_seed_and_repeat_not_on_order(stability):
    first = stability.left_out(IDS, 0.05, np.random.default_rng([13, 0]))
    assert first == stability.left_out(list(reversed(IDS)), 0.05, np.random.default_rng([13, 0]))
    assert first != stability.left_out(IDS, 0.05, np.random.default_rng([13, 1]))
    assert first != stability.left_out(IDS, 0.05, np.random.default_rng([14, 0]))
