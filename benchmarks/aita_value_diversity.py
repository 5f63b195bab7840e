"""Issue 7, on real data: are gpt-4o's values narrower than the human top comments' on the same posts?

    python benchmarks/aita_value_diversity.py [--n-values 60] [--all-llm] [--keep-case] [--out DIR]

Data: ../shared/data/aita_boraske. The posts that have a plain (condition BASIC, no retrieval)
gpt-4o rationale (157); per post, the human top comment and one gpt-4o BASIC rationale (the
balanced-100 run's where a post was judged twice; ``--all-llm`` keeps both).

One taxonomy is built from BOTH sides' rationales together, so both are measured on the same
values; both sides are then annotated zero-shot with ``annotate auto``'s annotator
(``annotation.auto.ZeroShotAnnotator``). For each side the table gives the number of rationales,
distinct values used, top-10 share of value mentions, normalised entropy (Shannon entropy / log
of the number of active values) and the Jensen-Shannon divergence between the two sides
(``moralgap.diversity``), with 95% basic-bootstrap intervals over posts, and gpt-4o's figures
again after subsampling its mentions down to the human number (its rationales are about twice as
long and name more values per rationale). A second table counts values
from the taxonomy builder's own assignment of each extracted expression, as a cross-check that
does not depend on the annotator's thresholds.

The paper's way of counting (issue 14, item 5) comes after: every value expression coded to
exactly one value (``annotate expressions``: ``annotation.expression_coding.ExpressionCoder``),
against the rationale-level annotation above, each counted per mention and with every
rationale's mentions summing to 1. For each, ``moralgap.diversity_gap`` gives the human and
gpt-4o figures pooled over all mentions and per post then averaged, values per rationale, and
human minus gpt-4o with 95% basic-bootstrap intervals paired by post. With one rationale per
side and post, the per-post ("macro") figures describe single rationales, not crowds.

The source lower-cased the human comments; gpt-4o's are lower-cased here too (``--keep-case`` to
not), so that spaCy sees both sides the same way. Tables and the command are saved to
``benchmarks/results/aita_value_diversity.json``.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

import numpy as np

from _common import print_table, read_jsonl_gz, record_table, save_results, shared_data
from moralgap.diversity_gap import format_estimate

K_TOP = 10
SIDES = ("human", "gpt-4o")


def load_pairs(all_llm: bool, keep_case: bool):
    """Human top comments and gpt-4o BASIC rationales of the posts gpt-4o judged plainly."""
    from moralgap.records import Judgment
    from moralgap.verdicts import VerdictMap

    verdict = VerdictMap().normalise
    d = shared_data() / "aita_boraske"
    posts = {p["post_key"]: p for p in read_jsonl_gz(d / "posts.jsonl.gz")}
    llm = [r for r in read_jsonl_gz(d / "llm_judgments.jsonl.gz")
           if r["model"].startswith("gpt-4o") and r["condition"] == "BASIC" and (r.get("rationale") or "").strip()]
    by_post: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(llm, key=lambda r: (r["post_key"], r["sample"], r["run"])):
        by_post[r["post_key"]].append(r)
    humans, models = [], []
    for key in sorted(by_post):
        post = posts[key]
        humans.append(Judgment(id=f"h-{key}", dilemma_id=key, judge="human", verdict=verdict(post["human_verdict"]),
                               rationale=post["human_top_comment"]))
        for i, r in enumerate(by_post[key] if all_llm else by_post[key][:1]):
            text = r["rationale"] if keep_case else r["rationale"].lower()
            models.append(Judgment(id=f"m-{key}-{i}", dilemma_id=key, judge=r["model"], verdict=verdict(r["verdict"]),
                                   rationale=text))
    return humans, models


def post_value_sets(ids_values: dict[str, set[str]], judgments) -> dict[str, list[set[str]]]:
    """Per post, the value sets of its rationales on one side (for resampling posts)."""
    out: dict[str, list[set[str]]] = defaultdict(list)
    for j in judgments:
        out[j.dilemma_id].append(ids_values.get(j.id, set()))
    return out


def side_stats(value_ids: list[str], per_post: dict[str, list[set[str]]], posts: list[str]) -> dict:
    from moralgap.diversity import diversity_summary

    index = {v: i for i, v in enumerate(value_ids)}
    counts = np.zeros(len(value_ids))
    n = 0
    for p in posts:
        for vals in per_post[p]:
            n += 1
            for v in vals:
                counts[index[v]] += 1
    return {"rationales": n, "counts": counts, **diversity_summary(counts, n_values=len(value_ids), k=K_TOP)}


def compare(value_ids: list[str], sides: dict[str, dict[str, list[set[str]]]], n_boot: int, seed: int) -> list[dict]:
    """One row per side, plus the JS divergence, with percentile-bootstrap CIs over posts (paired)."""
    from moralgap.seeding import rng
    from moralgap.diversity import js_divergence

    posts = sorted(set.intersection(*(set(s) for s in sides.values())))
    point = {name: side_stats(value_ids, s, posts) for name, s in sides.items()}
    jsd = js_divergence(*(point[n]["counts"] for n in SIDES))
    gen = rng(seed, "aita_value_diversity", "bootstrap")
    boots: dict[str, list[float]] = defaultdict(list)
    keys = ("normalised_entropy", f"top_{K_TOP}_share", "distinct_values")
    for _ in range(n_boot):
        sample = [posts[i] for i in gen.integers(0, len(posts), len(posts))]
        st = {name: side_stats(value_ids, s, sample) for name, s in sides.items()}
        for name in SIDES:
            for k in keys:
                boots[f"{name}:{k}"].append(st[name][k])
        boots["jsd"].append(js_divergence(*(st[n]["counts"] for n in SIDES)))
        for k in keys:
            boots[f"diff:{k}"].append(st[SIDES[1]][k] - st[SIDES[0]][k])

    estimate = {f"{n}:{k}": point[n][k] for n in SIDES for k in keys}
    estimate["jsd"] = jsd
    estimate.update({f"diff:{k}": point[SIDES[1]][k] - point[SIDES[0]][k] for k in keys})

    def ci(key: str) -> str:
        # Basic (reverse-percentile) interval: resampling posts repeats rationales, which biases
        # plug-in entropy down and top-k share up, and this interval corrects for that shift.
        lo, hi = np.percentile(boots[key], [2.5, 97.5])
        return f"[{2 * estimate[key] - hi:.3f}, {2 * estimate[key] - lo:.3f}]"

    rows = []
    for name in SIDES:
        s = point[name]
        rows.append({"side": name, "rationales": s["rationales"], "mentions": s["mentions"],
                     "per_rationale": s["mentions"] / s["rationales"], "distinct": s["distinct_values"],
                     "top10_share": s[f"top_{K_TOP}_share"], "top10_CI": ci(f"{name}:top_{K_TOP}_share"),
                     "entropy": s["normalised_entropy"], "entropy_CI": ci(f"{name}:normalised_entropy"),
                     "JSD": jsd if name == SIDES[1] else None, "JSD_CI": ci("jsd") if name == SIDES[1] else None})
    d_top = point[SIDES[1]][f"top_{K_TOP}_share"] - point[SIDES[0]][f"top_{K_TOP}_share"]
    d_ent = point[SIDES[1]]["normalised_entropy"] - point[SIDES[0]]["normalised_entropy"]
    rows.append(rarefied(point, gen))
    rows.append({"side": "gpt-4o - human", "top10_share": d_top, "top10_CI": ci(f"diff:top_{K_TOP}_share"),
                 "entropy": d_ent, "entropy_CI": ci("diff:normalised_entropy"),
                 "distinct": point[SIDES[1]]["distinct_values"] - point[SIDES[0]]["distinct_values"]})
    return rows


def rarefied(point: dict, gen, draws: int = 200) -> dict:
    """gpt-4o's figures at the human number of mentions (subsampled without replacement): gpt-4o's
    longer rationales name more values, and top-k share and plug-in entropy depend on sample size."""
    from moralgap.diversity import diversity_summary

    n = point[SIDES[0]]["mentions"]
    counts = point[SIDES[1]]["counts"].astype(np.int64)
    runs = [diversity_summary(gen.multivariate_hypergeometric(counts, n), n_values=len(counts), k=K_TOP)
            for _ in range(draws)]
    mean = {k: float(np.mean([r[k] for r in runs])) for k in ("distinct_values", "normalised_entropy", f"top_{K_TOP}_share")}
    return {"side": f"gpt-4o @ {n} mentions", "mentions": n, "distinct": round(mean["distinct_values"], 1),
            "top10_share": mean[f"top_{K_TOP}_share"], "entropy": mean["normalised_entropy"]}


def top_values(taxonomy, value_ids, sides, n=8) -> None:
    from moralgap.diversity import value_counts

    for name, per_post in sides.items():
        counts = value_counts([{"value_ids": sorted(v)} for sets in per_post.values() for v in sets], value_ids)
        total = sum(counts.values()) or 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
        print(f"  {name:7} " + ", ".join(f"{taxonomy.get(v).name} {c / total:.0%}" for v, c in top))


PAPER = "paper (Russo et al., 32 judgments per dilemma, 60 values): top-10 share 0.352 human vs 0.816 LLM; entropy 0.57 vs 0.46"


def main_rows(source: str, rows: list[dict]) -> list[dict]:
    """The compare() rows in the layout docs/measurements.md shows (the table named main)."""
    out = []
    for r in rows:
        if r["side"] == "gpt-4o - human":
            continue
        side = {"human": "human top comments", "gpt-4o": "gpt-4o BASIC"}.get(r["side"], r["side"].replace(" @ ", ", subsampled to "))
        ci = lambda v, c: f"{v:.3f} {c}" if c else (f"{v:.3f}" if isinstance(v, float) else "")
        out.append({"values from": source, "side": side, "rationales": r.get("rationales"), "mentions": r.get("mentions"),
                    "distinct": r.get("distinct"), "top-10 share [95% CI]": ci(r.get("top10_share"), r.get("top10_CI")),
                    "normalised entropy [95% CI]": ci(r.get("entropy"), r.get("entropy_CI")),
                    "JSD vs human [95% CI]": ci(r["JSD"], r.get("JSD_CI")) if r.get("JSD") is not None else ""})
    return out


def paired_rows(source: str, gap: dict) -> list[dict]:
    """One row per statistic: both sides and human minus gpt-4o, each with its paired interval."""
    a, b = gap["labels"]
    top = f"top_{gap['k']}_share"
    rows = []
    for part in ("pooled", "macro"):
        for stat, name in ((top, "top-10 share"), ("normalised_entropy", "normalised entropy")):
            rows.append({"values from": source, "counting": gap["counting"], "statistic": f"{name} ({part})",
                         "human [95% CI]": format_estimate(gap["sides"][a][part][stat]), "gpt-4o [95% CI]": format_estimate(gap["sides"][b][part][stat]),
                         "human - gpt-4o [95% CI]": format_estimate(gap["difference"][part][stat])})
    for stat, name in (("values_per_rationale", "values per rationale"), ("mentions_per_rationale", "mentions per rationale")):
        rows.append({"values from": source, "counting": gap["counting"], "statistic": f"{name}, mean (median)",
                     "human [95% CI]": f"{format_estimate(gap['sides'][a][stat]['mean'])} ({gap['sides'][a][stat]['median']:g})",
                     "gpt-4o [95% CI]": f"{format_estimate(gap['sides'][b][stat]['mean'])} ({gap['sides'][b][stat]['median']:g})",
                     "human - gpt-4o [95% CI]": format_estimate(gap["difference"][stat])})
    return rows


def paper_way(folder, value_ids, humans, models, rationale_level, n_boot: int, seed: int, times: dict,
              out: str | None = None) -> tuple[list, list]:
    """Rationale-level annotation against expression-level coding, each counted two ways, paired by post."""
    from moralgap.annotation.expression_coding import ExpressionCoder
    from moralgap.diversity_gap import diversity_gap
    from moralgap.value_mentions import MentionMatrix

    t = time.perf_counter()
    coding = ExpressionCoder(folder).code(humans + models)
    times["expression coding (both sides)"] = time.perf_counter() - t
    if out:
        from moralgap.io import write_jsonl

        # With these and the values files above, `moralgap profiles diversity` gives the same figures.
        write_jsonl(f"{out}/judgments.jsonl", humans + models)
        write_jsonl(f"{out}/values_expressions.jsonl", coding.annotations)
    dilemma_of = {j.id: j.dilemma_id for j in humans + models}
    human_ids = {j.id for j in humans}

    def sides(anns):
        return [MentionMatrix.from_annotations([a for a in anns if (a.rationale_id in human_ids) == is_human], dilemma_of, value_ids)
                for is_human in (True, False)]

    variants = [("annotate auto (rationale-level)", rationale_level, "presence"),
                ("annotate auto (rationale-level)", rationale_level, "rationale"),
                ("annotate expressions (one value per expression)", coding.annotations, "mentions"),
                ("annotate expressions (one value per expression)", coding.annotations, "rationale")]
    rows, gaps = [], []
    for source, anns, counting in variants:
        # One key per source: both countings of a source resample the same posts.
        gap = diversity_gap(*sides(anns), labels=SIDES, counting=counting, k=K_TOP, n_values=len(value_ids),
                            n_resamples=n_boot, seed=seed, key=source)
        gaps.append(gap)
        rows += paired_rows(source, gap)
    s = coding.stats
    print(f"expression coding: {s['mentions']} value mentions from {s['rationales']} rationales "
          f"({s['rationales_with_values']} with a value); {s['rationales_from_taxonomy']} rationales coded as the build "
          f"assigned their expressions")
    return rows, gaps


def seed_spread(seeds: list[int], humans, models, n_values: int, n_boot: int, taxonomy_from: str, times: dict) -> list[dict]:
    """The expression-level comparison on taxonomies built with other seeds.

    The bootstrap interval holds the taxonomy fixed: it says how much the figures move with other
    posts, not with another induction of the values. This shows the second source of variation.
    """
    from moralgap.annotation.expression_coding import ExpressionCoder
    from moralgap.diversity_gap import diversity_gap
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.value_mentions import MentionMatrix

    rows = []
    dilemma_of = {j.id: j.dilemma_id for j in humans + models}
    human_ids = {j.id for j in humans}
    t = time.perf_counter()
    for seed in seeds:
        folder = TaxonomyBuilder(n_values, seed=seed).fit(humans + models if taxonomy_from == "both" else humans).folder
        ids = [v.id for v in folder.taxonomy.active_values()]
        anns = ExpressionCoder(folder).code(humans + models).annotations
        sides = [MentionMatrix.from_annotations([a for a in anns if (a.rationale_id in human_ids) == h], dilemma_of, ids)
                 for h in (True, False)]
        g = diversity_gap(*sides, labels=SIDES, counting="mentions", k=K_TOP, n_resamples=n_boot, seed=seed, key="seeds")
        sh, sm, d = g["sides"][SIDES[0]], g["sides"][SIDES[1]], g["difference"]
        rows.append({"taxonomy seed": seed, "values": len(ids), "human top-10": sh["pooled"][f"top_{K_TOP}_share"]["value"],
                     "gpt-4o top-10": sm["pooled"][f"top_{K_TOP}_share"]["value"],
                     "human - gpt-4o top-10 [95% CI]": format_estimate(d["pooled"][f"top_{K_TOP}_share"]),
                     "human entropy": sh["pooled"]["normalised_entropy"]["value"],
                     "gpt-4o entropy": sm["pooled"]["normalised_entropy"]["value"],
                     "human - gpt-4o entropy [95% CI]": format_estimate(d["pooled"]["normalised_entropy"]),
                     "values per rationale (human / gpt-4o)": f"{sh['values_per_rationale']['mean']['value']:.2f} / "
                                                              f"{sm['values_per_rationale']['mean']['value']:.2f}"})
    times["other taxonomy seeds"] = time.perf_counter() - t
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-values", type=int, default=60)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--all-llm", action="store_true", help="Keep both gpt-4o BASIC rationales where a post has two.")
    ap.add_argument("--keep-case", action="store_true", help="Do not lower-case the gpt-4o rationales.")
    ap.add_argument("--out", default=None, help="Also save the joint taxonomy, the judgments and the values files here.")
    ap.add_argument("--seeds", default="",
                    help="Comma-separated taxonomy seeds: redo the expression-level comparison on a taxonomy built "
                         "with each (how much the figures depend on the induction, which the bootstrap holds fixed).")
    ap.add_argument("--taxonomy-from", choices=("both", "human"), default="both",
                    help="Build the taxonomy from both sides (default) or from the human comments only; gpt-4o's "
                         "expressions are then coded by nearest value, as new rationales are. Saved separately.")
    opts = ap.parse_args()

    from moralgap.annotation.auto import ZeroShotAnnotator
    from moralgap.io import write_jsonl
    from moralgap.taxonomy.build import TaxonomyBuilder

    times: dict[str, float] = {}
    humans, models = load_pairs(opts.all_llm, opts.keep_case)
    t = time.perf_counter()
    induce_on = humans + models if opts.taxonomy_from == "both" else humans
    result = TaxonomyBuilder(opts.n_values, seed=opts.seed).fit(induce_on)
    times[f"taxonomy build ({opts.taxonomy_from})"] = time.perf_counter() - t
    folder = result.folder
    value_ids = [v.id for v in folder.taxonomy.active_values()]

    t = time.perf_counter()
    annotator = ZeroShotAnnotator(folder, seed=opts.seed).fit()
    human_ann, model_ann = annotator.annotate(humans), annotator.annotate(models)
    times["annotate auto (both sides)"] = time.perf_counter() - t
    if opts.out:
        result.save(f"{opts.out}/taxonomy")
        write_jsonl(f"{opts.out}/values_human.jsonl", human_ann)
        write_jsonl(f"{opts.out}/values_gpt4o.jsonl", model_ann)

    annotated = {a.rationale_id: set(a.value_ids) for a in human_ann + model_ann}
    assigned: dict[str, set[str]] = defaultdict(set)
    active = set(value_ids)
    for e in folder.expressions:
        if e.value_id in active:
            assigned[e.rationale_id].add(e.value_id)

    cols = ["side", "rationales", "mentions", "per_rationale", "distinct", "top10_share", "top10_CI",
            "entropy", "entropy_CI", "JSD", "JSD_CI"]
    print(f"aita_boraske: {len(humans)} posts with a plain gpt-4o rationale; {len(humans)} human top comments, "
          f"{len(models)} gpt-4o BASIC rationales ({'all' if opts.all_llm else 'one per post'}"
          f"{', original case' if opts.keep_case else ', lower-cased like the human side'})")
    built_from = "both sides together" if opts.taxonomy_from == "both" else "the human comments only"
    print(f"one taxonomy built from {built_from}: {len(value_ids)} values from {len(folder.expressions)} "
          f"expressions; entropy normalised by log({len(value_ids)}); 95% CIs: basic bootstrap, "
          f"{opts.bootstrap} resamples of posts\n")
    main_table = []
    sources = [("values from annotate auto (zero-shot annotator)", "annotator", "`annotate auto`", annotated),
               ("values from the taxonomy builder's expression assignment (cross-check)", "builder", "builder's assignment", assigned)]
    # A build on the human side alone holds no gpt-4o expressions: its assignment says nothing about gpt-4o.
    for title, name, source, ids_values in sources[:1 if opts.taxonomy_from == "human" else 2]:
        sides = {SIDES[0]: post_value_sets(ids_values, humans), SIDES[1]: post_value_sets(ids_values, models)}
        print(title)
        rows = compare(value_ids, sides, opts.bootstrap, opts.seed)
        print_table(rows, cols, name=name)
        main_table += main_rows(source, rows)
        print("most frequent values:")
        top_values(folder.taxonomy, value_ids, sides)
        print()
    record_table(main_table, list(main_table[0]), "main")

    print("the paper's way: one value per expression against rationale-level annotation, paired by post "
          f"(95% basic bootstrap, {opts.bootstrap} resamples; difference = human - gpt-4o)")
    rows, _ = paper_way(folder, value_ids, humans, models, human_ann + model_ann, opts.bootstrap, opts.seed, times,
                        opts.out)
    print_table(rows, list(rows[0]), name="paired")
    print()
    seeds = [int(x) for x in opts.seeds.split(",") if x.strip()]
    if seeds:
        print("one value per expression, counted per mention, pooled, on taxonomies built with other seeds "
              "(each interval holds its taxonomy fixed)")
        spread = seed_spread(seeds, humans, models, opts.n_values, opts.bootstrap, opts.taxonomy_from, times)
        print_table(spread, list(spread[0]), name="seeds")
        print()
    print(PAPER)
    print("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    save_results(None if opts.taxonomy_from == "both" else "aita_value_diversity_human_taxonomy")


if __name__ == "__main__":
    main()
