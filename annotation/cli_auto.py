"""``moralgap annotate auto | train | next | lexicon``: automatic value annotation."""
from __future__ import annotations

from pathlib import Path

import click

from moralgap.cli_options import report_read, seed_option, skip_invalid_option
from moralgap.errors import InputError
from moralgap.manifest import Manifest, manifest_path_for
from moralgap.scale.engine import engine_options

# Rationales per progress update on one machine: small enough that a slow machine shows movement
# every few seconds, large enough to keep embedding batches full.
LOCAL_STEP = 250
# On Ray each chunk is one job whose actors load their models first; larger chunks pay that once.
RAY_CHUNK = 50_000

_taxonomy_option = click.option("--taxonomy", "taxonomy", required=True, type=click.Path(),
                                help="Taxonomy folder or taxonomy.json.")


def _judgments(path: str, skip_invalid: bool, manifest: Manifest):
    from moralgap.datasets import load_judgments

    result = load_judgments(path, skip_invalid=skip_invalid)
    report_read(result, path, "judgments")
    manifest.add_input(path, "judgments")
    with_text = [j for j in result.records if (j.rationale or "").strip()]
    manifest.count(judgments=len(result.records), with_rationale=len(with_text), skipped_invalid=len(result.skipped))
    return with_text


class _LazyJudgments:
    """The judgments with a rationale, read again each time they are iterated, never held.

    ``annotate auto --engine ray`` reads its input this way, so the driver's memory does not grow
    with the corpus: a first pass checks every record (a bad one stops the command before any
    work, as when reading it whole) and counts them; the annotation pass reads them again.
    """

    def __init__(self, path: str, skip_invalid: bool, manifest: Manifest):
        from moralgap.io import CountedRead

        self.path, self.skip_invalid = path, skip_invalid
        result = CountedRead()
        n = self.n = 0
        for j in self._read(result):
            n += 1
            self.n += bool((j.rationale or "").strip())
        result.n_read = n
        report_read(result, path, "judgments")
        manifest.add_input(path, "judgments")
        manifest.count(judgments=n, with_rationale=self.n, skipped_invalid=len(result.skipped))

    def _read(self, result):
        from moralgap.datasets import iter_judgments

        return iter_judgments(self.path, result, skip_invalid=self.skip_invalid)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        from moralgap.io import ReadResult

        return (j for j in self._read(ReadResult()) if (j.rationale or "").strip())


def _folder(taxonomy: str, manifest: Manifest):
    from moralgap.taxonomy_file import taxonomy_path
    from moralgap.taxonomy.folder import TaxonomyFolder

    manifest.add_input(taxonomy_path(taxonomy), "taxonomy")
    folder = TaxonomyFolder.load(taxonomy)
    manifest.set_params(taxonomy_name=folder.taxonomy.name, taxonomy_version=folder.taxonomy.version)
    return folder


class _Scorer:
    """The trained classifier when a model is given, else the zero-shot annotator."""

    def __init__(self, folder, model: str | None, expressions: bool, seed: int, manifest: Manifest, engine=None):
        self.folder = folder
        on_ray = engine is not None and engine.name != "local"
        if model:
            from moralgap.annotation.classifier import MODEL_FILE, ValueClassifier

            manifest.add_input(Path(model) / MODEL_FILE, "model")
            self.clf = ValueClassifier.load(model, folder.taxonomy)
            if on_ray:  # same encoder, same cache; the texts are embedded on Ray
                self.clf._embedder = engine.embedder(self.clf.embedder.model_path)
            self.zs = None
            self.value_ids, self.thresholds = self.clf.value_ids, self.clf.thresholds
            self.embedder = self.clf.embedder
            manifest.add_model("annotator", f"classifier:{model}", fingerprint=self.embedder.fingerprint)
        else:
            from moralgap.annotation.auto import ZeroShotAnnotator

            self.clf = None
            parts = {"extractor": None if expressions else False}
            if on_ray:
                from moralgap.taxonomy.space import EmbeddingSpace

                parts = {"space": EmbeddingSpace.of(folder, factory=engine.embedder),
                         "extractor": engine.extractor() if expressions else False}
            self.zs = ZeroShotAnnotator(folder, seed=seed, **parts).fit()
            self.value_ids, self.thresholds = self.zs.value_ids, self.zs.thresholds
            self.embedder = self.zs.embedder
            manifest.add_model("annotator", "zero-shot", embedding=self.embedder.model_name,
                               fingerprint=self.embedder.fingerprint, expressions=expressions)

    def scores(self, judgments):
        if self.clf is not None:
            return [j.id for j in judgments], self.clf.predict_scores([j.rationale for j in judgments])
        return self.zs.score_judgments(judgments)

    def annotations(self, ids, scores):
        if self.clf is not None:
            from moralgap.annotation.classifier import annotations_from_scores

            return annotations_from_scores(ids, scores, self.thresholds, self.value_ids, source="classifier",
                                           taxonomy_version=self.folder.taxonomy.version, keep_scores=0.05)
        return self.zs.annotations(ids, scores)


