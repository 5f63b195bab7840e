"""The report's figures, drawn with matplotlib's Agg backend and saved as PNG."""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Mapping, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .metrics import DilemmaFrame, GapAnalysis  # noqa: E402

_DPI = 110


def _shown(text) -> str:
    """Text from the data as a figure can draw it: control, private-use and unassigned
    characters, which no font has, become "?" (matplotlib would warn and draw boxes)."""
    return "".join("?" if unicodedata.category(ch).startswith("C") else ch for ch in str(text))


def _pearson(a, b) -> Optional[float]:
    """Pearson's r, or ``None`` where it is undefined: under three points, or a side that never
    varies (a model that always answers the same)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI)
    plt.close(fig)
    return path


def gap_by_consensus(analysis: GapAnalysis, path: Path) -> Path:
    labels = list(analysis.summaries)
    bins = [b["bin"] for b in next(iter(analysis.summaries.values()))["bins"]] if labels else []
    x = np.arange(len(bins))
    width = 0.8 / max(1, len(labels))
    fig, ax = plt.subplots(figsize=(max(6.5, 1.3 * len(bins) + 1.2 * len(labels)), 4.2))
    colors = plt.cm.tab10.colors
    for i, label in enumerate(labels):
        rows = analysis.summaries[label]["bins"]
        mean = np.array([r["mean_gap"]["value"] for r in rows])
        lo = np.array([r["mean_gap"]["ci_low"] for r in rows])
        hi = np.array([r["mean_gap"]["ci_high"] for r in rows])
        floor = np.array([r["mean_noise_floor"] for r in rows])
        xs = x - 0.4 + width * (i + 0.5)
        c = colors[i % len(colors)]
        ax.bar(xs, mean, width * 0.92, color=c, alpha=0.85, label=_shown(label))
        ax.errorbar(xs, mean, yerr=[np.clip(mean - lo, 0, None), np.clip(hi - mean, 0, None)], fmt="none",
                    ecolor="black", elinewidth=1, capsize=3)
        ax.hlines(floor, xs - width * 0.46, xs + width * 0.46, colors="black", linestyles="dashed", linewidth=1.4,
                  label="noise floor (perfect model)" if i == 0 else None)
    ax.set_xticks(x, bins)
    ax.set_xlabel("human consensus bin, max(p, 1-p)")
    ax.set_ylabel("mean |P_human - P_model|")
    ax.set_title("Judgment gap by human consensus (95% bootstrap CI)")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, None)
    return _save(fig, path)


def _grid(n: int, max_cols: int, width: float, height: float):
    """A figure with one panel per item; unused panels are hidden."""
    cols = min(max_cols, max(1, n))
    rows = int(np.ceil(n / cols)) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    return fig, axes


def scatter_p(frames: Mapping[str, DilemmaFrame], path: Path) -> Path:
    labels = list(frames)
    fig, axes = _grid(len(labels), 3, 3.6, 3.5)
    for ax, label in zip(axes.flat, labels):
        f = frames[label]
        ax.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle=":")
        ax.scatter(f.p_human, f.p_model, s=12, alpha=0.55, edgecolors="none")
        r = _pearson(f.p_human, f.p_model)
        ax.set_title(f"{_shown(label)}  (n={len(f)}, r={'n/a' if r is None else f'{r:.2f}'})", fontsize=9)
        ax.set_xlim(-0.03, 1.03)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("P_human(acceptable)")
        ax.set_ylabel("P_model(acceptable)")
    return _save(fig, path)


def rank_frequency(counts: Mapping[str, Mapping[str, int]], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for side, c in counts.items():
        v = np.sort(np.array(list(c.values()), float))[::-1]
        if v.sum() <= 0:
            continue
        v = v[v > 0] / v.sum()
        ax.plot(np.arange(1, len(v) + 1), v, marker="o", markersize=3, linewidth=1.8 if side == "human" else 1.2,
                color="black" if side == "human" else None, label=_shown(side))
    ax.set_yscale("log")
    ax.set_xlabel("value rank")
    ax.set_ylabel("share of value mentions")
    ax.set_title("Value rank-frequency: humans vs each condition")
    ax.legend(fontsize=8, frameon=False)
    return _save(fig, path)


def topic_profiles(profiles: Mapping[str, Mapping[str, Mapping[str, float]]], path: Path,
                   names: Optional[Mapping[str, str]] = None, top: int = 6) -> Path:
    topics = list(profiles)
    fig, axes = _grid(len(topics), 2, 6.0, 3.2)
    for ax, topic in zip(axes.flat, topics):
        sides = profiles[topic]
        ref = sides.get("human") or next(iter(sides.values()))
        values = sorted(ref, key=lambda v: -ref[v])[:top]
        y = np.arange(len(values))
        h = 0.8 / max(1, len(sides))
        ordered = sorted(sides.items(), key=lambda kv: kv[0] != "human")
        for i, (side, shares) in enumerate(ordered):
            ax.barh(y - 0.4 + h * (i + 0.5), [shares.get(v, 0.0) for v in values], h * 0.9, label=_shown(side),
                    color="0.25" if side == "human" else None)
        ax.set_yticks(y, [_shown((names or {}).get(v, v)) for v in values], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("share of the topic's value mentions")
        ax.set_title(f"topic: {_shown(topic)}", fontsize=10)
        ax.legend(fontsize=7, frameon=False)
    return _save(fig, path)
