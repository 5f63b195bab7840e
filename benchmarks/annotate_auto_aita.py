"""How often is a value that `annotate auto` gives an AITA comment one the comment appeals to?

    python benchmarks/annotate_auto_aita.py [--sample 160]

Builds the default taxonomy of the real AITA top comments (../shared/data/aita_boraske; seed 13,
60 values, as ``moralgap taxonomy build``) and annotates the same comments, as the README's
pipeline does, in four ways:

- ``annotate auto`` as it is: a value passes its threshold on the whole comment, or one of the
  comment's value expressions is coded to it (``annotate expressions``' rule);
- the whole comment alone (``ZeroShotAnnotator(extractor=False)``);
- ``annotate expressions`` alone: each value expression coded to one value;
- ``annotate auto`` before 2026-12-07, kept as a reference: the whole comment, or the nearest
  value of any span the extractor found, including those the build sets apart ("tell them",
  "awkward") and those far from every value.

The team labelled every (comment, value) pair any of these gave on a fixed sample of comments
(``--sample`` of them: the comments' ids sorted, shuffled with ``random.Random(2027)``, the
first N), blind to which way gave it: does the comment appeal to that value, as its name and
expressions define it? (``benchmarks/data/aita_rationale_value_labels.jsonl``: ids, the value's
name as it read then and ``fits``; no comment text.) For each way: pairs given on the sample,
precision (share that fit), recall against every fitting pair the labels hold (a pooled
recall: a fitting value no way gave is not counted), F1, and values per comment over all 767.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile

import numpy as np

from _common import REPO, aita_judgments, print_table, save_results

LABELS = REPO / "benchmarks" / "data" / "aita_rationale_value_labels.jsonl"
SAMPLE_SEED = 2027


def sample_ids(judgments, n: int) -> list[str]:
    ids = sorted(j.id for j in judgments)
    random.Random(SAMPLE_SEED).shuffle(ids)
    return ids[:n]


def before_change(zs, judgments) -> list:
    """The annotator's expression scores as they were: every span found counts for its nearest value."""
    items = [j for j in judgments if (j.rationale or "").strip()]
    ids = [j.id for j in items]
    found = [e for e in zs.extractor.extract(items) if e.norm or e.text]
    vecs = zs.embedder.encode([e.norm or e.text for e in found])
    from moralgap.annotation.auto import similarities, within_item_z

    nearest = zs.calibration.probability(within_item_z(similarities(vecs, zs.prototypes))).argmax(axis=1)
    named = [e.model_copy(update={"value_id": zs.value_ids[int(j)]}) for e, j in zip(found, nearest)]
    scores = np.maximum(zs.text_scores([j.rationale for j in items]), zs.expression_scores(ids, named))
    return zs.annotations(ids, scores)


def score(given: dict[str, list[str]], labels: dict[tuple[str, str], bool], sample: list[str]) -> dict:
    pairs = [(r, v) for r in sample for v in given.get(r, [])]
    unlabelled = [p for p in pairs if p not in labels]
    if unlabelled:
        raise SystemExit(f"{len(unlabelled)} pairs lack a label, e.g. {unlabelled[:3]}: the build no longer "
                         "matches the labelled one; label them or rebuild as labelled")
    hits = sum(labels[p] for p in pairs)
    fitting = sum(labels.values())
    precision = hits / len(pairs) if pairs else 0.0
    recall = hits / fitting if fitting else 0.0
    return {"pairs": len(pairs), "fit": hits, "precision": precision, "pooled_recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if hits else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", type=int, default=160)
    args = ap.parse_args()

    from moralgap.annotation.auto import ZeroShotAnnotator
    from moralgap.annotation.expression_coding import ExpressionCoder
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.folder import TaxonomyFolder

    judgments = aita_judgments()
    with tempfile.TemporaryDirectory() as tmp:
        # Through the files, as the CLI's annotate reads a build.
        TaxonomyBuilder(60, seed=13).fit(judgments).save(tmp)
        folder = TaxonomyFolder.load(tmp)
    labels = {}
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        labels[(row["rationale_id"], row["value_id"])] = bool(row["fits"])
    sample = sample_ids(judgments, args.sample)

    zs = ZeroShotAnnotator(folder, seed=13).fit()
    whole = ZeroShotAnnotator(folder, seed=13, extractor=False).fit()
    ways = {
        "annotate auto (whole comment, or an expression coded to the value)": zs.annotate(judgments),
        "whole comment only": whole.annotate(judgments),
        "annotate expressions (one value per expression)": ExpressionCoder(folder).code(judgments).annotations,
        "annotate auto before 2026-12-07 (whole comment, or any span's nearest value)": before_change(zs, judgments),
    }
    rows = []
    for name, annotations in ways.items():
        given = {a.rationale_id: list(a.value_ids) for a in annotations}
        per = [len(given.get(j.id, [])) for j in judgments]
        rows.append({"way": name, **score(given, labels, sample), "values_per_comment": float(np.mean(per)),
                     "comments_without_value": sum(n == 0 for n in per) / len(per)})
    print(f"{len(sample)} comments labelled, {len(labels)} pairs, {sum(labels.values())} fit")
    print_table(rows, ["way", "pairs", "fit", "precision", "pooled_recall", "f1", "values_per_comment",
                       "comments_without_value"], name="ways")
    save_results()


if __name__ == "__main__":
    main()
