"""Issue 5 benchmark: automatic value annotation vs the expert labels of Touché23-ValueEval.

    python benchmarks/touche23_annotate.py [--finetune-epochs 4] [--finetune-layers 6] [--no-aux] [--seed 13]
                                           [--skip-zero-shot] [--skip-frozen] [--out results.json]

The 20 value categories of ``value-categories.json`` become a moralgap taxonomy (one value per
category: the category name, its level-1 values as the definition, their example phrases as
exemplars). The text of an argument is "<Conclusion>. <Stance>: <Premise>". Every annotator
is scored on the validation split (1,896 arguments) with macro- and micro-F1 over the 20
categories; nothing is tuned on the validation split. Rows:

- all-ones: every category for every argument (the floor to beat);
- zero-shot: taxonomy only, thresholds from its exemplars (no labels at all);
- zero-shot + label thresholds: the same scores, thresholds tuned on the training labels;
- frozen: MiniLM embeddings + TF-IDF, logistic regressions, thresholds by 5-fold CV;
- fine-tuned: MiniLM's layers tuned on 85% of the training split, thresholds tuned on the
  other 15% (the ``moralgap annotate train --finetune-epochs`` path). Unless ``--no-aux``, the
  training split's 54 level-1 value labels (``level1-labels-training``) are auxiliary targets
  while tuning: finer supervision for the encoder, never predicted or scored.

Each trained model gets two more rows: the same scores decided by ``annotate auto --decision
expected-f1`` (probabilities calibrated on the held-out predictions, then per value the cut
that maximises the expected F1 over the batch being annotated), once over the whole
validation split and once over shuffled batches of 200. These cuts read the validation
texts' scores, as any annotation of a file does, but never their labels.

Train time is wall time of ``fit`` with the models already on disk. Embeddings of the frozen
encoder are cached in ``$MORALGAP_CACHE_DIR`` (default: a fresh temporary folder, so the first
row pays for them); a fine-tuned encoder always embeds afresh. The machine's 2 cores may be
shared with other work, so wall times are upper bounds; ``train_cpu_s`` is the CPU time of the
fit over all threads (about twice the wall time two free cores would need).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time

import numpy as np
import pandas as pd

from _common import print_table, save_results, shared_data
from taxonomy_touche23 import load

DEFAULT_SEED = 13


def load_split(split: str):
    df, cats = load(split)
    texts = (df["Conclusion"].str.strip() + ". " + df["Stance"].str.strip() + ": " + df["Premise"].str.strip()).tolist()
    return df["Argument ID"].tolist(), texts, df[cats].to_numpy().astype(bool), cats


def level1_labels(split: str, ids: list[str]) -> np.ndarray:
    """The split's 54 level-1 value labels, rows in the order of ``ids``."""
    path = shared_data() / "valueeval" / "touche23" / f"level1-labels-{split}.tsv.gz"
    return pd.read_csv(path, sep="\t").set_index("Argument ID").loc[ids].to_numpy().astype(bool)


def build_taxonomy(cats: list[str]):
    from moralgap.records import Taxonomy, Value
    from moralgap.taxonomy.folder import TaxonomyFolder

    base = shared_data() / "valueeval" / "touche23"
    described = json.loads((base / "value-categories.json").read_text(encoding="utf-8"))
    values = []
    for cat in cats:
        level1 = described[cat]
        values.append(Value(
            id=re.sub(r"[^a-z]+", "-", cat.lower()).strip("-"),
            name=cat,
            definition="; ".join(level1),
            exemplars=[p for phrases in level1.values() for p in phrases],
            status="accepted",
        ))
    tax = Taxonomy(name="touche23-categories", version=1, values=values)
    return TaxonomyFolder(tax)


def scores_row(name: str, pred: np.ndarray, gold: np.ndarray, value_ids, seconds=None, thresholds=None) -> dict:
    from moralgap.annotation.thresholds import per_value_report

    rep = per_value_report(pred, gold, value_ids, np.full(len(value_ids), np.nan) if thresholds is None else thresholds)
    return {"annotator": name, "macro_f1": rep["macro_f1"], "micro_f1": rep["micro_f1"],
            "train_s": None if seconds is None else round(seconds, 1), "per_value": rep["values"]}


