from __future__ import annotations

import math

import numpy as np
import pytest

from moralgap.records import ValueAnnotation
from moralgap.diversity import (diversity_summary, distinct_count, js_divergence, normalised_entropy, top_k_share,
                                 value_counts)


def test_value_counts_count_a_value_once_per_rationale_and_keep_the_given_order():
    anns = [ValueAnnotation(rationale_id="a", value_ids=["x", "y", "x"]), {"rationale_id": "b", "value_ids": ["x"]},
            ValueAnnotation(rationale_id="c")]
    assert value_counts(anns) == {"x": 2, "y": 1}
    assert list(value_counts(anns, ["z", "y", "x"]).items()) == [("z", 0), ("y", 1), ("x", 2)]
    with pytest.raises(ValueError, match="x"):
        value_counts(anns, ["y"])


def test_normalised_entropy_by_taxonomy_size_or_observed_values():
    assert normalised_entropy([5, 5, 5, 5]) == pytest.approx(1.0)
    assert normalised_entropy([7, 0, 0, 0]) == 0.0
    # two equally used values out of four: H = log 2, normalised by log 4 -> 0.5; by observed (2) -> 1
    assert normalised_entropy([3, 3, 0, 0]) == pytest.approx(0.5)
    assert normalised_entropy({"a": 3, "b": 3}, n_values=4) == pytest.approx(0.5)
    assert normalised_entropy([3, 3, 0, 0], n_values="observed") == pytest.approx(1.0)
    p = np.array([0.5, 0.25, 0.25])
    assert normalised_entropy([2, 1, 1], n_values=60) == pytest.approx(-(p * np.log(p)).sum() / math.log(60))
    assert math.isnan(normalised_entropy([0, 0]))
    with pytest.raises(ValueError):
        normalised_entropy([1, 1, 1], n_values=2)


def test_top_k_share_and_distinct():
    counts = {"a": 50, "b": 30, "c": 10, "d": 10, "e": 0}
    assert top_k_share(counts, k=1) == pytest.approx(0.5)
    assert top_k_share(counts, k=2) == pytest.approx(0.8)
    assert top_k_share(counts, k=10) == pytest.approx(1.0)
    assert distinct_count(counts) == 4
    summary = diversity_summary(counts, n_values=5, k=2)
    assert summary["mentions"] == 100 and summary["distinct_values"] == 4 and summary["top_2_share"] == pytest.approx(0.8)


def test_js_divergence_properties():
    assert js_divergence([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-12)
    assert js_divergence([1, 0], [0, 1]) == pytest.approx(1.0)
    p, q = [0.7, 0.2, 0.1], [0.1, 0.3, 0.6]
    assert js_divergence(p, q) == pytest.approx(js_divergence(q, p))
    m = 0.5 * (np.array(p) + np.array(q))
    kl = lambda a, b: float(np.sum(np.array(a) * np.log2(np.array(a) / b)))
    assert js_divergence(p, q) == pytest.approx(0.5 * kl(p, m) + 0.5 * kl(q, m))
    # mappings are aligned on the union of their keys
    assert js_divergence({"a": 1}, {"b": 3}) == pytest.approx(1.0)
    assert js_divergence({"a": 1, "b": 1}, {"b": 2, "a": 2}) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError):
        js_divergence([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        js_divergence([-1, 2], [1, 2])
