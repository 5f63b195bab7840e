"""The Ray engine: extraction and embedding as Ray Data ``map_batches`` over actor pools.

Each actor loads its spaCy pipeline or sentence encoder once and then serves batch after
batch. Ray Data keeps the output in input order (``preserve_order``), restarts actors and
retries their batches when a node dies, and streams results back, so the driver sees exactly
what the local engine would have produced, in the same order.

What stays in the driver: reading and validating the input, the embedding cache (texts the
cache holds are never sent out; vectors that come back are written to it chunk by chunk, so a
killed run resumes and a rerun embeds nothing twice; the cache needs no shared filesystem),
every decision (fit sample, clustering, assignment) and every write.
"""
from __future__ import annotations

import json
import logging
import os
import time
from typing import Iterator, Sequence

import numpy as np

from moralgap.records import Expression, Judgment
from moralgap.taxonomy.embed import Embedder, embedding_batches, embedding_order

from .cache_index import IndexedEmbeddingCache
from .engine import Engine

log = logging.getLogger(__name__)

EXTRACT_BATCH = 64
# Rationales per block staged in the object store for a streaming build's one extraction job.
STAGE_BLOCK = 1_024
# Vectors written to the embedding cache per shard under Ray: a killed run loses at most this
# many texts' work (one encode call is one Ray job whatever its size).
RAY_EMBED_CHUNK = 32_768


