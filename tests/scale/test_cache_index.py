"""The embedding cache read through a key index: same files, same answers, vectors on demand."""
import numpy as np

from moralgap.scale.cache_index import IndexedEmbeddingCache
from moralgap.taxonomy.embed import EmbeddingCache, text_key


def test_index_reads_and_writes_what_the_dict_cache_does(tmp_path):
    gen = np.random.default_rng(13)
    keys = [text_key(f"text {i}") for i in range(300)]
    vecs = gen.standard_normal((300, 8)).astype(np.float32)
    old = EmbeddingCache(tmp_path)
    old.put_many(keys[:100], vecs[:100])
    old.put_many(keys[100:200], vecs[100:200])

    idx = IndexedEmbeddingCache(tmp_path)
    assert len(idx) == 200
    assert idx.contains(keys[190:210]).tolist() == [True] * 10 + [False] * 10
    got = idx.get_many(keys[150:250])
    assert sorted(got) == sorted(keys[150:200])
    assert all(np.array_equal(got[k], vecs[i]) for i, k in enumerate(keys) if k in got)

    idx.put_many(keys[200:], vecs[200:])
    assert idx.contains(keys).all()
    # Written in the same format: the dict cache (the local engine) reads it back.
    back = EmbeddingCache(tmp_path).get_many(keys)
    assert len(back) == 300 and np.array_equal(np.stack([back[k] for k in keys]), vecs)


def test_a_torn_shard_is_ignored(tmp_path):
    EmbeddingCache(tmp_path).put_many([text_key("a")], np.ones((1, 4), np.float32))
    (tmp_path / "torn.npz").write_bytes(b"PK\x03\x04 not a zip")
    idx = IndexedEmbeddingCache(tmp_path)
    assert idx.contains([text_key("a"), text_key("b")]).tolist() == [True, False]
    assert idx.get_many([]) == {}
