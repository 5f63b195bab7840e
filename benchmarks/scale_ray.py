"""Issue 17 benchmark: the taxonomy stages on local Ray against the single-process path.

    python benchmarks/scale_ray.py --n 20000 --workers 2 [--fit-max-forms 5000]
    python benchmarks/scale_ray.py --assign-rate 200000     # the assignment rule alone
    python benchmarks/scale_ray.py --n 10000 --embed-rationales   # also embed every rationale (annotate auto's load)
    python benchmarks/scale_ray.py --vectors 60000   # the same texts embedded on both engines: identical bits?
    python benchmarks/scale_ray.py --n 30000 --engines ray,ray-records --embed-text context   # each mention with its rationale

Composes N rationales from real sentences exactly as ``taxonomy_speed.py scale`` does, writes
them as a folder of 4 Parquet shards, and runs each engine in its own child process (so peak
memory is that engine's driver alone), each with a cold embedding cache:

- ``local``: one process on one core (``OMP_NUM_THREADS=1``: spaCy in-process, torch on one
  thread), the per-core baseline;
- ``ray``: a Ray started on this machine with ``--workers`` CPUs, one actor per CPU, running the
  streaming build ``taxonomy build --engine ray`` runs (:mod:`moralgap.scale.stream_build`:
  the rationales staged in Ray's object store and extracted in one job, expressions spilled to
  disk window by window, a form table in the driver);
- ``ray-records`` (with ``--engines``): the same Ray, but the judgments and expressions held as
  records in the driver, as every build did before the streaming path; the "before" of the
  driver's memory.

    python benchmarks/scale_ray.py --n 30000 --engines local,ray,ray-records --window 10000 --name scale_ray_stream_30000

Besides the peak resident set (``ru_maxrss``, which also counts pages of Ray's shared-memory
object store the driver touched), each child samples its private memory (``RssAnon``) every
0.2 s: the driver's own heap, the figure that must stay under 4 GB.

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
from contextlib import contextmanager
from pathlib import Path

from _common import REPO, record_table, save_results


class AnonPeak:
    """The largest private resident memory (``RssAnon``) of this process, sampled in a thread."""

    def __init__(self, every: float = 0.2):
        import threading

        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _now_kb(self) -> int:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
        return 0

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.peak_kb = max(self.peak_kb, self._now_kb())

    def stop_mb(self) -> int:
        self._stop.set()
        self._thread.join()
        return round(max(self.peak_kb, self._now_kb()) / 1024)


def _builder(embedder, extractor, embed_text: str = "norm"):
    import inspect

    from moralgap.taxonomy.build import TaxonomyBuilder

    # The issue 17 stages alone, comparable with the earlier runs: no learned span filter (issue 14).
    extra = {"span_filter": "none"} if "span_filter" in inspect.signature(TaxonomyBuilder).parameters else {}
    return TaxonomyBuilder(60, seed=13, embedder=embedder, extractor=extractor, embed_text=embed_text, **extra)


def stream_child(src: Path, workers: int, fit_max_forms: int, out: Path, embed_text: str = "norm") -> dict:
    """The streaming Ray build, staged as the CLI stages it."""
    from moralgap.datasets import iter_judgments
    from moralgap.scale.ray_engine import RayEngine
    from moralgap.scale.spill import ExpressionSpill
    from moralgap.scale.stream_build import build_streaming

    times: dict[str, float] = {}

    @contextmanager
    def timed(stage: str):
        t = time.perf_counter()
        yield
        times[stage] = round(time.perf_counter() - t, 2)

    with timed("start"):
        eng = RayEngine(workers=workers, num_cpus=workers)
        extractor, embedder = eng.extractor(), eng.embedder()
    builder = _builder(embedder, extractor, embed_text)
    spill = ExpressionSpill(out.parent / f".{out.name}.spill", {"input": str(src)})
    result, fit, read = build_streaming(builder, lambda r: iter_judgments(src, r, require_rationale=True), spill,
                                        max_forms=fit_max_forms, timed=timed)
    with timed("write"):
        result.save(out)
    spill.remove()
    eng.close()
    # Reading and staging the input are part of extraction here; the clustering stage includes
    # the second pass over the spill.
    times["cluster"] = times.pop("embed_and_cluster")
    times = {"read": 0.0, **times}
    st = result.taxonomy.stats
    return {"times": times, "rationales": read.n_read, "expressions": st["n_expressions"],
            "forms": st["n_distinct_expressions"], "fit": fit, "ray_jobs": _jobs(eng)}


def _jobs(eng) -> dict:
    """Per kind of Ray job: how many, seconds until their first batch (actor start-up), seconds in all."""
    out: dict[str, dict] = {}
    for job in eng.jobs:
        k = out.setdefault(job["actor"], {"jobs": 0, "first_batch_s": 0.0, "total_s": 0.0})
        k["jobs"] += 1
        k["first_batch_s"] = round(k["first_batch_s"] + (job["first_batch_s"] or 0.0), 2)
        k["total_s"] = round(k["total_s"] + (job["total_s"] or 0.0), 2)
    return out


def child(src: Path, engine: str, workers: int, fit_max_forms: int, out: Path, embed_rationales: bool = False,
          embed_text: str = "norm") -> None:
    """One engine end to end; prints one JSON line with timings, counts and peak memory."""
    anon = AnonPeak()
    if engine == "ray":
        row = stream_child(src, workers, fit_max_forms, out, embed_text)
        print(json.dumps({**row, "driver_peak_anon_mb": anon.stop_mb(), "driver_peak_rss_mb": round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
        return
    from moralgap.datasets import load_judgments
    from moralgap.scale import make_engine
    from moralgap.scale.bounded import fit_bounded
    from moralgap.taxonomy.build import embed_key
    from moralgap.taxonomy.space import embeds_context

    times: dict[str, float] = {}

    def lap(name: str, t: float) -> None:
        times[name] = round(time.perf_counter() - t, 2)

    t = time.perf_counter()
    judgments = load_judgments(src, require_rationale=True).records
    lap("read", t)
    t = time.perf_counter()
    if engine == "ray-records":
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
    builder = _builder(embedder, extractor, embed_text)
    keys = sorted({embed_key(builder.embed_text, e) for e in expressions if not getattr(e, "excluded", None)})
    # Under context / sentence a key's vector mixes in its rationale (sentence): the texts are kept.
    texts = {j.id: j.rationale for j in judgments} if embeds_context(embed_text) else None
    t = time.perf_counter()
    builder.space.key_vectors(keys, texts)
    lap("embed", t)
    t = time.perf_counter()
    result, fit = fit_bounded(builder, expressions, texts=texts, max_forms=fit_max_forms)
    lap("cluster", t)
    if embed_rationales:
        # Whole rationales, as annotate auto embeds them: longer texts, one per rationale.
        t = time.perf_counter()
        embedder.encode([j.rationale for j in judgments])
        lap("embed_rationales", t)
    result.add_coverage(len(judgments))
    t = time.perf_counter()
    result.save(out)
    lap("write", t)
    eng.close()
    print(json.dumps({"times": times, "rationales": len(judgments), "expressions": len(expressions),
                      "forms": len(keys), "fit": fit, **({"ray_jobs": _jobs(eng)} if engine != "local" else {}),
                      "driver_peak_anon_mb": anon.stop_mb(), "driver_peak_rss_mb": round(
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def run(n: int, workers: int, fit_max_forms: int, seed: int, embed_rationales: bool = False,
        engines: tuple[str, ...] = ("local", "ray"), window: int | None = None, embed_text: str = "norm") -> None:
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
        del texts
        for engine in engines:
            env = dict(os.environ, MORALGAP_CACHE_DIR=str(Path(tmp) / f"cache-{engine}"), MORALGAP_PROGRESS="0",
                       HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
            if engine == "local":
                env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
            if window:
                env["MORALGAP_RAY_WINDOW"] = str(window)
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child", engine, "--src", str(src), "--workers", str(workers),
                                   "--fit-max-forms", str(fit_max_forms), "--out", str(Path(tmp) / f"tax-{engine}"),
                                   *(["--embed-rationales"] if embed_rationales else []), "--embed-text", embed_text],
                                  env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(proc.stderr[-4000:])
            results[engine] = json.loads(proc.stdout.strip().splitlines()[-1])
            results[engine]["wall_s"] = round(time.perf_counter() - t, 1)
            print(engine, json.dumps(results[engine]), flush=True)
        same = {e: {f: (Path(tmp) / "tax-local" / f).read_bytes() == (Path(tmp) / f"tax-{e}" / f).read_bytes()
                    for f in ("taxonomy.json", "expressions.jsonl")} for e in engines if e != "local" and "local" in engines}

    base = results.get("local")
    units = {"extract": n, "embed": next(iter(results.values()))["forms"], "embed_rationales": n}
    rows = []
    others = [e for e in engines if e != "local"]
    for stage in ("read", "start", "extract", "embed", "cluster", "write", *(["embed_rationales"] if embed_rationales else [])):
        row = {"stage": stage, "ray_workers": workers}
        if base:
            row["local_1core_s"] = base["times"].get(stage)
        for e in others:
            row[f"{e}_s"] = results[e]["times"].get(stage)
        if stage in units:
            if base:
                row["local_per_core_rate"] = round(units[stage] / base["times"][stage], 1)
            for e in others:
                rt = results[e]["times"][stage]
                row[f"{e}_per_core_rate"] = round(units[stage] / (rt * workers), 1)
                if base:
                    row[f"{e}_overhead"] = round(rt * workers / base["times"][stage], 2)
        rows.append(row)
    fit = next(iter(results.values()))["fit"]
    if fit.get("sampled"):
        next(r for r in rows if r["stage"] == "cluster")["note"] = \
            f"fit on {fit['forms_fitted']} of {fit['forms_total']} forms; the rest assigned"
    cols = ["stage", *(["local_1core_s"] if base else []), *(f"{e}_s" for e in others), "ray_workers",
            *(["local_per_core_rate"] if base else []), *(f"{e}_per_core_rate" for e in others),
            *((f"{e}_overhead" for e in others) if base else ()), "note"]
    record_table(rows, cols, name="stages")
    memory = [{"engine": e, "rationales": n, "expressions": r["expressions"], "distinct_forms": r["forms"],
               "fit_max_forms": fit_max_forms, "wall_s": r["wall_s"], "driver_peak_rss_mb": r["driver_peak_rss_mb"],
               "driver_peak_anon_mb": r["driver_peak_anon_mb"],
               "taxonomy_identical_to_local": same.get(e, {}).get("taxonomy.json"),
               "expressions_identical_to_local": same.get(e, {}).get("expressions.jsonl")}
              for e, r in results.items()]
    record_table(memory, list(memory[0]), name="memory")
    jobs = [{"engine": e, "ray_job": kind, **v} for e, r in results.items() for kind, v in (r.get("ray_jobs") or {}).items()]
    if jobs:
        record_table(jobs, ["engine", "ray_job", "jobs", "first_batch_s", "total_s"], name="ray_jobs")
    for r in rows + memory:
        print("  ".join(f"{k}={v}" for k, v in r.items() if v is not None))


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


def vectors(n: int, workers: int, seed: int) -> None:
    """Embed ``n`` real texts once per engine, each from a cold cache, and compare every vector's bits.

    Half are sentences of real texts (20 to 220 characters, as rationales are built from), half
    their first one to six words (the length of expression forms), so batches hold both.
    """
    import numpy as np
    import torch

    from moralgap.scale.ray_engine import RayEngine
    from moralgap.taxonomy.embed import Embedder
    from taxonomy_speed import sentence_pool

    rng = np.random.default_rng(seed)
    pool = sentence_pool()
    picked = [pool[i] for i in rng.choice(len(pool), size=min(n // 2, len(pool)), replace=False)]
    texts = sorted(set(picked) | {" ".join(t.split()[: int(rng.integers(1, 7))]) for t in picked})[:n]
    got, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for engine in ("local", "ray"):
            t = time.perf_counter()
            if engine == "ray":
                eng = RayEngine(workers=workers, num_cpus=workers)
                emb = eng.embedder(cache_dir=Path(tmp) / engine)
            else:
                emb = Embedder(cache_dir=Path(tmp) / engine)
            got[engine] = emb.encode(texts)
            secs = time.perf_counter() - t
            if engine == "ray":
                eng.close()
            rows.append({"engine": engine, "texts": len(texts), "embedded": emb.stats["embedded"], "seconds": round(secs, 1),
                         "threads": workers if engine == "ray" else torch.get_num_threads(),
                         "mkl_cbwr": os.environ.get("MKL_CBWR", "")})
    same = np.all(got["local"] == got["ray"], axis=1)
    for r in rows:
        r["identical_to_local"] = int(same.sum())
    record_table(rows, ["engine", "texts", "embedded", "threads", "seconds", "mkl_cbwr", "identical_to_local"],
                 name="vectors")
    print(f"{int(same.sum())} of {len(texts)} vectors bit-identical; largest difference "
          f"{float(np.abs(got['local'] - got['ray']).max()):.3g}")


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
    ap.add_argument("--vectors", type=int, default=None, metavar="TEXTS",
                    help="Only embed this many real texts on each engine, each from a cold cache, and count the "
                         "bit-identical vectors (results: scale_ray_vectors.json).")
    ap.add_argument("--engines", default="local,ray",
                    help="Comma-separated, run in this order: local, ray (streaming), ray-records (records in the driver).")
    ap.add_argument("--window", type=int, default=None,
                    help="Rationales per spill shard in the streaming build (MORALGAP_RAY_WINDOW; default 10000). A "
                         "window below the corpus makes the driver's growth per rationale measurable at small sizes.")
    ap.add_argument("--embed-text", default="norm", choices=["norm", "context", "sentence"],
                    help="What each mention is embedded as, as taxonomy build's option (context, sentence: mixed "
                         "with its rationale, its sentence; results: scale_ray_context, scale_ray_sentence).")
    ap.add_argument("--name", default=None, help="Results file name (default scale_ray, or scale_ray_embed).")
    ap.add_argument("--child", choices=["local", "ray", "ray-records"], help=argparse.SUPPRESS)
    ap.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.child:
        child(opts.src, opts.child, opts.workers, opts.fit_max_forms, opts.out, opts.embed_rationales, opts.embed_text)
        return
    if opts.vectors:
        vectors(opts.vectors, opts.workers, opts.seed)
        save_results(opts.name or "scale_ray_vectors")
        return
    if opts.assign_rate:
        assign_rate(opts.assign_rate, opts.seed)
        save_results("scale_ray_assign")
        return
    run(opts.n, opts.workers, opts.fit_max_forms, opts.seed, opts.embed_rationales, tuple(opts.engines.split(",")),
        opts.window, opts.embed_text)
    default = "scale_ray_embed" if opts.embed_rationales else "scale_ray"
    save_results(opts.name or (default if opts.embed_text == "norm" else f"scale_ray_{opts.embed_text}"))


if __name__ == "__main__":
    main()
