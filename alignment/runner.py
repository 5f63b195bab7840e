"""Running every prompt line through a backend, resumably.

Each finished prompt is appended to the output at once (``KeyedAppender`` keyed by ``id`` =
``custom_id``), so a run killed at any point and restarted skips what is done and finishes
with every prompt answered exactly once. A prompt the backend could not answer after its
retries is not written: it is counted, reported, and tried again by the next run.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from moralgap.records import Judgment

from .backends.base import Backend, BackendError, Completion, request_seed
from .parse import parse_answer
from .prompts_file import PromptLine

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    total: int = 0
    already_done: int = 0
    answered: int = 0
    unparseable: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def complete(self) -> bool:
        return self.failed == 0

    def as_dict(self) -> dict:
        return {"total": self.total, "already_done": self.already_done, "answered": self.answered,
                "unparseable": self.unparseable, "failed": self.failed, "elapsed_s": round(self.elapsed_s, 3)}


def judgment_from(prompt: PromptLine, completion: Completion, backend: Backend, *, seed: int, latency_s: float) -> Judgment:
    parsed = completion.parsed or parse_answer(completion.text, prompt.messages)
    extra = {
        "raw": completion.text, "seed": seed, "latency_s": round(latency_s, 4),
        "prompt_tokens": completion.prompt_tokens, "completion_tokens": completion.completion_tokens,
        "backend": backend.kind, "finish_reason": completion.finish_reason,
        "template": prompt.meta.get("template"), "group": prompt.meta.get("group"),
    }
    if completion.p_acceptable is not None:
        extra["p_acceptable"] = completion.p_acceptable
    if completion.attempts > 1:
        extra["attempts"] = completion.attempts
    return Judgment(id=prompt.custom_id, dilemma_id=prompt.dilemma_id, judge=backend.model, verdict=parsed.verdict,
                    rationale=parsed.rationale, condition=prompt.condition, sample=prompt.sample,
                    parse_error=parsed.error, **{k: v for k, v in extra.items() if v is not None})


class JudgeRunner:
    """``run(prompts, out)``: answer every prompt not yet in ``out``.

    ``seed`` is the run seed used when a prompt line carries none; each prompt's sampling
    seed is derived from it and the prompt's id, so a restart asks exactly the same question.
    """

    def __init__(self, backend: Backend, *, seed: int = 13, logprobs: bool = False,
                 progress: Optional[Callable[[RunSummary], None]] = None, progress_every_s: float = 5.0,
                 max_errors_kept: int = 20):
        self.backend = backend
        self.seed = seed
        self.logprobs = logprobs
        self.progress = progress
        self.progress_every_s = progress_every_s
        self.max_errors_kept = max_errors_kept

    def run(self, prompts: Iterable[PromptLine], out: str | Path) -> RunSummary:
        return asyncio.run(self.arun(prompts, out))

    async def arun(self, prompts: Iterable[PromptLine], out: str | Path) -> RunSummary:
        t0 = time.perf_counter()
        prompts = list(prompts)
        summary = RunSummary(total=len(prompts))
        try:
            from moralgap.scale.datasets import open_keyed_output

            # A JSONL file, or a folder of shards for outputs too large for one (issue 17).
            with open_keyed_output(out, "id") as sink:
                todo = [p for p in prompts if p.custom_id not in sink.done]
                summary.already_done = summary.total - len(todo)
                pending = iter(todo)
                last = [time.monotonic()]

                async def worker():
                    for prompt in pending:
                        seed = request_seed(prompt.seed if prompt.seed is not None else self.seed, prompt.custom_id)
                        start = time.perf_counter()
                        try:
                            completion = await self.backend.complete(prompt, seed=seed, logprobs=self.logprobs)
                        except BackendError as exc:
                            summary.failed += 1
                            if len(summary.errors) < self.max_errors_kept:
                                summary.errors.append(str(exc))
                            log.warning("%s", exc)
                            continue
                        judgment = judgment_from(prompt, completion, self.backend, seed=seed,
                                                 latency_s=time.perf_counter() - start)
                        sink.write(judgment)
                        summary.answered += 1
                        summary.unparseable += judgment.verdict is None
                        if self.progress and time.monotonic() - last[0] >= self.progress_every_s:
                            last[0] = time.monotonic()
                            summary.elapsed_s = time.perf_counter() - t0
                            self.progress(summary)

                n_workers = max(1, min(self.backend.concurrency, len(todo)))
                await asyncio.gather(*(worker() for _ in range(n_workers)))
        finally:
            await self.backend.aclose()
        summary.elapsed_s = time.perf_counter() - t0
        return summary