@click.command("auto")
@click.argument("judgments", type=click.Path())
@_taxonomy_option
@click.option("--out", required=True, type=click.Path(),
              help="values.jsonl to write, or a folder (no suffix) of JSONL shards; resumes if present.")
@click.option("--model", default=None, type=click.Path(file_okay=False),
              help="A model from 'annotate train'; without it the annotation is zero-shot.")
@click.option("--calibrate", "labels", default=None, type=click.Path(dir_okay=False),
              help="Human labels (JSONL) to tune the zero-shot thresholds on.")
@click.option("--expressions/--no-expressions", default=True, show_default=True,
              help="Zero-shot: a value expression that 'annotate expressions' codes to a value also gives it, not only the whole rationale's score.")
@click.option("--decision", type=click.Choice(["tuned", "expected-f1"]), default="tuned", show_default=True,
              help="With --model: 'tuned' applies the model's thresholds to each rationale alone; 'expected-f1' "
                   "scores the whole file first and sets each value's cut to maximise its expected F1 over it.")
@engine_options
@seed_option
@skip_invalid_option
def auto_command(judgments, taxonomy, out, model, labels, expressions, decision, seed, skip_invalid,
                 engine="local", ray_address=None, ray_workers=None):
    """Annotate every rationale in JUDGMENTS with values, zero-shot or with a trained model."""
    from moralgap.scale import make_engine
    from moralgap.scale.batches import batches
    from moralgap.scale.datasets import open_keyed_output

    if decision != "tuned" and not model:
        raise click.UsageError("--decision expected-f1 needs a trained --model (its calibration)")
    if labels and model:
        raise click.UsageError("--calibrate tunes zero-shot thresholds; a trained --model has its own")
    manifest = Manifest("annotate auto", seed=seed, params={"model": model, "calibrate": labels, "expressions": expressions,
                                                            "decision": decision})
    # On Ray with the model's own cuts, rationale by rationale, nothing needs the whole corpus at
    # once: it is streamed (issue 17). Calibration and expected-F1 cuts read it whole.
    streamed = engine != "local" and decision == "tuned" and not labels
    items = _LazyJudgments(judgments, skip_invalid, manifest) if streamed else _judgments(judgments, skip_invalid, manifest)
    folder = _folder(taxonomy, manifest)
    eng = make_engine(engine, address=ray_address, workers=ray_workers)
    click.echo(f"loading the {'trained' if model else 'zero-shot'} annotator for {len(items)} rationales "
               f"({'model ' + str(model) if model else 'prototypes and thresholds from the taxonomy'})", err=True)
    scorer = _Scorer(folder, model, expressions, seed, manifest, engine=eng)
    chunk = LOCAL_STEP if eng.name == "local" else RAY_CHUNK
    if labels:
        from moralgap.annotation.labelled import read_labelled

        texts = {j.id: j.rationale for j in items}
        labelled = read_labelled(labels, folder.taxonomy, texts=texts, skip_invalid=skip_invalid)
        manifest.add_input(labels, "labels")
        _, lab_scores = scorer.zs.score_judgments(
            [_as_judgment(i, t) for i, t in zip(labelled.ids, labelled.texts)])
        rep = scorer.zs.calibrate(lab_scores, labelled.labels)
        scorer.thresholds = scorer.zs.thresholds
        click.echo(f"thresholds tuned on {len(labelled)} labelled rationales: macro-F1 {rep['macro_f1']:.3f} on them", err=True)
    with open_keyed_output(out, "rationale_id") as sink:
        _check_resume(out, sink, folder.taxonomy.version)
        # Ids are unique, so what this run writes never hides a rationale still to come.
        done = sink.done
        already = sum(1 for j in items if j.id in done) if not streamed else min(len(done), len(items))
        if already:
            click.echo(f"resuming: {already} rationales already annotated in {out}", err=True)
        todo = (j for j in items if j.id not in done)
        n_values = annotated = 0
        with manifest.timed("annotate"):
            if decision == "tuned":
                from moralgap.progress import progress

                with progress(total=len(items) - already, desc="annotating", unit="rationale") as bar:
                    for part in batches(todo, chunk):
                        n_values += _write(sink, scorer, *scorer.scores(part))
                        annotated += len(part)
                        bar.update(len(part))
            else:
                # The cuts depend on the whole file, so every rationale is scored again on a
                # resume (the embedding cache makes that cheap) and the cuts come out the same.
                import numpy as np

                ids, scores = scorer.scores(items)
                scorer.thresholds = scorer.clf.decision_thresholds(scores, decision)
                pending = np.array([i not in done for i in ids], dtype=bool)
                annotated = int(pending.sum())
                n_values += _write(sink, scorer, [i for i, p in zip(ids, pending) if p], scores[pending])
    manifest.set_engine(eng.describe())
    eng.close()
    manifest.count(annotated=annotated, values_assigned=n_values)
    manifest.set_params(thresholds={v: round(float(t), 4) for v, t in zip(scorer.value_ids, scorer.thresholds)})
    manifest.add_output(out)
    manifest.write(manifest_path_for(out))
    click.echo(f"wrote {annotated} annotations ({n_values} values) to {out}", err=True)