def expected_f1_decisions(clf, scores: np.ndarray, seed: int):
    """The ``--decision expected-f1`` predictions, over the whole split and over shuffled batches.

    The cuts read the scores of the batch being annotated, never its labels; batches of
    ``MIN_BATCH`` show what a smaller file gets.
    """
    from moralgap.annotation.expected_f1 import MIN_BATCH

    yield "the whole split", scores >= clf.decision_thresholds(scores, "expected-f1")
    order = np.random.default_rng(seed).permutation(len(scores))
    pred = np.zeros(scores.shape, dtype=bool)
    for start in range(0, len(order), MIN_BATCH):
        rows = order[start: start + MIN_BATCH]
        if len(rows) < MIN_BATCH:  # the last batch borrows rows so that it, too, gets cuts of its own
            rows = order[-MIN_BATCH:]
        pred[rows] = scores[rows] >= clf.decision_thresholds(scores[rows], "expected-f1")
    yield f"batches of {MIN_BATCH}", pred


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--finetune-epochs", type=int, default=4)
    ap.add_argument("--finetune-layers", type=int, default=6)
    ap.add_argument("--no-aux", action="store_true", help="fine-tune on the 20 categories only")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seeds the held-out slice, training order and batches")
    ap.add_argument("--skip-zero-shot", action="store_true")
    ap.add_argument("--skip-frozen", action="store_true")
    ap.add_argument("--expressions", action="store_true", help="zero-shot also scores spaCy value expressions")
    ap.add_argument("--out", default=None, help="write the full results (with per-value scores) as JSON")
    a = ap.parse_args()

    os.environ.setdefault("MORALGAP_CACHE_DIR", tempfile.mkdtemp(prefix="touche23-cache-"))
    from moralgap.annotation.auto import ZeroShotAnnotator
    from moralgap.annotation.classifier import ClassifierSettings, ValueClassifier
    from moralgap.records import Judgment
    from moralgap.taxonomy.embed import Embedder

    tr_ids, tr_text, tr_y, cats = load_split("training")
    va_ids, va_text, va_y, _ = load_split("validation")
    folder = build_taxonomy(cats)
    value_ids = [v.id for v in folder.taxonomy.values]
    embedder = Embedder()
    embedder.model  # load before any timing
    rows = [scores_row("all-ones", np.ones_like(va_y), va_y, value_ids)]

    if not a.skip_zero_shot:
        extractor = None if a.expressions else False
        t = time.perf_counter()
        zs = ZeroShotAnnotator(folder, embedder=embedder, extractor=extractor, seed=a.seed).fit()
        va_j = [Judgment(id=i, dilemma_id="touche23", verdict="acceptable", rationale=x) for i, x in zip(va_ids, va_text)]
        _, va_scores = zs.score_judgments(va_j)
        rows.append(scores_row("zero-shot" + (" + expressions" if a.expressions else ""),
                               va_scores >= zs.thresholds, va_y, value_ids, time.perf_counter() - t, zs.thresholds))
        tr_j = [Judgment(id=f"t{i}", dilemma_id="touche23", verdict="acceptable", rationale=x) for i, x in enumerate(tr_text)]
        _, tr_scores = zs.score_judgments(tr_j)
        zs.calibrate(tr_scores, tr_y)
        rows.append(scores_row("zero-shot + label thresholds", va_scores >= zs.thresholds, va_y, value_ids,
                               thresholds=zs.thresholds))

    configs = [] if a.skip_frozen else [("frozen MiniLM + TF-IDF", ClassifierSettings(seed=a.seed))]
    if a.finetune_epochs > 0:
        configs.append((f"fine-tuned top {a.finetune_layers} layers x {a.finetune_epochs} epochs"
                        + ("" if a.no_aux else ", level-1 labels auxiliary"),
                        ClassifierSettings(seed=a.seed, finetune_epochs=a.finetune_epochs,
                                           finetune_layers=a.finetune_layers)))
    for name, settings in configs:
        clf = ValueClassifier(value_ids, folder.taxonomy.name, folder.taxonomy.version, settings)
        if settings.finetune_epochs == 0:
            clf._embedder = embedder
        t, cpu = time.perf_counter(), time.process_time()
        aux = None if settings.finetune_epochs == 0 or a.no_aux else level1_labels("training", tr_ids)
        clf.fit(tr_text, tr_y, aux_labels=aux)
        seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
        va_scores = clf.predict_scores(va_text)
        row = scores_row(name, va_scores >= clf.thresholds, va_y, value_ids, seconds, clf.thresholds)
        # CPU seconds of this process over all its threads: on a shared machine, wall time
        # mostly measures the neighbours; CPU time / 2 is what two free cores would take.
        row["train_cpu_s"] = round(cpu, 1)
        row["train_tuned_on"] = clf.report.get("tuned_on")
        row["train_estimate_macro_f1"] = clf.report.get("macro_f1")
        rows.append(row)
        print(f"{name}: validation macro-F1 {row['macro_f1']:.3f}, micro-F1 {row['micro_f1']:.3f}, "
              f"fit {seconds:.0f} s wall, {cpu:.0f} s CPU", flush=True)
        for batch, pred in expected_f1_decisions(clf, va_scores, a.seed):
            row = scores_row(f"  same model, expected-F1 cuts over {batch}", pred, va_y, value_ids)
            rows.append(row)
            print(f"{row['annotator'].strip()}: validation macro-F1 {row['macro_f1']:.3f}, "
                  f"micro-F1 {row['micro_f1']:.3f}", flush=True)

    print()
    print_table(rows, ["annotator", "macro_f1", "micro_f1", "train_s", "train_cpu_s"], name="main")
    if a.out:
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump({"cpu_count": os.cpu_count(), "load_avg_end": os.getloadavg(), "rows": rows}, fh, indent=2)
    save_results()


if __name__ == "__main__":
    main()
