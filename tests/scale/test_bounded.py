"""The fit sample: seeded, weighted by frequency, never more than the bound."""
import numpy as np

from moralgap.scale.bounded import fit_sample


def test_all_forms_are_kept_under_the_bound():
    assert fit_sample(["a", "b", "c"], np.array([1.0, 5.0, 2.0]), 3, seed=13).tolist() == [0, 1, 2]


def test_sample_is_seeded_bounded_and_favours_frequent_forms():
    keys = [f"k{i:04d}" for i in range(2000)]
    counts = np.where(np.arange(2000) < 100, 200.0, 1.0)  # 100 frequent forms, 1900 rare ones
    a = fit_sample(keys, counts, 300, seed=13)
    assert len(a) == 300 and len(set(a.tolist())) == 300 and np.all(np.diff(a) > 0)
    assert fit_sample(keys, counts, 300, seed=13).tolist() == a.tolist()
    assert fit_sample(keys, counts, 300, seed=14).tolist() != a.tolist()
    # Nearly every frequent form is drawn; the rare ones fill the rest in proportion.
    assert (a < 100).sum() >= 95
