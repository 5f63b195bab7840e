"""balance_partition: a value that joined two ideas is split and two values that say the same
thing are joined, at the same number of values (issue 14: what a reader sees in taxonomy show)."""
from __future__ import annotations

import numpy as np

from moralgap.taxonomy.cluster import balance_partition, cluster_expressions, promote_frequent_noise, unit_rows


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


def test_a_form_said_as_often_as_a_value_is_not_left_to_join_its_neighbour():
    # "control", said 9 times with no other form near it, was HDBSCAN noise and joined
    # "Responsibility" as an outlier. A form said as often as HDBSCAN's median cluster gets a
    # cluster of its own; a rare one stays noise.
    rng = np.random.default_rng(1)
    dirs = unit_rows(rng.standard_normal((6, 32)))
    vectors = np.vstack([_blob(rng, d, 8, noise=0.2) for d in dirs[:4]] + [dirs[4:5], dirs[5:6]])
    weights = np.ones(len(vectors))
    weights[32] = 9.0  # the frequent lone form; weights[33] stays 1
    result = cluster_expressions(vectors, weights, n_values=6, min_cluster_size=3, min_samples=1,
                                 pca_components=None, random_state=0)
    assert result.promoted == 1
    frequent, rare = result.labels[32], result.labels[33]
    assert frequent >= 0 and not (result.labels[:32] == frequent).any()
    assert rare == -1 or rare != frequent

    labels, promoted = promote_frequent_noise(np.array([0, 0, 0, 1, 1, -1, -1]), np.array([1, 1, 1, 2, 2, 4, 3.0]))
    # Cluster sizes 3 and 4 mentions: the median is 3.5, so only the form said 4 times is promoted.
    assert promoted == 1 and list(labels) == [0, 0, 0, 1, 1, 2, -1]


def test_a_trace_records_each_step_and_changes_nothing():
    rng = np.random.default_rng(2)
    dirs = unit_rows(rng.standard_normal((8, 32)))
    vectors = np.vstack([_blob(rng, d, 6, noise=0.15) for d in dirs])
    weights = np.ones(len(vectors))
    settings = dict(n_values=4, min_cluster_size=2, min_samples=1, pca_components=None, random_state=0, refine=2)
    trace: dict = {}
    traced = cluster_expressions(vectors, weights, trace=trace, **settings)
    plain = cluster_expressions(vectors, weights, **settings)
    np.testing.assert_array_equal(traced.labels, plain.labels)
    assert list(trace) == ["leaves", "promoted", "merged", "balanced", "refined"]
    assert int(trace["leaves"].max() + 1) == traced.n_hdbscan
    assert int(trace["merged"].max() + 1) == 4
    # The last step's groups are the result's, numbered by size instead.
    last = trace["refined"]
    pairs = {(int(a), int(b)) for a, b in zip(last, traced.labels)}
    assert len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs})
