"""Issue 17 benchmark: the taxonomy stages on local Ray against the single-process path.

    python benchmarks/scale_ray.py --n 20000 --workers 2 [--fit-max-forms 5000]
    python benchmarks/scale_ray.py --assign-rate 200000     # the assignment rule alone
    python benchmarks/scale_ray.py --n 10000 --embed-rationales   # also embed every rationale (annotate auto's load)

Composes N rationales from real sentences exactly as ``taxonomy_speed.py scale`` does, writes
them as a folder of 4 Parquet shards, and runs each engine in its own child process (so peak
memory is that engine's driver alone), each with a cold embedding cache:

- ``local``: one process on one core (``OMP_NUM_THREADS=1``: spaCy in-process, torch on one
  thread), the per-core baseline;
- ``ray``: a Ray started on this machine with ``--workers`` CPUs, one actor per CPU.

Stages, timed apart: ``read`` (validate the shards), ``start`` (Ray up; 0 locally), ``extract``
(spaCy rules), ``embed`` (every distinct form through the cache), ``cluster`` (the bounded fit
on at most ``--fit-max-forms`` forms plus assigning the rest by the update rule; the cache is
warm by then, so this is the driver's own work). Per-core rates are texts (rationales or forms)
per core-second; Ray's overhead is the local per-core time over Ray's per-core time, stage by
stage. The cost model in docs/scale.md extrapolates from these rates.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, record_table, save_results


def child(src: Path, engine: str, workers: int, fit_max_forms: int, out: Path, embed_rationales: bool = False) -> None:
    """One engine end to end; prints one JSON line with timings, counts and peak memory."""
    from moralgap.datasets import load_judgments
    from moralgap.scale import make_engine
    from moralgap.scale.bounded import fit_bounded
    from moralgap.taxonomy.build import TaxonomyBuilder, embed_key

    times: dict[str, float] = {}

    def lap(name: str, t: float) -> None:
        times[name] = round(time.perf_counter() - t, 2)

    t = time.perf_counter()
    judgments = load_judgments(src, require_rationale=True).records
    lap("read", t)
    t = time.perf_counter()
    if engine == "ray":
        from moralgap.scale.ray_engine import RayEngine

        eng = RayEngine(workers=workers, num_cpus=workers)
    else:
        eng = make_engine("local")
    extractor = eng.extractor()
    embedder = eng.embedder()
    if engine == "local":
        embedder.model  # load before timing, as the Ray actors load theirs inside their stage
    lap("start", t)
    t = time.perf_counter()
    expressions = extractor.extract(judgments)
    lap("extract", t)
    builder = TaxonomyBuilder(60, seed=13, embedder=embedder, extractor=extractor)
    keys = sorted({embed_key(builder.embed_text, e) for e in expressions if not getattr(e, "excluded", None)})
    t = time.perf_counter()
    embedder.encode(keys)
    lap("embed", t)
    t = time.perf_counter()
    result, fit = fit_bounded(builder, expressions, max_forms=fit_max_forms)
    lap("cluster", t)
    if embed_rationales:
        # Whole rationales, as annotate auto embeds them: longer texts, one per rationale.
        t = time.perf_counter()
        embedder.encode([j.rationale for j in judgments])
        lap("embed_rationales", t)
    result.add_coverage(len(judgments))
    result.save(out)
    eng.close()
    print(json.dumps({"times": times, "rationales": len(judgments), "expressions": len(expressions),
                      "forms": len(keys), "fit": fit, "driver_peak_rss_mb": round(
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def run(n: int, workers: int, fit_max_forms: int, seed: int, embed_rationales: bool = False) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from taxonomy_speed import compose

    from moralgap.scale.datasets import write_parquet

    texts = compose(n, seed)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "judgments"
        per = -(-n // 4)
        for s in range(4):
            write_parquet(src / f"part-{s:05d}.parquet",
                          [{"id": f"r{i}", "dilemma_id": f"d{i % 1618}", "verdict": "NTA", "rationale": texts[i]}
                           for i in range(s * per, min(n, (s + 1) * per))])
        for engine in ("local", "ray"):
            env = dict(os.environ, MORALGAP_CACHE_DIR=str(Path(tmp) / f"cache-{engine}"), MORALGAP_PROGRESS="0",
                       HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
            if engine == "local":
                env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child", engine, "--src", str(src), "--workers", str(workers),
                                   "--fit-max-forms", str(fit_max_forms), "--out", str(Path(tmp) / f"tax-{engine}"),
                                   *(["--embed-rationales"] if embed_rationales else [])],
                                  env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(proc.stderr[-4000:])
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
            results[engine]["wall_s"] = round(time.perf_counter() - t, 1)
        same = {f: (Path(tmp) / "tax-local" / f).read_bytes() == (Path(tmp) / "tax-ray" / f).read_bytes()
                for f in ("taxonomy.json", "expressions.jsonl")}

    loc, ray_ = results["local"], results["ray"]
    units = {"extract": loc["rationales"], "embed": loc["forms"], "embed_rationales": loc["rationales"]}
    rows = []
    for stage in ("read", "start", "extract", "embed", "cluster", *(["embed_rationales"] if embed_rationales else [])):
        lt, rt = loc["times"][stage], ray_["times"][stage]
        row = {"stage": stage, "local_1core_s": lt, "ray_s": rt, "ray_workers": workers}
        if stage in units:
            row["local_per_core_rate"] = round(units[stage] / lt, 1)
            row["ray_per_core_rate"] = round(units[stage] / (rt * workers), 1)
            row["ray_overhead"] = round(rt * workers / lt, 2)
        rows.append(row)
    fit = loc["fit"]
    if fit.get("sampled"):
        next(r for r in rows if r["stage"] == "cluster")["note"] = \
            f"fit on {fit['forms_fitted']} of {fit['forms_total']} forms; the rest assigned"
    cols = ["stage", "local_1core_s", "ray_s", "ray_workers", "local_per_core_rate", "ray_per_core_rate", "ray_overhead", "note"]
    record_table(rows, cols, name="stages")
    summary = [{"rationales": n, "expressions": loc["expressions"], "distinct_forms": loc["forms"],
                "fit_max_forms": fit_max_forms, "local_wall_s": loc["wall_s"], "ray_wall_s": ray_["wall_s"],
                "local_driver_peak_mb": loc["driver_peak_rss_mb"], "ray_driver_peak_mb": ray_["driver_peak_rss_mb"],
                "taxonomy_identical": same["taxonomy.json"], "expressions_identical": same["expressions.jsonl"]}]
    record_table(summary, list(summary[0]), name="summary")
    for r in rows:
        print("  ".join(f"{k}={v}" for k, v in r.items()))
    print(json.dumps(summary[0]))


def assign_rate(n_forms: int, seed: int) -> None:
    """Forms per core-second of the update rule itself (nearest centroid, thresholds), vectors given.

    Uses the sample's taxonomy (built here, cached) and ``n_forms`` random unit vectors: the rule's
    cost depends only on how many vectors and values there are, not on what they say.
    """
    import numpy as np

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from moralgap.datasets import load_judgments
    from moralgap.records import Expression
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.update import TaxonomyUpdater

    folder = TaxonomyBuilder(60, seed=seed).fit(
        load_judgments(REPO / "data" / "sample" / "judgments.jsonl", require_rationale=True).records).folder
    gen = np.random.default_rng(seed)
    vecs = gen.standard_normal((n_forms, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    reps = [Expression(id=f"f{i}", rationale_id=f"r{i}", start=0, end=1, text="x", norm=f"form {i}", rule="evaluative")
            for i in range(n_forms)]
    t = time.perf_counter()
    ids, column, _, _ = TaxonomyUpdater(seed=seed).assign(folder, reps, vecs, kept=[])
    secs = time.perf_counter() - t
    record_table([{"forms": n_forms, "values": len(ids), "seconds_1core": round(secs, 2),
                   "forms_per_core_second": round(n_forms / secs)}],
                 ["forms", "values", "seconds_1core", "forms_per_core_second"], name="assign")
    print(f"assignment rule: {n_forms} forms against {len(ids)} values in {secs:.2f} s on one core "
          f"({n_forms / secs:,.0f} forms per core-second)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fit-max-forms", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--embed-rationales", action="store_true",
                    help="Also embed every rationale (results: scale_ray_embed.json).")
    ap.add_argument("--assign-rate", type=int, default=None, metavar="FORMS",
                    help="Only time the assignment rule on this many forms (results: scale_ray_assign.json).")
    ap.add_argument("--child", choices=["local", "ray"], help=argparse.SUPPRESS)
    ap.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.child:
        child(opts.src, opts.child, opts.workers, opts.fit_max_forms, opts.out, opts.embed_rationales)
        return
    if opts.assign_rate:
        assign_rate(opts.assign_rate, opts.seed)
        save_results("scale_ray_assign")
        return
    run(opts.n, opts.workers, opts.fit_max_forms, opts.seed, opts.embed_rationales)
    save_results("scale_ray_embed" if opts.embed_rationales else "scale_ray")


if __name__ == "__main__":
    main()
