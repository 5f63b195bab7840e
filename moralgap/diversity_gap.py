"""Value diversity of two sides on the same dilemmas, and their difference with paired bootstrap intervals.

Each side (people, a model condition) is a :class:`~moralgap.value_mentions.MentionMatrix`.
Statistics, under one counting (``mentions``, ``presence`` or ``rationale``; see
:mod:`moralgap.value_mentions`):

- **pooled**: all of a side's mentions added up, then top-k share and normalised entropy;
- **macro**: the same two statistics per dilemma (over the side's rationales of that dilemma),
  averaged over the dilemmas where the side has at least one mention. With one rationale per
  dilemma this measures how many values a single rationale spreads over, not how varied a
  crowd is: read it with the number of rationales per dilemma in mind;
- **values per rationale** (distinct values) and **mentions per rationale**, mean and median, so
  that a side whose rationales are longer and name more values is seen as such.

Normalised entropy is Shannon entropy divided by ``log(n_values)``, ``n_values`` being the
number of active values of the taxonomy (the paper's normalisation; values a side never uses
still count, so the figure reflects coverage of the taxonomy as well as evenness).

Differences are ``first - second`` (human minus model). Intervals resample the dilemmas both
sides share, with replacement, and recompute both sides on the same resampled dilemmas, so
what makes a dilemma easy or hard for both sides cancels in the difference. The default is
the basic bootstrap interval (2 * estimate - upper quantile, 2 * estimate - lower quantile):
top-k share and plug-in entropy are biased in finite samples (share up, entropy down),
resampling repeats dilemmas and shifts the bootstrap distribution by about that bias again,
and the basic interval reverses the shift where the percentile interval would add it. Medians
get no interval. Resamples come in blocks of :data:`BLOCK`, each block from its own generator
keyed by its number (:func:`moralgap.seeding.rng`), so memory stays at about
``BLOCK x (dilemmas + values)`` numbers and results do not depend on it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse

from .seeding import DEFAULT_SEED, rng
from .value_mentions import COUNTING_NOTES, COUNTINGS, MentionMatrix

BLOCK = 100
INTERVALS = ("basic", "percentile")


def rowwise_diversity(x: np.ndarray, k: int, n_values: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k share and normalised entropy of each row of a weight matrix (``nan`` for empty rows)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError("expected a 2-d matrix")
    n, v = x.shape
    total = x.sum(axis=1)
    kk = min(k, v)
    top = np.partition(x, v - kk, axis=1)[:, v - kk:].sum(axis=1) if 0 < kk < v else total
    empty = total <= 0
    safe = np.where(empty, 1.0, total)
    share = np.where(empty, np.nan, top / safe)
    p = x / safe[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    if n_values <= 1:
        entropy = np.zeros(n)
    else:
        entropy = -plogp.sum(axis=1) / np.log(n_values)
        entropy = np.where(entropy > 0, entropy, 0.0)  # no -0.0 from a single value
    return share, np.where(empty, np.nan, entropy)


@dataclass
class _Side:
    """One side aggregated per dilemma (rows follow the shared dilemma order)."""

    weights: np.ndarray          # (D, V) summed weights of the side's rationales per dilemma
    rationales: np.ndarray       # (D,) annotated rationales per dilemma
    values_sum: np.ndarray       # (D,) distinct values summed over the dilemma's rationales
    mentions_sum: np.ndarray     # (D,) raw mentions summed likewise
    values_each: np.ndarray      # per rationale, for the median
    mentions_each: np.ndarray

    @classmethod
    def of(cls, m: MentionMatrix, dilemmas: list[str], counting: str) -> "_Side":
        index = {d: i for i, d in enumerate(dilemmas)}
        keep = np.array([d in index for d in m.dilemma_ids], dtype=bool)
        m = m.subset(keep)
        rows = np.array([index[d] for d in m.dilemma_ids], dtype=np.int64)
        # Dilemma x rationale incidence: one sparse product sums every per-rationale quantity.
        s = sparse.csr_matrix((np.ones(len(rows)), (rows, np.arange(len(rows)))), shape=(len(dilemmas), len(rows)))
        vpr, mpr = m.values_per_rationale(), m.mentions_per_rationale()
        return cls(np.asarray(s @ m.weights(counting)), np.asarray(s.sum(axis=1)).ravel(), s @ vpr, s @ mpr, vpr, mpr)

    def statistics(self, mult: np.ndarray, k: int, n_values: int) -> dict[str, np.ndarray]:
        """Every statistic under dilemma multiplicities ``mult`` (rows: resamples, columns: dilemmas)."""
        share, entropy = rowwise_diversity(mult @ self.weights, k, n_values)
        d_share, d_entropy = rowwise_diversity(self.weights, k, n_values)
        has = np.isfinite(d_share).astype(float)
        n_has = mult @ has
        with np.errstate(divide="ignore", invalid="ignore"):
            macro_share = (mult @ np.nan_to_num(d_share)) / n_has
            macro_entropy = (mult @ np.nan_to_num(d_entropy)) / n_has
            n_rat = mult @ self.rationales
            return {"pooled.share": share, "pooled.entropy": entropy, "macro.share": macro_share,
                    "macro.entropy": macro_entropy, "values_per_rationale": (mult @ self.values_sum) / n_rat,
                    "mentions_per_rationale": (mult @ self.mentions_sum) / n_rat}


def _estimate(point: float, boot: np.ndarray, level: float, interval: str,
              bounds: tuple[float, float] = (-np.inf, np.inf)) -> dict:
    """The plug-in figure, its interval, and ``bias_corrected`` (2 * estimate - mean of the
    resamples, the figure the basic interval is centred on), clipped to what the statistic can
    be (a share or a normalised entropy lies in [0, 1]): with few mentions over many values the
    correction can overshoot, and an entropy above 1 is no figure to report."""
    boot = boot[np.isfinite(boot)]
    if not np.isfinite(point) or boot.size == 0:
        return {"value": float(point), "ci_low": float("nan"), "ci_high": float("nan"), "bias_corrected": float("nan")}
    a = (1 - level) / 2
    lo, hi = np.quantile(boot, [a, 1 - a])
    if interval == "basic":
        lo, hi = 2 * point - hi, 2 * point - lo
    # + 0.0 turns a -0.0 (a difference of equal figures) into 0.0 for the reader
    return {"value": float(point) + 0.0, "ci_low": float(lo) + 0.0, "ci_high": float(hi) + 0.0,
            "bias_corrected": float(np.clip(2 * point - boot.mean(), *bounds)) + 0.0}


def shared_dilemmas(first: MentionMatrix, second: MentionMatrix) -> list[str]:
    """Dilemmas where both sides have at least one annotated rationale, sorted."""
    return sorted(set(first.dilemma_ids) & set(second.dilemma_ids))


def diversity_gap(first: MentionMatrix, second: MentionMatrix, *, labels: Sequence[str] = ("human", "model"),
                  counting: str = "mentions", k: int = 10, n_values: int | None = None, n_resamples: int = 1000,
                  level: float = 0.95, interval: str = "basic", seed: int = DEFAULT_SEED, key: str = "") -> dict:
    """Both sides' diversity and ``first - second`` with paired bootstrap intervals (see module docstring).

    ``n_values`` is the entropy normaliser (default: the number of columns, i.e. the value list
    the matrices were built over). ``key`` names the comparison in the random stream, so several
    comparisons in one run get independent resamples from one seed.
    """
    if counting not in COUNTINGS:
        raise ValueError(f"counting must be one of {', '.join(COUNTINGS)}, got {counting!r}")
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    if first.value_ids != second.value_ids:
        raise ValueError("both sides must be counted over the same value list")
    if k < 1 or n_resamples < 1 or not 0 < level < 1:
        raise ValueError("need k >= 1, n_resamples >= 1 and 0 < level < 1")
    n_values = len(first.value_ids) if n_values is None else int(n_values)
    used = max((int(((m.counts > 0).sum(axis=0) > 0).sum()) for m in (first, second)), default=0)
    if n_values < used:
        raise ValueError(f"the entropy normaliser counts {n_values} values, but {used} are used: "
                         "give the taxonomy's number of values")
    labels = list(labels)
    dilemmas = shared_dilemmas(first, second)
    sides = [_Side.of(first, dilemmas, counting), _Side.of(second, dilemmas, counting)]
    n = len(dilemmas)
    ones = np.ones((1, n))
    points = [s.statistics(ones, k, n_values) for s in sides]
    boots: list[dict[str, list[np.ndarray]]] = [{name: [] for name in points[0]} for _ in sides]
    if n:
        for block, start in enumerate(range(0, n_resamples, BLOCK)):
            b = min(BLOCK, n_resamples - start)
            idx = rng(seed, "diversity-gap", key, block).integers(0, n, size=(b, n))
            mult = np.bincount((np.arange(b)[:, None] * n + idx).ravel(), minlength=b * n).reshape(b, n).astype(float)
            for side, out in zip(sides, boots):
                for name, values in side.statistics(mult, k, n_values).items():
                    out[name].append(values)
    boot = [{name: np.concatenate(v) if v else np.empty(0) for name, v in out.items()} for out in boots]

    def est(i: int | None, name: str) -> dict:
        # Shares and normalised entropies lie in [0, 1] (their differences in [-1, 1]); counts
        # per rationale are at least 0.
        share = name.startswith(("pooled.", "macro."))
        if i is None:
            return _estimate(points[0][name][0] - points[1][name][0], boot[0][name] - boot[1][name], level, interval,
                             (-1.0, 1.0) if share else (-np.inf, np.inf))
        return _estimate(points[i][name][0], boot[i][name], level, interval, (0.0, 1.0) if share else (0.0, np.inf))

    top = f"top_{k}_share"

    def block_of(i: int | None, part: str) -> dict:
        return {top: est(i, f"{part}.share"), "normalised_entropy": est(i, f"{part}.entropy")}

    out_sides = {}
    for i, (label, side) in enumerate(zip(labels, sides)):
        pooled = side.weights.sum(axis=0)
        out_sides[label] = {
            "rationales": int(side.rationales.sum()),
            "rationales_with_values": int((side.values_each > 0).sum()),
            "mentions": float(side.mentions_each.sum()),
            "distinct_values": int((pooled > 0).sum()),
            "pooled": block_of(i, "pooled"),
            "macro": {**block_of(i, "macro"), "dilemmas": int(np.isfinite(rowwise_diversity(side.weights, k, n_values)[0]).sum())},
            "values_per_rationale": {"mean": est(i, "values_per_rationale"),
                                     "median": float(np.median(side.values_each)) if side.values_each.size else float("nan")},
            "mentions_per_rationale": {"mean": est(i, "mentions_per_rationale"),
                                       "median": float(np.median(side.mentions_each)) if side.mentions_each.size else float("nan")},
        }
    return {
        "labels": labels, "difference_is": f"{labels[0]} - {labels[1]}",
        "counting": counting, "counting_note": COUNTING_NOTES[counting],
        "k": k, "n_values": n_values, "entropy_normaliser": f"log({n_values})",
        "n_dilemmas": n, "n_resamples": n_resamples, "level": level, "interval": interval, "seed": seed,
        "left_out_rationales": {labels[0]: len(first) - int(sides[0].rationales.sum()),
                                labels[1]: len(second) - int(sides[1].rationales.sum())},
        "sides": out_sides,
        "difference": {"pooled": block_of(None, "pooled"), "macro": block_of(None, "macro"),
                       "values_per_rationale": est(None, "values_per_rationale"),
                       "mentions_per_rationale": est(None, "mentions_per_rationale")},
    }


def side_label(judgment: Any) -> str:
    """``human`` for people; a model's judge name, with ``/condition`` when it has one."""
    if judgment.judge == "human":
        return "human"
    return f"{judgment.judge}/{judgment.condition}" if judgment.condition else judgment.judge


