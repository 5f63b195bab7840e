"""Issue 2 benchmark: a 60-value taxonomy from the real AITA top comments (../shared/data/aita_boraske).

    python benchmarks/taxonomy_aita.py [--n-values 60] [--seed-values FILE] [--seed-threshold T]

Prints: number of values, share of comments with at least one value, top-10 share and
normalised entropy (Shannon entropy / log of the number of values) of value mentions.
With ``--seed-values`` it also prints how many values were formed around a given value and how
well they agree with the extractor's lexicon: among mentions in such values whose lexicon
value is one of the given names, the share whose lexicon value is that value's name.
"""
from __future__ import annotations

import argparse
import time

from _common import aita_judgments, embed_text_suffix, print_table, save_results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-values", type=int, default=60)
    ap.add_argument("--seed-values", default=None)
    ap.add_argument("--seed-threshold", type=float, default=None)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--embed-text", default="norm", choices=["norm", "norm+value", "context", "sentence"],
                    help="anything but norm saves its results under a name of its own")
    ap.add_argument("--context-weight", type=float, default=3.0, help="the weight of the rationale (sentence) "
                    "under --embed-text context (sentence)")
    opts = ap.parse_args()

    from moralgap.diversity import normalised_entropy, top_k_share
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.seed_values import load_seed_values

    judgments = aita_judgments()
    seeds = load_seed_values(opts.seed_values) if opts.seed_values else None
    builder = TaxonomyBuilder(opts.n_values, seed=opts.seed, seed_values=seeds, embed_text=opts.embed_text,
                              context_weight=opts.context_weight,
                              **({"seed_match_threshold": opts.seed_threshold} if opts.seed_threshold is not None else {}))
    builder.extractor, builder.embedder  # load models before timing
    t = time.perf_counter()
    result = builder.fit(judgments)
    elapsed = time.perf_counter() - t
    sizes = [v.size for v in result.taxonomy.values]
    with_any = len({e.rationale_id for e in result.expressions})
    row = {
        "comments": len(judgments),
        "values": len(sizes),
        "with_expression": with_any / len(judgments),
        "with_value": result.stats["rationale_coverage"],
        "top10_share": top_k_share(sizes, 10),
        "norm_entropy": normalised_entropy(sizes),
        "outlier_rate": result.stats["outlier_rate"],
        "seconds": elapsed,
    }
    # How far the values follow the lexicon: NMI between value and lexicon tag over the
    # expressions that carry a tag, and how many names were taken from the lexicon.
    from sklearn.metrics import normalized_mutual_info_score

    tagged = [(e.lexicon_value, e.value_id) for e in result.expressions if e.value_id and e.lexicon_value]
    row["lexicon_nmi"] = normalized_mutual_info_score([a for a, _ in tagged], [b for _, b in tagged]) if tagged else None
    row["lexicon_free_mentions"] = sum(1 for e in result.expressions if e.value_id and not e.lexicon_value) / max(
        1, sum(1 for e in result.expressions if e.value_id))
    row["names_from_lexicon"] = sum(1 for v in result.taxonomy.values if v.name_source == "prior")
    row["needs_review"] = result.stats.get("values_needing_review", 0)
    row["set_apart"] = result.stats.get("n_excluded", 0)
    if seeds:
        given = {s.name for s in seeds}
        seed_of = {v.id: v.seed_name for v in result.taxonomy.values if v.seed_name}
        judged = [(e.lexicon_value, seed_of[e.value_id]) for e in result.expressions
                  if e.value_id in seed_of and e.lexicon_value in given]
        row["given_values_formed"] = len(seed_of)
        row["lexicon_agreement"] = sum(a == b for a, b in judged) / len(judged) if judged else float("nan")
    print("Real AITA top comments (aita_boraske/posts.jsonl.gz)")
    print_table([row], list(row), name="main")
    print("\nlargest values:")
    for v in result.taxonomy.values[:15]:
        print(f"  {v.size:4d}  {v.name:28}  {v.status:12}  {'; '.join(v.exemplars[:6])}")
    suffix = embed_text_suffix(opts.embed_text, opts.context_weight)
    save_results(("taxonomy_aita" + suffix) if suffix else None)


if __name__ == "__main__":
    main()
