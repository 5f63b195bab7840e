"""``taxonomy build --engine ray`` with the driver's memory independent of the corpus.

The local engine holds every judgment and every expression as a record; at a million
rationales that is about 11 GB. Here the driver holds one window of rationales at a time and,
for the whole corpus, only what clustering needs per distinct form plus two int32 per
expression:

1. **Extract**: rationales are read lazily in windows of ``window`` and staged in Ray's object
   store; one Ray job extracts them all, the span filter judges them window by window, and each
   window's expressions go to a spill shard beside the output (:mod:`.spill`; a killed build
   reuses the windows it finished). The driver keeps a form table (form text -> int id, counts)
   and, per expression, its form id and its rationale's number.
2. **Embed**: every form the cache lacks is embedded in one Ray job, straight into the cache.
3. **Fit**: :func:`.bounded.fit_sample` draws the same forms as :func:`.bounded.fit_bounded` would;
   a second pass over the spill gathers what the fit reads per form (lexicon values, surface
   texts, the rationales it spans, its first mention), and ``fit_expressions`` clusters those
   forms with one expression standing for each.
4. **Assign** the other forms by the update rule, chunk by chunk, vectors from the cache.
5. **Write**: ``expressions.jsonl`` streams from the spill with each form's value.

Every number and every byte written is the one :func:`.bounded.fit_bounded` gives on the same
expressions and vectors (tests/scale/test_ray.py compares the two engines' outputs).
"""
from __future__ import annotations

import json
import logging
import os
from array import array
from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from types import SimpleNamespace
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from moralgap.errors import InputError
from moralgap.io import CountedRead, ReadResult
from moralgap.records import Expression, Judgment

from .batches import batches
from .bounded import assign_rest, check_sampleable, finish_sampled, fit_sample, new_record
from .spill import ExpressionSpill

if TYPE_CHECKING:  # imported where used: moralgap.taxonomy imports this package's engine
    from moralgap.taxonomy.span_filter import BelowCut

log = logging.getLogger(__name__)

# Rationales per spill shard: what a killed build can lose, and what the span filter holds at a
# time (about 5 expressions per rationale, as records). All windows go to Ray in one job.
DEFAULT_WINDOW = 10_000


def window_size() -> int:
    return int(os.environ.get("MORALGAP_RAY_WINDOW", DEFAULT_WINDOW))


@dataclass
class FormTable:
    """Per distinct form: its text and mentions; per expression: its form (-1: set apart) and rationale."""

    embed_text: str
    ids: dict[str, int] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    counts: array = field(default_factory=lambda: array("q"))
    form_of: array = field(default_factory=lambda: array("i"))
    rationale_of: array = field(default_factory=lambda: array("i"))
    excluded: Counter = field(default_factory=Counter)
    # Per rationale number: its dilemma, as a number into ``dilemmas``.
    dilemma_of: array = field(default_factory=lambda: array("i"))
    dilemmas: dict[str, int] = field(default_factory=dict)

    def add_rationales(self, judgments) -> None:
        for j in judgments:
            self.dilemma_of.append(self.dilemmas.setdefault(j.dilemma_id, len(self.dilemmas)))

    def add(self, e: Expression, rationale: int) -> None:
        from moralgap.taxonomy.build import embed_key

        self.rationale_of.append(rationale)
        if e.excluded:
            self.excluded[e.excluded] += 1
            self.form_of.append(-1)
            return
        k = embed_key(self.embed_text, e)
        i = self.ids.get(k)
        if i is None:
            i = self.ids[k] = len(self.keys)
            self.keys.append(k)
            self.counts.append(0)
        self.counts[i] += 1
        self.form_of.append(i)


@dataclass
class _FormFacts:
    """What ``_group`` would have collected for one fitted form, from a pass over the spill."""

    first: Expression
    lexicon: Counter = field(default_factory=Counter)
    surface: Counter = field(default_factory=Counter)
    rationales: array = field(default_factory=lambda: array("i"))


