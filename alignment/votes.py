"""Per-dilemma vote tables: how many judgments, and the share that says acceptable.

A judgment counts as 1 (acceptable) or 0 (unacceptable); one with ``p_acceptable`` (the
log-probability mode, or an elicited probability) counts as that probability. Judgments
without either (unparseable answers) are left out of ``n`` and counted in ``unparseable``.
Human votes come from judgment records or from a table of counts per dilemma.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.io import iter_raw_rows
from moralgap.records import ACCEPTABLE, Judgment

# Scruples label columns: AUTHOR/EVERYBODY wrong = unacceptable, OTHER/NOBODY = acceptable.
SCRUPLES_ACCEPTABLE = ("n_other", "n_nobody")
SCRUPLES_UNACCEPTABLE = ("n_author", "n_everybody")


@dataclass
class VoteTable:
    dilemma_ids: np.ndarray
    n: np.ndarray
    p: np.ndarray
    unparseable: np.ndarray

    def __len__(self) -> int:
        return len(self.dilemma_ids)

    def index(self) -> dict[str, int]:
        return {d: i for i, d in enumerate(self.dilemma_ids)}

    def take(self, ids: Sequence[str]) -> "VoteTable":
        idx = self.index()
        sel = np.array([idx[d] for d in ids], dtype=int)
        return VoteTable(self.dilemma_ids[sel], self.n[sel], self.p[sel], self.unparseable[sel])


def _score(j: Judgment) -> Optional[float]:
    p = (j.model_extra or {}).get("p_acceptable")
    if p is not None:
        return float(p)
    if j.verdict is None:
        return None
    return 1.0 if j.verdict == ACCEPTABLE else 0.0


def votes_from_judgments(judgments: Iterable[Judgment]) -> VoteTable:
    total: dict[str, float] = defaultdict(float)
    n: dict[str, int] = defaultdict(int)
    bad: dict[str, int] = defaultdict(int)
    for j in judgments:
        s = _score(j)
        if s is None:
            bad[j.dilemma_id] += 1
            n.setdefault(j.dilemma_id, 0)
            continue
        n[j.dilemma_id] += 1
        total[j.dilemma_id] += s
    ids = sorted(n)
    nn = np.array([n[d] for d in ids], dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.array([total[d] for d in ids], dtype=float) / nn
    return VoteTable(np.array(ids, dtype=object), nn, p, np.array([bad[d] for d in ids], dtype=np.int64))


def group_judgments(judgments: Iterable[Judgment], *, by_judge: bool = True) -> dict[str, list[Judgment]]:
    """Model judgments grouped by ``condition`` (or ``judge/condition`` when several judges)."""
    groups: dict[tuple, list[Judgment]] = defaultdict(list)
    for j in judgments:
        groups[(j.judge, j.condition or "default")].append(j)
    judges = {k[0] for k in groups}
    label = (lambda k: f"{k[0]}/{k[1]}") if by_judge and len(judges) > 1 else (lambda k: k[1])
    return {label(k): v for k, v in sorted(groups.items())}


def _int_cell(path, line, row, col) -> int:
    v = row.get(col)
    try:
        out = int(float(v))
    except (TypeError, ValueError):
        raise InputError(path, f"expected a count, got {v!r}" if v is not None else "missing required field",
                         line=line, field=col) from None
    if out < 0:
        raise InputError(path, f"expected a non-negative count, got {v!r}", line=line, field=col)
    return out


def votes_from_counts(path: str | os.PathLike, *, id_field: str = "dilemma_id",
                      acceptable: Sequence[str] = ("n_acceptable",),
                      unacceptable: Sequence[str] = ("n_unacceptable",)) -> VoteTable:
    """Votes from a CSV/JSONL table of counts; each side may sum several columns."""
    path = Path(path)
    ids, n, k = [], [], []
    seen: dict[str, int] = {}
    for line, row in iter_raw_rows(path):
        if isinstance(row, InputError):
            raise row
        did = row.get(id_field)
        if not did:
            raise InputError(path, "missing required field", line=line, field=id_field)
        if did in seen:
            raise InputError(path, f"duplicate dilemma {did!r} (first seen on line {seen[did]})", line=line, field=id_field)
        seen[did] = line
        a = sum(_int_cell(path, line, row, c) for c in acceptable)
        u = sum(_int_cell(path, line, row, c) for c in unacceptable)
        ids.append(str(did))
        n.append(a + u)
        k.append(a)
    order = np.argsort(np.array(ids, dtype=object), kind="stable")
    nn = np.array(n, dtype=np.int64)[order]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.array(k, dtype=float)[order] / nn
    return VoteTable(np.array(ids, dtype=object)[order], nn, p, np.zeros(len(ids), dtype=np.int64))


def scruples_votes(path: str | os.PathLike) -> VoteTable:
    """Human votes of the scruples_pilot CSV (INFO votes are not part of the binary counts)."""
    return votes_from_counts(path, id_field="post_id", acceptable=SCRUPLES_ACCEPTABLE, unacceptable=SCRUPLES_UNACCEPTABLE)
