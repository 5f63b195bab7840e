"""The whole pipeline on the bundled sample with SmolLM2-135M, its figures saved for the docs.

    python benchmarks/sample_pipeline.py [--out runs/pipeline]

Runs ``scripts/sample_pipeline.sh OUT`` with its defaults (llama.cpp server, answer grammar, 8
samples, 64 tokens, seed 13), then reads what the run left in OUT and saves four tables to
``benchmarks/results/sample_pipeline.json``: the wall time of each stage (``timings.tsv``; a
stage finished by an earlier run keeps that run's time), the judgment gap per condition (parse
failures counted from the model's judgments, P(acceptable) from ``per_dilemma.csv``), the value
diversity per side and the human − model value differences with their intervals
(``report_server_grammar/metrics.json``). The script resumes a killed run and skips stages
already done, so a second call on the same OUT only reads. Most of the time is the judge stage:
672 answers at about 3 s each on 2 cores.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from _common import print_table, save_results

from moralgap.diversity_gap import format_estimate

ROOT = Path(__file__).resolve().parents[1]
RUN = "server_grammar"
STAGES = [("taxonomy_build", "`taxonomy build`"), ("annotate_human", "`annotate auto`, human rationales"),
          ("profiles_build", "`profiles build --by topic`"), ("dmp_prompts", "`dmp prompts` (vanilla + dmp)"),
          ("add_grammar", "adding the answer grammar"), (f"judge_{RUN}", "`judge` (llama.cpp server, SmolLM2-135M)"),
          (f"annotate_model_{RUN}", "`annotate auto`, model rationales"), (f"align_{RUN}", "`align` (report and plots)")]


def stage_seconds(timings: Path) -> dict[str, int]:
    """The last recorded wall time of each stage (a rerun appends; a skipped stage records nothing)."""
    with timings.open(encoding="utf-8") as fh:
        return {row["stage"]: int(row["seconds"]) for row in csv.DictReader(fh, delimiter="\t")}


def stages_table(out: Path, answers: int) -> None:
    seconds = stage_seconds(out / "timings.tsv")
    rows = []
    for key, name in STAGES:
        s = seconds.get(key)
        per = f" ({s / answers:.1f} s per answer)" if key.startswith("judge") and s is not None and answers else ""
        rows.append({"stage": name, "wall time (s)": "" if s is None else f"{s:,}{per}"})
    rows.append({"stage": "total", "wall time (s)": f"{sum(seconds.get(k, 0) for k, _ in STAGES):,}"})
    print_table(rows, ["stage", "wall time (s)"], name="stages")


def mean_p_acceptable(per_dilemma: Path) -> dict[str, float]:
    """P(acceptable) averaged over dilemmas, per condition and for the humans (``per_dilemma.csv``)."""
    model, human = {}, {}
    with per_dilemma.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            model.setdefault(row["condition"], []).append(float(row["p_model"]))
            human[row["dilemma_id"]] = float(row["p_human"])
    return {"human": sum(human.values()) / max(len(human), 1), **{c: sum(v) / len(v) for c, v in model.items()}}


def gap_table(metrics: dict, judgments: list[dict], p_acceptable: dict[str, float]) -> None:
    total = Counter(j.get("condition") for j in judgments)
    failed = Counter(j.get("condition") for j in judgments if j.get("parse_error"))
    baseline = metrics["gap"].get("baseline")
    rows = [{"condition": "human", "P(acceptable), mean over dilemmas": f"{p_acceptable['human']:.3f}"}]
    for label, s in sorted(metrics["gap"]["conditions"].items(), key=lambda kv: kv[0] != baseline):
        o = s["overall"]
        rows.append({"condition": label, "dilemmas": o["n_dilemmas"],
                     "mean gap [95% CI]": format_estimate(o["mean_gap"]), "noise floor": f"{o['mean_noise_floor']:.3f}",
                     "gap − floor [95% CI]": format_estimate(o["gap_minus_floor"]),
                     "Pearson r [95% CI]": format_estimate(o["pearson"]),
                     "parse failures": f"{failed[label]} / {total[label]}",
                     "P(acceptable), mean over dilemmas": f"{p_acceptable.get(label, float('nan')):.3f}"})
    for label, c in (metrics["gap"].get("change_vs_baseline") or {}).items():
        rows.append({"condition": f"{label} − {c['baseline']}", "mean gap [95% CI]": format_estimate(c["difference"]),
                     "gap − floor [95% CI]": f"relative change {format_estimate(c['relative_change'])}"})
    print_table(rows, ["condition", "dilemmas", "mean gap [95% CI]", "noise floor", "gap − floor [95% CI]",
                       "Pearson r [95% CI]", "parse failures", "P(acceptable), mean over dilemmas"], name="gap")


def values_table(metrics: dict) -> None:
    values = metrics.get("values")
    if not values:
        return
    rows = []
    for side, v in sorted(values["sides"].items(), key=lambda kv: kv[0] != "human"):
        jsd = v.get("js_divergence_vs_human")
        rows.append({"side": side, "rationales": v["rationales"], "mentions": v.get("mentions", ""),
                     "distinct values": v["distinct_values"], "normalised entropy": f"{v['normalised_entropy']:.3f}",
                     "top-10 share": f"{v['top_10_share']:.3f}",
                     "JS divergence vs human": "" if jsd is None else f"{jsd:.3f}"})
    print_table(rows, ["side", "rationales", "mentions", "distinct values", "normalised entropy", "top-10 share",
                       "JS divergence vs human"], name="values")
    rows = []
    for side, by_counting in (values.get("diversity_gap") or {}).items():
        for counting, g in by_counting.items():
            a, b = g["labels"]
            top = f"top_{g['k']}_share"
            pooled, per_rationale = g["difference"]["pooled"], [g["sides"][x]["values_per_rationale"] for x in (a, b)]
            rows.append({"human − side": b, "counting": counting,
                         "top-10 share (pooled)": format_estimate(pooled[top]),
                         "normalised entropy (pooled)": format_estimate(pooled["normalised_entropy"]),
                         "values per rationale (human, side)": ", ".join(f"{v['mean']['value']:.2f}" for v in per_rationale)})
    if rows:
        print_table(rows, list(rows[0]), name="value_gap")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/pipeline", help="the run's folder (resumed when it exists)")
    opts = ap.parse_args()
    out = Path(opts.out)
    subprocess.run(["bash", str(ROOT / "scripts" / "sample_pipeline.sh"), str(out)], check=True)
    tables_of_run(out)
    save_results()


def tables_of_run(out: Path) -> None:
    """Print (and so record for ``save_results``) the tables of a finished run in ``out``."""
    metrics = json.loads((out / f"report_{RUN}" / "metrics.json").read_text(encoding="utf-8"))
    with (out / f"judgments_{RUN}.jsonl").open(encoding="utf-8") as fh:
        judgments = [json.loads(line) for line in fh if line.strip()]
    stages_table(out, len(judgments))
    gap_table(metrics, judgments, mean_p_acceptable(out / f"report_{RUN}" / "per_dilemma.csv"))
    values_table(metrics)


if __name__ == "__main__":
    sys.exit(main())
