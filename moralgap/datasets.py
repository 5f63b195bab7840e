"""Loading dilemmas and judgments with verdict normalisation and cross-file checks."""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterator

from .errors import InputError
from .io import ReadResult, iter_records, read_records
from .records import ACCEPTABLE, Dilemma, Judgment
from .verdicts import DROP, VerdictMap


def load_dilemmas(path: str | os.PathLike, *, skip_invalid: bool = False) -> ReadResult:
    return read_records(path, Dilemma, skip_invalid=skip_invalid)


def load_judgments(
    path: str | os.PathLike,
    *,
    verdict_map: VerdictMap | None = None,
    require_rationale: bool = False,
    skip_invalid: bool = False,
    dilemma_ids: set[str] | None = None,
) -> ReadResult:
    """Read judgments, normalising verdicts; labels mapped to ``drop`` (INFO) are counted, not kept."""
    result = ReadResult()
    prepare, check = _judgment_rules(path, verdict_map, require_rationale, dilemma_ids, result)
    return read_records(path, Judgment, skip_invalid=skip_invalid, prepare=prepare, check=check, result=result)


def iter_judgments(
    path: str | os.PathLike,
    result: ReadResult,
    *,
    verdict_map: VerdictMap | None = None,
    require_rationale: bool = False,
    skip_invalid: bool = False,
) -> Iterator[Judgment]:
    """:func:`load_judgments` one judgment at a time (skips and drops go to ``result``), for
    readers whose memory must not grow with the corpus."""
    prepare, check = _judgment_rules(path, verdict_map, require_rationale, None, result)
    return iter_records(path, Judgment, skip_invalid=skip_invalid, prepare=prepare, check=check, result=result)


def _judgment_rules(path, verdict_map: VerdictMap | None, require_rationale: bool, dilemma_ids: set[str] | None,
                    result: ReadResult):
    """The ``prepare`` and ``check`` hooks of a judgments reader."""
    vmap = verdict_map or VerdictMap()

    def prepare(row: dict, line: int):
        row = dict(row)
        raw = row.get("verdict")
        if raw is None or raw == "":
            if row.get("judge", "human") == "human":
                raise InputError(path, "missing required field", line=line, field="verdict")
            row["verdict"] = None
            return row
        if not isinstance(raw, str):
            raise InputError(path, f"expected a string, got {type(raw).__name__}", line=line, field="verdict")
        target = vmap.normalise(raw)
        if target is None:
            raise InputError(path, f"unknown verdict {raw!r} (known: {', '.join(sorted(vmap.mapping))}; set --verdict-map)", line=line, field="verdict")
        if target == DROP:
            key = f"verdict {raw.strip()}"
            result.dropped[key] = result.dropped.get(key, 0) + 1
            return None
        if target != raw:
            row.setdefault("verdict_raw", raw)
        row["verdict"] = target
        if "sample" in row and isinstance(row["sample"], str) and row["sample"].isdigit():
            row["sample"] = int(row["sample"])
        return row

    def check(rec: Judgment, line: int):
        if require_rationale and not (rec.rationale or "").strip():
            raise InputError(path, "empty rationale (this command needs one)", line=line, field="rationale")
        if dilemma_ids is not None and rec.dilemma_id not in dilemma_ids:
            raise InputError(path, f"dilemma {rec.dilemma_id!r} is not in the dilemmas file", line=line, field="dilemma_id")

    return prepare, check


@dataclass(frozen=True)
class VoteSummary:
    dilemma_id: str
    n: int
    n_acceptable: int

    @property
    def p_acceptable(self) -> float:
        return self.n_acceptable / self.n if self.n else float("nan")

    @property
    def consensus(self) -> float:
        p = self.p_acceptable
        return max(p, 1.0 - p)


def vote_summaries(judgments, *, judge: str | None = "human", condition: str | None = None) -> dict[str, VoteSummary]:
    """Per dilemma: number of votes, share acceptable, consensus = max(p, 1 - p)."""
    n = defaultdict(int)
    acc = defaultdict(int)
    for j in judgments:
        if judge is not None and j.judge != judge:
            continue
        if condition is not None and j.condition != condition:
            continue
        if j.verdict is None:
            continue
        n[j.dilemma_id] += 1
        acc[j.dilemma_id] += j.verdict == ACCEPTABLE
    return {d: VoteSummary(d, n[d], acc[d]) for d in sorted(n)}
