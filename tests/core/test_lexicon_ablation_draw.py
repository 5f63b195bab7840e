"""The lexicon ablation's draw (benchmarks/taxonomy_lexicon_ablation.py) moves only where the
eligible values do, so one round's count can be compared with the last one's."""
from __future__ import annotations

import pytest

VALUES = [f"Value {i:02d}" for i in range(48)]


@pytest.fixture(scope="module")
def ablation(benchmark_module):
    return benchmark_module("taxonomy_lexicon_ablation")


def test_the_draw_is_fixed_by_the_seed_and_differs_between_seeds(ablation):
    first = ablation.draw(VALUES, 15, 13)
    assert first == ablation.draw(list(reversed(VALUES)), 15, 13)
    assert len(first) == len(set(first)) == 15 and set(first) <= set(VALUES)
    assert first != ablation.draw(VALUES, 15, 14)


def test_one_value_more_or_less_changes_at_most_one_drawn_value(ablation):
    for seed in range(13, 18):
        drawn = set(ablation.draw(VALUES, 15, seed))
        for gone in VALUES:
            fewer = set(ablation.draw([v for v in VALUES if v != gone], 15, seed))
            assert len(drawn - fewer) <= 1
        more = set(ablation.draw(VALUES + ["Value new"], 15, seed))
        assert len(drawn - more) <= 1


def test_fewer_eligible_values_than_asked_are_all_drawn(ablation):
    assert ablation.draw(VALUES[:4], 15, 13) == VALUES[:4]
