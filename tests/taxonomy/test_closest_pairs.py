"""The pairs of values `taxonomy show` offers a reviewer to merge (taxonomy/quality.py)."""
from __future__ import annotations

from types import SimpleNamespace

from moralgap.taxonomy.quality import closest_pairs


def value(vid: str, size: int, nearest: str | None, sim: float | None = None):
    quality = {} if nearest is None else {"nearest_value": nearest, "nearest_similarity": sim}
    return SimpleNamespace(id=vid, size=size, quality=quality)


def test_only_mutual_nearest_values_pair_up_closest_first_larger_first():
    values = [
        value("va", 9, "vb", 0.70), value("vb", 12, "va", 0.70),   # a mutual pair
        value("vc", 5, "vd", 0.80), value("vd", 7, "vc", 0.80),    # a closer mutual pair
        value("ve", 4, "vd", 0.75),                                 # ve's nearest is vd, not the other way
        value("vf", 3, None),                                       # an older record without the figure
    ]
    pairs = closest_pairs(values)
    assert [(a.id, b.id, s) for a, b, s in pairs] == [("vd", "vc", 0.80), ("vb", "va", 0.70)]
    assert closest_pairs(values, top=1)[0][2] == 0.80


def test_a_value_left_out_takes_its_pair_with_it():
    # `taxonomy show` passes only the values it lists: a merged or rejected one is not there.
    values = [value("va", 9, "vb", 0.70), value("vb", 12, "va", 0.70)]
    assert closest_pairs(values[:1]) == []