def extract_to_spill(builder, read: Callable[[ReadResult], Iterator[Judgment]], spill: ExpressionSpill,
                     result: CountedRead, *, window: int, below_cut: BelowCut) -> FormTable:
    """Step 1: every window extracted on Ray (or taken from the spill), the form table filled.

    a. The input is read once: the windows a killed run finished are taken from the spill as they
       come (they are always the first ones); the rest are staged in Ray's object store.
    b. One Ray job extracts every staged window (actors start and load spaCy once, not once per
       window); each window's expressions go to a raw shard as they stream back.
    c. Every span the filter will judge, over all windows, is embedded in one more job.
    d. Window by window, the span filter judges the raw shard (its vectors now in the cache) and
       the expressions go to the window's shard and into the form table, in input order; the open
       words it does not admit are counted in ``below_cut``, a window's counts kept beside its shard.
    """
    from moralgap.taxonomy.span_filter import BelowCut

    table = FormTable(builder.embed_text)
    extractor = builder.extractor
    todo: list[int] = []
    fresh: list[int] = []  # the windows staged for extraction (the others have a raw shard)
    refs: list = []
    n = staged = 0
    for w, judgments in enumerate(batches(read(result), window)):
        table.add_rationales(judgments)
        if not todo and spill.has(w):
            spill.reused += 1
            spill.drop_raw(w)
            number = {j.id: n + i for i, j in enumerate(judgments)}
            below_cut.merge(BelowCut.from_json(spill.read_below_cut(w)))
            for line in spill.read(w):
                e = Expression.model_validate_json(line)
                table.add(e, number[e.rationale_id])
        else:
            todo.append(w)
            if spill.has(w, raw=True):
                spill.reused += 1
            else:
                refs.extend(extractor.stage(w, n, judgments))
                fresh.append(w)
                staged += len(judgments)
        n += len(judgments)
        del judgments
    result.n_read = n
    _write_raw(spill, fresh, extractor.extract_staged(refs, staged))
    del refs
    _embed_filtered_spans(builder, spill, todo)
    filter_spans = getattr(builder, "filter_spans", None)
    for w in todo:
        number: dict[str, int] = {}
        expressions = []
        for line in spill.read(w, raw=True):
            k, js = line.split("\t", 1)
            e = Expression.model_validate_json(js)
            number[e.rationale_id] = int(k)
            expressions.append(e)
        mine = BelowCut()
        if filter_spans is not None:
            expressions = filter_spans(expressions, below_cut=mine)
        spill.write_below_cut(w, mine.to_json())
        below_cut.merge(mine)
        with spill.writing(w) as fh:
            for e in expressions:
                fh.write(e.model_dump_json(exclude_none=True) + "\n")
        spill.drop_raw(w)
        for e in expressions:
            table.add(e, number[e.rationale_id])
        del expressions, number
    return table


def _write_raw(spill: ExpressionSpill, windows: list[int], rows: Iterator[tuple[int, int, str]]) -> None:
    """Step 1b: the extraction job's output, a raw shard per window (empty for a window without any)."""
    pending = iter(windows)
    for w, group in groupby(rows, key=itemgetter(0)):
        for before in pending:
            if before == w:
                break
            with spill.writing(before, raw=True):
                pass
        else:
            raise RuntimeError(f"the extraction job returned window {w}, which was not sent")  # a bug, not bad input
        with spill.writing(w, raw=True) as fh:
            for _, number, js in group:
                fh.write(f"{number}\t{js}\n")
    for w in pending:
        with spill.writing(w, raw=True):
            pass


def _embed_filtered_spans(builder, spill: ExpressionSpill, windows: list[int]) -> None:
    """Step 1c: the texts the span filter will embed, all windows at once, so that judging a window
    starts no Ray job of its own."""
    texts_of = getattr(builder, "span_filter_texts", None)
    prefetch = getattr(builder.embedder, "prefetch", None)
    # Without a filter to judge them (--span-filter none), the raw shards need not be read here.
    if texts_of is None or prefetch is None or texts_of([]) is None:
        return
    texts: dict[str, None] = {}
    for w in windows:
        expressions = [Expression.model_validate_json(line.split("\t", 1)[1]) for line in spill.read(w, raw=True)]
        texts.update(dict.fromkeys(texts_of(expressions)))
    if texts:
        prefetch(list(texts))


def _facts(spill: ExpressionSpill, table: FormTable, fitted: np.ndarray) -> dict[int, _FormFacts]:
    """Step 3's pass over the spill: the facts of the fitted forms, in mention order as ``_group`` sees them."""
    wanted = np.zeros(len(table.keys), dtype=bool)
    wanted[fitted] = True
    form_of, rationale_of = table.form_of, table.rationale_of
    facts: dict[int, _FormFacts] = {}
    for pos, line in enumerate(spill.lines()):
        f = form_of[pos]
        if f < 0 or not wanted[f]:
            continue
        d = json.loads(line)
        ff = facts.get(f)
        if ff is None:
            ff = facts[f] = _FormFacts(Expression.model_validate(d))
        if d.get("lexicon_value"):
            ff.lexicon[d["lexicon_value"]] += 1
        ff.surface[d["text"]] += 1
        ff.rationales.append(rationale_of[pos])
    return facts


