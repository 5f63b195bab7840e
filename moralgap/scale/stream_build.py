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
   Under ``--embed-text context`` (``sentence``) a key is one rationale's (one mention's): its
   words go in one job and, from a second read, the rationales (sentences) in another.
3. **Fit**: :func:`.bounded.fit_sample` draws the same forms as :func:`.bounded.fit_bounded` would;
   a second pass over the spill gathers what the fit reads per form (lexicon values, surface
   texts, the rationales it spans, its first mention), and ``fit_expressions`` clusters those
   forms with one expression standing for each.
4. **Assign** the other forms by the update rule, chunk by chunk, vectors from the cache (under
   ``context`` and ``sentence``, window by window beside another read, for the rationales' texts).
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
from moralgap.taxonomy.space import embeds_context

from .batches import batches
from .bounded import assign_rest, finish_sampled, fit_sample, new_record
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
    # Per window, the position after its last expression: a window's mentions are a slice of the arrays.
    window_ends: list[int] = field(default_factory=list)

    def end_window(self) -> None:
        self.window_ends.append(len(self.form_of))

    def window_forms(self, w: int) -> list[int]:
        """The distinct forms window ``w``'s mentions count under, in order of first mention."""
        start = self.window_ends[w - 1] if w else 0
        return [f for f in dict.fromkeys(self.form_of[start:self.window_ends[w]]) if f >= 0]

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
            table.end_window()
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
        table.end_window()
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
    window = window or window_size()
    read_result = CountedRead()
    below_cut = BelowCut()
    with timed("extract"):
        table = extract_to_spill(builder, read, spill, read_result, window=window, below_cut=below_cut)
    if not read_result.n_read:
        raise InputError(source, "no usable judgments with rationales")
    n_forms = len(table.keys)
    n_all = len(table.form_of)
    if not n_forms:
        what = f" ({n_all} found, all set apart as not values)" if n_all else ""
        raise InputError(None, f"no value expressions were found in the rationales{what}", field="rationale")
    with timed("embed"):
        _embed_forms(builder, read, table, window)
    with timed("embed_and_cluster"):
        result, record, value_of, sim_of, value_ids = _fit(builder, read, spill, table, max_forms, window)
    form_of = np.frombuffer(table.form_of, dtype=np.int32)
    rationale_of = np.frombuffer(table.rationale_of, dtype=np.int32)
    valued = form_of >= 0
    valued[valued] = value_of[form_of[valued]] >= 0
    # As BuildResult.add_coverage counts it, without a pass over the records.
    with_value = int(np.unique(rationale_of[valued]).size)
    result.stats.update(n_rationales=read_result.n_read, rationales_with_value=with_value,
                        rationale_coverage=round(with_value / read_result.n_read, 4))
    result.taxonomy.stats.update(result.stats)
    meaning_of = builder.space.meaning_of if embeds_context(builder.embed_text) else None
    result.apply_topics(*_dilemma_spread(table, rationale_of[valued], form_of[valued], value_of, value_ids, meaning_of))
    result.add_below_cut(below_cut)
    result.folder.expressions = SpilledExpressions(spill, form_of, value_of, sim_of, value_ids)
    return result, record, read_result


def _dilemma_spread(table: FormTable, rationales: np.ndarray, forms: np.ndarray, value_of: np.ndarray,
                    value_ids: list[str], meaning_of: Callable[[str], str] | None = None):
    """What ``BuildResult.flag_topics`` counts from the records, from the arrays of the assigned
    mentions: per value, its rationales per dilemma; every dilemma's rationales; and the form
    counts of ``taxonomy.topics.form_spread``. A form there is the build's key, or under
    ``context`` and ``sentence`` (``meaning_of`` given) the words of it, as ``form_key`` says."""
    dilemma_of = np.frombuffer(table.dilemma_of, dtype=np.int32)
    names = list(table.dilemmas)
    values = value_of[forms]
    form_names = table.keys
    if meaning_of is not None:
        number: dict[str, int] = {}
        meaning = np.array([number.setdefault(meaning_of(k), len(number)) for k in table.keys], dtype=np.int64)
        forms, form_names = meaning[forms], list(number)

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
        by_form.setdefault(form_names[f], Counter())[names[d]] = n
    mentions: dict[str, Counter] = {}
    pairs, counts = np.unique(values.astype(np.int64) * len(form_names) + forms, return_counts=True)
    for (v, f), n in zip(zip(*np.divmod(pairs, len(form_names))), counts.tolist()):
        mentions.setdefault(value_ids[int(v)], Counter())[form_names[int(f)]] = n
    sizes = Counter({names[d]: int(n) for d, n in enumerate(np.bincount(dilemma_of, minlength=len(names))) if n})
    return spread, sizes, (mentions, by_form)


def _fit(builder, read, spill: ExpressionSpill, table: FormTable, max_forms: int, window: int):
    """Steps 3 and 4: the same fit and assignment as :func:`.bounded.fit_bounded`."""
    from moralgap.taxonomy.value_filter import excluded_stats

    n_forms = len(table.keys)
    order = sorted(range(n_forms), key=table.keys.__getitem__)
    counts = np.frombuffer(table.counts, dtype=np.int64)
    record = new_record(max_forms, n_forms, int(counts.sum()), builder.seed)
    sampled = max_forms is not None and n_forms > max_forms
    if sampled:
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
    n_rest = n_forms - len(fit_order)
    n_rest_assigned = 0
    for rest, assigned in _assign_rest(builder, result.folder, read, table, [i for i in order if not in_fit[i]], window):
        for i in rest:
            vid, sim = assigned[table.keys[i]]
            if vid is not None:
                value_of[i], sim_of[i] = column[vid], sim
                n_rest_assigned += 1
    valued = value_of >= 0
    sizes = Counter({value_ids[c]: int(n) for c, n in enumerate(np.bincount(value_of[valued], weights=counts[valued],
                                                                              minlength=len(value_ids)))})
    finish_sampled(result, record, in_fit=[table.keys[i] for i in fit_order], mentions_fitted=mentions_fitted,
                   forms_assigned=n_rest_assigned, forms_rest=n_rest, sizes=sizes,
                   n_expressions=len(table.form_of), n_unvalued=int(counts[~valued].sum()), n_forms=n_forms)
    return result, record, value_of, sim_of, value_ids


def _assign_rest(builder, folder, read, table: FormTable, rest: list[int], window: int):
    """Step 4: ``(forms, {key: (value id, similarity)})`` for the forms outside the fit sample,
    in parts. A form's vector is made from its key's text, through the cache (step 2 put it
    there); the update rule reads a stand-in's form only to match it against known forms, of
    which a build has none (kept=[]).

    Under ``context`` and ``sentence`` a key also needs its rationale's text, so the rest are
    assigned window by window beside a fresh read of the input (a key's mentions are all in its
    rationale's window), one window's texts held at a time.
    """
    def stand_ins(keys):
        return [SimpleNamespace(norm=k, lexicon_value=None, rationale_id="") for k in keys]

    if not embeds_context(builder.embed_text):
        keys = [table.keys[i] for i in rest]
        yield rest, assign_rest(builder, folder, keys, stand_ins(keys))
        return
    todo = np.zeros(len(table.keys), dtype=bool)
    todo[rest] = True
    for w, texts in _window_texts(read, window):
        forms = [f for f in table.window_forms(w) if todo[f]]
        todo[forms] = False
        keys = [table.keys[f] for f in forms]
        yield forms, assign_rest(builder, folder, keys, stand_ins(keys), texts=texts)


def _embed_forms(builder, read, table: FormTable, window: int) -> None:
    """Step 2: every text the cache lacks, in one Ray job per kind.

    A key is a form's text, except under ``context`` and ``sentence``, where it also holds its
    rationale (and offset) and its vector mixes the form's words with the rationale (sentence):
    the words are sent in one job, then the rationales (sentences) of the kept mentions, read
    window by window from a fresh read, in another. Those are the sets the local engine encodes,
    so the batches, and the vectors, are the same. The second job holds its texts in this
    process while it runs: the one part of a streaming build that grows with the corpus's text.
    """
    if not embeds_context(builder.embed_text):
        builder.embedder.prefetch(table.keys)
        return
    space = builder.space
    builder.embedder.prefetch(list(dict.fromkeys(space.meaning_of(k) for k in table.keys)))
    around: dict[str, None] = {}
    for w, texts in _window_texts(read, window):
        for f in table.window_forms(w):
            around.setdefault(space.surroundings(table.keys[f], texts))
    builder.embedder.prefetch(list(around))


def _window_texts(read, window: int) -> Iterator[tuple[int, dict[str, str]]]:
    """Each input window's number and its rationales by id, from a fresh read (the spill's windows)."""
    for w, judgments in enumerate(batches(read(ReadResult()), window)):
        yield w, {j.id: j.rationale for j in judgments}
