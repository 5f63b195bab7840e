"""Train (and cross-validate) the learned span filter on the team's labels of AITA spans.

    python benchmarks/train_span_filter.py                          # write taxonomy/resources/value_span_filter.json
    python benchmarks/train_span_filter.py --hold-out-sample 2026 --out /tmp/filter_wo2026.json

Spans are what the rule extractor finds in the real AITA top comments (../shared/data/aita_boraske);
labels are the team's, keyed by rationale id and character offsets (no comment text in the repo):
``benchmarks/data/aita_expression_labels.jsonl`` (the evaluation samples of
``taxonomy_eval_aita.py``) and ``benchmarks/data/aita_span_labels.jsonl`` (600 further spans the
rules keep, drawn at random, labelled value / not a value only). The filter only ever sees spans
the rules kept, so it is trained and scored on those.

Prints five-fold cross-validated figures (folds grouped by comment, so no comment is in both a
training and a test fold) at several thresholds: of the rule-kept spans, how many the filter keeps,
the share of those that are value expressions (precision) and the share of value expressions it
keeps (recall). ``--hold-out-sample SEED`` leaves out every label of that evaluation sample, so
``taxonomy_eval_aita.py --sample-seed SEED --span-filter OUT`` measures a filter that never saw
it.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from _common import REPO, print_table, read_jsonl_gz, save_results, shared_data

LABEL_FILES = [REPO / "benchmarks" / "data" / "aita_expression_labels.jsonl",
               REPO / "benchmarks" / "data" / "aita_span_labels.jsonl"]
DEFAULT_OUT = REPO / "taxonomy" / "resources" / "value_span_filter.json"


def read_labels() -> dict[tuple, bool]:
    out: dict[tuple, bool] = {}
    for path in LABEL_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[(r["rationale_id"], r["start"], r["end"])] = bool(r["is_value"])
    return out


def aita_spans():
    from moralgap.taxonomy.extract import ValueExtractor

    posts = read_jsonl_gz(shared_data() / "aita_boraske" / "posts.jsonl.gz")
    items = [(p["post_key"], p["human_top_comment"]) for p in posts if (p.get("human_top_comment") or "").strip()]
    return ValueExtractor().extract_texts(items)


def held_out_keys(expressions, n: int, seed: int) -> set[tuple]:
    # The same draw as taxonomy_eval_aita.sample(): every span found, kept or set apart.
    ordered = sorted(expressions, key=lambda e: (e.rationale_id, e.start, e.end))
    return {(e.rationale_id, e.start, e.end) for e in random.Random(seed).sample(ordered, min(n, len(ordered)))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--C", type=float, default=3.0, help="inverse regularisation strength")
    ap.add_argument("--hold-out-sample", type=int, default=None, metavar="SEED",
                    help="leave out the labels of taxonomy_eval_aita.py's sample with this seed")
    ap.add_argument("--seed", type=int, default=13)
    opts = ap.parse_args()

    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.span_filter import SpanFilter

    labels = read_labels()
    spans = aita_spans()
    skip = held_out_keys(spans, 300, opts.hold_out_sample) if opts.hold_out_sample is not None else set()
    picked = [e for e in spans if not e.excluded and (e.rationale_id, e.start, e.end) in labels
              and (e.rationale_id, e.start, e.end) not in skip]
    y = np.array([labels[(e.rationale_id, e.start, e.end)] for e in picked])
    groups = [e.rationale_id for e in picked]
    embedder = Embedder()
    vectors = SpanFilter.vectors(picked, embedder)
    print(f"{len(picked)} labelled rule-kept spans, {int(y.sum())} value expressions ({y.mean():.1%})"
          + (f"; sample {opts.hold_out_sample} held out ({len(skip)} spans)" if skip else ""))

    p = np.zeros(len(picked))
    for train, test in GroupKFold(5).split(vectors, y, groups):
        f = SpanFilter(C=opts.C, random_state=opts.seed)
        f.fit([picked[i] for i in train], y[train], _Given(vectors[train], embedder))
        p[test] = f.predict_proba([picked[i] for i in test], vectors[test])
    rows = []
    for th in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6):
        keep = p >= th
        rows.append({"threshold": th, "kept": int(keep.sum()), "of": len(picked),
                     "precision": round(float(y[keep].mean()), 3) if keep.any() else None,
                     "recall": round(float((y & keep).sum() / y.sum()), 3),
                     "rules_only_precision": round(float(y.mean()), 3)})
    print(f"cross-validated ROC AUC {roc_auc_score(y, p):.3f}")
    print_table(rows, list(rows[0]), name="span_filter_cv" + (f"_without{opts.hold_out_sample}" if skip else ""))

    final = SpanFilter(threshold=opts.threshold, C=opts.C, random_state=opts.seed)
    final.fit(picked, y, _Given(vectors, embedder))
    final.embedding_model = "all-MiniLM-L6-v2"  # the default model; its folder is named "model"
    final.trained_on.update({"labels": [p.name for p in LABEL_FILES], "held_out_sample": opts.hold_out_sample,
                             "cv_roc_auc": round(float(roc_auc_score(y, p)), 3)})
    final.save(opts.out)
    print(f"wrote {opts.out}")
    if not skip:
        save_results("span_filter")


class _Given:
    """The embedder's identity with vectors already computed (the folds reuse one encoding)."""

    def __init__(self, vectors: np.ndarray, embedder):
        self._vectors = vectors
        self.fingerprint = embedder.fingerprint
        self.model_name = embedder.model_name

    def encode(self, texts, desc: str = ""):
        assert len(texts) == len(self._vectors)
        return self._vectors


if __name__ == "__main__":
    main()