def _distinct(table: FormTable, order: list[int], facts: dict[int, _FormFacts]):
    from moralgap.taxonomy.build import _Distinct, shown_text

    keys = [table.keys[i] for i in order]
    return _Distinct(
        keys=keys,
        norms=[facts[i].first.norm for i in order],
        counts=np.array([table.counts[i] for i in order], dtype=np.float64),
        lexicon=[facts[i].lexicon for i in order],
        surface=[shown_text(facts[i].surface, facts[i].first.norm) for i in order],
        index={k: n for n, k in enumerate(keys)},
        # Rationale numbers stand for ids: the fit only counts how many distinct ones a value spans.
        rationales=[np.unique(np.frombuffer(facts[i].rationales, dtype=np.int32)) for i in order],
        first=[facts[i].first for i in order],
    )


def _texts(read, ids: set[str]) -> dict[str, str]:
    """The rationales the namers quote (each fitted form's first mention), from a second read."""
    return {j.id: j.rationale for j in read(ReadResult()) if j.id in ids}


class SpilledExpressions:
    """``expressions.jsonl``'s records, streamed from the spill with each form's value."""

    def __init__(self, spill: ExpressionSpill, form_of: np.ndarray, value_of: np.ndarray, sim_of: np.ndarray,
                 value_ids: list[str]):
        self.spill, self.form_of, self.value_of, self.sim_of, self.value_ids = spill, form_of, value_of, sim_of, value_ids

    def __iter__(self) -> Iterator[Expression]:
        for pos, line in enumerate(self.spill.lines()):
            e = Expression.model_validate_json(line)
            f = self.form_of[pos]
            c = self.value_of[f] if f >= 0 else -1
            e.value_id, e.similarity = (self.value_ids[c], float(self.sim_of[f])) if c >= 0 else (None, None)
            yield e


def build_streaming(builder, read: Callable[[ReadResult], Iterator[Judgment]], spill: ExpressionSpill, *,
                    max_forms: int, window: int | None = None, timed=None, source=None):
    """Steps 1-5 (see the module docstring); returns ``(result, fit_record, read_result)``.

    ``read(result)`` returns a fresh iterator over the judgments each time it is called (it is
    called twice); ``timed(stage)`` is a context manager that times a stage (the manifest's).
    """
    from contextlib import nullcontext

    from moralgap.taxonomy.span_filter import BelowCut

    timed = timed or (lambda stage: nullcontext())
    read_result = CountedRead()
    below_cut = BelowCut()
    with timed("extract"):
        table = extract_to_spill(builder, read, spill, read_result, window=window or window_size(), below_cut=below_cut)
    if not read_result.n_read:
        raise InputError(source, "no usable judgments with rationales")
    n_forms = len(table.keys)
    n_all = len(table.form_of)
    if not n_forms:
        what = f" ({n_all} found, all set apart as not values)" if n_all else ""
        raise InputError(None, f"no value expressions were found in the rationales{what}", field="rationale")
    with timed("embed"):
        builder.embedder.prefetch(table.keys)
    with timed("embed_and_cluster"):
        result, record, value_of, sim_of, value_ids = _fit(builder, read, spill, table, max_forms)
    form_of = np.frombuffer(table.form_of, dtype=np.int32)
    rationale_of = np.frombuffer(table.rationale_of, dtype=np.int32)
    valued = form_of >= 0
    valued[valued] = value_of[form_of[valued]] >= 0
    # As BuildResult.add_coverage counts it, without a pass over the records.
    with_value = int(np.unique(rationale_of[valued]).size)
    result.stats.update(n_rationales=read_result.n_read, rationales_with_value=with_value,
                        rationale_coverage=round(with_value / read_result.n_read, 4))
    result.taxonomy.stats.update(result.stats)
    result.apply_topics(*_dilemma_spread(table, rationale_of[valued], form_of[valued], value_of, value_ids))
    result.add_below_cut(below_cut)
    result.folder.expressions = SpilledExpressions(spill, form_of, value_of, sim_of, value_ids)
    return result, record, read_result


