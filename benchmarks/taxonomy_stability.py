"""How much of a taxonomy survives a small change to its input: the real AITA top comments.

    python benchmarks/taxonomy_stability.py [--drop 0.01,0.05] [--draws 5] [--seed 13]

A researcher who adds or loses a handful of comments rebuilds; this says what they get back.
For each share in ``--drop`` and each of ``--draws`` random draws (seeded), the comments less
that share are built with the same settings and seed as the full build, and compared with it:

- ``ids_kept``: share of the full build's value ids the smaller build has too (an id is a hash
  of a value's most frequent form, so it survives only while that form still leads the value);
- ``kept_id_mentions_same``: whether a kept id still names the same value: of the mentions the
  full build gives a kept id and the smaller build assigns too, the share under that same id;
- ``names_kept``: share of the full build's value names the smaller build has too;
- ``ari`` and ``matched_share``: over the expressions both builds assign, the adjusted Rand
  index and the share in matching values (values paired one to one by overlap), as
  ``taxonomy_update.py`` counts them.

Ids and names move more than expressions do: most expressions keep their company while a
value's leading form, and with it its id and name, changes.
"""
from __future__ import annotations

import argparse

import numpy as np

from _common import aita_judgments, print_table, save_results
from taxonomy_update import assignment_agreement


def by_span(result) -> dict[tuple, str | None]:
    # The span (rationale, offsets) names the same mention in both builds, whatever else moved.
    return {(e.rationale_id, e.start, e.end): e.value_id for e in result.expressions}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--drop", default="0.01,0.05", help="comma-separated shares of comments to leave out")
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--n-values", type=int, default=60)
    opts = ap.parse_args()

    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.extract import ValueExtractor

    js = aita_judgments()
    embedder, extractor = Embedder(), ValueExtractor(open_words=True)

    def build(subset):
        return TaxonomyBuilder(opts.n_values, seed=opts.seed, embedder=embedder, extractor=extractor).fit(subset)

    full = build(js)
    ids = {v.id for v in full.taxonomy.values}
    names = {v.name for v in full.taxonomy.values}
    whole = by_span(full)
    rows = []
    for share in [float(x) for x in opts.drop.split(",") if x.strip()]:
        for draw in range(opts.draws):
            rng = np.random.default_rng([opts.seed, draw])
            n_out = max(1, round(share * len(js)))
            out = set(rng.choice(len(js), size=n_out, replace=False).tolist())
            part = build([j for i, j in enumerate(js) if i not in out])
            piece = by_span(part)
            agree = assignment_agreement(whole, piece)
            kept = ids & {v.id for v in part.taxonomy.values}
            both = [(v, piece[k]) for k, v in whole.items() if v in kept and piece.get(k)]
            rows.append({"dropped_share": share, "draw": draw, "comments_dropped": n_out,
                         "ids_kept": len(kept) / len(ids),
                         "kept_id_mentions_same": sum(a == b for a, b in both) / len(both),
                         "names_kept": len(names & {v.name for v in part.taxonomy.values}) / len(names),
                         "ari": agree["ari"], "matched_share": agree["matched_share"]})
    cols = list(rows[0])
    for share in sorted({r["dropped_share"] for r in rows}):
        mine = [r for r in rows if r["dropped_share"] == share]
        rows.append({"dropped_share": share, "draw": "mean", "comments_dropped": mine[0]["comments_dropped"],
                     **{c: float(np.mean([r[c] for r in mine])) for c in cols[3:]}})
    print(f"full build: {len(js)} comments, {len(ids)} values")
    print_table(rows, cols, name="stability")
    save_results()


if __name__ == "__main__":
    main()
