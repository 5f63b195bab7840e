"""Issue 2 benchmark: build speed and memory.

    python benchmarks/taxonomy_speed.py sample          # the bundled sample, models loaded first
    python benchmarks/taxonomy_speed.py scale [--n 50000] [--workers 2] [--update] [--edits]
        [--embed-text sentence --context-weight 3]

``scale`` composes N rationales of about 200 characters from the sentences of real texts
in ../shared/data (AITA comments and LLM rationales, Touché23 premises, Webis-ArgValues-22
arguments), seeded, so most rationales are distinct while their sentences are real; it then
runs ``moralgap taxonomy build`` as a subprocess (cold embedding cache, both cores for spaCy)
and reports wall time per stage and the peak resident memory of that process.
``--update`` then adds 10% more composed rationales to that taxonomy with ``taxonomy update``
and with ``taxonomy update --regroup`` (each a subprocess on the build's warm cache) and reports
their wall time against the build's. ``--embed-text sentence`` (or ``context``) builds and
updates with each mention's sentence (rationale) mixed in: every mention is then a form of its
own, so the fit is a sample of 50,000 mentions and the rest are embedded with their sentences;
only the plain update is timed (such a taxonomy regroups with ``--earlier-judgments``, not timed
here). Its results are saved
under a name of their own (``taxonomy_speed_scale_sentence_w3.json``). ``--edits`` times what a
reviewer runs on the largest value of that taxonomy: ``taxonomy show --value``, ``taxonomy edit
move`` of its furthest form and ``taxonomy edit split --k 2`` (``taxonomy_speed_scale_edits.json``).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import REPO, embed_text_suffix, print_table, read_jsonl_gz, record_table, save_results, shared_data


def sentence_pool() -> list[str]:
    d = shared_data()
    texts = [p["human_top_comment"] for p in read_jsonl_gz(d / "aita_boraske" / "posts.jsonl.gz")]
    texts += [r["rationale"] for r in read_jsonl_gz(d / "aita_boraske" / "llm_judgments.jsonl.gz")]
    for split in ("training", "validation", "test"):
        texts += pd.read_csv(d / "valueeval" / "touche23" / f"arguments-{split}.tsv.gz", sep="\t")["Premise"].astype(str).tolist()
    texts += pd.read_csv(d / "valueeval" / "webis_argvalues22" / "arguments.tsv.gz", sep="\t")["Premise"].astype(str).tolist()
    pool = []
    for t in texts:
        for s in re.split(r"(?<=[.!?])\s+", " ".join(str(t).split())):
            if 20 <= len(s) <= 220:
                pool.append(s)
    return sorted(set(pool))


def compose(n: int, seed: int) -> list[str]:
    pool = sentence_pool()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        parts = []
        while sum(len(p) + 1 for p in parts) < 170:
            parts.append(pool[rng.integers(len(pool))])
        out.append(" ".join(parts))
    return out


def run_sample() -> None:
    from moralgap.datasets import load_judgments
    from moralgap.taxonomy.build import TaxonomyBuilder

    from moralgap.taxonomy.embed import Embedder

    judgments = load_judgments(REPO / "data" / "sample" / "judgments.jsonl", require_rationale=True).records
    builder = TaxonomyBuilder(60, embedder=Embedder(cache_dir=tempfile.mkdtemp()))  # cold cache
    builder.extractor, builder.embedder.model  # load models before timing
    t = time.perf_counter()
    result = builder.fit(judgments)
    seconds = time.perf_counter() - t
    # Values of one word's forms are joined after clustering, so a build may hold fewer than asked.
    n_values = len(result.taxonomy.values)
    record_table([{"rationales": len(judgments), "values": n_values, "seconds": round(seconds, 1),
                   "texts_embedded": builder.embedder.stats["embedded"]}],
                 ["rationales", "values", "seconds", "texts_embedded"], name="sample")
    print(f"sample: {len(judgments)} rationales -> {n_values} values in {seconds:.1f} s (models loaded, cold embedding cache: "
          f"{builder.embedder.stats['embedded']} texts embedded)")


def write_judgments(path: Path, texts: list[str], first: int = 0) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i, t in enumerate(texts, start=first):
            fh.write(json.dumps({"id": f"r{i}", "dilemma_id": f"d{i % 1618}", "verdict": "NTA", "rationale": t}) + "\n")


def timed_cli(args: list[str], env: dict) -> float:
    return capture_cli(args, env)[0]


def capture_cli(args: list[str], env: dict) -> tuple[float, str]:
    """Run one ``moralgap`` command; its wall time and what it printed (a failure ends the benchmark)."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "moralgap.cli", *args], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return time.perf_counter() - t, proc.stdout


