"""Train (and cross-validate) the learned span filter on the team's labels of real spans.

    python benchmarks/train_span_filter.py                          # write taxonomy/resources/value_span_filter.json
    python benchmarks/train_span_filter.py --hold-out-sample 2026 --out /tmp/filter_wo2026.json
    python benchmarks/train_span_filter.py --lexicon-free-copies --out /tmp/filter_copies.json   # an experiment
    python benchmarks/train_span_filter.py --unseen-values          # folds that hold out whole values

Spans are what the rule extractor finds; labels are the team's (value / not a value, read in
context; the guide is in docs/taxonomy.md), keyed by rationale id and character offsets, with no
text in the repository:

- ``aita_human``: the 767 real AITA top comments (../shared/data/aita_boraske/posts.jsonl.gz,
  rationale id = ``post_key``); labels in ``aita_expression_labels.jsonl`` (the evaluation samples
  of ``taxonomy_eval_aita.py``), ``aita_span_labels.jsonl`` (600 spans the rules keep, drawn at
  random), ``aita_span_labels_rest.jsonl`` (the 550 other spans the rules kept that the filter
  judges, labelled later) and ``aita_open_labels.jsonl`` (open words);
- ``aita_llm``: the distinct LLM rationales on those posts (llm_judgments.jsonl.gz, mostly
  gpt-4o; rationale id = first 16 hex digits of the SHA-1 of the rationale text); labels in
  ``aita_llm_span_labels.jsonl`` (600 spans the rules keep) and ``aita_llm_open_labels.jsonl``
  (open words);
- ``sample`` (never trained on, a check on writing unlike either): the bundled sample
  (data/sample/judgments.jsonl, rationale id = judgment id); labels in ``sample_span_labels.jsonl``.

When an extractor change moves a labelled span (a passive verb now reaching its subject, a
phrase now matched whole), the old label matches nothing; the span that took its place is
labelled anew and appended to the same source's files (the rest file for spans the rules keep),
so the training set does not shrink with each change. The old labels stay, for older builds.
``--list-moved FILE`` writes those spans to label, each with the label and text it replaces and
the file its new label belongs in (the file holds comment text: keep it out of the repository).

The filter only ever sees spans the rules kept, so it is trained and scored on those. Prints
five-fold cross-validated figures per source (folds grouped by rationale) at several thresholds:
of the rule-kept spans, how many the filter keeps, the share of those that are value expressions
(precision) and the share of value expressions it keeps (recall); then the same for the filter
trained on everything, scored on the bundled sample. ``--hold-out-sample SEED`` leaves out every
label of that evaluation sample of ``taxonomy_eval_aita.py``, so
``taxonomy_eval_aita.py --sample-seed SEED --span-filter OUT`` measures a filter that never saw it.
"""
from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np

from _common import REPO, print_table, read_jsonl_gz, save_results, shared_data

DATA = REPO / "benchmarks" / "data"
LABELS = {"aita_human": [DATA / "aita_expression_labels.jsonl", DATA / "aita_span_labels.jsonl",
                         DATA / "aita_span_labels_rest.jsonl", DATA / "aita_open_labels.jsonl"],
          "aita_llm": [DATA / "aita_llm_span_labels.jsonl", DATA / "aita_llm_open_labels.jsonl"],
          "sample": [DATA / "sample_span_labels.jsonl"]}
TRAIN_SOURCES = ("aita_human", "aita_llm")
# --unseen-values lists the lexicon values with at least this many labelled value spans.
UNSEEN_MIN = 10
DEFAULT_OUT = REPO / "taxonomy" / "resources" / "value_span_filter.json"
THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
# The cut for spans the rules found. The aim is a precision (85% of assigned expressions
# are value expressions in a fitting value), so the cut is chosen by the cross-validated F0.5
# (precision weighed twice as much as recall) over both sources' rule-found spans. F0.5 rises to
# a plateau, not a peak (0.803 at 0.5; 0.830, 0.832 and 0.823 at 0.6, 0.65 and 0.7), so the cut
# is the lowest one within PLATEAU of the best, which keeps the most recall: 0.6 (main() prints
# the rule's pick). The plateau is flat to within the noise of these figures: as labels were
# added the pick moved to 0.65 and back, and at a tolerance of 0.01 it would be 0.55 today. The
# cut was chosen once, by this rule, and is not moved with every relabelling.
RULE_THRESHOLD = 0.6
PLATEAU = 0.005


