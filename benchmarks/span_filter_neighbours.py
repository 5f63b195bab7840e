"""An experiment for issue 14, not the shipped filter: does the span filter judge words of values
it never saw labelled better when it also reads how near a span is to labelled spans of other words?

    python benchmarks/span_filter_neighbours.py                                  # cross-validation
    python benchmarks/span_filter_neighbours.py --ablation --also-seeds 14,15,16,17

The shipped filter (taxonomy/span_filter.py) is a logistic regression on a span's embedding and a
few facts about how it was found. It learns which directions of the embedding space its labelled
values lie in, and a value no label covers ("protect", "privacy" once Safety and Privacy are
taken out of the labels and the lexicon) scores low: the lexicon ablation loses most of its
mentions there (``taxonomy_lexicon_ablation.py --show-lost``).

The variant adds two features: the mean cosine of a span to its ``--k`` nearest labelled value
spans and to its ``--k`` nearest labelled not-a-value spans, never counting a span whose normal
form ends in the same word (so in training, too, a word is judged only by other words, as an
unseen value's words will be). The filter would then have to keep the labelled spans' vectors.

- Without ``--ablation``: five-fold cross-validation of both filters on the team's labels
  (train_span_filter.py), with folds grouped by rationale and by value (a value's spans all held
  out together, as in ``train_span_filter.py --unseen-values``), at the shipped cuts (0.6 for
  rule-found spans, 0.5 for open words). Saved as ``span_filter_neighbours``.
- ``--ablation``: ``taxonomy_lexicon_ablation.py`` with every retrained filter given the two
  features, other arguments passed on (``--also-seeds``). Saved as
  ``span_filter_neighbours_ablation``; compare with ``taxonomy_lexicon_ablation.json``.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from contextlib import contextmanager

import numpy as np

from _common import RESULTS_DIR, print_table, results_json, save_results

from moralgap.io import atomic_open

K = 5
# The two features are cosines (about 0.2-0.8); scaled so that the regression's shared penalty
# does not hold them back against 1,000-odd embedding weights.
SCALE = 5.0


def last_words(expressions) -> np.ndarray:
    return np.array([(e.norm.split() or [""])[-1] for e in expressions])


def unit(vectors) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


def neighbour_features(vectors, words, ref_vectors, ref_labels, ref_words, k: int = K) -> np.ndarray:
    """Per span: mean cosine to its ``k`` nearest labelled values and not-values of other words."""
    out = np.zeros((len(vectors), 2), dtype=np.float32)
    for a in range(0, len(vectors), 2048):
        sims = vectors[a:a + 2048] @ ref_vectors.T
        sims[words[a:a + 2048, None] == ref_words[None, :]] = -1.0
        for j, label in enumerate((True, False)):
            s = np.where(ref_labels[None, :] == label, sims, -1.0)
            out[a:a + 2048, j] = -np.sort(-s, axis=1)[:, :k].mean(axis=1)
    return out * SCALE


@contextmanager
def neighbour_filters(k: int = K):
    """Every ``SpanFilter`` fitted inside the block keeps its labelled spans and reads the two
    features; filters loaded from file (the shipped one) are unchanged. Copies of a fitted filter
    share its weight array, so the reference is found through it."""
    from moralgap.taxonomy import span_filter as sf

    refs: dict[int, tuple] = {}  # id of a fitted weight array -> (that array, its labelled spans)
    features, fit = sf.SpanFilter.features, sf.SpanFilter.fit

    def with_neighbours(self, expressions, vectors):
        X = features(self, expressions, vectors)
        if self.coef is None:
            ref = getattr(self, "_fitting", None)
        else:
            coef, ref = refs.get(id(self.coef), (None, None))
            ref = ref if coef is self.coef else None
        if ref is None:
            return X
        return np.hstack([X, neighbour_features(unit(vectors), last_words(expressions), *ref, k=k)])

    def fit_keeping(self, expressions, labels, embedder, sample_weight=None, vectors=None):
        if vectors is None:
            vectors = self.vectors(expressions, embedder)
        self._fitting = (unit(vectors), np.asarray(labels, dtype=bool), last_words(expressions))
        self.coef = None
        fitted = fit(self, expressions, labels, embedder, sample_weight=sample_weight, vectors=vectors)
        refs[id(fitted.coef)] = (fitted.coef, fitted._fitting)
        return fitted

    sf.SpanFilter.features, sf.SpanFilter.fit = with_neighbours, fit_keeping
    try:
        yield
    finally:
        sf.SpanFilter.features, sf.SpanFilter.fit = features, fit


def cross_validation(k: int) -> None:
    from sklearn.model_selection import GroupKFold
    from train_span_filter import RULE_THRESHOLD, labelled_spans, value_groups

    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.span_filter import DEFAULT_OPEN_THRESHOLD, SpanFilter, is_open_word

    extractor, embedder = ValueExtractor(open_words=True), Embedder()
    human, y_human, _ = labelled_spans(extractor, "aita_human")
    llm, y_llm, _ = labelled_spans(extractor, "aita_llm")
    picked, y = human + llm, np.concatenate([y_human, y_llm]).astype(bool)
    vectors = SpanFilter.vectors(picked, embedder)
    opened = np.array([is_open_word(e) for e in picked])
    cut = np.where(opened, DEFAULT_OPEN_THRESHOLD, RULE_THRESHOLD)
    rows = []
    for grouping, groups in (("by rationale", [e.rationale_id for e in picked]), ("value unseen", value_groups(picked))):
        for variant in ("shipped features", f"with {k} neighbours"):
            p = np.zeros(len(picked))
            for train, test in GroupKFold(5).split(vectors, y, groups):
                f = SpanFilter(random_state=13)
                if variant == "shipped features":
                    f.fit([picked[i] for i in train], y[train], embedder, vectors=vectors[train])
                    p[test] = f.proba_as_applied([picked[i] for i in test], vectors[test])
                else:
                    with neighbour_filters(k):
                        f.fit([picked[i] for i in train], y[train], embedder, vectors=vectors[train])
                        p[test] = f.proba_as_applied([picked[i] for i in test], vectors[test])
            for kind, mask in (("rule-found", ~opened), ("open words", opened)):
                kept = (p >= cut) & mask
                rows.append({"folds": grouping, "filter": variant, "spans": kind, "kept": int(kept.sum()),
                             "of": int(mask.sum()), "precision": round(float(y[kept].mean()), 3) if kept.any() else None,
                             "recall": round(float((y & kept).sum() / max(1, (y & mask).sum())), 3)})
    print_table(rows, list(rows[0]), name="cross_validation")
    save_results("span_filter_neighbours")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ablation", action="store_true", help="run the lexicon ablation with neighbour filters")
    ap.add_argument("--k", type=int, default=K)
    opts, rest = ap.parse_known_args()
    if not opts.ablation:
        if rest:
            ap.error(f"unrecognised arguments: {' '.join(rest)}")
        cross_validation(opts.k)
        return
    import taxonomy_lexicon_ablation

    name = "span_filter_neighbours_ablation"
    command = "python " + shlex.join(["benchmarks/span_filter_neighbours.py", *sys.argv[1:]])  # as save_results writes it
    sys.argv = [sys.argv[0], *rest, "--name", name]
    with neighbour_filters(opts.k):
        taxonomy_lexicon_ablation.main()
    # The ablation records its own command line; this file's is the one that reruns it.
    path = RESULTS_DIR / f"{name}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["command"] = command
    with atomic_open(path) as fh:
        fh.write(results_json(data))


if __name__ == "__main__":
    main()
