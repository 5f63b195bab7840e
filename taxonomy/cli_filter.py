"""``moralgap taxonomy train-filter``: a span filter from your own labels."""
from __future__ import annotations

from pathlib import Path

import click

from moralgap.cli_options import report_read, seed_option, verdict_map_option
from moralgap.manifest import Manifest, manifest_path_for
from moralgap.models import DEFAULT_EMBEDDING_MODEL


@click.command("train-filter")
@click.argument("judgments", type=click.Path(path_type=Path))
@click.argument("labels", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Filter file to write (JSON); build with --span-filter FILE.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Probability a span the rules found needs to count as a value expression (default: the shipped "
                   "filter's, 0.6).")
@click.option("--open-threshold", type=click.FloatRange(0.0, 1.0), default=None,
              help="Probability an open word (no rule or lexicon entry found it) needs (default: the shipped "
                   "filter's, 0.5).")
@click.option("--embedding-model", default=None, help="Embedding model the builds that use the filter will use (default all-MiniLM-L6-v2).")
@click.option("--spacy-model", default=None, help="spaCy pipeline the labelled spans were found with (default as in build).")
@seed_option
@verdict_map_option
def train_filter(judgments, labels, out, threshold, open_threshold, embedding_model, spacy_model, seed, verdict_map=None):
    """Train a span filter on LABELS of spans in the rationales of JUDGMENTS.

    LABELS is JSONL or CSV with rationale_id, start, end and is_value (true/false) per span: the
    lines of a build's expressions.jsonl you judged, each with is_value added, are one. The
    filter learns which spans are value expressions in your rationales, for values the shipped
    filter's labels never covered. Five-fold cross-validation, grouped by rationale, then says
    how precise it is on spans it never saw, beside the rules alone; the file keeps the figures.
    """
    from moralgap.datasets import load_judgments
    from moralgap.taxonomy.embed import Embedder
    from moralgap.taxonomy.extract import ValueExtractor
    from moralgap.verdicts import VerdictMap

    from .span_filter import SpanFilter, default_span_filter
    from .span_labels import (CV_FOLDS, check_rationales, cross_validate, describe_cross_validation, match_labels,
                              read_span_labels, train_span_filter)
    from .value_filter import OPEN_CANDIDATE

    # The cuts the shipped filter was trained with (train_span_filter.py chose them on our labels).
    shipped = default_span_filter()
    threshold = shipped.threshold if threshold is None else threshold
    open_threshold = shipped.open_threshold if open_threshold is None else open_threshold

    manifest = Manifest("taxonomy train-filter", seed=seed, params=dict(
        threshold=threshold, open_threshold=open_threshold, embedding_model=embedding_model, spacy_model=spacy_model,
        verdict_map=verdict_map))
    manifest.add_input(judgments, "judgments")
    manifest.add_input(labels, "labels")
    wanted = read_span_labels(labels)
    read = load_judgments(judgments, verdict_map=VerdictMap.parse_option(verdict_map), require_rationale=True)
    report_read(read, judgments)
    texts = {j.id: j.rationale for j in read.records}
    # Checked before the models load. The usual cause: a label on an INFO judgment, which builds
    # drop by default as well.
    check_rationales(wanted, texts, source=labels, hint=f" ({read.summary()}); --verdict-map (e.g. INFO=acceptable) "
                                                        "keeps dropped ones" if read.dropped else "")
    with manifest.timed("load_models"):
        extractor = ValueExtractor(spacy_model, open_words=True)
        embedder = Embedder(embedding_model)
    with manifest.timed("extract"):
        matched = match_labels(wanted, texts, extractor, source=labels)
    if matched.unmatched:
        lines = ", ".join(map(str, matched.unmatched[:5])) + (" ..." if len(matched.unmatched) > 5 else "")
        click.echo(f"{labels}: {len(matched.unmatched)} labels fall on no span the extractor finds (lines {lines}); "
                   "left out (labelled under another extractor or spaCy model?)", err=True)
    if matched.set_apart:
        reasons = ", ".join(f"{r} {n}" for r, n in matched.by_reason.most_common())
        click.echo(f"{labels}: {matched.set_apart} labels are on spans the rules set apart before the filter "
                   f"({reasons}); the filter never judges those, so it does not learn from them", err=True)
    # One encoding serves the filter and the cross-validation's folds.
    with manifest.timed("embed"):
        vectors = SpanFilter.vectors(matched.spans, embedder) if matched.spans else None
    with manifest.timed("fit"):
        f = train_span_filter(matched, embedder, threshold=threshold, open_threshold=open_threshold,
                              random_state=seed, source=labels, vectors=vectors)
    f.embedding_model = embedding_model or DEFAULT_EMBEDDING_MODEL
    f.trained_on["labels_file"] = Path(labels).name
    # A filter from a few hundred labels can do worse than no filter; the held-out folds say so
    # before any build uses it, and the file keeps what they said.
    click.echo(f"cross-validating: {CV_FOLDS} more filters, each without a fifth of the labelled rationales", err=True)
    with manifest.timed("cross_validate"):
        f.trained_on["cross_validated"] = cross_validate(matched, embedder, threshold=threshold,
                                                         open_threshold=open_threshold, random_state=seed,
                                                         vectors=vectors)
    f.save(out)
    n_values = sum(matched.labels)
    n_open = sum(e.excluded == OPEN_CANDIDATE for e in matched.spans)
    manifest.add_model("embedding", f.embedding_model, fingerprint=embedder.fingerprint)
    manifest.add_model("spacy", extractor.spacy_model)
    manifest.count(labels=len(wanted), trained_on=len(matched.spans), values=n_values, open_words=n_open,
                   set_apart=matched.set_apart, unmatched=len(matched.unmatched))
    manifest.add_output(out)
    manifest.write(manifest_path_for(out))
    rules = f.trained_on.get("rules") or []
    judged = [r for r in rules if not r.startswith("open_")]
    kinds = [r.removeprefix("open_") for r in rules if r.startswith("open_")]
    click.echo(f"{out}: trained on {len(matched.spans)} labelled spans ({n_values} value expressions, "
               f"{n_open} open words); it judges the spans of {', '.join(judged) or 'no rule'} and "
               + (f"open words ({', '.join(kinds)})" if kinds else "no open word")
               + " (each rule and each kind of open word needs 20 labelled spans: the other rules' spans are kept as "
               f"found, the other open words are not admitted); "
               f"build with: moralgap taxonomy build JUDGMENTS --out DIR --span-filter {out}")
    click.echo(describe_cross_validation(f.trained_on["cross_validated"]))


COMMANDS = [train_filter]
