"""Reading ``prompts.jsonl``: OpenAI-batch-style request lines with moralgap metadata.

Each line has ``custom_id``, ``body`` (``model``, ``messages``, sampling settings) and a
``moralgap`` key (dilemma, condition, sample, seed, profile, ...). Files meant for endpoints
that reject unknown keys carry the metadata in a sidecar (``prompts.jsonl`` -> ``prompts.meta.jsonl``,
named by :mod:`moralgap.prompts_format`) instead, one
object per ``custom_id``. Without either, dilemma/condition/sample are read from the
``<dilemma_id>::<condition>::<sample>`` custom id.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

from moralgap.errors import InputError
from moralgap.io import iter_raw_rows
from moralgap.prompts_format import SEPARATOR, find_sidecar, sidecar_path, split_custom_id  # noqa: F401 (re-exported)


@dataclass
class PromptLine:
    custom_id: str
    messages: list[dict]
    dilemma_id: str
    condition: Optional[str] = None
    sample: Optional[int] = None
    seed: Optional[int] = None
    body: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    line: int = 0

    @property
    def temperature(self) -> Optional[float]:
        return self.body.get("temperature")

    @property
    def max_tokens(self) -> Optional[int]:
        return self.body.get("max_tokens")


def _read_sidecar(path: Path) -> dict[str, dict]:
    meta: dict[str, dict] = {}
    for line, row in iter_raw_rows(path):
        if isinstance(row, InputError):
            raise row
        cid = row.get("custom_id")
        if not isinstance(cid, str) or not cid:
            raise InputError(path, "missing required field", line=line, field="custom_id")
        meta[cid] = row
    return meta


def _check_messages(path, line: int, messages: Any) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise InputError(path, "expected a non-empty list of chat messages", line=line, field="body.messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
            raise InputError(path, "each message needs a string 'role' and 'content'", line=line, field=f"body.messages.{i}")
    return messages


def read_prompts(path: str | os.PathLike, *, meta_path: str | os.PathLike | None = None) -> list[PromptLine]:
    """All prompt lines, validated; an InputError names file, line and field."""
    return list(iter_prompts(path, meta_path=meta_path))


def iter_prompts(path: str | os.PathLike, *, meta_path: str | os.PathLike | None = None) -> Iterator[PromptLine]:
    """:func:`read_prompts` one line at a time, for a caller whose memory must not grow with the
    file (``judge --engine ray``); only the ids seen so far are kept, to refuse a duplicate."""
    path = Path(path)
    side = Path(meta_path) if meta_path else find_sidecar(path)
    if meta_path and not side.is_file():
        raise InputError(side, "metadata file (--meta) not found")
    sidecar = _read_sidecar(side) if side is not None else {}
    seen: dict[str, int] = {}
    for line, row in iter_raw_rows(path):
        if isinstance(row, InputError):
            raise row
        cid = row.get("custom_id")
        if not isinstance(cid, str) or not cid.strip():
            raise InputError(path, "missing required field", line=line, field="custom_id")
        if cid in seen:
            raise InputError(path, f"duplicate custom_id {cid!r} (first seen on line {seen[cid]})", line=line, field="custom_id")
        seen[cid] = line
        body = row.get("body")
        if not isinstance(body, dict):
            raise InputError(path, "missing required field" if body is None else "expected an object", line=line, field="body")
        messages = _check_messages(path, line, body.get("messages"))
        meta = row.get("moralgap")
        if meta is None:
            meta = sidecar.get(cid, {})
        if not isinstance(meta, dict):
            raise InputError(path, "expected an object", line=line, field="moralgap")
        did, cond, sample = split_custom_id(cid)
        dilemma_id = meta.get("dilemma_id") or did
        sample = meta.get("sample", sample)
        seed = meta.get("seed")
        for name, value in (("sample", sample), ("seed", seed)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise InputError(path, f"expected an integer, got {value!r}", line=line, field=f"moralgap.{name}")
        yield PromptLine(custom_id=cid, messages=messages, dilemma_id=str(dilemma_id),
                         condition=meta.get("condition") or cond, sample=sample, seed=seed,
                         body=body, meta=meta, line=line)
