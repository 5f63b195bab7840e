"""At which clustering step did two expressions come together? A reading aid for weak values.

    python benchmarks/cluster_trace.py [--judgments FILE] [--seed 13] [--form FORM ...] [--leaf-mates 30]

Builds the default 60-value taxonomy (of the real AITA top comments unless ``--judgments``
names a file) and records the groups after each step of ``taxonomy.cluster.cluster_expressions``
(HDBSCAN's leaves, frequent noise promoted, the merge to 60, the balance and refine passes).
For each ``--form`` (a normal form as ``expressions.jsonl`` writes it: "civic duty", "should
budge") it prints the group the form is in after each step and who shares it, so a member that
reads wrong in ``taxonomy show`` can be traced to the step that put it there. ``--leaf-mates N``
lists the N forms least like their nearest leaf-mate (cosine of the build's vectors): whether
such a floor would set weak members apart.

It prints only; nothing is saved, and the build is the default one (the same as
``moralgap taxonomy build FILE --out DIR --seed 13``).
"""
from __future__ import annotations

import argparse

import numpy as np

from _common import aita_judgments


def traced_build(judgments, seed: int):
    """The default build of ``judgments``, with its distinct forms, their vectors and the labels after each step."""
    import moralgap.taxonomy.build as build

    seen: dict = {"trace": {}}
    real_group, real_cluster = build._group, build.cluster_expressions

    def grouped(*args, **kw):
        d = real_group(*args, **kw)
        seen["forms"] = list(d.norms)
        return d

    def clustered(vectors, weights, **kw):
        seen["vectors"] = vectors
        return real_cluster(vectors, weights, trace=seen["trace"], **kw)

    build._group, build.cluster_expressions = grouped, clustered
    try:
        result = build.TaxonomyBuilder(60, seed=seed).fit(judgments)
    finally:
        build._group, build.cluster_expressions = real_group, real_cluster
    return result, seen["forms"], seen["vectors"], seen["trace"]


def nearest_leaf_mates(leaves: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Each form's cosine to its nearest neighbour in its HDBSCAN leaf (0 for a form left as noise)."""
    mate = np.zeros(len(leaves))
    for c in range(int(leaves.max() + 1)):
        idx = np.where(leaves == c)[0]
        sims = vectors[idx] @ vectors[idx].T
        np.fill_diagonal(sims, -np.inf)
        mate[idx] = sims.max(axis=1)
    return mate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--judgments", default=None, help="a judgments file (default: the AITA top comments)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--form", action="append", default=[], help="a normal form to trace (repeatable)")
    ap.add_argument("--leaf-mates", type=int, default=0, metavar="N",
                    help="list the N forms least like their nearest leaf-mate")
    opts = ap.parse_args()

    if opts.judgments:
        from moralgap.datasets import load_judgments

        judgments = load_judgments(opts.judgments, require_rationale=True).records
    else:
        judgments = aita_judgments()
    result, forms, vectors, trace = traced_build(judgments, opts.seed)
    print(f"{len(forms)} distinct forms; groups after each step: "
          + ", ".join(f"{step} {int(labels.max() + 1)}" for step, labels in trace.items()))
    index = {f: i for i, f in enumerate(forms)}
    for form in opts.form:
        if form not in index:
            print(f"\n{form!r}: not among the clustered forms (set apart, or written otherwise: see expressions.jsonl)")
            continue
        i = index[form]
        print(f"\n{form!r}")
        for step, labels in trace.items():
            if labels[i] < 0:
                print(f"  {step:9} noise")
                continue
            mates = [forms[j] for j in np.where(labels == labels[i])[0] if j != i]
            shown = ", ".join(mates[:12]) + (f", ... ({len(mates)} in all)" if len(mates) > 12 else "")
            print(f"  {step:9} with {shown or 'no other form'}")
    if opts.leaf_mates:
        leaves = trace["leaves"]
        mate = nearest_leaf_mates(leaves, vectors)
        rows = [(float(mate[i]), forms[i], [forms[j] for j in np.where(leaves == leaves[i])[0] if j != i])
                for i in np.where(leaves >= 0)[0]]
        print(f"\nthe {opts.leaf_mates} forms least like their nearest leaf-mate (cosine):")
        for sim, form, mates in sorted(rows)[:opts.leaf_mates]:
            print(f"  {sim:.2f}  {form!r:36} leaf-mates: {', '.join(mates[:6])}")


if __name__ == "__main__":
    main()
