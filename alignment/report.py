"""Writing the alignment report: metrics.json, per_dilemma.csv, PNG plots, summary.md and a
self-contained report.html (plots embedded as base64, no external assets)."""
from __future__ import annotations

import base64
import csv
import html
import math
from pathlib import Path
from typing import Mapping, Optional

from moralgap.diversity_gap import format_estimate
from moralgap.io import atomic_open, write_json

from . import plots
from .metrics import GapAnalysis
from .values_gap import ValuesResult


def _f(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _ci(est: dict, digits: int = 3) -> str:
    return format_estimate(est, digits)


def _tables(analysis: GapAnalysis, values: Optional[ValuesResult]) -> list[tuple[str, list[str], list[list[str]]]]:
    tables = []
    rows = []
    for label, s in analysis.summaries.items():
        o = s["overall"]
        rows.append([label, str(o["n_dilemmas"]), _ci(o["mean_gap"]), _f(o["mean_noise_floor"]), _ci(o["gap_minus_floor"]),
                     _ci(o["pearson"]), _f(o["spearman"]), _f(o["mean_js_distance"]), str(o["unparseable"])])
    tables.append(("Judgment gap per condition (mean over dilemmas, 95% bootstrap CI)",
                   ["condition", "dilemmas", "gap", "noise floor", "gap − floor", "Pearson r", "Spearman ρ", "JS distance",
                    "unparseable"], rows))
    if analysis.changes:
        rows = [[label, c["baseline"], str(c["n_dilemmas"]), _ci(c["difference"]),
                 _ci(c["relative_change"])] for label, c in analysis.changes.items()]
        tables.append(("Change of the gap against the baseline (paired bootstrap over the same dilemmas)",
                       ["condition", "baseline", "dilemmas", "difference", "relative change"], rows))
    for label, s in analysis.summaries.items():
        rows = [[b["bin"], str(b["n_dilemmas"]), _ci(b["mean_gap"]), _f(b["mean_noise_floor"]), _ci(b["gap_minus_floor"]),
                 _f(b["pearson"]["value"])] for b in s["bins"]]
        tables.append((f"By human consensus: {label}", ["consensus", "dilemmas", "gap", "noise floor", "gap − floor", "Pearson r"], rows))
    if values is not None:
        k = next((key for key in next(iter(values.summary.values()), {}) if key.startswith("top_")), "top_10_share")
        rows = [[side, str(v["rationales"]), str(v["mentions"]), str(v["distinct_values"]), _f(v["normalised_entropy"]),
                 _f(v[k]), _f(v["js_divergence_vs_human"])] for side, v in values.summary.items()]
        tables.append((f"Value diversity (entropy normalised by {values.n_values} values)",
                       ["side", "rationales", "mentions", "distinct values", "normalised entropy", k.replace("_", " "),
                        "JS divergence vs human"], rows))
        for side, by_counting in values.gaps.items():
            for counting, g in by_counting.items():
                tables.append(_gap_table(side, counting, g))
    return tables


def _gap_table(side: str, counting: str, g: dict) -> tuple[str, list[str], list[list[str]]]:
    """Human and one model side, statistic by statistic, with the paired difference."""
    a, b = g["labels"]
    top = f"top_{g['k']}_share"
    rows = []
    for part in ("pooled", "macro"):
        for stat, name in ((top, f"top-{g['k']} share"), ("normalised_entropy", "normalised entropy")):
            rows.append([f"{name} ({part})", _ci(g["sides"][a][part][stat]), _ci(g["sides"][b][part][stat]),
                         _ci(g["difference"][part][stat])])
    for stat, name in (("values_per_rationale", "values per rationale"), ("mentions_per_rationale", "mentions per rationale")):
        rows.append([f"{name}: mean (median)", f"{_ci(g['sides'][a][stat]['mean'])} ({_f(g['sides'][a][stat]['median'], 1)})",
                     f"{_ci(g['sides'][b][stat]['mean'])} ({_f(g['sides'][b][stat]['median'], 1)})", _ci(g["difference"][stat])])
    caption = (f"Value diversity, {a} − {side}: counting '{counting}' ({g['counting_note']}), {g['n_dilemmas']} shared "
               f"dilemmas, entropy / {g['entropy_normaliser']}, {int(g['level'] * 100)}% {g['interval']} bootstrap "
               f"paired by dilemma ({g['n_resamples']} resamples)")
    return caption, ["statistic", a, b, f"{a} − {b}"], rows


def _markdown(title: str, tables, images: list[Path], notes: list[str]) -> str:
    out = [f"# {title}", ""]
    out += [f"- {n}" for n in notes] + [""]
    for caption, head, rows in tables:
        out += [f"## {caption}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        out.append("")
    for img in images:
        out += [f"![{img.stem}]({img.name})", ""]
    return "\n".join(out)


def _html(title: str, tables, images: list[Path], notes: list[str]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:14px}"
             "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}"
             "td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:1em 0}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"]
    for img in images:
        data = base64.b64encode(img.read_bytes()).decode("ascii")
        parts.append(f"<figure><img alt='{html.escape(img.stem)}' src='data:image/png;base64,{data}'></figure>")
    for caption, head, rows in tables:
        parts.append(f"<h2>{html.escape(caption)}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_per_dilemma(analysis: GapAnalysis, path: Path) -> None:
    from .metrics import DilemmaFrame

    with atomic_open(path) as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["condition", *DilemmaFrame.COLUMNS])
        for label, frame in analysis.frames.items():
            for row in frame.rows():
                w.writerow([label, *[round(v, 6) if isinstance(v, float) else v for v in row.values()]])


def write_report(out_dir: str | Path, analysis: GapAnalysis, *, values: Optional[ValuesResult] = None,
                 value_names: Optional[Mapping[str, str]] = None, title: str = "moralgap alignment report",
                 notes: Optional[list[str]] = None) -> list[Path]:
    """Write every report file into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images = [plots.gap_by_consensus(analysis, out / "gap_by_consensus.png"),
              plots.scatter_p(analysis.frames, out / "p_human_vs_model.png")]
    if values is not None and values.counts:
        images.append(plots.rank_frequency(values.counts, out / "value_rank_frequency.png"))
        if values.topic_profiles:
            images.append(plots.topic_profiles(values.topic_profiles, out / "topic_value_profiles.png", value_names))
    metrics = {"gap": analysis.as_dict(), "values": values.as_dict() if values is not None else None}
    write_json(out / "metrics.json", metrics)
    write_per_dilemma(analysis, out / "per_dilemma.csv")
    tables = _tables(analysis, values)
    notes = list(notes or []) + [
        "gap = mean over dilemmas of |P_human(acceptable) − P_model(acceptable)|; CIs resample dilemmas.",
        "noise floor = exact expected gap of a model with exactly the humans' P, at each dilemma's numbers of votes.",
    ]
    with atomic_open(out / "summary.md") as fh:
        fh.write(_markdown(title, tables, images, notes))
    with atomic_open(out / "report.html") as fh:
        fh.write(_html(title, tables, images, notes))
    return [out / "metrics.json", out / "per_dilemma.csv", out / "summary.md", out / "report.html", *images]
