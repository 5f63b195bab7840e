"""The team's (rationale, value) labels behind benchmarks/annotate_auto_aita.py: each pair once,
only on the comments the benchmark draws, and its scoring refuses a pair nobody labelled."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def bench(benchmark_module):
    return benchmark_module("annotate_auto_aita")


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", ["LABELS", "BOTH_SIDES_LABELS"])
def test_each_pair_is_labelled_once_with_a_boolean(bench, name):
    rows = _rows(getattr(bench, name))
    keys = [(r["rationale_id"], r["value_id"]) for r in rows]
    assert rows and len(keys) == len(set(keys))
    assert all(isinstance(r["fits"], bool) and r["value_name"] for r in rows)
    # Only ids and the value's name: the comments' text stays in ../shared/data.
    assert all(set(r) == {"rationale_id", "value_id", "value_name", "fits"} for r in rows)


def test_labels_lie_on_the_comments_the_benchmark_draws(bench, shared_data):
    judgments = bench.aita_judgments()
    drawn = bench.sample_ids(judgments, 2 * bench.SAMPLE_SIZE)
    assert drawn == bench.sample_ids(list(reversed(judgments)), 2 * bench.SAMPLE_SIZE)
    assert {r["rationale_id"] for r in _rows(bench.LABELS)} <= set(drawn)


def test_scoring_counts_pooled_recall_and_refuses_unlabelled_pairs(bench):
    labels = {("r1", "a"): True, ("r1", "b"): False, ("r2", "a"): True, ("r9", "a"): True}
    got = bench.score({"r1": ["a", "b"], "r2": []}, labels, ["r1", "r2"])
    # r9 lies outside the sample, so its fitting pair does not count against recall.
    assert got["pairs"] == 2 and got["fit"] == 1 and got["precision"] == 0.5 and got["pooled_recall"] == 0.5
    with pytest.raises(SystemExit, match="lack a label"):
        bench.score({"r1": ["c"]}, labels, ["r1"])