# Where the new label of a span that took a labelled one's place goes: spans the rules keep to
# the "labelled later" file, open words to the open-word file (see the module docstring).
RELABEL_FILES = {("aita_human", False): "aita_span_labels_rest.jsonl", ("aita_human", True): "aita_open_labels.jsonl",
                 ("aita_llm", False): "aita_llm_span_labels.jsonl", ("aita_llm", True): "aita_llm_open_labels.jsonl",
                 ("sample", False): "sample_span_labels.jsonl", ("sample", True): "sample_span_labels.jsonl"}


def read_labels(source: str) -> dict[tuple, bool]:
    out: dict[tuple, bool] = {}
    for path in LABELS[source]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                out[(r["rationale_id"], r["start"], r["end"])] = bool(r["is_value"])
    return out


def moved_spans(extractor, source: str) -> list[dict]:
    """Spans that took the place of labelled ones: the extractor no longer finds a labelled span,
    and finds an unlabelled one overlapping it. Each comes with the old label and its text."""
    from moralgap.taxonomy.value_filter import OPEN_CANDIDATE

    labels = read_labels(source)
    texts = dict(rationales(source))
    by_rationale: dict[str, list] = {}
    for e in extractor.extract_texts(list(texts.items())):
        by_rationale.setdefault(e.rationale_id, []).append(e)
    found = {(e.rationale_id, e.start, e.end) for spans in by_rationale.values() for e in spans}
    out, seen = [], set()
    for (rid, start, end), was_value in sorted(labels.items()):
        if (rid, start, end) in found or rid not in texts:
            continue
        for e in by_rationale.get(rid, ()):
            key = (rid, e.start, e.end)
            if e.start < end and start < e.end and key not in labels and key not in seen:
                seen.add(key)
                text = texts[rid]
                out.append({"source": source, "label_file": RELABEL_FILES[(source, e.excluded == OPEN_CANDIDATE)],
                            "rationale_id": rid, "start": e.start, "end": e.end, "span": e.text, "norm": e.norm,
                            "rule": e.rule, "excluded": e.excluded, "replaces": text[start:end], "replaced_is_value": was_value,
                            "context": text[max(0, e.start - 100):e.end + 100]})
    return out


def write_moved(extractor, path: Path) -> int:
    from moralgap.io import write_jsonl

    return write_jsonl(path, [r for source in LABELS for r in moved_spans(extractor, source)])


def rationales(source: str) -> list[tuple[str, str]]:
    if source == "aita_human":
        posts = read_jsonl_gz(shared_data() / "aita_boraske" / "posts.jsonl.gz")
        return [(p["post_key"], p["human_top_comment"]) for p in posts if (p.get("human_top_comment") or "").strip()]
    if source == "aita_llm":
        seen: dict[str, str] = {}
        for r in read_jsonl_gz(shared_data() / "aita_boraske" / "llm_judgments.jsonl.gz"):
            text = (r.get("rationale") or "").strip()
            if text:
                seen.setdefault(hashlib.sha1(text.encode()).hexdigest()[:16], text)
        return list(seen.items())
    rows = [json.loads(line) for line in (REPO / "data" / "sample" / "judgments.jsonl").read_text().splitlines() if line.strip()]
    return [(r["id"], r["rationale"]) for r in rows if (r.get("rationale") or "").strip()]


def labelled_spans(extractor, source: str, skip: set[tuple] = frozenset()):
    """The labelled spans the filter judges (rule-kept spans and open words), their labels, and
    every span found."""
    from moralgap.taxonomy.span_filter import offered_to_filter

    labels = read_labels(source)
    spans = extractor.extract_texts(rationales(source))
    picked = [e for e in spans if offered_to_filter(e) and (e.rationale_id, e.start, e.end) in labels
              and (e.rationale_id, e.start, e.end) not in skip]
    return picked, np.array([labels[(e.rationale_id, e.start, e.end)] for e in picked], dtype=bool), spans


