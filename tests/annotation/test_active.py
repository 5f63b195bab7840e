"""Choosing what to label next: uncertain, distinct and diverse rationales."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from moralgap.annotation.active import select_next, uncertainty
from moralgap.seeding import rng
from test_auto_data import LABELLED, UNLABELLED, write_inputs, write_jsonl


def test_uncertainty_is_highest_at_the_threshold():
    thresholds = np.array([0.3, 0.6])
    scores = np.array([[0.3, 0.0], [0.9, 0.61], [0.01, 0.99], [0.2, 0.7]])
    u = uncertainty(scores, thresholds)
    assert np.argsort(-u).tolist() == [0, 1, 3, 2]
    assert u[0] == pytest.approx(0.0)


def test_selection_is_distinct_uncertain_and_spread_over_clusters():
    gen = rng(5, "test-active")
    centres = np.eye(4) * 10
    emb = np.vstack([centres[k] + gen.normal(0, 0.1, (50, 4)) for k in range(4)])
    # cluster 0 holds the 50 most uncertain items, the others are less and less uncertain
    closeness = np.concatenate([np.linspace(0.001, 0.01, 50), np.linspace(0.05, 0.1, 50),
                                np.linspace(0.15, 0.2, 50), np.linspace(0.3, 0.4, 50)])
    scores = np.column_stack([0.5 + closeness, 0.5 + closeness + 0.2])
    thresholds = np.array([0.5, 0.5])
    picks = select_next(scores, thresholds, emb, n=4, pool_factor=50, seed=3)
    idx = [p.index for p in picks]
    assert len(idx) == len(set(idx)) == 4
    assert sorted(i // 50 for i in idx) == [0, 1, 2, 3]  # one from each cluster, not four near-duplicates
    assert idx[0] == 0  # the single most uncertain item leads
    u = [p.uncertainty for p in picks]
    assert u == sorted(u, reverse=True)
    # pure uncertainty would have taken items 0..3, all from cluster 0
    narrow = select_next(scores, thresholds, emb, n=4, pool_factor=1, seed=3)
    assert sorted(p.index for p in narrow) == [0, 1, 2, 3]


def test_small_inputs():
    scores = np.array([[0.2], [0.5]])
    assert [p.index for p in select_next(scores, np.array([0.5]), np.eye(2), n=5)] == [1, 0]
    assert select_next(scores[:0], np.array([0.5]), np.zeros((0, 2)), n=3) == []


@pytest.mark.slow
def test_cli_next_skips_labelled_and_writes_pushable_judgments(tmp_path):
    from moralgap.annotation.cli import annotate_group
    from moralgap.datasets import load_judgments

    paths = write_inputs(tmp_path)
    labelled = write_jsonl(tmp_path / "done.jsonl", [{"rationale_id": i, "value_ids": v} for i, _, v in LABELLED[:20]])
    out = tmp_path / "next.jsonl"
    res = CliRunner().invoke(annotate_group, ["next", str(paths["judgments"]), "--taxonomy", str(paths["taxonomy"]),
                                              "--n", "5", "--labeled", str(labelled), "--out", str(out)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    chosen = load_judgments(out).records
    ids = [j.id for j in chosen]
    assert len(ids) == len(set(ids)) == 5
    assert not set(ids) & {i for i, _, _ in LABELLED[:20]}
    assert set(ids) <= {i for i, _, _ in LABELLED} | {i for i, _ in UNLABELLED}
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["next_rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["next_uncertainty"] for r in rows] == sorted((r["next_uncertainty"] for r in rows), reverse=True)
    assert json.loads((tmp_path / "next.jsonl.manifest.json").read_text())["counts"]["already_labelled"] == 20
