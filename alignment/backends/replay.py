"""Judgments produced elsewhere: read them into moralgap records, or replay them as a backend.

Formats (``fmt``):
- ``moralgap``: Judgment JSONL as the toolkit writes it;
- ``scruples``: the scruples_pilot replication files (``post_id``, ``cond``, ``sample``,
  ``unacceptable`` 1/0/null; the ``elicit`` condition gives a probability in ``p_unacc``,
  kept as ``p_acceptable = 1 - p_unacc``);
- ``boraske``: aita_boraske ``llm_judgments.jsonl.gz`` (``post_key``, ``model``,
  ``condition``, AITA ``verdict``, ``rationale``);
- ``boraske-posts``: the human top comment of each post in aita_boraske ``posts.jsonl.gz``.
As a backend, a prompt is answered by the stored judgment with the same dilemma, condition
and sample; a prompt with none fails (and is reported) rather than being made up.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Optional

from moralgap.datasets import load_judgments
from moralgap.errors import InputError
from moralgap.io import iter_raw_rows
from moralgap.records import ACCEPTABLE, UNACCEPTABLE, Judgment
from moralgap.verdicts import DROP, VerdictMap

from ..parse import ParsedAnswer
from ..prompts_file import PromptLine
from .base import Backend, BackendError, Completion

FORMATS = ("moralgap", "scruples", "boraske", "boraske-posts")


def _judge_from_name(path: Path) -> str:
    stem = path.name.split(".")[0]
    return stem[len("judgments_"):] if stem.startswith("judgments_") else stem


def _scruples_row(row: dict, line: int, path: Path, judge: str) -> Optional[Judgment]:
    for f in ("post_id", "cond", "sample"):
        if f not in row:
            raise InputError(path, "missing required field", line=line, field=f)
    base = {"id": f"{row['post_id']}::{row['cond']}::{int(row['sample']):04d}", "dilemma_id": row["post_id"],
            "judge": judge, "condition": row["cond"], "sample": int(row["sample"])}
    if "p_unacc" in row:
        p = row["p_unacc"]
        if p is None:
            return Judgment(**base, parse_error="no probability in the source")
        if not isinstance(p, (int, float)) or not 0 <= p <= 1:
            raise InputError(path, f"expected a probability in [0, 1], got {p!r}", line=line, field="p_unacc")
        return Judgment(**base, p_acceptable=1.0 - float(p))
    u = row.get("unacceptable")
    if u is None:
        return Judgment(**base, parse_error="no verdict in the source")
    if u not in (0, 1):
        raise InputError(path, f"expected 0, 1 or null, got {u!r}", line=line, field="unacceptable")
    return Judgment(**base, verdict=UNACCEPTABLE if u == 1 else ACCEPTABLE)


def _boraske_row(row: dict, line: int, path: Path, vmap: VerdictMap, human: bool) -> Optional[Judgment]:
    key = row.get("post_key")
    if not key:
        raise InputError(path, "missing required field", line=line, field="post_key")
    raw = row.get("human_verdict" if human else "verdict")
    target = vmap.normalise(raw) if raw else None
    if target == DROP:
        return None
    if human:
        if target is None:
            raise InputError(path, f"unknown verdict {raw!r}", line=line, field="human_verdict")
        return Judgment(id=f"human::{key}", dilemma_id=key, judge="human", verdict=target,
                        rationale=row.get("human_top_comment"), verdict_raw=raw)
    run = row.get("run") or row.get("condition") or "run"
    return Judgment(id=f"{run}::{key}", dilemma_id=key, judge=row.get("model") or "llm", verdict=target,
                    rationale=row.get("rationale"), condition=row.get("condition"), subset=row.get("sample"),
                    verdict_raw=raw, parse_error=None if target else f"unknown verdict {raw!r}")


def load_foreign_judgments(path: str | os.PathLike, fmt: str = "moralgap", *, judge: Optional[str] = None,
                           verdict_map: Optional[VerdictMap] = None, skip_invalid: bool = False) -> list[Judgment]:
    """Judgment records from a file in one of :data:`FORMATS`."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown judgment format {fmt!r} ({', '.join(FORMATS)})")
    vmap = verdict_map or VerdictMap()
    if fmt == "moralgap":
        return load_judgments(path, verdict_map=vmap, skip_invalid=skip_invalid).records
    out: list[Judgment] = []
    seen: set[str] = set()
    for line, row in iter_raw_rows(path):
        try:
            if isinstance(row, InputError):
                raise row
            if fmt == "scruples":
                rec = _scruples_row(row, line, path, judge or _judge_from_name(path))
            else:
                rec = _boraske_row(row, line, path, vmap, human=fmt == "boraske-posts")
        except InputError:
            if skip_invalid:
                continue
            raise
        if rec is None:
            continue
        if rec.id in seen:
            # Sources may repeat a post (boraske: the same post in two subsets of one run).
            continue
        seen.add(rec.id)
        out.append(rec)
    return out


class ReplayBackend(Backend):
    kind = "replay"
    concurrency = 64

    def __init__(self, path: str | os.PathLike, *, fmt: str = "moralgap", model: Optional[str] = None,
                 verdict_map: Optional[VerdictMap] = None):
        self.path = Path(path)
        self.fmt = fmt
        records = load_foreign_judgments(self.path, fmt, judge=model, verdict_map=verdict_map)
        self.model = model or (records[0].judge if records else "replay")
        self._by_key: dict[tuple, Judgment] = {}
        per_dilemma: dict[tuple, int] = defaultdict(int)
        for r in records:
            # Without a sample index, the n-th stored judgment answers sample n.
            sample = r.sample if r.sample is not None else per_dilemma[(r.dilemma_id, r.condition)]
            per_dilemma[(r.dilemma_id, r.condition)] += 1
            self._by_key[(r.dilemma_id, r.condition, sample)] = r

    def describe(self) -> dict:
        return {**super().describe(), "path": str(self.path), "format": self.fmt}

    async def complete(self, prompt: PromptLine, *, seed: int, logprobs: bool = False) -> Completion:
        rec = self._by_key.get((prompt.dilemma_id, prompt.condition, prompt.sample))
        if rec is None:
            raise BackendError(f"{prompt.custom_id}: no stored judgment for dilemma {prompt.dilemma_id!r}, "
                               f"condition {prompt.condition!r}, sample {prompt.sample}")
        extra = rec.model_extra or {}
        return Completion(text=extra.get("raw") or rec.rationale, p_acceptable=extra.get("p_acceptable"),
                          parsed=ParsedAnswer(rec.verdict, rec.rationale, rec.parse_error))
