"""Judgment-distribution gap between humans and a model, per dilemma and summarised.

Per dilemma: n on each side, P(acceptable) on each side, |difference| (the total variation
distance of the two binary verdict distributions, the paper's headline quantity),
Jensen-Shannon distance (base 2), consensus = max(p, 1 - p) of the human votes, and the exact
sampling-noise floor. Summaries: mean gap with a bootstrap CI (resampling dilemmas), mean
floor, gap minus floor, Pearson and Spearman correlation of P_human and P_model across
dilemmas, overall and per consensus bin; per condition the relative change of the mean gap
against a baseline condition with a paired bootstrap CI.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from moralgap.errors import MoralgapError

from .bootstrap import mean_ci, paired_change_ci, pearson_ci, resample_index, spearman
from .noise_floor import expected_abs_diff
from .votes import VoteTable

DEFAULT_EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class NoParseableAnswers(MoralgapError):
    """A condition none of whose answers can be scored: its gap would be NaN, so it is refused."""


def js_distance_binary(p, q) -> np.ndarray:
    """Jensen-Shannon distance (base 2, in [0, 1]) between Bernoulli(p) and Bernoulli(q)."""
    p = np.asarray(p, float)
    q = np.asarray(q, float)
    P = np.stack([p, 1 - p])
    Q = np.stack([q, 1 - q])
    M = (P + Q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(a > 0, a * np.log2(a / b), 0.0)
        return t.sum(axis=0)

    return np.sqrt(np.clip(0.5 * kl(P, M) + 0.5 * kl(Q, M), 0.0, None))


def bin_labels(edges: Sequence[float]) -> list[str]:
    return [f"{a:.2g}-{b:.2g}" for a, b in zip(edges[:-1], edges[1:])]


def assign_bins(consensus: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Bin index per dilemma; bins are [a, b) except the last, which includes its upper edge."""
    edges = np.asarray(edges, float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("consensus bin edges must be increasing, at least two")
    b = np.searchsorted(edges, consensus, side="right") - 1
    b[np.isclose(consensus, edges[-1])] = len(edges) - 2
    b[(consensus < edges[0]) | (consensus > edges[-1] + 1e-12)] = -1
    return b


@dataclass
class DilemmaFrame:
    """Per-dilemma comparison, one array per column, dilemmas in the same order everywhere."""

    dilemma_id: np.ndarray
    n_human: np.ndarray
    n_model: np.ndarray
    p_human: np.ndarray
    p_model: np.ndarray
    abs_diff: np.ndarray
    js_distance: np.ndarray
    consensus: np.ndarray
    noise_floor: np.ndarray
    unparseable: np.ndarray

    COLUMNS = ("dilemma_id", "n_human", "n_model", "p_human", "p_model", "abs_diff", "js_distance",
               "consensus", "noise_floor", "unparseable")

    def __len__(self) -> int:
        return len(self.dilemma_id)

    def rows(self) -> list[dict]:
        cols = [getattr(self, c) for c in self.COLUMNS]
        return [{c: (v.item() if hasattr(v, "item") else v) for c, v in zip(self.COLUMNS, vals)} for vals in zip(*cols)]

    def subset(self, mask_or_index) -> "DilemmaFrame":
        return DilemmaFrame(**{c: getattr(self, c)[mask_or_index] for c in self.COLUMNS})


def compare(human: VoteTable, model: VoteTable) -> DilemmaFrame:
    """Dilemmas with at least one usable vote on both sides, in sorted id order."""
    hi, mi = human.index(), model.index()
    ids = sorted(d for d in hi.keys() & mi.keys() if human.n[hi[d]] > 0 and model.n[mi[d]] > 0)
    h, m = human.take(ids), model.take(ids)
    return DilemmaFrame(
        dilemma_id=np.array(ids, dtype=object), n_human=h.n, n_model=m.n, p_human=h.p, p_model=m.p,
        abs_diff=np.abs(h.p - m.p), js_distance=js_distance_binary(h.p, m.p),
        consensus=np.maximum(h.p, 1 - h.p), noise_floor=expected_abs_diff(h.p, h.n, m.n), unparseable=m.unparseable,
    )


def _block(frame: DilemmaFrame, idx: np.ndarray) -> dict:
    gap = mean_ci(frame.abs_diff, idx)
    excess = mean_ci(frame.abs_diff - frame.noise_floor, idx)
    return {
        "n_dilemmas": len(frame),
        "mean_gap": gap.as_dict(),
        "mean_noise_floor": float(frame.noise_floor.mean()) if len(frame) else float("nan"),
        "gap_minus_floor": excess.as_dict(),
        "mean_js_distance": float(frame.js_distance.mean()) if len(frame) else float("nan"),
        "pearson": pearson_ci(frame.p_human, frame.p_model, idx).as_dict(),
        "spearman": spearman(frame.p_human, frame.p_model),
        "mean_n_human": float(frame.n_human.mean()) if len(frame) else float("nan"),
        "mean_n_model": float(frame.n_model.mean()) if len(frame) else float("nan"),
        "unparseable": int(frame.unparseable.sum()),
    }


def summarise(frame: DilemmaFrame, *, edges: Sequence[float] = DEFAULT_EDGES, n_resamples: int = 1000,
              seed: int = 13, key: str = "") -> dict:
    """Overall and per-consensus-bin summary of one comparison."""
    out = {"overall": _block(frame, resample_index(len(frame), n_resamples, seed, key, "overall")), "bins": []}
    bins = assign_bins(frame.consensus, edges)
    for b, label in enumerate(bin_labels(edges)):
        sub = frame.subset(bins == b)
        out["bins"].append({"bin": label, **_block(sub, resample_index(len(sub), n_resamples, seed, key, label))})
    return out


@dataclass
class GapAnalysis:
    frames: dict[str, DilemmaFrame]
    summaries: dict[str, dict]
    changes: dict[str, dict]
    baseline: Optional[str]
    edges: tuple

    def as_dict(self) -> dict:
        return {"edges": list(self.edges), "baseline": self.baseline, "conditions": self.summaries,
                "change_vs_baseline": self.changes}


def paired_change(base: DilemmaFrame, other: DilemmaFrame, *, n_resamples: int, seed: int, key: str) -> dict:
    common = sorted(set(base.dilemma_id) & set(other.dilemma_id))
    bi = {d: i for i, d in enumerate(base.dilemma_id)}
    oi = {d: i for i, d in enumerate(other.dilemma_id)}
    a = base.abs_diff[[bi[d] for d in common]] if common else np.empty(0)
    b = other.abs_diff[[oi[d] for d in common]] if common else np.empty(0)
    idx = resample_index(len(common), n_resamples, seed, "paired", key)
    return {"n_dilemmas": len(common),
            "relative_change": paired_change_ci(a, b, idx, relative=True).as_dict(),
            "difference": paired_change_ci(a, b, idx, relative=False).as_dict()}


def check_measurable(human: VoteTable, models: Mapping[str, VoteTable]) -> None:
    """Refuse conditions whose gap cannot be measured, saying why and what to do."""
    problems = []
    for label, table in models.items():
        usable, bad = int(table.n.sum()), int(table.unparseable.sum())
        if usable == 0:
            problems.append(f"condition {label!r}: none of its {bad} answers has a verdict (no line "
                            f"'Evaluation: ACCEPTABLE' or 'Evaluation: UNACCEPTABLE') or a p_acceptable")
        elif not len(compare(human, table)):
            problems.append(f"condition {label!r}: none of its dilemmas has a human vote (do the dilemma ids match?)")
    if problems:
        raise NoParseableAnswers(
            "; ".join(problems) + ". Its gap would be undefined. Rerun `moralgap judge` with --logprobs to score "
            "P(acceptable) from token probabilities, constrain the answer format (a grammar on a llama.cpp server, "
            "see docs/alignment.md) or use a model that follows it; or leave the condition out with --condition.")


def gap_analysis(human: VoteTable, models: Mapping[str, VoteTable], *, baseline: Optional[str] = "vanilla",
                 edges: Sequence[float] = DEFAULT_EDGES, n_resamples: int = 1000, seed: int = 13) -> GapAnalysis:
    """Compare the humans with each condition; paired changes against ``baseline`` if present.

    With several judges, conditions are labelled ``judge/condition`` and each is compared with
    the baseline of the same judge.
    """
    check_measurable(human, models)
    frames = {label: compare(human, table) for label, table in models.items()}
    summaries = {label: summarise(f, edges=edges, n_resamples=n_resamples, seed=seed, key=label) for label, f in frames.items()}
    for label, table in models.items():
        # Dilemmas whose every answer failed drop out of the frame; the count must not drop with them.
        overall = summaries[label]["overall"]
        overall["unparseable"] = int(table.unparseable.sum())
        overall["answers"] = int(table.n.sum() + table.unparseable.sum())
    changes: dict[str, dict] = {}
    if baseline:
        for label, f in frames.items():
            judge, _, cond = label.rpartition("/")
            base_label = f"{judge}/{baseline}" if judge else baseline
            if cond != baseline and base_label in frames:
                changes[label] = {"baseline": base_label, **paired_change(frames[base_label], f, n_resamples=n_resamples,
                                                                        seed=seed, key=label)}
    return GapAnalysis(frames, summaries, changes, baseline if any(baseline == l.rpartition("/")[2] for l in frames) else None,
                       tuple(edges))
