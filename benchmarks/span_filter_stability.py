"""How far a span filter retrained on slightly different labels moves, on the labels' kind of text and on others.

    python benchmarks/span_filter_stability.py [--repeats 10] [--drop 0.02] [--seed 13] [--C 1.0]
        [--builds] [--compare benchmarks/data/span_filter_before_refused_commands.json]

The span filter (taxonomy/span_filter.py) is trained on Reddit comments and LLM rationales
about them. Last round, retraining it after 20 labelled spans changed their normal form moved
the argument corpora's figures as much as the build's seed does. This measures that
sensitivity directly, as a property of the training rather than of one retrain:

1. Train the filter on every label (as ``train_span_filter.py`` does, with ``--C``).
2. ``--repeats`` times, leave out ``--drop`` of the labelled rationales (drawn from ``--seed``
   and the repeat) and retrain: a small change to the training data, of the size a relabelling
   round makes.
3. Compare each retrained filter's decisions at the shipped cuts with the full filter's, on
   every span the filter judges in: the AITA top comments (the labels' own text), the bundled
   sample (never trained on), and the Touché23 and Webis-ArgValues-22 premises (argument
   text, unlike any label).

Prints per corpus, for the spans the rules kept and for open words apart, the share of judged
spans decided differently (mean and largest over the repeats) and the share kept; and for each
fact (rule, polarity, length) and the intercept, the spread of its weight over the repeats. ``--compare FILE`` adds the same comparison between the
shipped filter and FILE (say last round's). ``--builds`` also builds the default 20-value
taxonomy (seed 13) of both argument corpora with each retrained filter and prints the spread of
purity and NMI against the gold categories (as ``taxonomy_touche23.py`` scores them), beside
the spread the build's seed gives with the shipped filter and k-means' mean over those seeds
(that script's last saved seeds table).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from _common import REPO, print_table, save_results
from train_span_filter import RULE_THRESHOLD, labelled_spans, rationales

RESULTS = REPO / "benchmarks" / "results"


def corpus_spans(extractor, corpus: str):
    """The spans of a corpus the filter would be offered: AITA comments, the sample, or premises."""
    from moralgap.taxonomy.span_filter import offered_to_filter

    if corpus in ("aita_human", "sample"):
        texts = rationales(corpus)
    else:
        from taxonomy_touche23 import load

        df, _ = load(corpus=corpus)
        texts = list(zip(df["Argument ID"].astype(str), df["Premise"].astype(str)))
    return [e for e in extractor.extract_texts(texts) if offered_to_filter(e)]


def kinds(spans) -> list[tuple[str, np.ndarray]]:
    """Spans the rules kept (the filter sets a few apart) and open words (it admits a few), apart:
    the two are judged at different cuts and mostly go opposite ways."""
    from moralgap.taxonomy.span_filter import is_open_word

    opened = np.array([is_open_word(e) for e in spans], dtype=bool)
    return [("rule-found", ~opened), ("open words", opened)]


def left_out(rationale_ids: list[str], share: float, rng: np.random.Generator) -> set[str]:
    """``share`` of the distinct rationales (at least one), drawn by ``rng`` from their sorted ids."""
    ids = sorted(set(rationale_ids))
    n = max(1, round(share * len(ids)))
    return set(rng.choice(ids, size=n, replace=False).tolist())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--drop", type=float, default=0.02, help="share of labelled rationales each repeat leaves out")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--C", type=float, default=1.0, help="the filter's inverse regularisation strength")
    ap.add_argument("--compare", type=Path, default=None, metavar="FILE",
                    help="also compare the shipped filter's decisions with this filter's")
    ap.add_argument("--builds", action="store_true",
                    help="also build both argument corpora (seed 13) with each retrained filter and score them")
    ap.add_argument("--name", default=None, help="results name (default span_filter_stability, with C if not 1)")
    opts = ap.parse_args()
    if not 0 < opts.drop < 1:
        ap.error("--drop is a share between 0 and 1")

    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.span_filter import RULES, SpanFilter, default_span_filter

    extractor, embedder = ValueExtractor(open_words=True), Embedder()
    human, y_human, _ = labelled_spans(extractor, "aita_human")
    llm, y_llm, _ = labelled_spans(extractor, "aita_llm")
    picked, y = human + llm, np.concatenate([y_human, y_llm])
    vectors = SpanFilter.vectors(picked, embedder)
    ids = [e.rationale_id for e in picked]

    def trained(keep: np.ndarray | None = None) -> SpanFilter:
        f = SpanFilter(threshold=RULE_THRESHOLD, C=opts.C, random_state=opts.seed)
        idx = np.arange(len(picked)) if keep is None else np.where(keep)[0]
        return f.fit([picked[i] for i in idx], y[idx], embedder, vectors=vectors[idx])

    full = trained()
    corpora = {}
    for corpus in ("aita_human", "sample", "touche23", "argvalues22"):
        spans = [e for e in corpus_spans(extractor, corpus) if full.judges(e)]
        vecs = SpanFilter.vectors(spans, embedder)
        corpora[corpus] = (spans, vecs, full.kept(spans, vecs))
        print(f"{corpus}: {len(spans)} spans the filter judges, {corpora[corpus][2].mean():.1%} kept by the full filter")

    fact_names = list(RULES) + ["violated", "words/6"]
    weights = []
    decided: dict[str, list[np.ndarray]] = {c: [] for c in corpora}
    retrained = []
    for r in range(opts.repeats):
        rng = np.random.default_rng([opts.seed, r])
        out = left_out(ids, opts.drop, rng)
        f = trained(np.array([i not in out for i in ids]))
        retrained.append(f)
        weights.append(np.concatenate([f.coef[-len(fact_names):], [f.intercept]]))
        for c, (spans, vecs, _) in corpora.items():
            decided[c].append(f.kept(spans, vecs))
    rows = []
    for c, (spans, _, base) in corpora.items():
        for kind, m in kinds(spans):
            kept = [d[m].mean() for d in decided[c]]
            moved = [(d[m] != base[m]).mean() for d in decided[c]]
            rows.append({"corpus": c, "spans": kind, "judged": int(m.sum()), "kept_full": float(base[m].mean()),
                         "kept_retrained_mean": float(np.mean(kept)), "kept_retrained_sd": float(np.std(kept)),
                         "decided_differently_mean": float(np.mean(moved)),
                         "decided_differently_max": float(np.max(moved))})
    print(f"\n{opts.repeats} retrains, each without {opts.drop:.0%} of the labelled rationales (C={opts.C:g}):")
    print_table(rows, list(rows[0]), name="decisions")

    w = np.array(weights)
    full_w = np.concatenate([full.coef[-len(fact_names):], [full.intercept]])
    wrows = [{"weight": n, "full": float(full_w[i]), "retrained_sd": float(w[:, i].std()),
              "retrained_min": float(w[:, i].min()), "retrained_max": float(w[:, i].max())}
             for i, n in enumerate(fact_names + ["intercept"]) if n != "llm"]
    print_table(wrows, list(wrows[0]), name="fact_weights")

    if opts.compare is not None:
        shipped, other = default_span_filter(), SpanFilter.load(opts.compare)
        crows = []
        for c, (spans, vecs, _) in corpora.items():
            a, b = shipped.kept(spans, vecs), other.kept(spans, vecs)
            for kind, m in kinds(spans):
                crows.append({"corpus": c, "spans": kind, "kept_shipped": float(a[m].mean()), "kept_other": float(b[m].mean()),
                              "decided_differently": float((a[m] != b[m]).mean())})
        print(f"\nthe shipped filter against {opts.compare}:")
        print_table(crows, list(crows[0]), name="compare")

    if opts.builds:
        from taxonomy_touche23 import evaluate, load, run_moralgap

        brows = []
        for corpus in ("touche23", "argvalues22"):
            df, cats = load(corpus=corpus)
            texts, pids = df["Premise"].astype(str).tolist(), df["Argument ID"].astype(str).tolist()
            conclusions, gold = df["Conclusion"].astype(str).tolist(), df[cats].to_numpy()
            scored = []
            for r, f in enumerate(retrained):
                assigned, _, _ = run_moralgap(texts, pids, conclusions, embedder, extractor, span_filter=f)
                s = evaluate(assigned, gold, cats)
                scored.append((s["purity"], s["nmi"]))
                print(f"{corpus} retrain {r}: purity {s['purity']:.3f}, NMI {s['nmi']:.3f}")
            p, n = np.array(scored).T
            seeds = seed_spread(corpus)
            brows.append({"corpus": corpus, "purity_mean": float(p.mean()), "purity_min": float(p.min()),
                          "purity_max": float(p.max()), "nmi_mean": float(n.mean()), "nmi_min": float(n.min()),
                          "nmi_max": float(n.max()), **seeds})
        print("\ndefault build (seed 13) with each retrained filter; the seeds' range with the shipped filter beside:")
        print_table(brows, list(brows[0]), name="builds")
    save_results(opts.name or "span_filter_stability" + ("" if opts.C == 1.0 else f"_C{opts.C:g}"))


def seed_spread(corpus: str) -> dict:
    """The range of the build's purity and NMI over the seeds in taxonomy_touche23.py's published
    run (benchmarks/results), and k-means' mean over the same seeds (the reference the issue sets)."""
    path = RESULTS / f"taxonomy_{corpus}.json"
    if not path.exists():
        return {}
    table = json.loads(path.read_text(encoding="utf-8"))["tables"].get("seeds")
    if not table:
        return {}
    rows = [dict(zip(table["columns"], r)) for r in table["rows"] if r[0] != "mean"]
    p = [r["moralgap_purity"] for r in rows]
    n = [r["moralgap_nmi"] for r in rows]
    return {"seeds_purity_min": min(p), "seeds_purity_max": max(p), "seeds_nmi_min": min(n), "seeds_nmi_max": max(n),
            "kmeans_purity_mean": float(np.mean([r["kmeans_purity"] for r in rows])),
            "kmeans_nmi_mean": float(np.mean([r["kmeans_nmi"] for r in rows]))}


if __name__ == "__main__":
    main()
