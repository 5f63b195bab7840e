"""Issue 2 benchmark: induced values vs the 20 gold value categories of Touché23-ValueEval.

    python benchmarks/taxonomy_touche23.py [--skip-bertopic] [--limit N] [--also-seeds 14,15,16,17]

Builds a 20-value taxonomy from the 5,393 training premises with moralgap; each text gets the
value most of its expressions fall in. Metrics:
- multi-label purity: each induced value maps to the gold category most present among its
  texts; a text is a hit when that category is among its gold labels (texts with a value);
- NMI against each text's first gold category in column order (texts with a value);
- share of texts with no value; wall time (models loaded before timing starts);
- ``topic_values``: how many of the build's values it sends to review as one conclusion's topic
  (each premise's dilemma is its conclusion; see taxonomy/topics.py).
Reference rows: BERTopic (default settings, UMAP random_state fixed, nr_topics=20, the same
MiniLM embeddings of whole premises) and k-means (k=20) on those embeddings, scored on all
premises and on only those moralgap gives a value (the premises moralgap's scores count), and
k-means on the conclusions' embeddings, each premise in its conclusion's group: the topic
alone, with no gold label and nothing of the premise's own reasons.
A second moralgap row builds with ``--embed-text context``: each expression's vector also
carries its premise's, so values lean towards what the premises argue about (their topics).
``--corpus argvalues22`` runs the same comparison on Webis-ArgValues-22 (5,270 premises from the
USA, China, India and Africa, with the same 20 level-2 categories; about two thirds of its
premises are also in the Touché23 training split), the corpus a new user reaches for next.
``--embed-text sentence --context-weight 1`` (or ``context``) builds every row with that setting
in place of the default and saves its results under a name of its own
(``taxonomy_touche23_sentence_w1.json``).
``--also-seeds`` repeats the default build and k-means with further seeds (a table of its
own, with their mean): at 20 values either moves by a point or two with the seed.
``--keep-build DIR`` writes the first moralgap build (seed 13) to DIR, so that its values can be
read one by one with ``moralgap taxonomy show DIR`` (the premises' text stays in ../shared/data).
``--seed-values FILE`` adds a row for a build guided by given values (for instance
benchmarks/data/touche23_categories.yaml: the 20 category names with the team's definitions).

Ceiling rows use the gold labels, so they are not methods: they show how far a clustering that
follows the arguments' topics can go. Each premise belongs to one conclusion (its topic);
"conclusions as clusters" keeps all 332, "conclusions by top category" puts each conclusion in
the group of its most frequent gold category (at most 20 groups) and "conclusions, 20 groups
by label profile" runs k-means (k=20) on the conclusions' gold label frequencies.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from _common import embed_text_suffix, print_table, save_results, shared_data
from moralgap.io import write_folder_atomically

SEED = 13


CORPORA = {
    # name: (folder, arguments file, 20-category labels file); Touché23 files name their split
    "touche23": ("touche23", "arguments-{split}.tsv.gz", "labels-{split}.tsv.gz"),
    "argvalues22": ("webis_argvalues22", "arguments.tsv.gz", "labels-level2.tsv.gz"),
}


def load(split: str = "training", corpus: str = "touche23"):
    folder, arguments, label_file = CORPORA[corpus]
    base = shared_data() / "valueeval" / folder
    args = pd.read_csv(base / arguments.format(split=split), sep="\t")
    labels = pd.read_csv(base / label_file.format(split=split), sep="\t")
    df = args.merge(labels, on="Argument ID")
    cats = [c for c in labels.columns if c != "Argument ID"]
    return df, cats


def evaluate(assigned: list, gold: np.ndarray, cats: list[str]) -> dict:
    """``assigned[i]`` is a cluster label or None; ``gold`` is the 0/1 label matrix."""
    from sklearn.metrics import normalized_mutual_info_score

    idx = [i for i, a in enumerate(assigned) if a is not None]
    clusters = sorted({assigned[i] for i in idx})
    majority = {}
    for c in clusters:
        members = [i for i in idx if assigned[i] == c]
        majority[c] = int(np.argmax(gold[members].sum(axis=0)))
    hits = sum(gold[i, majority[assigned[i]]] for i in idx)
    first = [int(np.argmax(gold[i])) for i in idx]
    return {
        "purity": hits / len(idx) if idx else 0.0,
        "nmi": normalized_mutual_info_score(first, [assigned[i] for i in idx]) if idx else 0.0,
        "no_value": 1 - len(idx) / len(assigned),
        "values": len(clusters),
    }


def ceiling_rows(df: pd.DataFrame, gold: np.ndarray, cats: list[str]) -> list[dict]:
    from sklearn.cluster import KMeans

    topic = df["Conclusion"].astype("category").cat.codes.to_numpy()
    n = int(topic.max() + 1)
    profile = np.stack([gold[topic == t].mean(axis=0) for t in range(n)])
    top = profile.argmax(axis=1)
    groups = KMeans(20, n_init=10, random_state=SEED).fit_predict(profile, sample_weight=np.bincount(topic))
    return [
        {"method": f"ceiling: {n} conclusions as clusters (gold)", **evaluate(list(topic), gold, cats)},
        {"method": "ceiling: conclusions by top category (gold)", **evaluate(list(top[topic]), gold, cats)},
        {"method": "ceiling: conclusions, 20 groups by label profile (gold)", **evaluate(list(groups[topic]), gold, cats)},
    ]


def run_moralgap(texts: list[str], ids: list[str], conclusions: list[str], embedder, extractor, seed: int = SEED,
                 keep: Path | None = None, **kw):
    from moralgap.records import Judgment
    from moralgap.taxonomy.build import TaxonomyBuilder

    # A premise's dilemma is the conclusion it argues, as a user would give it.
    judgments = [Judgment(id=i, dilemma_id=c, verdict="acceptable", rationale=t) for i, t, c in zip(ids, texts, conclusions)]
    t = time.perf_counter()
    result = TaxonomyBuilder(20, seed=seed, embedder=embedder, extractor=extractor, **kw).fit(judgments)
    elapsed = time.perf_counter() - t
    if keep is not None:
        write_folder_atomically(keep, result.save)
        print(f"kept the build in {keep}: read it with `moralgap taxonomy show {keep}`")
    votes: dict[str, Counter] = {}
    weight: dict[str, Counter] = {}
    for e in result.expressions:
        if e.value_id:
            votes.setdefault(e.rationale_id, Counter())[e.value_id] += 1
            weight.setdefault(e.rationale_id, Counter())[e.value_id] += e.similarity or 0.0
    assigned = []
    for i in ids:
        if i not in votes:
            assigned.append(None)
            continue
        best = max(votes[i].items(), key=lambda kv: (kv[1], weight[i][kv[0]], kv[0]))
        assigned.append(best[0])
    topics = sum("topic" in (v.review_reason or "") for v in result.taxonomy.values)
    return assigned, elapsed, {**result.stats, "topic_values": topics}


def topic_kmeans(conclusions: list[str], conclusion_vecs: dict[str, np.ndarray], seed: int) -> list[int]:
    """k-means (k=20) on the conclusions' own embeddings, weighted by their premises; each premise
    takes its conclusion's group. The topic alone, without the gold labels the ceiling rows use:
    what a clustering of topics, knowing nothing of the premises' reasons, reaches."""
    from sklearn.cluster import KMeans

    names = sorted(conclusion_vecs)
    count = Counter(conclusions)
    groups = KMeans(20, n_init=10, random_state=seed).fit_predict(np.stack([conclusion_vecs[c] for c in names]),
                                                                  sample_weight=[count[c] for c in names])
    group = dict(zip(names, groups.tolist()))
    return [group[c] for c in conclusions]


