"""Value mentions per rationale as a matrix, counted one of three ways.

Two kinds of value annotation reach the diversity statistics:

- rationale-level (``annotate auto``, people in Label Studio): ``value_ids`` lists every value
  the rationale expresses, once each;
- expression-level (``annotate expressions``, the paper's way): every value expression is coded
  to exactly one value, and ``mentions`` says how many expressions went to each value.

How a rationale's mentions are counted (``counting``):

- ``mentions``: every coded expression is one mention; for a rationale-level annotation every
  listed value is one mention (there is nothing finer to count);
- ``presence``: a value counts once per rationale, however often it is expressed;
- ``rationale``: each rationale's mentions are divided by their total, so every rationale with
  values weighs 1 and a long rationale weighs no more than a short one.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

COUNTINGS = ("mentions", "presence", "rationale")
COUNTING_NOTES = {
    "mentions": "every coded expression (or listed value) is one mention",
    "presence": "a value counts once per rationale",
    "rationale": "each rationale's mentions sum to 1",
}


def _get(ann: Any, name: str):
    if isinstance(ann, Mapping):
        return ann.get(name)
    return getattr(ann, name, None)


def mention_counts(annotation: Any) -> dict[str, float]:
    """Raw mentions per value of one annotation (a ``ValueAnnotation`` or a dict).

    ``mentions`` when the annotation has them (expression-level coding), else one per listed value.
    """
    mentions = _get(annotation, "mentions")
    if mentions:
        return {v: float(n) for v, n in mentions.items() if n}
    return {v: 1.0 for v in dict.fromkeys(_get(annotation, "value_ids") or [])}


@dataclass
class MentionMatrix:
    """Raw mention counts, one row per annotated rationale and one column per value."""

    value_ids: list[str]
    rationale_ids: list[str]
    dilemma_ids: list[str]
    counts: np.ndarray

    @classmethod
    def from_annotations(cls, annotations: Iterable[Any], dilemma_of: Mapping[str, str],
                         value_ids: Sequence[str]) -> "MentionMatrix":
        """Rows for the annotations whose rationale ``dilemma_of`` knows (others are left out).

        A value id outside ``value_ids`` raises ``ValueError`` naming it and the rationale.
        """
        column = {v: i for i, v in enumerate(value_ids)}
        rows, rids, dids = [], [], []
        for ann in annotations:
            rid = _get(ann, "rationale_id")
            if rid not in dilemma_of:
                continue
            row = np.zeros(len(value_ids))
            for v, n in mention_counts(ann).items():
                if v not in column:
                    raise ValueError(f"rationale {rid!r}: value id {v!r} is not in the value list")
                row[column[v]] += n
            rows.append(row)
            rids.append(rid)
            dids.append(dilemma_of[rid])
        counts = np.vstack(rows) if rows else np.zeros((0, len(value_ids)))
        return cls(list(value_ids), rids, dids, counts)

    def __len__(self) -> int:
        return len(self.rationale_ids)

    def subset(self, keep: np.ndarray) -> "MentionMatrix":
        keep = np.asarray(keep)
        pick = np.flatnonzero(keep) if keep.dtype == bool else keep
        return MentionMatrix(self.value_ids, [self.rationale_ids[i] for i in pick],
                             [self.dilemma_ids[i] for i in pick], self.counts[pick])

    def weights(self, counting: str) -> np.ndarray:
        """Per-rationale weights of each value under ``counting`` (see the module docstring)."""
        if counting == "mentions":
            return self.counts.astype(float)
        if counting == "presence":
            return (self.counts > 0).astype(float)
        if counting == "rationale":
            total = self.counts.sum(axis=1, keepdims=True)
            return np.divide(self.counts, total, out=np.zeros_like(self.counts, dtype=float), where=total > 0)
        raise ValueError(f"counting must be one of {', '.join(COUNTINGS)}, got {counting!r}")

    def values_per_rationale(self) -> np.ndarray:
        """Distinct values per rationale (whatever the counting)."""
        return (self.counts > 0).sum(axis=1).astype(float)

    def mentions_per_rationale(self) -> np.ndarray:
        return self.counts.sum(axis=1)
