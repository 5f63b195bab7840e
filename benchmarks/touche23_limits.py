"""How far MiniLM premise vectors go on Touché23 without gold labels (issue 2's purity/NMI targets).

    python benchmarks/touche23_limits.py [--limit N]

Every row groups the 5,393 training premises into 20 and is scored like
benchmarks/taxonomy_touche23.py (multi-label purity, NMI against the first gold category,
share without a value). None of the methods sees a gold label; the ceiling rows at the end do.
- k-means (k=20) on the premise vectors, then the same keeping only the premises nearest their
  centroid: abstaining on the least typical premises is the cheapest way to raise purity;
- k-means after subtracting each premise's conclusion vector (the topic it argues about);
- zero-shot: each premise goes to the category whose phrases in the dataset's own
  ``value-categories.json`` it is closest to (mean of its 3 best phrase similarities);
- value projection: each premise becomes its similarities to value descriptions (the
  categories' phrases, or the 266 level-1 values of Values in the Wild), centred, then k-means.
Premise vectors come from moralgap's embedding cache, so a second run takes seconds.
"""
from __future__ import annotations

import argparse
import gzip
import json

import numpy as np
import pandas as pd

from _common import print_table, save_results, shared_data
from moralgap.taxonomy.cluster import unit_rows
from taxonomy_touche23 import SEED, ceiling_rows, evaluate, load

KEEP = (0.9, 0.7, 0.5)


def _kmeans(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.cluster import KMeans

    km = KMeans(20, n_init=10, random_state=SEED).fit(x)
    return km.labels_, km.cluster_centers_


def category_phrases(cats: list[str]) -> tuple[list[str], np.ndarray]:
    """The level-1 value names and example phrases of each category, with the category's index."""
    described = json.loads((shared_data() / "valueeval" / "touche23" / "value-categories.json").read_text(encoding="utf-8"))
    phrases, owner = [], []
    for c, cat in enumerate(cats):
        for value, examples in described[cat].items():
            for p in [value, *examples]:
                phrases.append(p)
                owner.append(c)
    return phrases, np.array(owner)


def wild_values() -> list[str]:
    with gzip.open(shared_data() / "values_in_the_wild" / "values_tree_prioritized.csv.gz", "rt", encoding="utf-8") as fh:
        tree = pd.read_csv(fh)
    return tree.loc[tree["level"] == 1, "name"].astype(str).tolist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="use only the first N premises (quick runs)")
    opts = ap.parse_args()

    from moralgap.taxonomy.embed import Embedder

    df, cats = load()
    if opts.limit:
        df = df.head(opts.limit)
    gold = df[cats].to_numpy()
    embedder = Embedder()
    premises = unit_rows(embedder.encode(df["Premise"].astype(str).tolist(), desc="embedding premises"))
    rows = []

    labels, centres = _kmeans(premises)
    rows.append({"method": "k-means (k=20) on premise vectors", **evaluate(list(labels), gold, cats)})
    closeness = np.einsum("ij,ij->i", premises, unit_rows(centres)[labels])
    for keep in KEEP:
        cut = np.quantile(closeness, 1 - keep)
        kept = [int(c) if s >= cut else None for c, s in zip(labels, closeness)]
        rows.append({"method": f"  same, only the {keep:.0%} nearest their centroid", **evaluate(kept, gold, cats)})

    conclusions = df["Conclusion"].astype(str).tolist()
    unique = sorted(set(conclusions))
    topic = dict(zip(unique, unit_rows(embedder.encode(unique, desc="embedding conclusions"))))
    off_topic = unit_rows(premises - np.stack([topic[c] for c in conclusions]))
    rows.append({"method": "k-means after subtracting the conclusion vector", **evaluate(list(_kmeans(off_topic)[0]), gold, cats)})

    phrases, owner = category_phrases(cats)
    sims = premises @ unit_rows(embedder.encode(phrases, desc="embedding category phrases")).T
    best3 = np.stack([np.sort(sims[:, owner == c], axis=1)[:, -3:].mean(axis=1) for c in range(len(cats))], axis=1)
    rows.append({"method": "zero-shot: nearest category by its phrases", **evaluate(list(best3.argmax(axis=1)), gold, cats)})
    rows.append({"method": "k-means on similarities to the category phrases",
                 **evaluate(list(_kmeans(sims - sims.mean(axis=0))[0]), gold, cats)})
    wild = premises @ unit_rows(embedder.encode(wild_values(), desc="embedding Values in the Wild")).T
    rows.append({"method": "k-means on similarities to 266 Values in the Wild",
                 **evaluate(list(_kmeans(wild - wild.mean(axis=0))[0]), gold, cats)})

    rows.extend(ceiling_rows(df, gold, cats))
    print(f"Touché23-ValueEval training premises: {len(df)} texts, 20 gold categories, MiniLM vectors")
    print_table(rows, ["method", "purity", "nmi", "no_value", "values"], name="main")
    save_results()


if __name__ == "__main__":
    main()
