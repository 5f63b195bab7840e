"""A span filter for your own community, trained from your own labels (``taxonomy train-filter``).

The shipped filter learned what a value expression is from AITA labels; on values those labels
never covered it keeps far fewer of them (``benchmarks/train_span_filter.py --unseen-values``).
A researcher fixes that by labelling spans of their own rationales. A label names a span by
where it is, never by its text, so a label file holds no comment text::

    {"rationale_id": "j17", "start": 42, "end": 55, "is_value": true}

The spans to label are those a build found: every line of a build's ``expressions.jsonl`` has
these keys, so the lines you judged, each with ``is_value`` added, are a labels file. Open words the filter did not admit leave no line there; a build
with ``--open-threshold 0`` admits and lists them all.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.io import iter_raw_rows
from moralgap.records import Expression

from .span_filter import SpanFilter, is_open_word, offered_to_filter


@dataclass(frozen=True)
class SpanLabel:
    rationale_id: str
    start: int
    end: int
    is_value: bool
    line: int = 0

    @property
    def key(self) -> tuple[str, int, int]:
        return self.rationale_id, self.start, self.end


def _offset(path, line: int, row: dict, name: str) -> int:
    v = row.get(name)
    # CSV cells arrive as text; bool is an int to Python but never an offset.
    if isinstance(v, str) and v.strip().isdigit():
        v = int(v)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise InputError(path, f"a character offset (an integer >= 0) is needed, got {v!r}", line=line, field=name)
    return v


def _flag(path, line: int, row: dict) -> bool:
    v = row.get("is_value")
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    if not isinstance(v, bool):
        raise InputError(path, f"true or false is needed, got {v!r}", line=line, field="is_value")
    return v


def read_span_labels(path: str | os.PathLike) -> list[SpanLabel]:
    """The labels in a JSONL or CSV file; a bad line stops the read with its line and field."""
    labels: list[SpanLabel] = []
    first_line: dict[tuple, int] = {}
    for line, row in iter_raw_rows(path):
        if isinstance(row, InputError):
            raise row
        rid = row.get("rationale_id")
        if not isinstance(rid, str) or not rid:
            raise InputError(path, f"a rationale id (text) is needed, got {rid!r}", line=line, field="rationale_id")
        start, end = _offset(path, line, row, "start"), _offset(path, line, row, "end")
        if end <= start:
            raise InputError(path, f"end ({end}) must be after start ({start})", line=line, field="end")
        label = SpanLabel(rid, start, end, _flag(path, line, row), line)
        if label.key in first_line:
            # Two answers for one span would train on whichever came last without anyone knowing.
            raise InputError(path, f"this span is labelled already on line {first_line[label.key]}", line=line,
                             field="start")
        first_line[label.key] = line
        labels.append(label)
    if not labels:
        raise InputError(path, "no labels in the file")
    return labels


@dataclass
class MatchedLabels:
    """The labelled spans the filter can learn from, and what became of the other labels."""

    spans: list[Expression]
    labels: list[bool]
    # Labels on spans the rules already set apart ("asshole" as a verdict): the filter never
    # judges those, so it does not learn from them either.
    set_apart: int = 0
    # Labels at offsets where the extractor finds no span (labelled under another extractor or
    # spaCy model), as lines of the labels file.
    unmatched: list[int] = field(default_factory=list)
    by_reason: Counter = field(default_factory=Counter)


def check_rationales(labels: Sequence[SpanLabel], texts: dict[str, str], *, source=None, hint: str = "") -> None:
    """Every label's rationale is among ``texts``; else the first label that is not, with ``hint``
    (what may have dropped it) after the message."""
    missing = next((lab for lab in labels if lab.rationale_id not in texts), None)
    if missing is not None:
        raise InputError(source, f"rationale {missing.rationale_id!r} is not among the judgments given{hint}",
                         line=missing.line, field="rationale_id")


def match_labels(labels: Sequence[SpanLabel], texts: dict[str, str], extractor, *, source=None) -> MatchedLabels:
    """Find each label's span among what ``extractor`` finds in ``texts`` (rationale id -> text)."""
    check_rationales(labels, texts, source=source)
    wanted = {lab.key: lab for lab in labels}
    ids = sorted({lab.rationale_id for lab in labels})
    found = extractor.extract_texts([(rid, texts[rid]) for rid in ids], desc="extracting labelled rationales")
    out = MatchedLabels(spans=[], labels=[])
    seen: set[tuple] = set()
    for e in found:
        lab = wanted.get((e.rationale_id, e.start, e.end))
        if lab is None or lab.key in seen:
            continue
        seen.add(lab.key)
        if offered_to_filter(e):
            out.spans.append(e)
            out.labels.append(lab.is_value)
        else:
            out.set_apart += 1
            out.by_reason[e.excluded] += 1
    out.unmatched = sorted(lab.line for lab in labels if lab.key not in seen)
    return out