def time_edits(tax: Path, work: Path, env: dict, wall: float) -> None:
    """A reviewer's reading and edits of the largest value: every command a subprocess that loads the
    taxonomy folder, as a reviewer runs it (the embedding cache is the build's, warm)."""
    values = json.loads((tax / "taxonomy.json").read_text())["values"]
    big = max(values, key=lambda v: v["size"])
    took, out = capture_cli(["taxonomy", "show", str(tax), "--value", big["id"], "--json"], env)
    forms = json.loads(out)["forms"]
    rows = [{"run": f"show --value (largest value, {big['size']} mentions, {len(forms)} forms)", "wall_s": took}]
    took = timed_cli(["taxonomy", "edit", "move", str(tax), big["id"], "--form", forms[-1]["form"],
                      "--out", str(work / "moved"), "--author", "benchmark"], env)
    rows.append({"run": f"edit move (its furthest form, {forms[-1]['mentions']} mentions, out)", "wall_s": took})
    took = timed_cli(["taxonomy", "edit", "split", str(tax), big["id"], "--k", "2", "--out", str(work / "split"),
                      "--author", "benchmark"], env)
    rows.append({"run": "edit split --k 2 (the largest value)", "wall_s": took})
    for r in rows:
        r["share_of_build"] = r["wall_s"] / wall
    print_table(rows, ["run", "wall_s", "share_of_build"], name="edits")


def run_scale(n: int, workers: int, seed: int, update: bool = False, embed: list[str] | None = None,
              edits: bool = False) -> None:
    texts = compose(n, seed)
    embed = embed or []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "judgments.jsonl"
        write_judgments(src, texts)
        env = dict(os.environ, MORALGAP_CACHE_DIR=str(Path(tmp) / "cache"))
        wall = timed_cli(["taxonomy", "build", str(src), "--out", str(Path(tmp) / "tax"), "--workers", str(workers),
                          *embed], env)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        manifest = json.loads((Path(tmp) / "tax" / "manifest.json").read_text())
        if edits:
            time_edits(Path(tmp) / "tax", Path(tmp), env, wall)
        if update:
            more = Path(tmp) / "more.jsonl"
            write_judgments(more, compose(n // 10, seed + 1), first=n)
            rows = []
            # A taxonomy embedded with its rationales regroups only with --earlier-judgments (docs/taxonomy.md).
            for label, extra in (("update", []), ("update --regroup", ["--regroup"]))[: 1 if embed else 2]:
                out = Path(tmp) / label.replace(" ", "").replace("-", "_")
                took = timed_cli(["taxonomy", "update", str(Path(tmp) / "tax"), str(more), "--out", str(out),
                                  "--author", "benchmark", *extra], env)
                counts = json.loads((out / "manifest.json").read_text())["counts"]
                rows.append({"run": f"{label}: +{n // 10} rationales", "wall_s": round(took), "share_of_build": took / wall,
                             "new_values": counts.get("new_values"), "values_merged": counts.get("values_merged")})
            print_table(rows, ["run", "wall_s", "share_of_build", "new_values", "values_merged"], name="update")
    mean_len = sum(map(len, texts)) / len(texts)
    record_table([{"rationales": n, "mean_chars": round(mean_len), "workers": workers, "wall_s": round(wall),
                   **{f"{k}_s": round(v) for k, v in manifest["timings_s"].items()}, "peak_rss_mb": round(peak)}],
                 ["rationales", "mean_chars", "workers", "wall_s", *(f"{k}_s" for k in manifest["timings_s"]), "peak_rss_mb"],
                 name="scale")
    print(f"scale: {n} rationales (mean {mean_len:.0f} chars), workers={workers}")
    print(f"  wall {wall:.0f} s end to end; stages: " + ", ".join(f"{k} {v:.0f} s" for k, v in manifest["timings_s"].items()))
    print(f"  peak RSS of the largest process {peak:.0f} MB; {manifest['counts']['n_expressions']} expressions, "
          f"{manifest['counts']['n_distinct_expressions']} distinct; coverage {manifest['counts']['rationale_coverage']:.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["sample", "scale"])
    ap.add_argument("--n", type=int, default=50000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--update", action="store_true", help="scale: also time updates adding 10%% more rationales")
    ap.add_argument("--embed-text", default="norm", choices=["norm", "context", "sentence"],
                    help="scale: the build's --embed-text; anything but norm saves its results under a name of its own")
    ap.add_argument("--context-weight", type=float, default=3.0)
    ap.add_argument("--edits", action="store_true",
                    help="scale: also time `taxonomy show --value`, `edit move` and `edit split` on the largest "
                         "value (results: taxonomy_speed_scale_edits)")
    opts = ap.parse_args()
    if opts.what == "sample":
        run_sample()
        save_results("taxonomy_speed_sample")
        return
    embed = [] if opts.embed_text == "norm" else ["--embed-text", opts.embed_text,
                                                 "--context-weight", f"{opts.context_weight:g}"]
    run_scale(opts.n, opts.workers, opts.seed, opts.update, embed, opts.edits)
    save_results("taxonomy_speed_scale" + embed_text_suffix(opts.embed_text, opts.context_weight)
                 + ("_edits" if opts.edits else ""))


if __name__ == "__main__":
    main()
