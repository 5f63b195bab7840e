"""Expression-level value coding, the paper's way: every value expression gets exactly one value.

Rationale-level annotation (``annotate auto``) gives a rationale every value whose score passes
a threshold. Here each value expression found in a rationale is coded to one value instead:

- an expression the taxonomy already holds for this rationale (it was built or updated on it,
  ``expressions.jsonl``) keeps the value it was assigned there, followed through merges;
- any other expression goes to the nearest active value's centroid in the taxonomy's own
  embedding space, by the rule ``taxonomy update`` uses
  (:meth:`~moralgap.taxonomy.update.TaxonomyUpdater.assign`: the build's outlier threshold, an
  already-known form follows its value).

Expressions the filter set apart (``excluded``) and expressions no value is near enough to stay
uncoded. The taxonomy itself is not changed: no new values, no moved centroids.

Each rationale gets one :class:`~moralgap.records.ValueAnnotation` with ``source="expressions"``,
``value_ids`` most-mentioned first and ``mentions`` = coded expressions per value. A rationale
with no coded expression gets an empty annotation, so it still counts as a rationale with no
values (values per rationale stay honest).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from moralgap.errors import InputError
from moralgap.records import CODED_STATUSES, Expression, ValueAnnotation

SOURCE = "expressions"


@dataclass
class CodingResult:
    expressions: list[Expression]
    annotations: list[ValueAnnotation]
    stats: dict = field(default_factory=dict)


def annotations_from_expressions(expressions: Iterable[Expression], rationale_ids: Sequence[str], *,
                                 taxonomy_version: int | None = None) -> list[ValueAnnotation]:
    """One annotation per rationale id (in the given order) from coded expressions."""
    per: dict[str, Counter] = {rid: Counter() for rid in rationale_ids}
    for e in expressions:
        if e.value_id is not None and e.rationale_id in per:
            per[e.rationale_id][e.value_id] += 1
    out = []
    for rid, counts in per.items():
        order = sorted(counts, key=lambda v: (-counts[v], v))
        out.append(ValueAnnotation(rationale_id=rid, value_ids=order, mentions={v: counts[v] for v in order},
                                   source=SOURCE, taxonomy_version=taxonomy_version))
    return out


class ExpressionCoder:
    """Code the value expressions of rationales against a taxonomy folder.

    threshold, percentile, min_threshold, min_value_members: the assignment rule's settings, as
    for :class:`~moralgap.taxonomy.update.TaxonomyUpdater` (defaults: the same rule).
    reuse: keep the taxonomy's own assignment for expressions it already holds (False: recode
        every rationale with the nearest-centroid rule).
    embedder, extractor: as for the updater (default: the taxonomy's embedding model, spaCy).
    """

    def __init__(self, folder, *, threshold: float | None = None, percentile: float | None = None,
                 min_threshold: float | None = None, min_value_members: int = 5, reuse: bool = True,
                 embedder=None, extractor=None):
        from moralgap.taxonomy.update import MIN_THRESHOLD, TaxonomyUpdater

        from moralgap.taxonomy.space import EmbeddingSpace

        self.folder = folder
        self.reuse = reuse
        self._by_rid: dict[str, list[Expression]] | None = None
        self.space = EmbeddingSpace.of(folder, embedder=embedder)
        self.updater = TaxonomyUpdater(threshold=threshold, percentile=percentile, min_value_members=min_value_members,
                                       min_threshold=MIN_THRESHOLD if min_threshold is None else min_threshold,
                                       embedder=embedder, extractor=extractor)

    def params(self) -> dict:
        u = self.updater
        return {"threshold": u.threshold, "percentile": u.percentile, "min_threshold": u.min_threshold,
                "min_value_members": u.min_value_members, "reuse": self.reuse}

    def _stored(self, judgments) -> dict[str, list[Expression]]:
        """The taxonomy's expressions of these rationales, where every span still reads the same.

        A judgment whose id the taxonomy holds but whose text differs at a stored span is a
        different rationale under a reused id: it is recoded rather than trusted.
        """
        if not self.reuse:
            return {}
        if self._by_rid is None:
            # Once per coder: `annotate auto` codes a large file batch by batch with one coder.
            self._by_rid = {}
            for e in self.folder.expressions:
                self._by_rid.setdefault(e.rationale_id, []).append(e)
        texts = {j.id: j.rationale or "" for j in judgments}
        resolve = self.folder.taxonomy.coded_redirects()
        out = {}
        for rid in texts:
            exprs = self._by_rid.get(rid)
            if exprs and all(texts[rid][e.start:e.end] == e.text for e in exprs):
                out[rid] = [e.model_copy(update={"value_id": resolve.get(e.value_id) if e.value_id else None})
                            for e in exprs]
        return out

    def code(self, judgments: Iterable) -> CodingResult:
        judgments = [j for j in judgments if (j.rationale or "").strip()]
        if not judgments:
            raise InputError(None, "no rationales to code (every rationale is empty)", field="rationale")
        stored = self._stored(judgments)
        todo = [j for j in judgments if j.id not in stored]
        found = []
        if todo:
            from moralgap.taxonomy.extract import extracting_as_built

            with extracting_as_built(self.updater.extractor, self.folder.taxonomy.params or {}) as extractor:
                found = extractor.extract(todo)
        result = self.code_expressions(found, [j.id for j in todo], texts={j.id: j.rationale for j in todo})
        kept = [e for rid in stored for e in stored[rid]]
        expressions = kept + result.expressions
        order = [j.id for j in judgments]
        annotations = annotations_from_expressions(expressions, order, taxonomy_version=self.folder.taxonomy.version)
        stats = {**result.stats, "rationales": len(order), "rationales_from_taxonomy": len(stored),
                 "expressions_from_taxonomy": len(kept),
                 "coded_from_taxonomy": sum(1 for e in kept if e.value_id is not None),
                 "rationales_with_values": sum(1 for a in annotations if a.value_ids),
                 "mentions": sum(sum(a.mentions.values()) for a in annotations)}
        return CodingResult(expressions, annotations, stats)

    def code_expressions(self, expressions: Sequence[Expression], rationale_ids: Sequence[str],
                         texts: dict[str, str] | None = None) -> CodingResult:
        """Code already-extracted expressions of ``rationale_ids`` with the nearest-centroid rule."""
        from moralgap.taxonomy.span_filter import filter_spans, recorded_span_filter

        span_filter = recorded_span_filter(self.folder.taxonomy.params or {})
        if expressions:
            # Code the spans the taxonomy's build would have clustered, no more (and with no
            # filter, no open word: only a filter can admit one).
            expressions = filter_spans(expressions, span_filter, self.space.embedder)
        live = [i for i, e in enumerate(expressions) if not e.excluded]
        out = [e.model_copy(update={"value_id": None, "similarity": None}) for e in expressions]
        stats = {"expressions_found": len(expressions), "excluded": len(expressions) - len(live)}
        if live:
            picked = [expressions[i] for i in live]
            vectors = self.space.expression_vectors(picked, texts)
            # Only values annotations use are codes; an expression nearest a value under review
            # or rejected stays uncoded, as that value's own members do (Taxonomy.coded_redirects).
            ids, column, sims, assign_stats = self.updater.assign(self.folder, picked, vectors, self.folder.expressions,
                                                                  into=CODED_STATUSES)
            stats.update(assign_stats)
            for i, c, s in zip(live, column, sims):
                if c >= 0:
                    out[i] = out[i].model_copy(update={"value_id": ids[int(c)], "similarity": round(float(s), 4)})
        stats["coded"] = sum(1 for e in out if e.value_id is not None)
        stats["uncoded"] = len(live) - stats["coded"]
        annotations = annotations_from_expressions(out, rationale_ids, taxonomy_version=self.folder.taxonomy.version)
        return CodingResult(out, annotations, stats)