def _write(sink, scorer, ids, scores) -> int:
    n_values = 0
    for ann in scorer.annotations(ids, scores):
        sink.write(ann)
        n_values += len(ann.value_ids)
    return n_values


def _as_judgment(rid: str, text: str):
    from moralgap.records import Judgment

    return Judgment(id=rid, dilemma_id="-", rationale=text)


def _check_resume(out: str, sink, version: int) -> None:
    """A resumed file must come from the same taxonomy version, or the output would mix two."""
    if not sink.done:
        return
    from moralgap.scale.datasets import first_record

    first = first_record(out) or {}
    if first.get("taxonomy_version") != version:
        raise InputError(out, f"holds annotations for taxonomy v{first.get('taxonomy_version')}, not v{version}: "
                              "write to a new file", line=1, field="taxonomy_version")


@click.command("train")
@click.argument("labels", type=click.Path(dir_okay=False))
@_taxonomy_option
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Model folder to write.")
@click.option("--judgments", default=None, type=click.Path(dir_okay=False),
              help="Judgments JSONL giving the texts of label rows that carry only a rationale_id.")
@click.option("--tfidf/--no-tfidf", default=True, show_default=True, help="Add TF-IDF n-gram features.")
@click.option("--finetune-epochs", default=0, show_default=True, type=click.IntRange(0, 50),
              help="Fine-tune the encoder's top layers for this many epochs (0: frozen encoder).")
@click.option("--finetune-layers", default=6, show_default=True, type=click.IntRange(1, 48),
              help="How many of the encoder's top layers to tune (6: all of MiniLM's).")