def sides_by_judge(judgments: Iterable[Any]) -> dict[str, tuple[str, str]]:
    """``rationale_id -> (side, dilemma_id)`` for every judgment, sides named by :func:`side_label`."""
    return {j.id: (side_label(j), j.dilemma_id) for j in judgments}


def gaps_against(annotations: Iterable[Any], sides: Mapping[str, tuple[str, str]], value_ids: Sequence[str], *,
                 reference: str = "human", countings: Sequence[str] = ("mentions",), **settings) -> dict[str, dict[str, dict]]:
    """``reference`` minus every other side, under each counting: ``{side: {counting: result}}``.

    ``sides`` maps a rationale id to ``(side, dilemma_id)``; annotations of other rationales are
    left out. ``settings`` go to :func:`diversity_gap`. Every counting of one comparison resamples
    the same dilemmas (the random key is the side), so countings can be read against each other.
    """
    by_side: dict[str, list] = defaultdict(list)
    for ann in annotations:
        rid = ann.get("rationale_id") if isinstance(ann, Mapping) else ann.rationale_id
        if rid in sides:
            by_side[sides[rid][0]].append(ann)
    dilemma_of = {rid: d for rid, (_, d) in sides.items()}
    mats = {s: MentionMatrix.from_annotations(anns, dilemma_of, value_ids) for s, anns in sorted(by_side.items())}
    if reference not in mats:
        raise ValueError(f"no annotated {reference} rationale to compare with")
    return {s: {c: diversity_gap(mats[reference], m, labels=(reference, s), counting=c, key=s, **settings)
                for c in countings}
            for s, m in mats.items() if s != reference}


