"""Issue 2 benchmark: build speed and memory.

    python benchmarks/taxonomy_speed.py sample          # the bundled sample, models loaded first
    python benchmarks/taxonomy_speed.py scale [--n 50000] [--workers 2]

``scale`` composes N rationales of about 200 characters from the sentences of real texts
in ../shared/data (AITA comments and LLM rationales, Touché23 premises, Webis-ArgValues-22
arguments), seeded, so most rationales are distinct while their sentences are real; it then
runs ``moralgap taxonomy build`` as a subprocess (cold embedding cache, both cores for spaCy)
and reports wall time per stage and the peak resident memory of that process.
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

from _common import REPO, read_jsonl_gz, record_table, save_results, shared_data


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
    builder.fit(judgments)
    record_table([{"rationales": len(judgments), "values": 60, "seconds": round(time.perf_counter() - t, 1),
                   "texts_embedded": builder.embedder.stats["embedded"]}],
                 ["rationales", "values", "seconds", "texts_embedded"], name="sample")
    print(f"sample: {len(judgments)} rationales -> 60 values in {time.perf_counter() - t:.1f} s (models loaded, cold embedding cache: "
          f"{builder.embedder.stats['embedded']} texts embedded)")


def run_scale(n: int, workers: int, seed: int) -> None:
    texts = compose(n, seed)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "judgments.jsonl"
        with open(src, "w", encoding="utf-8") as fh:
            for i, t in enumerate(texts):
                fh.write(json.dumps({"id": f"r{i}", "dilemma_id": f"d{i % 1618}", "verdict": "NTA", "rationale": t}) + "\n")
        env = dict(os.environ, MORALGAP_CACHE_DIR=str(Path(tmp) / "cache"))
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "moralgap.cli", "taxonomy", "build", str(src), "--out", str(Path(tmp) / "tax"),
                               "--workers", str(workers)], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            sys.exit(proc.stderr)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        manifest = json.loads((Path(tmp) / "tax" / "manifest.json").read_text())
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
    opts = ap.parse_args()
    run_sample() if opts.what == "sample" else run_scale(opts.n, opts.workers, opts.seed)
    save_results(f"taxonomy_speed_{opts.what}")


if __name__ == "__main__":
    main()
