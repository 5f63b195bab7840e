"""A build that mixes each mention's sentence into its vector, past --fit-max-forms: the fit is a
sample of mentions and the rest are embedded with their own sentences (moralgap/scale/bounded.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.scale.bounded import fit_sample
from moralgap.taxonomy.folder import TaxonomyFolder
from moralgap.taxonomy.space import EmbeddingSpace, meaning_text

pytestmark = pytest.mark.slow  # real spaCy and MiniLM


def test_sentence_build_past_the_bound_assigns_the_rest_in_their_sentences(sample_dir, sample_judgments, tmp_path):
    out = tmp_path / "tax"
    r = CliRunner().invoke(main, ["taxonomy", "build", str(sample_dir / "judgments.jsonl"), "--out", str(out),
                                  "--n-values", "20", "--embed-text", "sentence", "--context-weight", "1",
                                  "--fit-max-forms", "300"])
    assert r.exit_code == 0, r.output
    folder = TaxonomyFolder.load(out)
    fit = folder.taxonomy.stats["fit_sample"]
    kept = [e for e in folder.expressions if not e.excluded]
    # Every mention is its own form: the fit holds 300 mentions of all of them.
    assert fit["sampled"] is True and fit["forms_fitted"] == fit["mentions_fitted"] == 300
    assert fit["forms_total"] == fit["mentions_total"] == len(kept)
    assert fit["forms_assigned"] > 0

    space = EmbeddingSpace.of(folder)
    keys = sorted({space.key(e) for e in kept})
    in_fit = {keys[i] for i in fit_sample(keys, np.ones(len(keys)), 300, seed=13)}
    rest = [e for e in kept if space.key(e) not in in_fit and e.value_id]
    assert len(rest) == fit["forms_assigned"]
    texts = {j.id: j.rationale for j in sample_judgments}
    vectors = space.key_vectors([space.key(e) for e in rest], texts)
    alone = space.encode([meaning_text(e.norm) for e in rest])
    for e, vec, form_only in zip(rest, vectors, alone):
        centroid = folder.centroids[e.value_id]
        # the similarity recorded is that of the form mixed with its own sentence ...
        assert e.similarity == pytest.approx(float(vec @ centroid), abs=2e-4)
    # ... not that of the form alone, as assigning it by its text would give
    assert not np.allclose([e.similarity for e in rest], (alone * np.stack([folder.centroids[e.value_id] for e in rest])).sum(1),
                           atol=1e-3)
    # sizes count every mention, fitted or assigned
    for v in folder.taxonomy.values:
        if v.status != "merged":
            assert v.size == sum(1 for e in kept if e.value_id == v.id)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["fit_sample"]["forms_sha256"] == fit["forms_sha256"]