def format_estimate(e: dict, digits: int = 3) -> str:
    """``0.442 [0.293, 0.439]``: the figure and its interval ("–" where there is none).

    A plug-in top-k share or entropy over few dilemmas can lie outside its own basic interval,
    which is centred on the bias-corrected figure (module docstring); the reader then gets that
    figure too, ``(bias-corrected 0.366)``, rather than an interval that seems to miss its point.
    """
    def f(x) -> str:
        return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"

    text = f"{f(e['value'])} [{f(e['ci_low'])}, {f(e['ci_high'])}]"
    bc, lo, hi, x = e.get("bias_corrected"), e["ci_low"], e["ci_high"], e["value"]
    if bc is not None and all(v is not None and np.isfinite(v) for v in (bc, lo, hi, x)) and not lo <= x <= hi:
        text += f" (bias-corrected {f(bc)})"
    return text


def format_gap(result: dict) -> list[str]:
    """Plain-text lines for a terminal: both sides and the difference, each statistic with its interval."""
    a, b = result["labels"]
    top = f"top_{result['k']}_share"
    sa, sb, d = result["sides"][a], result["sides"][b], result["difference"]
    lines = [f"{a} vs {b}: {result['n_dilemmas']} shared dilemmas, counting '{result['counting']}' "
             f"({result['counting_note']}); entropy / {result['entropy_normaliser']}; "
             f"{int(result['level'] * 100)}% {result['interval']} bootstrap over dilemmas, {result['n_resamples']} resamples, "
             f"paired; difference = {result['difference_is']}"]
    for part in ("pooled", "macro"):
        for stat, name in ((top, f"top-{result['k']} share"), ("normalised_entropy", "normalised entropy")):
            lines.append(f"  {part:6} {name:18} {a} {format_estimate(sa[part][stat])}  {b} {format_estimate(sb[part][stat])}  "
                         f"diff {format_estimate(d[part][stat])}")
    for stat, name in (("values_per_rationale", "values/rationale"), ("mentions_per_rationale", "mentions/rationale")):
        lines.append(f"  {name:25} {a} mean {format_estimate(sa[stat]['mean'])} median {sa[stat]['median']:g}  "
                     f"{b} mean {format_estimate(sb[stat]['mean'])} median {sb[stat]['median']:g}  diff {format_estimate(d[stat])}")
    return lines
