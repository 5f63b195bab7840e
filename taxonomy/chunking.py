"""Splitting rationales too long for one spaCy document into chunks, and mapping results back.

spaCy refuses texts over ``nlp.max_length`` (1,000,000 characters) and its parser needs about
1 GB of memory per 100,000 characters, so a long rationale is cut into chunks of at most
:data:`MAX_CHUNK_CHARS` at a paragraph, sentence or word boundary (in that order of preference).
Each chunk is extracted on its own; :meth:`ChunkPlan.merge` shifts the expressions' character
offsets back into the whole rationale and numbers their ids as one run, so the result reads as
if the text had been one document. No character is dropped; only an expression that would
span a cut (rare, as cuts fall between sentences) is not seen.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

MAX_CHUNK_CHARS = 100_000
_MARK = "\x00chunk:"  # cannot occur in a rationale id read from JSON text
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s")


def split_points(text: str, limit: int) -> list[int]:
    """Start offsets of the chunks of ``text``, each chunk at most ``limit`` characters."""
    starts = [0]
    pos = 0
    while len(text) - pos > limit:
        window = text[pos: pos + limit]
        cut = window.rfind("\n\n")
        if cut < limit // 2:
            ends = [m.end() for m in _SENTENCE_END.finditer(window, limit // 2)]
            cut = ends[-1] if ends else -1
        if cut < limit // 2:
            cut = max(window.rfind(" "), window.rfind("\n"))
        if cut < limit // 2:
            cut = limit  # one unbroken run of characters: a hard cut is all there is
        pos += cut
        starts.append(pos)
    return starts


class ChunkPlan:
    """``items`` with every over-long text replaced by its chunks, and the way back."""

    def __init__(self, items: Sequence[tuple[str, str]], max_length: int):
        self.limit = max(1000, min(MAX_CHUNK_CHARS, max_length - 1))
        self.items: list[tuple[str, str]] = []
        self._offset: dict[str, tuple[str, int]] = {}
        for rid, text in items:
            text = text or ""
            if len(text) <= self.limit:
                self.items.append((rid, text))
                continue
            starts = split_points(text, self.limit)
            for i, (a, b) in enumerate(zip(starts, starts[1:] + [len(text)])):
                key = f"{rid}{_MARK}{i}"
                self._offset[key] = (rid, a)
                self.items.append((key, text[a:b]))

    @property
    def chunked(self) -> bool:
        return bool(self._offset)

    def merge(self, expressions: Iterable) -> list:
        """Expressions of chunks as expressions of their whole rationale (ids renumbered in order)."""
        if not self._offset:
            return list(expressions)
        out = []
        counter: dict[str, int] = {}
        for e in expressions:
            hit = self._offset.get(e.rationale_id)
            if hit is None:
                out.append(e)
                continue
            rid, offset = hit
            k = counter.get(rid, 0)
            counter[rid] = k + 1
            out.append(e.model_copy(update={"id": f"{rid}#{k}", "rationale_id": rid,
                                            "start": e.start + offset, "end": e.end + offset}))
        return out
