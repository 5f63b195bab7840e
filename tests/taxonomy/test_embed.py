"""The embedding cache: real MiniLM, keyed by model and text, resumable, no pickle."""
from __future__ import annotations

import numpy as np
import pytest

from moralgap.taxonomy.embed import Embedder

pytestmark = pytest.mark.slow


def test_vectors_are_normalised_and_duplicates_embedded_once(tmp_path):
    emb = Embedder(cache_dir=tmp_path)
    vecs = emb.encode(["honesty", "respect", "honesty"])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vecs[0], vecs[2]) and emb.stats["embedded"] == 2
    assert float(vecs[0] @ vecs[1]) < 0.99


def test_second_run_reads_the_cache_and_embeds_only_new_texts(tmp_path):
    first = Embedder(cache_dir=tmp_path)
    a = first.encode(["loyalty", "privacy"])
    second = Embedder(cache_dir=tmp_path)
    b = second.encode(["privacy", "loyalty", "fairness"])
    assert second.stats == {"cached": 2, "embedded": 1}
    assert np.allclose(b[0], a[1]) and np.allclose(b[1], a[0])
    assert second._model is not None  # the new text needed the model


def test_a_torn_cache_shard_is_ignored_and_recomputed(tmp_path):
    emb = Embedder(cache_dir=tmp_path)
    emb.encode(["care"])
    shard = next((tmp_path / emb.fingerprint).glob("*.npz"))
    shard.write_bytes(shard.read_bytes()[:20])  # a crash mid-write
    again = Embedder(cache_dir=tmp_path)
    again.encode(["care"])
    assert again.stats["embedded"] == 1


def test_unknown_model_is_a_clear_error(tmp_path):
    from moralgap.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot load embedding model"):
        Embedder(str(tmp_path), cache_dir=tmp_path).encode(["x"])
