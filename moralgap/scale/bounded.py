"""Clustering that fits in one node whatever the input size: fit on a bounded sample of forms.

HDBSCAN has no distributed implementation, and its memory and time grow with the number of
points. A build clusters *distinct* expression forms (the embedded text), weighted by how often
each occurs; real corpora repeat forms heavily ("rude", "selfish", ...), but the number of
distinct forms still grows with the corpus. So:

1. Group the expressions by form (:func:`moralgap.taxonomy.build.embed_key`).
2. If there are at most ``max_forms`` forms, the build is exactly the usual one.
3. Otherwise draw ``max_forms`` forms, seeded and weighted by frequency (each form's chance
   grows with its mentions: Efraimidis-Spirakis keys ``log(u) / count``), and fit the taxonomy on
   the mentions of those forms only.
4. Every other form is embedded (in chunks, through the embedding cache) and assigned with the
   rule ``taxonomy update`` uses (:meth:`TaxonomyUpdater.assign`): the nearest active value's
   centroid when the cosine similarity reaches the build's own outlier threshold, never below
   ``update.MIN_THRESHOLD``.
5. Value sizes are recounted over every mention; names, definitions, exemplars and centroids
   are the fitted ones.

Under ``--embed-text context`` or ``sentence`` every mention is a form of its own (its key holds
its rationale, and its offset), so the sample is of mentions, drawn evenly, and the rest are
embedded as the build embeds them: each one's form mixed with its rationale (its sentence).

Both engines call :func:`fit_bounded`, so the forms drawn, and therefore the taxonomy, do not
depend on the engine. Memory of the fit: ``max_forms`` vectors of the embedding dimension (384
float32 for MiniLM: 1.5 KB each, 77 MB for the default 50,000) plus HDBSCAN on their PCA
projection, plus the mentions of the drawn forms as expression records; the assignment holds
one chunk of vectors at a time.
"""
from __future__ import annotations

import hashlib
import logging
from collections import Counter
from typing import Sequence

import numpy as np

from moralgap.records import Expression
from moralgap.seeding import rng

log = logging.getLogger(__name__)

# A bound on what HDBSCAN sees: 50,000 vectors are 77 MB (MiniLM) before PCA (docs/scale.md);
# at about 0.35 forms per rationale (measured at 20,000) a build of 100,000 rationales stays exact.
DEFAULT_MAX_FORMS = 50_000
ASSIGN_CHUNK = 65_536


def fit_sample(keys: Sequence[str], counts: np.ndarray, max_forms: int, seed: int) -> np.ndarray:
    """Indices (sorted) of at most ``max_forms`` of ``keys``, drawn by frequency without replacement."""
    if len(keys) <= max_forms:
        return np.arange(len(keys))
    u = rng(seed, "fit-sample").random(len(keys))
    # log(u) / w is a monotone transform of u ** (1 / w): the largest max_forms keys are a
    # weighted sample without replacement; ties cannot matter since u is continuous.
    score = np.log(np.maximum(u, 1e-300)) / np.asarray(counts, dtype=np.float64)
    top = np.argpartition(-score, max_forms - 1)[:max_forms]
    return np.sort(top)


def _clusterable(e: Expression) -> bool:
    return not getattr(e, "excluded", None)