@click.option("--cv", default=5, show_default=True, type=click.IntRange(2, 20), help="Folds for threshold tuning.")
@click.option("--embedding-model", default=None, help="Sentence encoder (default all-MiniLM-L6-v2, offline).")
@seed_option
@skip_invalid_option
def train_command(labels, taxonomy, out, judgments, tfidf, finetune_epochs, finetune_layers, cv, embedding_model,
                  seed, skip_invalid):
    """Learn a value classifier from human LABELS (Label Studio pull, or JSONL of text and value_ids)."""
    from moralgap.annotation.classifier import ClassifierSettings, ValueClassifier
    from moralgap.annotation.labelled import read_labelled
    from moralgap.io import write_json

    settings = ClassifierSettings(embedding_model=embedding_model, use_tfidf=tfidf, cv=cv, seed=seed,
                                  finetune_epochs=finetune_epochs, finetune_layers=finetune_layers)
    manifest = Manifest("annotate train", seed=seed, params=settings.as_dict())
    folder = _folder(taxonomy, manifest)
    texts = None
    if judgments:
        texts = {j.id: j.rationale for j in _judgments(judgments, skip_invalid, manifest)}
    skipped: list = []
    labelled = read_labelled(labels, folder.taxonomy, texts=texts, skip_invalid=skip_invalid, skipped=skipped)
    for err in skipped[:20]:
        click.echo(f"  skipped {err}", err=True)
    manifest.add_input(labels, "labels")
    manifest.count(labelled_rationales=len(labelled), skipped_labels=len(skipped),
                   positives={v: int(labelled.labels[:, j].sum()) for j, v in enumerate(labelled.value_ids)})
    clf = ValueClassifier.for_taxonomy(folder.taxonomy, settings)
    with manifest.timed("fit"):
        clf.fit(labelled.texts, labelled.labels)
    clf.save(out)
    write_json(Path(out) / "report.json", clf.report)
    manifest.add_model("encoder", clf.embedder.model_name, fingerprint=clf.embedder.fingerprint)
    manifest.count(macro_f1=clf.report["macro_f1"], micro_f1=clf.report["micro_f1"])
    manifest.add_output(out)
    manifest.write(manifest_path_for(out))
    names = {v.id: v.name for v in folder.taxonomy.values}
    click.echo(f"per-value scores ({clf.report['tuned_on']}, {len(labelled)} rationales):")
    click.echo(f"{'value':<32} {'support':>7} {'P':>6} {'R':>6} {'F1':>6} {'thr':>6}")
    for row in clf.report["values"]:
        click.echo(f"{names.get(row['value_id'], row['value_id'])[:32]:<32} {row['support']:>7} {row['precision']:>6.3f} "
                   f"{row['recall']:>6.3f} {row['f1']:>6.3f} {_shown(row['threshold']):>6}")
    click.echo(f"macro-F1 {clf.report['macro_f1']:.3f}  micro-F1 {clf.report['micro_f1']:.3f}  -> model in {out}")


def _shown(threshold) -> str:
    return "never" if threshold is None else f"{threshold:.3f}"


@click.command("next")
@click.argument("judgments", type=click.Path(dir_okay=False))
@_taxonomy_option
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Judgments JSONL to push to Label Studio.")
@click.option("--n", "n", default=50, show_default=True, type=click.IntRange(1), help="How many rationales.")
@click.option("--model", default=None, type=click.Path(file_okay=False), help="A trained model (else zero-shot scores).")
@click.option("--labeled", "labeled", multiple=True, type=click.Path(dir_okay=False),
              help="JSONL files whose rationale_id (or id) rows are already labelled and must not be chosen again.")
@click.option("--pool-factor", default=5, show_default=True, type=click.IntRange(1),
              help="Diversity is sought among the N x this most uncertain rationales.")
@click.option("--expressions/--no-expressions", default=False, show_default=True,
              help="Zero-shot: also score spaCy value expressions (slower).")
