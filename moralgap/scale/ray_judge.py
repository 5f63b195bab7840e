"""``judge --engine ray``: the prompts split across Ray workers, each with its own backend.

The driver keeps the output (one keyed JSONL file or a folder of shards): it drops the prompts
already answered, cuts the rest into chunks and keeps one chunk per worker in flight. A worker
builds its own backend (so ``--concurrency`` and ``--rate-limit`` hold per worker) against one of
the servers given, in turn, and answers its chunk with the same :class:`JudgeRunner` the local
engine uses; the driver appends the judgments as each chunk comes back. A chunk lost with its
node is run again by Ray (task retries); a driver killed mid-run loses only chunks still in
flight, and the keyed output makes the restart skip everything written.
"""
from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

MAX_CHUNK = 256
# Each worker has this many chunks to answer before it runs dry: enough to keep it busy while
# the driver writes, few enough that a kill loses little.
CHUNKS_PER_WORKER = 4


def _answer_chunk(kind: str, options: dict, prompts: list, seed: int, logprobs: bool):
    from moralgap.alignment.backends import make_backend
    from moralgap.alignment.runner import JudgeRunner

    backend = make_backend(kind, **options)
    with tempfile.TemporaryDirectory(prefix="moralgap-judge-") as d:
        out = Path(d) / "chunk.jsonl"
        summary = JudgeRunner(backend, seed=seed, logprobs=logprobs).run(prompts, out)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines() if line.strip()] \
            if out.exists() else []
    return rows, summary.as_dict(), summary.errors


def run_judge_ray(engine, kind: str, options: dict, base_urls: Sequence[str], prompts: Iterable, out, *, seed: int,
                  total: int | None = None, logprobs: bool = False, progress: Optional[Callable] = None,
                  chunk_size: int | None = None, progress_every_s: float = 5.0):
    """Answer ``prompts`` (read lazily: only the chunks in flight are held) into ``out``.

    ``total`` is how many prompts there are, when the caller counted them (``judge`` does, as it
    checks the file); otherwise ``prompts`` is read into a list to count them.
    """
    import ray

    from moralgap.alignment.runner import RunSummary
    from moralgap.scale.batches import batches
    from moralgap.scale.datasets import open_keyed_output

    t0 = time.perf_counter()
    if total is None:
        prompts = list(prompts)
        total = len(prompts)
    summary = RunSummary(total=total)
    # Lost with its node, a chunk is run again elsewhere; answers are keyed, so none is doubled.
    remote = ray.remote(num_cpus=1, max_retries=-1)(_answer_chunk)
    with open_keyed_output(out, "id") as sink:
        done = sink.done

        def todo() -> Iterator:
            for p in prompts:
                if p.custom_id in done:
                    summary.already_done += 1
                else:
                    yield p

        # The output holds at most the answers to these prompts, so this is what is left, or less.
        left = max(0, total - len(done))
        size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(left / (engine.workers * CHUNKS_PER_WORKER))))
        chunks = enumerate(batches(todo(), size))
        pending: dict = {}

        def submit() -> None:
            nxt = next(chunks, None)
            if nxt is None:
                return
            i, chunk = nxt
            opts = dict(options)
            if base_urls:
                opts["base_url"] = base_urls[i % len(base_urls)]
            pending[remote.remote(kind, opts, chunk, seed, logprobs)] = i

        for _ in range(engine.workers):
            submit()
        last = time.monotonic()
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            pending.pop(ref)
            rows, part, errors = ray.get(ref)
            for row in rows:
                sink.write(row)
            summary.answered += part["answered"]
            summary.unparseable += part["unparseable"]
            summary.failed += part["failed"]
            summary.errors.extend(errors[: max(0, 20 - len(summary.errors))])
            submit()
            if progress and time.monotonic() - last >= progress_every_s:
                last = time.monotonic()
                summary.elapsed_s = time.perf_counter() - t0
                progress(summary)
    summary.elapsed_s = time.perf_counter() - t0
    return summary
