"""balance_partition: a value that joined two ideas is split and two values that say the same
thing are joined, at the same number of values (issue 14: what a reader sees in taxonomy show)."""
from __future__ import annotations

import numpy as np

from moralgap.taxonomy.cluster import balance_partition, unit_rows


def _blob(rng, centre, n, noise=0.05):
    return unit_rows(centre + noise * rng.standard_normal((n, centre.shape[0])))


def test_two_ideas_in_one_value_are_split_and_two_twins_joined():
    rng = np.random.default_rng(0)
    dirs = unit_rows(rng.standard_normal((5, 32)))
    twin = unit_rows(dirs[3] + 0.02 * rng.standard_normal(32))
    vectors = np.vstack([_blob(rng, dirs[0], 20), _blob(rng, dirs[1], 20),  # value 0 holds two ideas
                         _blob(rng, dirs[2], 15),                            # value 1: one idea
                         _blob(rng, dirs[3], 6), _blob(rng, twin, 6),         # values 2 and 3: the same idea
                         _blob(rng, dirs[4], 15)])                           # value 4
    labels = np.array([0] * 40 + [1] * 15 + [2] * 6 + [3] * 6 + [4] * 15)
    weights = np.ones(len(labels))
    out = balance_partition(vectors, labels, weights, random_state=0)
    assert out.max() + 1 == 5 and set(out) == set(range(5))
    # The two ideas of value 0 now sit in two values, each whole.
    first, second = set(out[:20]), set(out[20:40])
    assert len(first) == 1 and len(second) == 1 and first != second
    # The twins share one value; the single-idea values are untouched.
    assert len(set(out[55:67])) == 1
    assert len(set(out[40:55])) == 1 and len(set(out[67:])) == 1


def test_a_partition_with_nothing_to_gain_is_left_alone():
    rng = np.random.default_rng(1)
    dirs = unit_rows(rng.standard_normal((4, 32)))
    vectors = np.vstack([_blob(rng, d, 10) for d in dirs])
    labels = np.repeat(np.arange(4), 10)
    out = balance_partition(vectors, labels, np.ones(40), random_state=0)
    np.testing.assert_array_equal(out, labels)