@seed_option
@skip_invalid_option
def next_command(judgments, taxonomy, out, n, model, labeled, pool_factor, expressions, seed, skip_invalid):
    """Choose the next N rationales worth a person's time: uncertain and diverse."""
    from moralgap.annotation.active import select_next
    from moralgap.io import write_jsonl

    manifest = Manifest("annotate next", seed=seed, params={"n": n, "model": model, "pool_factor": pool_factor})
    items = _judgments(judgments, skip_invalid, manifest)
    done = _labelled_ids(labeled, manifest)
    items = [j for j in items if j.id not in done]
    if not items:
        raise InputError(judgments, "every rationale is already labelled: nothing left to choose")
    folder = _folder(taxonomy, manifest)
    scorer = _Scorer(folder, model, expressions, seed, manifest)
    ids, scores = scorer.scores(items)
    by_id = {j.id: j for j in items}
    chosen_items = [by_id[i] for i in ids]
    vectors = scorer.embedder.encode([j.rationale for j in chosen_items], desc="embedding rationales")
    picks = select_next(scores, scorer.thresholds, vectors, n, pool_factor=pool_factor, seed=seed)
    rows = []
    for rank, p in enumerate(picks, start=1):
        row = chosen_items[p.index].to_json_dict()
        row.update(next_rank=rank, next_uncertainty=round(p.uncertainty, 4))
        rows.append(row)
    write_jsonl(out, rows)
    manifest.count(candidates=len(items), already_labelled=len(done), chosen=len(rows))
    manifest.add_output(out)
    manifest.write(manifest_path_for(out))
    click.echo(f"wrote {len(rows)} rationales to label to {out}", err=True)


def _labelled_ids(paths, manifest: Manifest) -> set[str]:
    from moralgap.io import iter_raw_rows

    done: set[str] = set()
    for path in paths:
        manifest.add_input(path, "labeled")
        for line, row in iter_raw_rows(path):
            if isinstance(row, InputError):
                raise row
            rid = row.get("rationale_id", row.get("id"))
            if rid is None:
                raise InputError(path, "missing rationale id", line=line, field="rationale_id")
            done.add(str(rid))
    return done


@click.command("lexicon")
@click.argument("judgments", type=click.Path(dir_okay=False))
@click.option("--lexicon", "lexicon_path", required=True, type=click.Path(dir_okay=False),
              help="A LIWC .dic Moral Foundations dictionary (MFD, MFD 2.0) or the eMFD scoring CSV.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="values.jsonl to write.")
@click.option("--mapping", default=None, type=click.Path(dir_okay=False),
              help="JSON {lexicon category: value id(s)} to emit taxonomy values instead of foundations.")
@click.option("--taxonomy", "taxonomy", default=None, type=click.Path(), help="Taxonomy the mapping's ids belong to.")
@click.option("--min-hits", default=1, show_default=True, type=click.IntRange(1), help="Dictionary words needed per category.")
@skip_invalid_option
def lexicon_command(judgments, lexicon_path, out, mapping, taxonomy, min_hits, skip_invalid):
    """Baseline: annotate rationales with Moral Foundations from a dictionary file."""
    from moralgap.annotation.lexicon_baseline import LexiconAnnotator, load_lexicon, load_mapping
    from moralgap.io import write_jsonl

    manifest = Manifest("annotate lexicon", params={"min_hits": min_hits, "mapping": mapping})
    items = _judgments(judgments, skip_invalid, manifest)
    lex = load_lexicon(lexicon_path)
    manifest.add_input(lexicon_path, "lexicon")
    version, known, value_map = None, None, None
    if taxonomy:
        folder = _folder(taxonomy, manifest)
        version, known = folder.taxonomy.version, {v.id for v in folder.taxonomy.active_values()}
    if mapping:
        value_map = load_mapping(mapping, lex, known)
        manifest.add_input(mapping, "mapping")
    anns = LexiconAnnotator(lex, min_hits=min_hits, mapping=value_map, taxonomy_version=version).annotate(items)
    write_jsonl(out, anns)
    manifest.count(annotated=len(anns), with_value=sum(bool(a.value_ids) for a in anns))
    manifest.add_output(out)
    manifest.write(manifest_path_for(out))
    click.echo(f"wrote {len(anns)} lexicon annotations to {out} "
               f"({sum(bool(a.value_ids) for a in anns)} with at least one {lex.name} category)", err=True)


ANNOTATE_COMMANDS = [auto_command, train_command, next_command, lexicon_command]