def lexicon_free_copies(picked, y: np.ndarray, source: str, skip: set[tuple] = frozenset()):
    """Open-word copies of labelled lexicon spans: the same words as an extractor with an empty
    lexicon finds them, with the same label (``--lexicon-free-copies``, an experiment).

    A word the lexicon lists never reaches the filter as an open word, so the filter's open-word
    weights learn from plain words only and judge "loyalty" or "respect" harshly once a lexicon
    lacks them. A copy is made only where the open word means what the labelled span meant (its
    normal form is the span's meaning, less a "not"), so the label carries over.
    """
    import tempfile

    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.space import meaning_text
    from moralgap.taxonomy.span_filter import is_open_word
    from moralgap.taxonomy.value_filter import OPEN_CANDIDATE

    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty_lexicon.yaml"
        empty.write_text("values: {}\n", encoding="utf-8")
        found = ValueExtractor(lexicon_path=str(empty), open_words=True).extract_texts(rationales(source))
    labelled: dict[str, list] = {}
    for e, label in zip(picked, y):
        if not is_open_word(e):
            labelled.setdefault(e.rationale_id, []).append((e, bool(label)))
    have = {(e.rationale_id, e.start, e.end) for e in picked} | set(skip)
    copies, labels = [], []
    for o in found:
        if o.excluded != OPEN_CANDIDATE or (o.rationale_id, o.start, o.end) in have:
            continue
        for e, label in labelled.get(o.rationale_id, ()):
            if e.start <= o.start and o.end <= e.end and meaning_text(e.norm).removeprefix("not ") == o.norm:
                copies.append(o)
                labels.append(label)
                break
    return copies, np.array(labels, dtype=bool)


def held_out_keys(expressions, n: int, seed: int, n_open: int = 1000) -> set[tuple]:
    # The same draws as taxonomy_eval_aita.sample(): n of every span the rules found, kept or
    # set apart, and n_open of the open-word candidates.
    from taxonomy_eval_aita import sample

    return {(e.rationale_id, e.start, e.end) for e in sample(expressions, n, seed) + sample(expressions, n_open, seed, open_words=True)}


