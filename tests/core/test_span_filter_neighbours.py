"""The neighbour experiment (benchmarks/span_filter_neighbours.py) judges a word only by other
words, and leaves SpanFilter as it was once its block ends, so no other figure is touched."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def neighbours(benchmark_module):
    return benchmark_module("span_filter_neighbours")


def test_a_span_is_never_its_own_words_neighbour(neighbours):
    ref = np.eye(3, dtype=np.float32)  # three labelled spans, each alone in its direction
    labels, words = np.array([True, True, False]), np.array(["boundary", "respect", "house"])
    query = ref[[0]]  # the very vector of "boundary"
    near_same_word = neighbours.neighbour_features(query, np.array(["boundary"]), ref, labels, words, k=1)
    near_other_word = neighbours.neighbour_features(query, np.array(["limit"]), ref, labels, words, k=1)
    # Read as another word, "boundary"'s nearest value is itself (cosine 1); as "boundary" it is not.
    assert near_other_word[0, 0] == pytest.approx(neighbours.SCALE)
    assert near_same_word[0, 0] == pytest.approx(0.0)
    assert near_same_word[0, 1] == near_other_word[0, 1] == pytest.approx(0.0)


def test_the_patch_ends_with_its_block(neighbours):
    from moralgap.taxonomy.span_filter import SpanFilter

    features, fit = SpanFilter.features, SpanFilter.fit
    with neighbours.neighbour_filters():
        assert SpanFilter.features is not features and SpanFilter.fit is not fit
    assert SpanFilter.features is features and SpanFilter.fit is fit