def on_premises_of(km, assigned: list) -> list:
    """The k-means clusters of only the premises a build gives a value: the premises its scores count."""
    return [k if a is not None else None for k, a in zip(km, assigned)]


def seed_row(seed: int, assigned: list, km, topic: list, gold: np.ndarray, cats: list[str]) -> dict:
    """The default build, k-means and the topic-only k-means with one seed: they move with it, by
    about as much as they differ, so one seed alone does not say which is ahead."""
    mg = evaluate(assigned, gold, cats)
    every = evaluate(list(km), gold, cats)
    same = evaluate(on_premises_of(km, assigned), gold, cats)
    by_topic = evaluate(topic, gold, cats)
    return {"seed": seed, "moralgap_purity": mg["purity"], "moralgap_nmi": mg["nmi"], "no_value": mg["no_value"],
            "kmeans_purity": every["purity"], "kmeans_nmi": every["nmi"],
            "kmeans_same_premises_purity": same["purity"], "kmeans_same_premises_nmi": same["nmi"],
            "topic_kmeans_purity": by_topic["purity"], "topic_kmeans_nmi": by_topic["nmi"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default="touche23", choices=sorted(CORPORA),
                    help="touche23: the Touché23 training premises; argvalues22: Webis-ArgValues-22")
    ap.add_argument("--skip-bertopic", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="use only the first N premises (quick runs)")
    ap.add_argument("--embed-text", default="norm", choices=["norm", "norm+value", "context", "sentence"],
                    help="the build's --embed-text; anything but norm saves its results under a name of its own")
    ap.add_argument("--context-weight", type=float, default=3.0)
    ap.add_argument("--pca-components", type=int, default=None, help="default: the builder's")
    ap.add_argument("--seed-values", default=None, help="seed values for an extra, guided row "
                    "(e.g. benchmarks/data/touche23_categories.yaml)")
    ap.add_argument("--seed-threshold", type=float, default=None, help="default: the builder's")
    ap.add_argument("--span-filter", type=Path, default=None, metavar="FILE",
                    help="the moralgap builds judge spans with this filter instead of the shipped one (a control: "
                         "what a retrained filter alone moves); saved as taxonomy_CORPUS_filter_<FILE's stem without 'span_filter_'>")
    ap.add_argument("--keep-build", type=Path, default=None, metavar="DIR",
                    help="also write the first build (seed 13, the settings given) to DIR, to read value by "
                         "value with `moralgap taxonomy show DIR`")
    ap.add_argument("--also-seeds", default="",
                    help="comma-separated further seeds: the default build and k-means again with each, "
                         "one row per seed and their mean (a table of its own)")
    opts = ap.parse_args()

    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.space import embeds_context

    df, cats = load(corpus=opts.corpus)
    if opts.limit:
        df = df.head(opts.limit)
    texts = df["Premise"].astype(str).tolist()
    ids = df["Argument ID"].astype(str).tolist()
    gold = df[cats].to_numpy()
    embedder = Embedder(use_cache=False)  # timings must include embedding
    extractor = ValueExtractor(open_words=True)  # as `taxonomy build` extracts by default
    embedder.encode(["warm up"])
    rows = []
    settings = dict(embed_text=opts.embed_text, context_weight=opts.context_weight,
                    **({"pca_components": opts.pca_components} if opts.pca_components else {}),
                    **({"span_filter": str(opts.span_filter)} if opts.span_filter else {}))
    conclusions = df["Conclusion"].astype(str).tolist()
    assigned, t_mg, st = run_moralgap(texts, ids, conclusions, embedder, extractor, keep=opts.keep_build, **settings)
    label = "" if opts.embed_text == "norm" else f", --embed-text {opts.embed_text}" + (
        f" (weight {opts.context_weight:g})" if embeds_context(opts.embed_text) else "")
    filter_label = f", --span-filter {opts.span_filter.name}" if opts.span_filter else ""
    label += filter_label
    rows.append({"method": f"moralgap (expressions, HDBSCAN, 20 values{label})", **evaluate(assigned, gold, cats), "seconds": t_mg,
                 "topic_values": st["topic_values"]})
    assigned_c = None
    if opts.embed_text == "norm":
        # The build's option for corpora where the same words argue different things: each
        # expression's vector also carries its premise's, which carries the premise's topic.
        ctx = dict(settings, embed_text="context")
        assigned_c, t_c, st_c = run_moralgap(texts, ids, conclusions, embedder, extractor, **ctx)
        rows.append({"method": f"moralgap, --embed-text context (weight {opts.context_weight:g}){filter_label}",
                     **evaluate(assigned_c, gold, cats), "seconds": t_c, "topic_values": st_c["topic_values"]})
    if opts.seed_values:
        from moralgap.taxonomy.seed_values import load_seed_values

        seeds = load_seed_values(opts.seed_values)
        guided = dict(settings, seed_values=seeds,
                      **({"seed_match_threshold": opts.seed_threshold} if opts.seed_threshold is not None else {}))
        assigned_g, t_g, stats = run_moralgap(texts, ids, conclusions, embedder, extractor, **guided)
        rows.append({"method": f"moralgap guided by {stats['seed_values_matched']}/{len(seeds)} seed values",
                     **evaluate(assigned_g, gold, cats), "seconds": t_g})

    t = time.perf_counter()
    doc_vecs = embedder.encode(texts, desc="embedding premises")
    t_embed = time.perf_counter() - t
    from sklearn.cluster import KMeans

    t = time.perf_counter()
    km = KMeans(20, n_init=10, random_state=SEED).fit_predict(doc_vecs)
    rows.append({"method": "k-means on premise embeddings (k=20)", **evaluate(list(km), gold, cats),
                 "seconds": t_embed + time.perf_counter() - t})
    # moralgap is scored on the premises it gives a value, k-means on all of them; the same
    # k-means clusters scored on moralgap's premises compare like with like.
    rows.append({"method": "k-means, scored on the premises moralgap gives a value",
                 **evaluate(on_premises_of(km, assigned), gold, cats)})
    if assigned_c is not None:
        rows.append({"method": "k-means, scored on the premises the context build gives a value",
                     **evaluate(on_premises_of(km, assigned_c), gold, cats)})
    names = sorted(set(conclusions))
    conclusion_vecs = dict(zip(names, embedder.encode(names, desc="embedding conclusions")))
    topic = topic_kmeans(conclusions, conclusion_vecs, SEED)
    rows.append({"method": "k-means on conclusion embeddings (k=20; the topic alone)", **evaluate(topic, gold, cats)})
    if not opts.skip_bertopic:
        from bertopic import BERTopic
        from umap import UMAP

        t = time.perf_counter()
        umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=SEED)
        topics, _ = BERTopic(umap_model=umap_model, nr_topics=20).fit_transform(texts, embeddings=doc_vecs)
        t_bt = t_embed + time.perf_counter() - t
        rows.append({"method": "BERTopic (defaults, nr_topics=20)", **evaluate([None if x < 0 else x for x in topics], gold, cats),
                     "seconds": t_bt})
        rows[0]["speed_vs_bertopic"] = t_bt / t_mg
    rows.extend(ceiling_rows(df, gold, cats))
    print(f"{opts.corpus} premises: {len(texts)} texts, {len(cats)} gold categories")
    print_table(rows, ["method", "purity", "nmi", "no_value", "values", "topic_values", "seconds", "speed_vs_bertopic"],
                name="main")
    also = [int(x) for x in opts.also_seeds.split(",") if x.strip()]
    if also:
        by_seed = [seed_row(SEED, assigned, km, topic, gold, cats)]
        for seed in also:
            assigned_s, _, _ = run_moralgap(texts, ids, conclusions, embedder, extractor, seed=seed, **settings)
            km_s = KMeans(20, n_init=10, random_state=seed).fit_predict(doc_vecs)
            by_seed.append(seed_row(seed, assigned_s, km_s, topic_kmeans(conclusions, conclusion_vecs, seed), gold, cats))
        cols = list(by_seed[0])
        by_seed.append({"seed": "mean", **{c: float(np.mean([r[c] for r in by_seed])) for c in cols[1:]}})
        print_table(by_seed, cols, name="seeds")
    save_results(f"taxonomy_{opts.corpus}" + embed_text_suffix(opts.embed_text, opts.context_weight)
                 + (f"_filter_{opts.span_filter.stem.removeprefix('span_filter_')}" if opts.span_filter else ""))


if __name__ == "__main__":
    main()
