"""Given (seed) values guide the merge of HDBSCAN clusters.

The merge rules are checked on hand-placed unit vectors, where the right answer is known;
the build and the command line are checked with the real spaCy pipeline and MiniLM.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from moralgap.errors import InputError
from moralgap.taxonomy.build import TaxonomyBuilder
from moralgap.taxonomy.cluster import claim_clusters, group_anchors, merge_guided
from moralgap.taxonomy.seed_values import SeedValue


def unit(*xs):
    v = np.array(xs, dtype=np.float64)
    return v / np.linalg.norm(v)


# Two given values along the first two axes; clusters around them and one unclaimed pair.
ANCHORS = np.stack([unit(1, 0, 0, 0), unit(0, 1, 0, 0)])
CENTS = np.stack([
    unit(1, 0.3, 0, 0),     # 0: given value 0
    unit(1, 0, 0.9, 0),     # 1: given value 0, far from cluster 0
    unit(0.75, 0.7, 0, 0),  # 2: given value 0 (just), but closest of all to cluster 3
    unit(0.7, 0.75, 0, 0),  # 3: given value 1
    unit(0, 0, 0.1, 1),     # 4: unclaimed
    unit(0, 0, 0.3, 1),     # 5: unclaimed, close to 4
])


def test_clusters_are_claimed_by_the_nearest_given_value_above_the_threshold():
    assert claim_clusters(CENTS, ANCHORS, 0.5).tolist() == [0, 0, 0, 1, -1, -1]
    assert claim_clusters(CENTS, ANCHORS, 0.99).tolist() == [-1] * 6


def test_one_given_value_joins_its_clusters_and_different_ones_stay_apart():
    claim = claim_clusters(CENTS, ANCHORS, 0.5)
    group = merge_guided(CENTS, claim, 3)
    assert group[0] == group[1] == group[2]          # must-link, although 1 is far from 0 and 2
    assert group[3] != group[2]                      # cannot-link, although 2 and 3 are the closest pair
    assert group[4] == group[5] != group[0]          # unclaimed clusters merge by distance
    # Without guidance average linkage joins 2 and 3 first.
    plain = merge_guided(CENTS, np.full(6, -1), 5)
    assert plain[2] == plain[3]


def test_auto_number_of_values_only_joins_clusters_of_one_given_value():
    claim = claim_clusters(CENTS, ANCHORS, 0.5)
    group = merge_guided(CENTS, claim, None)
    assert group.tolist() == [0, 0, 0, 1, 2, 3]


def test_when_forced_to_merge_each_given_value_names_at_most_one_group():
    claim = claim_clusters(CENTS, ANCHORS, 0.5)
    group = merge_guided(CENTS, claim, 1)
    assert set(group.tolist()) == {0}
    weights = np.array([5, 5, 5, 1, 1, 1], dtype=float)
    anchors = group_anchors(group, claim, weights)
    assert anchors.tolist() == [0]                   # value 0 holds most of the weight
    group = merge_guided(CENTS, claim, 3)
    anchors = group_anchors(group, claim, weights)
    assert sorted(a for a in anchors.tolist() if a >= 0) == [0, 1]


def _holder(result, lexicon_value: str) -> str:
    """The value holding most mentions the extractor's lexicon gives ``lexicon_value`` (mentions
    set apart as not values, or left out as noise, are held by no value)."""
    from collections import Counter

    held = Counter(e.value_id for e in result.expressions if e.lexicon_value == lexicon_value and e.value_id)
    return held.most_common(1)[0][0]


@pytest.mark.slow
def test_a_build_forms_given_values_and_reports_the_unsupported(sample_dir, embedder, extractor):
    from moralgap.datasets import load_judgments

    judgments = load_judgments(sample_dir / "judgments.jsonl", require_rationale=True).records
    expressions = extractor.extract(judgments)
    given = ["Honesty", "Loyalty", "Integrity"]
    seeds = [SeedValue(n, extractor.lexicon.definitions[n]) for n in given] + [SeedValue("Underwater Basket Weaving")]
    # With the lexicon prior in the embedded text, each given value the lexicon knows forms a
    # value of its own, named after it.
    guided = TaxonomyBuilder(15, seed=3, embedder=embedder, extractor=extractor, seed_values=seeds,
                             embed_text="norm+value").fit_expressions(expressions)
    holders = {n: _holder(guided, n) for n in given}
    assert len(set(holders.values())) == 3
    names = {v.id: (v.name, v.seed_name) for v in guided.taxonomy.values}
    assert all(names[holders[n]] == (n, n) for n in given)
    assert len(guided.taxonomy.values) == 15
    assert guided.stats["seed_values_unsupported"] == ["Underwater Basket Weaving"]
    assert guided.stats["seed_values_matched"] == 3
    with pytest.raises(InputError, match="seed_match_threshold"):
        TaxonomyBuilder(15, seed_values=seeds, seed_match_threshold=1.5)


@pytest.mark.slow
def test_cli_seed_values_and_threshold(sample_dir, tmp_path):
    seeds = tmp_path / "seeds.yaml"
    seeds.write_text("values:\n  - name: Honesty\n    definition: telling the truth and not lying\n  - Underwater Basket Weaving\n")
    out = tmp_path / "tax"
    proc = subprocess.run([sys.executable, "-m", "moralgap.cli", "taxonomy", "build", str(sample_dir / "judgments.jsonl"),
                           "--out", str(out), "--n-values", "20", "--seed-values", str(seeds), "--seed-threshold", "0.45"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "seed values matched: 1/2; no support for: Underwater Basket Weaving" in proc.stdout
    tax = json.loads((out / "taxonomy.json").read_text())
    assert [v["name"] for v in tax["values"] if v.get("seed_name")] == ["Honesty"]
    assert tax["params"]["seed_match_threshold"] == 0.45
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["params"]["seed_threshold"] == 0.45 and "seed_values" in manifest["inputs"]
