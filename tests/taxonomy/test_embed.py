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


TEXTS = ["keeping a promise", "honesty", "you should have told her the truth before the wedding", "respect",
         "it is her money and her choice", "loyalty to your family", "care", "fairness to everyone at the table",
         "privacy", "NTA", "owning up to a mistake", "not your responsibility to fix this"]


def test_a_resumed_run_computes_the_vectors_an_uninterrupted_run_does(tmp_path):
    # Vectors depend on their batch in the last digits; a run that stopped after its first chunk
    # must cut the rest exactly as a run that never stopped.
    whole = Embedder(cache_dir=tmp_path / "whole", batch_size=4, chunk_size=4)
    expected = whole.encode(TEXTS)
    shards = sorted((tmp_path / "whole" / whole.fingerprint).glob("*.npz"), key=lambda p: p.stat().st_mtime_ns)
    assert len(shards) == 3  # 12 texts, chunks of one 4-text batch
    resumed_dir = tmp_path / "resumed" / whole.fingerprint
    resumed_dir.mkdir(parents=True)
    shards[0].rename(resumed_dir / shards[0].name)  # what a run killed after its first chunk left
    resumed = Embedder(cache_dir=tmp_path / "resumed", batch_size=4, chunk_size=4, loaded_model=whole.model)
    assert np.array_equal(resumed.encode(TEXTS), expected)
    assert resumed.stats == {"cached": 4, "embedded": 8}


def test_vectors_do_not_depend_on_the_thread_count(tmp_path):
    import torch

    emb = Embedder(use_cache=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = emb.encode(TEXTS[:5])  # a 5-text batch differed between 1 and 2 threads without MKL's strict mode
        torch.set_num_threads(2)
        two = emb.encode(TEXTS[:5])
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(one, two)


def test_chunks_hold_whole_batches():
    assert Embedder(batch_size=32, chunk_size=100, use_cache=False).chunk_size == 96
    assert Embedder(batch_size=128, chunk_size=4, use_cache=False).chunk_size == 128
