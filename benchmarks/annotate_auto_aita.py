"""How often is a value that `annotate auto` gives an AITA comment one the comment appeals to?

    python benchmarks/annotate_auto_aita.py

Builds the default taxonomy of the real AITA top comments (../shared/data/aita_boraske; seed 13,
60 values, as ``moralgap taxonomy build``) and annotates the same comments, as the README's
pipeline does, in four ways:

- ``annotate auto`` as it is: one of the comment's value expressions is coded to the value
  (``annotate expressions``' rule), or the whole comment passes the value's threshold at a
  probability of 0.5 or more (``WHOLE_TEXT_FLOOR``);
- the whole comment alone (``ZeroShotAnnotator(extractor=False)``: the value's threshold, no
  floor);
- ``annotate expressions`` alone: each value expression coded to one value;
- ``annotate auto`` before 2026-12-07, kept as a reference: the whole comment at the value's
  threshold, or the nearest value of any span the extractor found, including those the build
  sets apart ("tell them", "awkward") and those far from every value.

The team labelled every (comment, value) pair any of these gave on 320 comments (the comments'
ids sorted, shuffled with ``random.Random(2027)``, the first 320), blind to which way gave it:
does the comment appeal to that value, as its name and expressions define it?
(``benchmarks/data/aita_rationale_value_labels.jsonl``: ids, the value's name as it read then
and ``fits``; no comment text.) The first 160 (sample A) were labelled and read while the
annotator was being changed; the next 160 (sample B) were labelled later and no choice was made
on them, so B tests the choices made on A. For each way and sample: pairs given, precision (share that fit), recall against every
fitting pair the labels hold for that sample (a pooled recall: a fitting value no way gave is
not counted), F1, and values per comment over all 767.

A second table asks the same of both sides of ``aita_value_diversity.py``: its taxonomy of the
157 human top comments and 157 gpt-4o rationales together (seed 13), on 60 of those posts
(post ids sorted, shuffled with ``random.Random(2027)``, the first 60), every pair any of the
three ways gives labelled by the team the same way
(``benchmarks/data/aita_both_sides_value_labels.jsonl``), scored per side: whether the
annotator is as right about gpt-4o's longer rationales as about the human comments, which the
human-minus-gpt-4o value figures assume.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile

import numpy as np

from _common import REPO, aita_judgments, print_table, save_results

LABELS = REPO / "benchmarks" / "data" / "aita_rationale_value_labels.jsonl"
BOTH_SIDES_LABELS = REPO / "benchmarks" / "data" / "aita_both_sides_value_labels.jsonl"
BOTH_SIDES_POSTS = 60
SAMPLE_SEED = 2027
SAMPLE_SIZE = 160


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
    inside = set(sample)
    labels = {p: fit for p, fit in labels.items() if p[0] in inside}
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
    ap.parse_args()

    judgments = aita_judgments()
    folder = built(judgments)
    labels = read_labels(LABELS)
    drawn = sample_ids(judgments, 2 * SAMPLE_SIZE)
    samples = {"A": drawn[:SAMPLE_SIZE], "B": drawn[SAMPLE_SIZE:], "A+B": drawn}

    ways = annotated(folder, judgments, whole_comment=True)
    rows = []
    for name, way_annotations in ways.items():
        given = {a.rationale_id: list(a.value_ids) for a in way_annotations}
        per = [len(given.get(j.id, [])) for j in judgments]
        for sample, ids in samples.items():
            rows.append({"way": name, "sample": sample, **score(given, labels, ids),
                         "values_per_comment": float(np.mean(per)),
                         "comments_without_value": sum(n == 0 for n in per) / len(per)})
    print(f"{len(drawn)} comments labelled, {len(labels)} pairs, {sum(labels.values())} fit")
    print_table(rows, ["way", "sample", "pairs", "fit", "precision", "pooled_recall", "f1", "values_per_comment",
                       "comments_without_value"], name="ways")
    print_table(both_sides_rows(), ["way", "side", "rationales", "pairs", "fit", "precision", "pooled_recall", "f1",
                                    "values_per_rationale"], name="sides")
    save_results()


def built(judgments):
    from moralgap.taxonomy.build import TaxonomyBuilder
    from moralgap.taxonomy.folder import TaxonomyFolder

    with tempfile.TemporaryDirectory() as tmp:
        # Through the files, as the CLI's annotate reads a build.
        TaxonomyBuilder(60, seed=13).fit(judgments).save(tmp)
        return TaxonomyFolder.load(tmp)


def read_labels(path) -> dict[tuple[str, str], bool]:
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return {(r["rationale_id"], r["value_id"]): bool(r["fits"]) for r in rows}


def annotated(folder, judgments, *, whole_comment: bool) -> dict[str, list]:
    from moralgap.annotation.auto import ZeroShotAnnotator
    from moralgap.annotation.expression_coding import ExpressionCoder

    zs = ZeroShotAnnotator(folder, seed=13).fit()
    auto = "annotate auto (an expression coded to the value, or the whole comment at p >= 0.5)"
    ways = {auto: zs.annotate(judgments)}
    if whole_comment:
        ways["whole comment only"] = ZeroShotAnnotator(folder, seed=13, extractor=False).fit().annotate(judgments)
    ways["annotate expressions (one value per expression)"] = ExpressionCoder(folder).code(judgments).annotations
    ways["annotate auto before 2026-12-07 (whole comment, or any span's nearest value)"] = before_change(zs, judgments)
    return ways


def both_sides_rows() -> list[dict]:
    from aita_value_diversity import load_pairs

    humans, models = load_pairs(False, False)
    both = humans + models
    folder = built(both)
    labels = read_labels(BOTH_SIDES_LABELS)
    posts = sorted(j.dilemma_id for j in humans)
    random.Random(SAMPLE_SEED).shuffle(posts)
    chosen = set(posts[:BOTH_SIDES_POSTS])
    sides = {"human": [j.id for j in humans if j.dilemma_id in chosen],
             "gpt-4o": [j.id for j in models if j.dilemma_id in chosen]}
    rows = []
    for name, way_annotations in annotated(folder, both, whole_comment=False).items():
        given = {a.rationale_id: list(a.value_ids) for a in way_annotations}
        for side, ids in sides.items():
            every = humans if side == "human" else models
            rows.append({"way": name, "side": side, "rationales": len(ids), **score(given, labels, ids),
                         "values_per_rationale": float(np.mean([len(given.get(j.id, [])) for j in every]))})
    return rows


if __name__ == "__main__":
    main()