def fit_bounded(builder, expressions: Sequence[Expression], texts: dict[str, str] | None = None, *,
                max_forms: int | None = DEFAULT_MAX_FORMS):
    """``builder.fit_expressions`` on at most ``max_forms`` distinct forms; returns ``(result, record)``.

    ``record`` describes the fit sample for the run manifest. Above the bound, the given
    expressions get their ``value_id`` and ``similarity`` set in place and become the result's.
    (:mod:`moralgap.scale.stream_build` does the same from expressions kept on disk.)
    """
    from moralgap.taxonomy.build import embed_key

    key_of = lambda e: embed_key(builder.embed_text, e)  # noqa: E731
    counts = Counter(key_of(e) for e in expressions if _clusterable(e))
    keys = sorted(counts)
    record = new_record(max_forms, len(keys), int(sum(counts.values())), builder.seed)
    if max_forms is None or len(keys) <= max_forms:
        result = builder.fit_expressions(expressions, texts=texts)
        record.update(sampled=False, forms_fitted=len(keys), mentions_fitted=record["mentions_total"])
        return result, record
    w = np.array([counts[k] for k in keys], dtype=np.float64)
    picked = fit_sample(keys, w, max_forms, builder.seed)
    in_fit = {keys[i] for i in picked}
    fit_expr = [e for e in expressions if _clusterable(e) and key_of(e) in in_fit]
    result = builder.fit_expressions(fit_expr, texts=texts)

    value_of: dict[str, tuple[str | None, float | None]] = {}
    for e in result.expressions:
        value_of.setdefault(key_of(e), (e.value_id, e.similarity))
    rest = [k for k in keys if k not in in_fit]
    rep: dict[str, Expression] = {}
    for e in expressions:
        if _clusterable(e):
            rep.setdefault(key_of(e), e)
    assigned = assign_rest(builder, result.folder, rest, [rep[k] for k in rest], texts=texts)
    del rep
    value_of.update(assigned)

    # Set in place: a copy of every mention would double the driver's largest structure.
    out = list(expressions)
    for e in out:
        e.value_id, e.similarity = value_of.get(key_of(e), (None, None)) if _clusterable(e) else (None, None)
    finish_sampled(result, record, in_fit=in_fit, mentions_fitted=len(fit_expr),
                   forms_assigned=sum(1 for k in rest if assigned[k][0] is not None), forms_rest=len(rest),
                   sizes=Counter(e.value_id for e in out if e.value_id), n_expressions=len(expressions),
                   n_unvalued=sum(1 for e in out if _clusterable(e) and not e.value_id), n_forms=len(keys))
    result.folder.expressions = out
    return result, record


def new_record(max_forms: int | None, forms_total: int, mentions_total: int, seed: int) -> dict:
    """The fit-sample record (manifest and ``stats.fit_sample``) before the fit."""
    return {"max_forms": max_forms, "forms_total": forms_total, "mentions_total": mentions_total, "seed": seed}


def finish_sampled(result, record: dict, *, in_fit, mentions_fitted: int, forms_assigned: int, forms_rest: int,
                   sizes, n_expressions: int, n_unvalued: int, n_forms: int) -> None:
    """After a sampled fit and the assignment of the rest: value sizes over every mention, the
    record and the taxonomy's stats (the fit's own kept under ``fit_sample.fit``)."""
    for v in result.taxonomy.values:
        if v.status != "merged":
            v.size = int(sizes.get(v.id, 0))
    record.update(
        sampled=True, forms_fitted=len(in_fit), mentions_fitted=mentions_fitted,
        forms_assigned=forms_assigned, forms_unassigned=forms_rest - forms_assigned,
        forms_sha256=hashlib.sha256("\n".join(sorted(in_fit)).encode("utf-8")).hexdigest(),
    )
    fit_stats = {k: result.taxonomy.stats.get(k) for k in ("n_expressions", "n_distinct_expressions", "outlier_rate")}
    stats = {
        **result.taxonomy.stats,
        "n_expressions": n_expressions,
        "n_distinct_expressions": n_forms,
        "outlier_rate": round(n_unvalued / max(record["mentions_total"], 1), 4),
        "fit_sample": {**record, "fit": fit_stats},
    }
    result.taxonomy.stats = stats
    result.stats = dict(stats)


def assign_rest(builder, folder, rest: list[str], reps: Sequence,
                texts: dict[str, str] | None = None) -> dict[str, tuple[str | None, float | None]]:
    """``taxonomy update``'s rule (:meth:`TaxonomyUpdater.assign`) for forms outside the fit sample.

    ``reps[i]`` stands for every mention of form ``rest[i]`` (they share its vector); vectors are
    held one chunk at a time. ``texts`` (rationale id -> text) is needed when the build mixes each
    mention's rationale or sentence into its vector.
    """
    from moralgap.taxonomy.update import TaxonomyUpdater

    updater = TaxonomyUpdater(seed=builder.seed)
    out: dict[str, tuple[str | None, float | None]] = {}
    for start in range(0, len(rest), ASSIGN_CHUNK):
        chunk = rest[start: start + ASSIGN_CHUNK]
        vectors = builder.space.key_vectors(chunk, texts, desc="embedding forms outside the fit sample")
        ids, column, sim, _ = updater.assign(folder, reps[start: start + ASSIGN_CHUNK], vectors, kept=[])
        for k, c, s in zip(chunk, column, sim):
            out[k] = (ids[c], round(float(s), 4)) if c >= 0 else (None, None)
    return out