class RayEngine(Engine):
    name = "ray"

    def __init__(self, *, address: str | None = None, workers: int | None = None, num_cpus: int | None = None):
        import ray

        self.address = address
        self._started_here = False
        if not ray.is_initialized():
            # Workers read the same offline models; the driver's settings must reach them.
            env = {k: v for k, v in os.environ.items() if k.startswith(("MORALGAP_", "HF_", "TRANSFORMERS_", "MKL_"))}
            env.setdefault("HF_HUB_OFFLINE", "1")
            env.setdefault("TOKENIZERS_PARALLELISM", "false")
            # "local" starts a Ray of our own even when another runs on this machine (ray.init's
            # default would join that one); --ray-address auto joins it on purpose.
            ray.init(address=address or "local", num_cpus=num_cpus if address is None else None, include_dashboard=False,
                     log_to_driver=os.environ.get("MORALGAP_DEBUG") == "1", logging_level=logging.WARNING,
                     runtime_env={"env_vars": env})
            self._started_here = True
        import ray.data

        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = os.environ.get("MORALGAP_PROGRESS", "1") != "0"
        self.cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.jobs: list[dict] = []
        self.workers = workers or max(1, self.cluster_cpus)

    def describe(self) -> dict:
        import ray

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        return {"engine": "ray", "ray_version": ray.__version__, "workers": self.workers,
                "nodes": len(nodes), "cluster_cpus": self.cluster_cpus, "address": self.address or "local"}

    def extractor(self, spacy_model: str | None = None, **options):
        return RayExtractor(self, spacy_model, lexicon_path=options.get("lexicon_path"),
                            open_words=options.get("open_words", False))

    def embedder(self, model: str | None = None, **options):
        options.setdefault("chunk_size", RAY_EMBED_CHUNK)
        return RayEmbedder(self, model, **options)

    def map_batches(self, rows: list[dict], actor, *, args: tuple, batch_size: int):
        """Run ``actor`` over ``rows`` on a pool of ``self.workers`` actors; yields output batches in order."""
        import ray.data

        blocks = max(1, min(len(rows) // batch_size + 1, self.workers * 8))
        ds = ray.data.from_items(rows, override_num_blocks=blocks)
        yield from self._run(ds, actor, args=args, batch_size=batch_size, rows=len(rows), blocks=blocks)

    def stage(self, columns: dict[str, list]):
        """Put one block of rows (as columns) into Ray's object store, for :meth:`map_staged`."""
        import pyarrow as pa
        import ray

        return ray.put(pa.table(columns))

    def map_staged(self, refs: list, actor, *, args: tuple, batch_size: int, rows: int):
        """As :meth:`map_batches`, over blocks put there by :meth:`stage`: one job, whatever their number."""
        import ray.data

        yield from self._run(ray.data.from_arrow_refs(refs), actor, args=args, batch_size=batch_size, rows=rows,
                             blocks=len(refs))

    def _run(self, ds, actor, *, args: tuple, batch_size: int, rows: int, blocks: int):
        import ray.data

        # Ray Data's actor pools restart an actor lost with its node (max_restarts=-1) and retry
        # its batches elsewhere (max_task_retries=-1) by default; the node-kill test relies on it.
        out = ds.map_batches(actor, fn_constructor_args=args, batch_size=batch_size, batch_format="numpy",
                             compute=ray.data.ActorPoolStrategy(size=min(self.workers, blocks)), num_cpus=1)
        # Per job: how long until its first batch came back (mostly starting the actors and
        # loading their model) and in all; the benchmark reports them to separate the two.
        job = {"actor": actor.__name__, "rows": rows, "first_batch_s": None, "total_s": None}
        self.jobs.append(job)
        t = time.perf_counter()
        try:
            for batch in out.iter_batches(batch_size=None, batch_format="numpy"):
                if job["first_batch_s"] is None:
                    job["first_batch_s"] = round(time.perf_counter() - t, 2)
                yield batch
        except Exception as exc:
            raise _one_line(exc) from exc
        job["total_s"] = round(time.perf_counter() - t, 2)

    def close(self) -> None:
        import ray

        if self._started_here and ray.is_initialized():
            ray.shutdown()


def _one_line(exc: BaseException) -> Exception:
    """A worker's error as the one-line error the CLI shows: a moralgap error it raised, if any."""
    from moralgap.errors import MoralgapError

    seen, e = set(), exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, MoralgapError):
            return e
        e = getattr(e, "cause", None) or e.__cause__
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return MoralgapError(f"a Ray worker failed: {first} (MORALGAP_DEBUG=1 shows its log)")


# -- extraction -------------------------------------------------------------------------------
class ExtractActor:
    """One spaCy pipeline per actor; a batch of judgments (JSON) in, their expressions (JSON) out."""

    def __init__(self, spacy_model: str | None, lexicon_path: str | None, open_words: bool = False):
        from moralgap.taxonomy.extract import ValueExtractor

        self.extractor = ValueExtractor(spacy_model, lexicon_path=lexicon_path, open_words=open_words)

    def __call__(self, batch: dict) -> dict:
        judgments = [Judgment.model_validate_json(s) for s in batch["judgment"].tolist()]
        expressions = self.extractor.extract(judgments)
        out = {"expression": np.array([e.model_dump_json(exclude_none=True) for e in expressions], dtype=object)}
        if "number" in batch:
            # Staged rows carry their rationale's number and window: a rationale with no
            # expression leaves no row, so the driver cannot count its way through the output.
            row = {j.id: i for i, j in enumerate(judgments)}
            at = np.array([row[e.rationale_id] for e in expressions], dtype=np.int64)
            out["number"] = batch["number"][at] if len(at) else np.zeros(0, dtype=np.int64)
            out["window"] = batch["window"][at] if len(at) else np.zeros(0, dtype=np.int64)
        return out


class RayExtractor:
    """Drop-in for :class:`~moralgap.taxonomy.extract.ValueExtractor` whose work runs on Ray."""

    name = "spacy-rules"

    def __init__(self, engine: RayEngine, spacy_model: str | None = None, *, lexicon_path: str | None = None,
                 open_words: bool = False):
        from moralgap.models import resolve_spacy_model
        from moralgap.taxonomy.lexicon import ValueLexicon

        self.engine = engine
        self._model = resolve_spacy_model(spacy_model)
        self._lexicon_path = lexicon_path
        # Read when the actors start, so setting it before extracting (extracting_as_built) counts.
        self.open_words = open_words
        # The driver needs the lexicon (value definitions for naming) but not the pipeline.
        self.lexicon = ValueLexicon.load(lexicon_path)
        self.spacy_model = self._describe_model()

    def _describe_model(self) -> str:
        import spacy.util

        try:
            meta = spacy.util.get_package_meta(self._model) if spacy.util.is_package(self._model) else \
                spacy.util.load_meta(os.path.join(self._model, "meta.json"))
        except Exception:  # a pipeline without readable meta: its name still identifies it
            return str(self._model)
        return f"{meta.get('lang')}_{meta.get('name')}-{meta.get('version')}"

    def extract(self, judgments) -> list[Expression]:
        return [Expression.model_validate(json.loads(s)) for s in self.extract_json(judgments)]

    def extract_json(self, judgments) -> Iterator[str]:
        """The expressions of ``judgments`` as the workers send them (JSON, in input order), unparsed."""
        rows = [{"judgment": j.model_dump_json()} for j in judgments]
        if not rows:
            return
        for batch in self.engine.map_batches(rows, ExtractActor, args=(self._model, self._lexicon_path, self.open_words),
                                             batch_size=EXTRACT_BATCH):
            yield from batch["expression"].tolist()

    def stage(self, window: int, first: int, judgments: Sequence[Judgment]) -> list:
        """Put a window of judgments (numbered from ``first``) into Ray's object store, in blocks."""
        refs = []
        for i in range(0, len(judgments), STAGE_BLOCK):
            part = judgments[i:i + STAGE_BLOCK]
            refs.append(self.engine.stage({"judgment": [j.model_dump_json() for j in part],
                                           "number": list(range(first + i, first + i + len(part))),
                                           "window": [window] * len(part)}))
        return refs

    def extract_staged(self, refs: list, rows: int) -> Iterator[tuple[int, int, str]]:
        """``(window, rationale number, expression JSON)`` for every expression of the staged
        windows, in input order, from one Ray job: the actors start and load spaCy once."""
        if not refs:
            return
        for batch in self.engine.map_staged(refs, ExtractActor, args=(self._model, self._lexicon_path, self.open_words),
                                            batch_size=EXTRACT_BATCH, rows=rows):
            yield from zip(batch["window"].tolist(), batch["number"].tolist(), batch["expression"].tolist())

    def extract_texts(self, items: Sequence[tuple[str, str]], *, desc: str = "extracting") -> list[Expression]:
        return self.extract([Judgment(id=rid, dilemma_id="-", rationale=text or "") for rid, text in items])


# -- embedding --------------------------------------------------------------------------------
class EmbedActor:
    """One sentence encoder per actor (no cache: the driver keeps it).

    A row is one encoder batch, cut by the driver as the local engine cuts it, so the vectors
    are bit-identical to one process's; it comes back as one row per text.
    """

    def __init__(self, model_path: str, batch_size: int):
        self.embedder = Embedder(model_path, use_cache=False, batch_size=batch_size)

    def __call__(self, batch: dict) -> dict:
        return {"vector": np.concatenate([self.embedder.encode_batch([str(t) for t in texts])
                                          for texts in batch["texts"]])}


class RayEmbedder(Embedder):
    """An :class:`Embedder` (same cache, same keys) whose uncached texts are embedded on Ray."""

    def __init__(self, engine: RayEngine, model: str | None = None, **options):
        super().__init__(model, **options)
        self.engine = engine
        self._dim: int | None = None
        if self.cache is not None:
            # The same files, without loading every vector of the cache into this process.
            self.cache = IndexedEmbeddingCache(self.cache.folder)

    @property
    def dimension(self) -> int:
        # Asked for empty inputs; one text through the pool avoids loading the model here.
        if self._dim is None:
            self._dim = int(self._encode_raw(["dimension"]).shape[1])
        return self._dim

    def encode(self, texts: Sequence[str], *, desc: str = "embedding") -> np.ndarray:
        """As :meth:`Embedder.encode`, but every uncached text goes out in one Ray job (:meth:`prefetch`)."""
        texts = list(texts)
        if self.cache is None or not texts:
            return super().encode(texts, desc=desc)
        n = self.prefetch(texts)
        vecs = super().encode(texts, desc=desc)  # everything is in the cache now
        self.stats["cached"] -= n  # prefetch counted them as embedded; they were not found
        return vecs

    def prefetch(self, texts: Sequence[str]) -> int:
        """Put every text the cache lacks into it, in one Ray job; returns how many were embedded.

        The actors start and load the encoder once per job, so a build sends all its forms at
        once rather than chunk by chunk; the vectors stream back in order and are written to the
        cache ``chunk_size`` at a time (a killed run resumes from its last full chunk), and none
        is kept here.
        """
        from moralgap.taxonomy.embed import text_key

        keys = [text_key(t) for t in texts]
        missing = ~self.cache.contains(keys)
        todo: dict[str, str] = {}
        for i in np.where(missing)[0].tolist():
            todo.setdefault(keys[i], texts[i])
        del keys
        if todo:
            keys = list(todo)
            keys = [keys[i] for i in embedding_order([todo[k] for k in keys])]
            done, pending = 0, []
            for vectors in self._on_ray([todo.pop(k) for k in keys]):
                pending.append(vectors)
                if sum(len(v) for v in pending) >= self.chunk_size:
                    done = self._flush(keys, done, pending)
            done = self._flush(keys, done, pending)
            self.stats["embedded"] += done
            return done
        return 0

    def _flush(self, keys: list[str], done: int, pending: list) -> int:
        if not pending:
            return done
        vecs = np.concatenate(pending).astype(np.float32)
        pending.clear()
        self._dim = int(vecs.shape[1])
        self.cache.put_many(keys[done: done + len(vecs)], vecs)
        return done + len(vecs)

    def _on_ray(self, texts: list[str]) -> Iterator[np.ndarray]:
        """Vectors of ``texts`` (in :func:`embedding_order`) as they come back, one Ray job."""
        rows = [{"texts": texts[a:b]} for a, b in embedding_batches(len(texts), self.batch_size)]
        for batch in self.engine.map_batches(rows, EmbedActor, args=(self.model_path, self.batch_size), batch_size=1):
            yield batch["vector"]

    def _encode_raw(self, texts: list[str]) -> np.ndarray:
        vecs = np.concatenate(list(self._on_ray(texts))).astype(np.float32)
        self._dim = int(vecs.shape[1])
        return vecs