def scores(p: np.ndarray, y: np.ndarray, source: str) -> list[dict]:
    rows = []
    for th in THRESHOLDS:
        keep = p >= th
        precision = float(y[keep].mean()) if keep.any() else 0.0
        recall = float((y & keep).sum() / max(1, y.sum()))
        f_half = 1.25 * precision * recall / (0.25 * precision + recall) if precision + recall else 0.0
        rows.append({"source": source, "threshold": th, "kept": int(keep.sum()), "of": len(y),
                     "precision": round(precision, 3) if keep.any() else None, "recall": round(recall, 3),
                     "f0.5": round(f_half, 3), "rules_only_precision": round(float(y.mean()), 3)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--threshold", type=float, default=RULE_THRESHOLD, help="the cut for rule-found spans")
    ap.add_argument("--open-threshold", type=float, default=0.5,
                    help="the cut for open words (their labels over-draw likely words, so their figures choose no cut)")
    ap.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength")
    ap.add_argument("--hold-out-sample", type=int, default=None, metavar="SEED",
                    help="leave out the labels of taxonomy_eval_aita.py's sample with this seed")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--lexicon-free-copies", action="store_true",
                    help="also train on open-word copies of labelled lexicon spans (an experiment: "
                         "the figures stay those of the labelled spans; see lexicon_free_copies)")
    ap.add_argument("--unseen-values", action="store_true",
                    help="cross-validate with folds grouped by value (spans of values the filter never saw "
                         "labelled) against the usual folds, and stop without writing a filter")
    ap.add_argument("--list-moved", type=Path, default=None, metavar="FILE",
                    help="write the spans that took the place of labelled ones (to label anew) to FILE and stop")
    opts = ap.parse_args()
    if opts.unseen_values and opts.lexicon_free_copies:
        ap.error("--unseen-values scores the labelled spans as they are: leave out --lexicon-free-copies")
    if opts.lexicon_free_copies and opts.out == DEFAULT_OUT:
        ap.error("--lexicon-free-copies is an experiment: give --out FILE, the shipped filter stays as it is")

    from sklearn.metrics import roc_auc_score

    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.taxonomy.span_filter import SpanFilter

    if opts.list_moved is not None:
        n = write_moved(ValueExtractor(open_words=True), opts.list_moved)
        print(f"{n} spans took the place of labelled ones; wrote {opts.list_moved} (it holds comment text: "
              "keep it out of the repository)")
        return
    extractor, embedder = ValueExtractor(open_words=True), Embedder()
    human, y_human, all_human = labelled_spans(extractor, "aita_human")
    skip = held_out_keys(all_human, 300, opts.hold_out_sample) if opts.hold_out_sample is not None else set()
    if skip:
        keep = [(e.rationale_id, e.start, e.end) not in skip for e in human]
        human, y_human = [e for e, k in zip(human, keep) if k], y_human[np.array(keep)]
    llm, y_llm, _ = labelled_spans(extractor, "aita_llm")
    picked, y = human + llm, np.concatenate([y_human, y_llm])
    source = np.array(["aita_human"] * len(human) + ["aita_llm"] * len(llm))
    if opts.lexicon_free_copies:
        for name, spans, labels in (("aita_human", human, y_human), ("aita_llm", llm, y_llm)):
            copies, y_copies = lexicon_free_copies(spans, labels, name, skip)
            print(f"{name}: {len(copies)} lexicon-free copies, {int(y_copies.sum())} of them values")
            picked, y = picked + copies, np.concatenate([y, y_copies])
            # Copies only train: the figures below are over the labelled spans.
            source = np.concatenate([source, np.array([name + " (copy)"] * len(copies))])
    vectors = SpanFilter.vectors(picked, embedder)
    print(f"{len(picked)} labelled rule-kept spans ({len(human)} human, {len(llm)} LLM), "
          f"{int(y.sum())} value expressions ({y.mean():.1%})"
          + (f"; sample {opts.hold_out_sample} held out ({len(skip)} spans)" if skip else ""))

    if opts.unseen_values:
        unseen_values(picked, y, source, vectors, embedder, opts)
        return
    labelled = np.isin(source, TRAIN_SOURCES)
    rows, p = cross_validated(picked, y, source, vectors, embedder, opts)
    if opts.lexicon_free_copies:
        # The same folds without the copies, for comparison on the same labelled spans.
        idx = np.where(labelled)[0]
        base, _ = cross_validated([picked[i] for i in idx], y[idx], source[idx], vectors[idx], embedder, opts)
        rows = [{**r, "source": r["source"] + ", without copies"} for r in base] + rows
    auc = float(roc_auc_score(y[labelled], p[labelled]))
    print(f"cross-validated ROC AUC {auc:.3f}")
    suggested = plateau_cut([r for r in rows if r["source"] == "both sources (cv)"])
    print(f"cut for rule-found spans by the F0.5 plateau rule: {suggested} (trained with {opts.threshold})")

    final = SpanFilter(threshold=opts.threshold, open_threshold=opts.open_threshold, C=opts.C, random_state=opts.seed)
    final.fit(picked, y, embedder, vectors=vectors)
    final.embedding_model = "all-MiniLM-L6-v2"  # the default model; its folder is named "model"
    sample, y_sample, _ = labelled_spans(extractor, "sample")
    p_sample = final.proba_as_applied(sample, SpanFilter.vectors(sample, embedder))
    rows += scores(p_sample, y_sample, "sample (never trained on)")
    # The open-word rows are over a labelled set that over-draws likely words (half of it from
    # those an earlier filter scored 0.4 or more), so their precision is not a corpus rate; the
    # evaluation's open-word stratum is (taxonomy_eval_aita.py).
    name = "span_filter" + ("_lexicon_free_copies" if opts.lexicon_free_copies else "")
    print_table(rows, list(rows[0]), name=name + (f"_without{opts.hold_out_sample}" if skip else ""))

    final.trained_on.update({"labels": [p.name for s in TRAIN_SOURCES for p in LABELS[s]],
                             "held_out_sample": opts.hold_out_sample,
                             "cv_roc_auc": round(auc, 3)})
    final.save(opts.out)
    print(f"wrote {opts.out}")
    if not skip:
        save_results(name)


def plateau_cut(rows: list[dict]) -> float:
    """The lowest cut whose F0.5 is within ``PLATEAU`` of the best (see RULE_THRESHOLD)."""
    best = max(r["f0.5"] for r in rows)
    return min(r["threshold"] for r in rows if r["f0.5"] >= best - PLATEAU)


def cross_validated(picked, y: np.ndarray, source: np.ndarray, vectors: np.ndarray, embedder, opts,
                    groups: list[str] | None = None, tag: str = "cv"):
    """Five-fold figures per source (folds grouped by rationale, or by ``groups``) and the
    out-of-fold probabilities."""
    from sklearn.model_selection import GroupKFold

    from moralgap.taxonomy.span_filter import SpanFilter, is_open_word

    p = np.zeros(len(picked))
    groups = groups or [e.rationale_id for e in picked]
    for train, test in GroupKFold(5).split(vectors, y, groups):
        f = SpanFilter(C=opts.C, random_state=opts.seed)
        f.fit([picked[i] for i in train], y[train], embedder, vectors=vectors[train])
        p[test] = f.proba_as_applied([picked[i] for i in test], vectors[test])
    rows = []
    opened = np.array([is_open_word(e) for e in picked])
    for src in TRAIN_SOURCES:
        m = (source == src) & ~opened
        rows += scores(p[m], y[m], f"{src} ({tag})")
    # The cut for rule-found spans is chosen on these (RULE_THRESHOLD).
    m = np.isin(source, TRAIN_SOURCES) & ~opened
    rows += scores(p[m], y[m], f"both sources ({tag})")
    for src in TRAIN_SOURCES:
        m = (source == src) & opened
        rows += scores(p[m], y[m], f"{src} open words ({tag})")
    return rows, p


def value_groups(picked) -> list[str]:
    """A fold group per value, for ``--unseen-values``: the lexicon value a span carries, or for a
    span without one, the last word of its normal form, so that no word is seen in training
    under one value and judged under another ("boundary" and "firm boundary" fall together)."""
    return [e.lexicon_value or "word:" + (e.norm.split() or [""])[-1] for e in picked]


def unseen_values(picked, y: np.ndarray, source: np.ndarray, vectors: np.ndarray, embedder, opts) -> None:
    """``--unseen-values``: how the filter judges the spans of a value it never saw labelled, the
    situation of a community whose values the labels and lexicon do not cover (and of the lexicon
    ablation's retrained filters). The same five-fold cross-validation, grouped by value instead
    of by rationale, against the usual grouping, at the shipped cuts; then per lexicon value with
    at least ``UNSEEN_MIN`` labelled value spans, the share of them each grouping keeps."""
    from moralgap.taxonomy.span_filter import is_open_word

    by_rationale, p_rat = cross_validated(picked, y, source, vectors, embedder, opts)
    by_value, p_val = cross_validated(picked, y, source, vectors, embedder, opts,
                                      groups=value_groups(picked), tag="cv, value unseen")
    opened = np.array([is_open_word(e) for e in picked])
    cut = np.where(opened, opts.open_threshold, opts.threshold)
    wanted = {(f"both sources ({t})", opts.threshold) for t in ("cv", "cv, value unseen")}
    wanted |= {(f"{s} open words ({t})", opts.open_threshold) for s in TRAIN_SOURCES for t in ("cv", "cv, value unseen")}
    rows = [r for r in by_rationale + by_value if (r["source"], r["threshold"]) in wanted]
    print_table(rows, list(rows[0]), name="unseen_values")
    kept_rat, kept_val = (p_rat >= cut) & y, (p_val >= cut) & y
    per_value = []
    for value in sorted({e.lexicon_value for e in picked if e.lexicon_value}):
        m = np.array([e.lexicon_value == value for e in picked]) & y
        if m.sum() < UNSEEN_MIN:
            continue
        missed = Counter(picked[i].norm for i in np.where(m & ~kept_val)[0])
        per_value.append({"lexicon_value": value, "value_spans": int(m.sum()),
                          "kept_cv": round(float(kept_rat[m].mean()), 3),
                          "kept_value_unseen": round(float(kept_val[m].mean()), 3),
                          "missed_when_unseen": ", ".join(f for f, _ in missed.most_common(5))})
    per_value.sort(key=lambda r: (r["kept_value_unseen"], r["lexicon_value"]))
    print_table(per_value, list(per_value[0]), name="unseen_by_value")
    save_results("span_filter_unseen_values")


if __name__ == "__main__":
    main()