def train_span_filter(matched: MatchedLabels, embedder, *, threshold: float, open_threshold: float,
                      random_state: int, source=None, vectors: np.ndarray | None = None) -> SpanFilter:
    """A :class:`SpanFilter` fitted on the matched labels, with both cuts set (``vectors``: the
    spans' :meth:`SpanFilter.vectors`, when the caller embedded them already)."""
    if not matched.spans:
        raise InputError(source, "no label falls on a span the extractor finds: take the offsets from a build's "
                                 "expressions.jsonl, built with the same spaCy model")
    if all(matched.labels) or not any(matched.labels):
        kind = "value" if all(matched.labels) else "not-a-value"
        raise InputError(source, f"every usable label is {kind}: the filter needs spans of both kinds", field="is_value")
    f = SpanFilter(threshold=threshold, open_threshold=open_threshold, random_state=random_state)
    return f.fit(matched.spans, matched.labels, embedder, vectors=vectors)


CV_FOLDS = 5


def cross_validate(matched: MatchedLabels, embedder, *, threshold: float, open_threshold: float,
                   random_state: int, folds: int = CV_FOLDS, vectors: np.ndarray | None = None) -> dict:
    """How well a filter trained on these labels judges spans it never saw: ``folds``-fold
    cross-validation with folds grouped by rationale (a rationale's spans are never split between
    training and test) and, as far as that allows, holding each kind of label in the same share
    (a few hundred labels split at random can leave a fold with few of one kind), each fold's
    filter trained as :func:`train_span_filter` trains one.

    Returns, for the spans the rules found and for open words apart, how many were labelled,
    how many of them are values, how many the fold filters kept, and the precision and recall of
    what they kept; for rule-found spans also the precision without any filter (the rules keep
    them all), so a researcher sees whether the filter earns its place. ``{"skipped": why}``
    when the labels are too few to split (fewer rationales than folds, fewer labels of a kind
    than folds, or a training fold with labels of one kind only). ``vectors`` as for
    :func:`train_span_filter`.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    spans, y = matched.spans, np.asarray(matched.labels, dtype=bool)
    groups = [e.rationale_id for e in spans]
    if len(set(groups)) < folds:
        return {"skipped": f"labels on {len(set(groups))} rationales; {folds}-fold cross-validation needs {folds}"}
    fewest = min(int(y.sum()), int((~y).sum()))
    if fewest < folds:
        kind = "value" if y.sum() == fewest else "not-a-value"
        return {"skipped": f"{fewest} {kind} labels; {folds}-fold cross-validation needs {folds} of each kind"}
    if vectors is None:
        vectors = SpanFilter.vectors(spans, embedder)
    kept = np.zeros(len(spans), dtype=bool)
    for train, test in StratifiedGroupKFold(folds).split(vectors, y, groups):
        if y[train].all() or not y[train].any():
            return {"skipped": "a training fold holds labels of one kind only: label more spans of the other kind"}
        f = SpanFilter(threshold=threshold, open_threshold=open_threshold, random_state=random_state)
        f.fit([spans[i] for i in train], y[train], embedder, vectors=vectors[train])
        kept[test] = f.kept([spans[i] for i in test], vectors[test])
    opened = np.array([is_open_word(e) for e in spans], dtype=bool)
    out = {"folds": folds}
    for kind, m in (("rule_found", ~opened), ("open_words", opened)):
        k = kept & m
        row = {"labelled": int(m.sum()), "values": int((y & m).sum()), "kept": int(k.sum()),
               "precision": round(float(y[k].mean()), 3) if k.any() else None,
               "recall": round(float((y & k).sum() / (y & m).sum()), 3) if (y & m).any() else None}
        if kind == "rule_found":
            row["precision_without_filter"] = round(float(y[m].mean()), 3) if m.any() else None
        out[kind] = row
    return out


def describe_cross_validation(cv: dict) -> str:
    """One line a researcher reads after training: what the held-out folds say."""
    if "skipped" in cv:
        return f"not cross-validated: {cv['skipped']}"

    def kept(row: dict, verb: str, what: str, beside: str = "") -> str:
        if not row["kept"]:
            return f"of {row['labelled']} labelled {what}, it {verb} none ({row['values']} of them values)"
        recall = "" if row["recall"] is None else f", and {row['recall']:.0%} of the {row['values']} values"
        return f"of {row['labelled']} labelled {what}, it {verb} {row['kept']}, {row['precision']:.0%} of them values{beside}{recall}"

    r, o = cv["rule_found"], cv["open_words"]
    alone = r["precision_without_filter"]
    line = f"{cv['folds']}-fold cross-validation by rationale: " + kept(
        r, "kept", "spans the rules found", "" if alone is None else f" (the rules alone: {alone:.0%})")
    if o["labelled"]:
        line += "; " + kept(o, "admitted", "open words")
    return line
