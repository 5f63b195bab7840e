"""The embedding cache read without loading it: a sorted array of keys, vectors read on demand.

:class:`taxonomy.embed.EmbeddingCache` loads every vector of every shard into a dict on first
use, which is fine for a laptop's cache and not for one that holds millions of forms. This
reads the same folder (``.npz`` shards of ``keys`` and ``vectors``, written the same way, so both
engines share one cache) but keeps only an index: each key's SHA-1 as 20 bytes, sorted, with its
shard and row (28 bytes a vector, against about 1.6 KB in the dict). Vectors are read from their
shard when asked for, one shard at a time.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.taxonomy.embed import write_shard

log = logging.getLogger(__name__)


def _digests(keys: Sequence[str]) -> np.ndarray:
    """Hex SHA-1 keys as 20-byte strings (what the index sorts and searches)."""
    if not len(keys):
        return np.zeros(0, dtype="S20")
    return np.frombuffer(bytes.fromhex("".join(keys)), dtype="S20")


class IndexedEmbeddingCache:
    """Same interface and files as :class:`taxonomy.embed.EmbeddingCache`; memory a few bytes a key."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._shards: list[Path] = []
        self._keys = np.zeros(0, dtype="S20")
        self._shard = np.zeros(0, dtype=np.int32)
        self._row = np.zeros(0, dtype=np.int32)
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        parts = []
        if self.folder.exists():
            for shard in sorted(self.folder.glob("*.npz")):
                if shard.name.endswith(".tmp.npz"):
                    continue
                try:
                    # An npz is read member by member: the vectors stay on disk.
                    with np.load(shard, allow_pickle=False) as z:
                        keys = z["keys"]
                except Exception as exc:  # a torn shard from a crash: its texts get re-embedded
                    log.warning("ignoring unreadable embedding cache shard %s (%s)", shard, exc)
                    continue
                parts.append((len(self._shards), _digests(keys.tolist())))
                self._shards.append(shard)
        self._add(parts)
        self._loaded = True

    def _add(self, parts: list[tuple[int, np.ndarray]]) -> None:
        if not parts:
            return
        keys = np.concatenate([self._keys, *(d for _, d in parts)])
        shard = np.concatenate([self._shard, *(np.full(len(d), s, np.int32) for s, d in parts)])
        row = np.concatenate([self._row, *(np.arange(len(d), dtype=np.int32) for _, d in parts)])
        # Stable, so a key in two shards (two runs embedding it at once) resolves to the first.
        order = np.argsort(keys, kind="stable")
        self._keys, self._shard, self._row = keys[order], shard[order], row[order]

    def _find(self, digests: np.ndarray) -> np.ndarray:
        """Position of each digest in the index, -1 where absent."""
        pos = np.searchsorted(self._keys, digests)
        hit = pos < len(self._keys)
        hit[hit] = self._keys[pos[hit]] == digests[hit]
        return np.where(hit, pos, -1)

    def contains(self, keys: Sequence[str]) -> np.ndarray:
        self._load()
        return self._find(_digests(keys)) >= 0

    def __len__(self) -> int:
        self._load()
        return len(self._keys)

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        self._load()
        keys = list(keys)
        pos = self._find(_digests(keys))
        out: dict[str, np.ndarray] = {}
        found = np.where(pos >= 0)[0]
        shards = self._shard[pos[found]]
        for s in np.unique(shards):
            mine = found[shards == s]
            with np.load(self._shards[s], allow_pickle=False) as z:
                # A copy of the rows asked for, so the shard's other vectors are freed at once.
                vecs = z["vectors"][self._row[pos[mine]]]
            for i, v in zip(mine.tolist(), vecs):
                out[keys[i]] = v
        return out

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        self._load()
        name = write_shard(self.folder, keys, vectors)
        self._add([(len(self._shards), _digests(list(keys)))])
        self._shards.append(name)
