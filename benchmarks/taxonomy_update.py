"""Issue 3 benchmark: updating a taxonomy vs rebuilding it, on the real AITA top comments.

    python benchmarks/taxonomy_update.py [--n-values 60] [--seed 13] [--also-seeds 14,15] [--json out.json]

1. Halves: build on a random half of the comments, update with the other half, and compare
   with one build on all comments: adjusted Rand index over the expressions both assign, and
   the share of expressions that land in matching values (values paired one-to-one by their
   overlap, Hungarian). For scale, the same figures for two full builds that differ only in
   the seed, and the agreement of other update threshold rules. Also: values of the half-A build that an independent half-B build also finds
   (centroid match) and whether the update kept their ids and names.
   ``--regroup`` rows: the same update clustering the unreviewed values again, once with no
   value reviewed and once with those values found by both halves accepted first (a reviewer
   keeping what both halves agree on); accepted values must come out unchanged.
   ``--also-seeds`` repeats the halves with other seeds (another split and other builds): one
   split moves these shares by several points, so a table of its own gives each seed's and
   their mean.
2. Time of a 10% addition: build on 90%, then time ``update`` with the other 10% (extraction,
   embedding with the cache the base build left, assignment, clustering of leftovers), against
   a full build on 100% from an empty embedding cache and from a warm one. Model loading is
   excluded from every timing.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from _common import print_table, read_jsonl_gz, save_results, shared_data


def assignment_agreement(a: dict[str, str | None], b: dict[str, str | None]) -> dict:
    """ARI and one-to-one matched share over expressions both labellings assign."""
    from scipy.optimize import linear_sum_assignment
    from sklearn.metrics import adjusted_rand_score

    keys = sorted(k for k in a if a[k] is not None and b.get(k) is not None)
    la, lb = [a[k] for k in keys], [b[k] for k in keys]
    ua, ub = sorted(set(la)), sorted(set(lb))
    ia, ib = {x: i for i, x in enumerate(ua)}, {x: i for i, x in enumerate(ub)}
    table = np.zeros((len(ua), len(ub)))
    for x, y in zip(la, lb):
        table[ia[x], ib[y]] += 1
    r, c = linear_sum_assignment(-table)
    return {"ari": float(adjusted_rand_score(la, lb)), "matched_share": float(table[r, c].sum() / len(keys)),
            "both_assigned": len(keys) / max(len(a), 1)}


def labels(folder) -> dict[str, str | None]:
    return {e.id: e.value_id for e in folder.expressions}


def seed_row(seed: int, run) -> dict:
    """The halves' matched shares with one seed (the rows of :func:`main`'s ``halves``)."""
    share = [r["matched_share"] for r in run.rows]
    return {"seed": seed, "update": share[0], "update_regroup_reviewed": share[2], "values_in_both_halves": len(run.in_both),
            "half_build": share[3], "two_full_builds": share[4]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-values", type=int, default=60)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--also-seeds", default="",
                    help="comma-separated further seeds: the halves comparison again with each (split and builds)")
    ap.add_argument("--json", default=None, help="Also write the figures to this file.")
    opts = ap.parse_args()

    from moralgap.records import Judgment
    from moralgap.seeding import rng
    from moralgap.taxonomy import edits
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.diff import diff_taxonomies
    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.update import TaxonomyUpdater

    posts = read_jsonl_gz(shared_data() / "aita_boraske" / "posts.jsonl.gz")
    judgments = [Judgment(id=p["post_key"], dilemma_id=p["post_key"], rationale=p["human_top_comment"])
                 for p in sorted(posts, key=lambda p: p["post_key"]) if (p.get("human_top_comment") or "").strip()]

    def split(seed: int) -> list:
        return [judgments[i] for i in rng(seed, "update-benchmark").permutation(len(judgments))]

    shuffled = split(opts.seed)
    half = len(shuffled) // 2
    ninety = int(round(0.9 * len(shuffled)))

    tmp = Path(tempfile.mkdtemp(prefix="moralgap-update-bench-"))
    extractor = ValueExtractor()
    shared_model = Embedder(cache_dir=tmp / "warm").model  # loaded once, outside every timing

    def embedder(cache: str) -> Embedder:
        return Embedder(cache_dir=tmp / cache, loaded_model=shared_model)  # one set of weights for every cache

    def build(js, emb, seed=opts.seed):
        return TaxonomyBuilder(opts.n_values, seed=seed, embedder=emb, extractor=extractor).fit(js).folder

    def timed(fn):
        t = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t

    warm = embedder("warm")

    # -- 1. halves ------------------------------------------------------------------------
    def halves(seed: int) -> SimpleNamespace:
        shuffled = split(seed)
        full = build(shuffled, warm, seed)
        full_other_seed = build(shuffled, warm, seed + 1)
        base_a = build(shuffled[:half], warm, seed)
        base_b = build(shuffled[half:], warm, seed)
        updated = TaxonomyUpdater(embedder=warm, extractor=extractor, seed=seed).update(base_a, shuffled[half:]).folder
        in_both = [(o, n) for o, n in diff_taxonomies(base_a, base_b).id_map.items()]
        kept = sum(1 for o, _ in in_both if o in updated.taxonomy.by_id()
                   and updated.taxonomy.by_id()[o].name == base_a.taxonomy.by_id()[o].name)
        a_ids = {e.id for e in base_a.expressions}
        half_vs_full = assignment_agreement(labels(base_a), {k: v for k, v in labels(full).items() if k in a_ids})
        regroup = TaxonomyUpdater(embedder=warm, extractor=extractor, seed=seed, regroup=True)
        regrouped = regroup.update(base_a, shuffled[half:]).folder
        reviewed = base_a
        for o, _ in in_both:
            reviewed = edits.accept(reviewed, o, author="benchmark")
        regrouped_reviewed = regroup.update(reviewed, shuffled[half:]).folder
        after = regrouped_reviewed.taxonomy.by_id()
        accepted_unchanged = all(
            (after[o].name, after[o].status) == (reviewed.taxonomy.by_id()[o].name, "accepted")
            and {e.id for e in reviewed.expressions if e.value_id == o} <= {e.id for e in regrouped_reviewed.expressions if e.value_id == o}
            for o, _ in in_both)
        live = regrouped.taxonomy.by_id()
        rows = [
            {"comparison": "update(half A + half B) vs full build", **assignment_agreement(labels(updated), labels(full))},
            {"comparison": "update --regroup, no value reviewed, vs full build", **assignment_agreement(labels(regrouped), labels(full))},
            {"comparison": f"update --regroup, the {len(in_both)} values both halves find accepted, vs full build",
             **assignment_agreement(labels(regrouped_reviewed), labels(full))},
            {"comparison": "half-A build vs full build, on half-A expressions", **half_vs_full},
            {"comparison": f"full build seed {seed + 1} vs seed {seed}", **assignment_agreement(labels(full_other_seed), labels(full))},
        ]
        return SimpleNamespace(rows=rows, shuffled=shuffled, full=full, base_a=base_a, updated=updated, in_both=in_both,
                               kept=kept, accepted_unchanged=accepted_unchanged,
                               regroup_kept=sum(1 for o, _ in in_both if o in live and live[o].status != "merged"))

    main_run = halves(opts.seed)
    rows, full, base_a, updated, in_both = main_run.rows, main_run.full, main_run.base_a, main_run.updated, main_run.in_both
    kept, accepted_unchanged, regroup_kept = main_run.kept, main_run.accepted_unchanged, main_run.regroup_kept
    st = updated.taxonomy.stats["last_update"]
    # Other update rules, same halves: how the default threshold rule was chosen.
    settings = []
    for label, kw in (("default: the build's outlier threshold, floor 0.5", {}),
                      ("--percentile 1 (per value)", {"percentile": 1.0}),
                      ("--threshold 0.6", {"threshold": 0.6}),
                      ("--threshold 0.4", {"threshold": 0.4})):
        res = TaxonomyUpdater(embedder=warm, extractor=extractor, seed=opts.seed, **kw).update(base_a, shuffled[half:])
        settings.append({"update setting": label, **assignment_agreement(labels(res.folder), labels(full)),
                         "new_values": res.stats["new_values"], "unassigned": res.stats["unassigned"]})
    print(f"Real AITA top comments: {len(judgments)}; half A {half}, half B {len(shuffled) - half}; "
          f"n_values {opts.n_values}, seed {opts.seed}")
    print_table(rows, ["comparison", "ari", "matched_share", "both_assigned"], name="agreement")
    print(f"\nvalues in half-A build: {len(base_a.taxonomy.values)}; also found by an independent half-B build "
          f"(centroid cosine >= 0.8): {len(in_both)}; ids and names kept by the update: {kept}/{len(in_both)}; "
          f"all {len(base_a.taxonomy.values)} half-A ids kept: "
          f"{all(v.id in updated.taxonomy.by_id() for v in base_a.taxonomy.values)}")
    print(f"update --regroup, no value reviewed: {regroup_kept}/{len(in_both)} of those ids still name a value; "
          f"with them accepted first, each accepted value unchanged (name, status, members kept): {accepted_unchanged}")
    print(f"update: {st['n_new_expressions']} new expressions, {st['assigned_to_existing']} joined existing values, "
          f"{st['assigned_to_new']} formed {st['new_values']} new values, {st['unassigned']} unassigned "
          f"(thresholds min {st.get('threshold_min')}, median {st.get('threshold_median')})")

    print()
    print_table(settings, ["update setting", "ari", "matched_share", "new_values", "unassigned"], name="settings")

    seeds = [opts.seed] + [int(x) for x in opts.also_seeds.split(",") if x.strip()]
    if len(seeds) > 1:
        per_seed = [seed_row(opts.seed, main_run)] + [seed_row(seed, halves(seed)) for seed in seeds[1:]]
        per_seed.append({"seed": "mean", **{k: float(np.mean([r[k] for r in per_seed])) for k in per_seed[0] if k != "seed"}})
        print()
        print_table(per_seed, list(per_seed[0]), name="seeds")

    # -- 2. a 10% addition -------------------------------------------------------------------
    base90 = build(shuffled[:ninety], embedder("ten"))
    ten = embedder("ten")  # the cache the base build filled, as on a user's machine
    _, t_update = timed(lambda: TaxonomyUpdater(embedder=ten, extractor=extractor, seed=opts.seed)
                        .update(base90, shuffled[ninety:]))
    _, t_regroup = timed(lambda: TaxonomyUpdater(embedder=ten, extractor=extractor, seed=opts.seed, regroup=True)
                         .update(base90, shuffled[ninety:]))
    _, t_full_cold = timed(lambda: build(shuffled, embedder("cold")))
    _, t_full_warm = timed(lambda: build(shuffled, embedder("cold")))
    times = [{"run": f"update: +{len(shuffled) - ninety} comments (10%)", "seconds": t_update, "share_of_cold_full": t_update / t_full_cold,
              "share_of_warm_full": t_update / t_full_warm},
             {"run": f"update --regroup: +{len(shuffled) - ninety} comments (10%)", "seconds": t_regroup,
              "share_of_cold_full": t_regroup / t_full_cold, "share_of_warm_full": t_regroup / t_full_warm},
             {"run": f"full build, {len(shuffled)} comments, empty cache", "seconds": t_full_cold},
             {"run": f"full build, {len(shuffled)} comments, warm cache", "seconds": t_full_warm}]
    print()
    print_table(times, ["run", "seconds", "share_of_cold_full", "share_of_warm_full"], name="timings")
    if opts.json:
        Path(opts.json).write_text(json.dumps({"agreement": rows, "update_settings": settings, "values_in_both_halves": len(in_both),
                                               "kept": kept, "update_stats": st, "timings": times,
                                               "regroup_ids_kept": regroup_kept, "accepted_unchanged": accepted_unchanged},
                                              indent=2))
    save_results()


if __name__ == "__main__":
    main()