def _dilemma_spread(table: FormTable, rationales: np.ndarray, forms: np.ndarray, value_of: np.ndarray,
                    value_ids: list[str]):
    """What ``BuildResult.flag_topics`` counts from the records, from the arrays of the assigned
    mentions: per value, its rationales per dilemma; every dilemma's rationales; and the form
    counts of ``taxonomy.topics.form_spread`` (a form here is the build's key, as there)."""
    dilemma_of = np.frombuffer(table.dilemma_of, dtype=np.int32)
    names = list(table.dilemmas)
    values = value_of[forms]

    def per_dilemma(groups: np.ndarray) -> Counter:
        # (group, dilemma) -> rationales, each rationale counted once per group.
        pairs = np.unique(groups.astype(np.int64) * (len(dilemma_of) + 1) + rationales)
        group, rationale = np.divmod(pairs, len(dilemma_of) + 1)
        return Counter(zip(group.tolist(), dilemma_of[rationale].tolist()))

    spread: dict[str, Counter] = {}
    for (v, d), n in per_dilemma(values).items():
        spread.setdefault(value_ids[v], Counter())[names[d]] = n
    by_form: dict[str, Counter] = {}
    for (f, d), n in per_dilemma(forms).items():
        by_form.setdefault(table.keys[f], Counter())[names[d]] = n
    mentions: dict[str, Counter] = {}
    pairs, counts = np.unique(values.astype(np.int64) * len(table.keys) + forms, return_counts=True)
    for (v, f), n in zip(zip(*np.divmod(pairs, len(table.keys))), counts.tolist()):
        mentions.setdefault(value_ids[int(v)], Counter())[table.keys[int(f)]] = n
    sizes = Counter({names[d]: int(n) for d, n in enumerate(np.bincount(dilemma_of, minlength=len(names))) if n})
    return spread, sizes, (mentions, by_form)


def _fit(builder, read, spill: ExpressionSpill, table: FormTable, max_forms: int):
    """Steps 3 and 4: the same fit and assignment as :func:`.bounded.fit_bounded`."""
    from moralgap.taxonomy.value_filter import excluded_stats

    n_forms = len(table.keys)
    order = sorted(range(n_forms), key=table.keys.__getitem__)
    counts = np.frombuffer(table.counts, dtype=np.int64)
    record = new_record(max_forms, n_forms, int(counts.sum()), builder.seed)
    sampled = max_forms is not None and n_forms > max_forms
    if sampled:
        check_sampleable(builder, n_forms, max_forms)
        picked = fit_sample([table.keys[i] for i in order], counts[order].astype(np.float64), max_forms, builder.seed)
        fit_order = [order[i] for i in picked.tolist()]
    else:
        fit_order = order
    facts = _facts(spill, table, np.asarray(fit_order, dtype=np.int64))
    d = _distinct(table, fit_order, facts)
    texts = _texts(read, {f.first.rationale_id for f in facts.values()})
    del facts
    mentions_fitted = int(d.counts.sum())
    result = builder.fit_expressions(d.first, texts=texts, distinct=d)
    # fit_expressions counted the one expression per form it was given; these are the mentions.
    st = result.taxonomy.stats
    fixes = {"n_expressions": mentions_fitted}
    if not sampled:
        fixes.update(excluded_stats(table.excluded))
    for stats in (st, result.stats):
        stats.update({k: v for k, v in fixes.items() if k in stats})
    for entry in result.taxonomy.lineage:
        if entry.op == "build" and "n_expressions" in (entry.args or {}):
            entry.args["n_expressions"] = mentions_fitted

    value_ids = [v.id for v in result.taxonomy.values]
    column = {vid: c for c, vid in enumerate(value_ids)}
    value_of = np.full(n_forms, -1, dtype=np.int32)
    sim_of = np.zeros(n_forms, dtype=np.float64)
    for f, e in zip(fit_order, result.expressions):
        if e.value_id is not None:
            value_of[f], sim_of[f] = column[e.value_id], e.similarity
    if not sampled:
        record.update(sampled=False, forms_fitted=n_forms, mentions_fitted=record["mentions_total"])
        return result, record, value_of, sim_of, value_ids

    in_fit = np.zeros(n_forms, dtype=bool)
    in_fit[fit_order] = True
    rest = [i for i in order if not in_fit[i]]
    rest_keys = [table.keys[i] for i in rest]
    # The update rule reads a stand-in's form only to match it against known forms, of which a
    # build has none (kept=[]); the vector, from the form's text, decides.
    stand_ins = [SimpleNamespace(norm=k, lexicon_value=None, rationale_id="") for k in rest_keys]
    assigned = assign_rest(builder, result.folder, rest_keys, stand_ins)
    del stand_ins
    n_rest_assigned = 0
    for i, k in zip(rest, rest_keys):
        vid, sim = assigned[k]
        if vid is not None:
            value_of[i], sim_of[i] = column[vid], sim
            n_rest_assigned += 1
    valued = value_of >= 0
    sizes = Counter({value_ids[c]: int(n) for c, n in enumerate(np.bincount(value_of[valued], weights=counts[valued],
                                                                              minlength=len(value_ids)))})
    finish_sampled(result, record, in_fit=[table.keys[i] for i in fit_order], mentions_fitted=mentions_fitted,
                   forms_assigned=n_rest_assigned, forms_rest=len(rest), sizes=sizes,
                   n_expressions=len(table.form_of), n_unvalued=int(counts[~valued].sum()), n_forms=n_forms)
    return result, record, value_of, sim_of, value_ids
