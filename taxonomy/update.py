"""Updating a taxonomy with new rationales without renumbering what people already reviewed.

1. Extract value expressions from the new judgments only (a judgment whose id the taxonomy
   already holds replaces that rationale's old expressions; ``replace=True`` drops every old
   expression, making the new file the whole corpus), and set apart what is not a value with
   the build's rules and span filter: those spans are kept, never assigned.
2. Embed them the way the build did; the embedding cache means only unseen texts are embedded.
3. Assign each to the nearest value's centroid (every value not merged away, whatever its
   review status: see :meth:`TaxonomyUpdater.assign`) when the cosine similarity reaches the
   threshold. By default that is the build's own rule for its outliers: its data-driven
   ``stats.assign_threshold``, never below ``min_threshold``, so an update puts an expression
   where a rebuild on all the data would most likely put it. An expression whose embedded form
   the taxonomy already holds joins that form's value. ``percentile=`` gives each value its own
   threshold instead: that percentile of its members' similarity to it (never below the rule
   above; values with fewer than ``min_value_members`` members use it), so a tight value takes
   only close expressions. ``threshold=`` sets one cosine for every value.
4. Cluster the leftovers with the taxonomy builder into new ``proposed`` values with fresh ids,
   about as large on average as the existing values; clusters under ``min_new_size`` stay
   unassigned.
5. Sizes are recounted; centroids of values that gained members move to the size-weighted
   mean; active values with no expressions left get the ``no_support`` flag (never dropped);
   every value's quality record (rationales spanned, cohesion, nearest value, ...) is
   recounted from its members now.

Ids, names, definitions, statuses and parents of existing values are never changed, so accepted
values stay exactly as reviewed. With ``regroup=True``, steps 3 and 4 change: only the values a
person reviewed keep their members and take new ones, and everything else is clustered again by
the build's settings (``taxonomy.regroup``).
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.records import Expression
from moralgap.seeding import DEFAULT_SEED

from .build import DEFAULT_PCA_COMPONENTS
from .cluster import unit_rows
from .edits import ACTIVE, fresh_value_id, new_version
from .folder import TaxonomyFolder
from .move_members import forms_moved_out
from .naming import disambiguate, recorded_namer
from .quality import refresh_quality
from .regroup import (Claims, Fitted, Regrouped, apply_regroup, check_regroupable, claims, regroup, regroup_builder,
                      regroup_target, reviewed_value_ids, split_pool)
from .topics import flag_topics, spreads
from .space import EmbeddingSpace, embeds_context, form_key
from .span_filter import filter_spans, recorded_span_filter
from .value_filter import count_excluded, excluded_stats

log = logging.getLogger(__name__)

NO_SUPPORT = "no_support"
# Chosen on the real AITA comments (README, "How the thresholds were chosen"): below it,
# nearest-value matches mostly disagree with the lexicon's reading.
MIN_THRESHOLD = 0.5


@dataclass
class UpdateResult:
    folder: TaxonomyFolder
    stats: dict = field(default_factory=dict)


# Where the rationales of earlier versions count among the dilemmas (their own are not known).
EARLIER = "\x00earlier versions"


def build_rule_threshold(folder: TaxonomyFolder, floor: float) -> float:
    """The similarity the build required of its outliers, never below ``floor``."""
    build_floor = folder.taxonomy.stats.get("assign_threshold")
    return max(floor, float(build_floor)) if isinstance(build_floor, (int, float)) else floor


def value_thresholds(folder: TaxonomyFolder, value_ids: Sequence[str], *, percentile: float | None, min_members: int,
                     floor: float) -> np.ndarray:
    """Assignment thresholds, one per value (see module docstring)."""
    floor = build_rule_threshold(folder, floor)
    if percentile is None:
        return np.full(len(value_ids), floor, dtype=np.float64)
    sims: dict[str, list[float]] = {}
    for e in folder.expressions:
        if e.value_id is not None and e.similarity is not None:
            sims.setdefault(e.value_id, []).append(e.similarity)
    out = np.empty(len(value_ids), dtype=np.float64)
    for i, vid in enumerate(value_ids):
        s = sims.get(vid, [])
        out[i] = max(float(np.percentile(s, percentile)), floor) if len(s) >= min_members else floor
    return out


class TaxonomyUpdater:
    """Add new rationales to an existing taxonomy; see the module docstring for the steps.

    Parameters
    ----------
    threshold: one cosine similarity for every value (overrides the rules below).
    min_threshold: floor under the build's outlier threshold (the default rule).
    percentile, min_value_members: per-value thresholds instead (None: the default rule).
    min_new_size: smallest cluster of leftovers offered as a new value.
    n_new_values: how many values to cluster the leftovers into; default: leftovers divided by
        the average size of the existing active values (at least 1). With ``regroup``: how many
        values everything the reviewed values do not take forms (default: the clusters of the
        joint clustering they do not claim; see :func:`taxonomy.regroup.claims`).
    replace: the new judgments are the whole corpus (old expressions are dropped).
    regroup: cluster the values nobody reviewed again, from their members and the new
        expressions together, instead of keeping them as they are (``taxonomy.regroup``).
    seed, embedder, extractor: as for :class:`~taxonomy.build.TaxonomyBuilder`.
    """

    def __init__(self, *, threshold: float | None = None, percentile: float | None = None,
                 min_value_members: int = 5, min_threshold: float = MIN_THRESHOLD, min_new_size: int = 3,
                 n_new_values: int | None = None, replace: bool = False, regroup: bool = False,
                 seed: int = DEFAULT_SEED, embedder=None, extractor=None):
        if threshold is not None and not -1.0 <= threshold <= 1.0:
            raise InputError(None, "threshold is a cosine similarity in [-1, 1]", field="threshold")
        if percentile is not None and not 0.0 <= percentile <= 100.0:
            raise InputError(None, "percentile must be in [0, 100]", field="percentile")
        if n_new_values is not None and n_new_values < 1:
            raise InputError(None, "n_new_values must be at least 1", field="n_new_values")
        self.threshold = threshold
        self.percentile = percentile
        self.min_value_members = min_value_members
        self.min_threshold = min_threshold
        self.min_new_size = min_new_size
        self.n_new_values = n_new_values
        self.replace = replace
        self.regroup = regroup
        self.seed = seed
        self.new_value_rule = ""
        self._embedder = embedder
        self._extractor = extractor
        self.space: EmbeddingSpace | None = None  # the updated taxonomy's; set by each update

    def params(self) -> dict:
        return {"threshold": self.threshold, "percentile": self.percentile, "min_value_members": self.min_value_members,
                "min_threshold": self.min_threshold, "min_new_size": self.min_new_size,
                "n_new_values": self.n_new_values, "replace": self.replace, "regroup": self.regroup, "seed": self.seed}

    @property
    def extractor(self):
        if self._extractor is None:
            from .extract import ValueExtractor

            self._extractor = ValueExtractor()
        return self._extractor

    def update(self, folder: TaxonomyFolder, judgments: Iterable, *, author: str = "moralgap", reason: str = "",
               source: str | None = None, earlier: Iterable | None = None) -> UpdateResult:
        """Add ``judgments`` to ``folder``. ``earlier`` (judgments the taxonomy already holds) lends
        only their texts, which a regroup of a taxonomy embedded with its rationales needs."""
        judgments = [j for j in judgments if (j.rationale or "").strip()]
        if not judgments:
            raise InputError(source, "no rationales in the new judgments", field="rationale")
        from .extract import extracting_as_built

        with extracting_as_built(self.extractor, folder.taxonomy.params or {}) as extractor:
            expressions = extractor.extract(judgments)
        texts = {j.id: j.rationale for j in earlier or () if j.rationale}
        texts.update({j.id: j.rationale for j in judgments})
        return self.update_expressions(folder, expressions, rationale_ids={j.id for j in judgments},
                                       texts=texts, author=author, reason=reason,
                                       source=source, dilemmas={j.id: j.dilemma_id for j in judgments})

    def update_expressions(self, folder: TaxonomyFolder, expressions: Sequence[Expression], *,
                           rationale_ids: set[str] | None = None, texts: dict[str, str] | None = None,
                           author: str = "moralgap", reason: str = "", source: str | None = None,
                           dilemmas: dict[str, str] | None = None) -> UpdateResult:
        """Steps 2-5 for already-extracted expressions of the rationales ``rationale_ids``.

        ``dilemmas`` (rationale id -> dilemma id) lets the values this update adds be doubted as
        one dilemma's topic, as a build's are (``taxonomy.topics``); existing values keep their status."""
        rationale_ids = rationale_ids if rationale_ids is not None else {e.rationale_id for e in expressions}
        kept = [] if self.replace else [e for e in folder.expressions if e.rationale_id not in rationale_ids]
        if self.regroup:
            check_regroupable(folder, kept, texts)
        self.new_value_rule = ""
        # The taxonomy's own space: its model (a different one is refused) and its embed-text rule.
        space = self.space = EmbeddingSpace.of(folder, embedder=self._embedder)
        embedder = self._embedder = space.embedder
        # The same span filter as the build (none for taxonomies built before there was one).
        expressions = filter_spans(expressions, recorded_span_filter(folder.taxonomy.params or {}), embedder)
        stats: dict = {"n_new_rationales": len(rationale_ids), "n_new_expressions": len(expressions),
                       "replaced_expressions": len(folder.expressions) - len(kept)}
        # What the rules or the filter set apart (verdicts, facts, "the income") is kept as such,
        # never placed in a value nor counted as a leftover, exactly as a build treats it.
        set_apart = [e.model_copy(update={"value_id": None, "similarity": None}) for e in expressions if e.excluded]
        expressions = [e for e in expressions if not e.excluded]
        stats["set_apart"] = len(set_apart)
        before = dict(embedder.stats)
        vectors = space.expression_vectors(expressions, texts)
        stats["embedded"] = embedder.stats["embedded"] - before.get("embedded", 0)
        stats["embedding_cache_hits"] = embedder.stats["cached"] - before.get("cached", 0)

        ids, value_of_expr, sim_of_expr, assign_stats = self.assign(folder, expressions, vectors, kept)
        stats.update(assign_stats)
        pinned: set[str] = set()
        if self.regroup:
            # Every new expression is clustered with the old ones; a reviewed value takes those
            # that cluster with its members (taxonomy.regroup), not those nearest its centroid.
            # One with no members yet (imported from a list) has only its centroid to go by.
            pinned = reviewed_value_ids(folder) & set(ids)
            held = {e.value_id for e in kept if e.value_id}
            empty = pinned - held
            joins_empty = np.array([c >= 0 and ids[c] in empty for c in value_of_expr], dtype=bool)
            value_of_expr = np.where(joins_empty, value_of_expr, -1)
        stats["assigned_to_existing"] = int((value_of_expr >= 0).sum())

        # New version first, so fresh ids are checked against everything the old one ever held.
        new = new_version(folder, "update", {}, author=author, reason=reason)
        gained: dict[str, list[int]] = {}
        joined: list[Expression] = []
        for i, e in enumerate(expressions):
            c = int(value_of_expr[i])
            if c >= 0:
                gained.setdefault(ids[c], []).append(i)
                joined.append(e.model_copy(update={"value_id": ids[c], "similarity": round(float(sim_of_expr[i]), 4)}))
        leftovers = [expressions[i] for i in range(len(expressions)) if value_of_expr[i] < 0]
        gain_vectors = vectors
        if self.regroup:
            kept, pool = split_pool(kept, pinned)
            r, claim = self._regroup(folder, new, pinned, kept, pool + leftovers, texts, gained)
            new_ids, left_expr = r.new_ids, r.expressions
            if claim.claimed:  # the centroid moves of both kinds of joining, one vector matrix
                offset = len(vectors)
                for vid, rows in claim.gained.items():
                    gained.setdefault(vid, []).extend(offset + i for i in rows)
                gain_vectors = np.vstack([vectors, claim.vectors]) if len(vectors) else claim.vectors
            joined = joined + claim.claimed
            fresh = {e.id for e in expressions}
            stats["assigned_to_existing"] = sum(1 for e in joined if e.id in fresh)
            # Dilemmas are known for the new file's rationales only: a value with earlier members
            # would be counted over part of what it spans, so it gets no dilemma record at all.
            unknown = {e.value_id for e in left_expr if e.value_id and e.rationale_id not in (dilemmas or {})}
            doubted = [vid for vid in r.new_ids + r.kept_ids if vid not in unknown]
            stats.update(regrouped_expressions=len(pool) + len(leftovers) - len(claim.claimed), pinned_values=len(pinned),
                         claimed_by_reviewed_values=len(joined), values_kept_ids=len(r.kept_ids),
                         values_merged=len(r.merged))
        else:
            new_ids, left_expr = self._new_values(folder, new, leftovers, texts, gained)
            doubted = new_ids
        if self.new_value_rule and (new_ids or self.regroup):
            stats["new_values_rule"] = self.new_value_rule
        out_expr: list[Expression] = [*kept, *joined, *left_expr, *set_apart]
        stats["leftover_expressions"] = len(leftovers)
        stats["new_values"] = len(new_ids)
        stats["assigned_to_new"] = sum(1 for e in left_expr if e.value_id is not None)
        stats["unassigned"] = sum(1 for e in left_expr if e.value_id is None)

        self._move_centroids(folder, new, gained, gain_vectors, kept)
        new.expressions = out_expr
        flagged = self._recount(new)
        refresh_quality(new, space)
        if dilemmas and doubted:
            added = set(doubted)
            mine = [e for e in left_expr if e.value_id in added]
            sizes = Counter(dilemmas.values())
            if not self.regroup:
                # The earlier rationales' dilemmas are not known; they count as other dilemmas, so a
                # value found in an update of one dilemma's judgments stands out from the corpus.
                sizes[EARLIER] = len({e.rationale_id for e in kept})
            spread, forms = spreads(mine, dilemmas, lambda e: form_key(space.embed_text, e))
            stats["new_values_doubted_as_topics"] = flag_topics(new.taxonomy, spread, sizes, forms)
        stats["flagged_no_support"] = len(flagged)
        stats["n_active_values"] = len(new.taxonomy.active_values())
        new.taxonomy.lineage[-1].args = {"source": source, "replace": self.replace, "new_values": new_ids,
                                         **({"regroup": True, "kept_ids": r.kept_ids, "merged": r.merged}
                                            if self.regroup else {}),
                                         "flagged": flagged, **{k: stats[k] for k in (
                                             "n_new_rationales", "n_new_expressions", "assigned_to_existing",
                                             "assigned_to_new", "unassigned", "set_apart")}}
        # What `taxonomy show` reports as set apart describes the folder's expressions now.
        new.taxonomy.stats = {**new.taxonomy.stats, **excluded_stats(count_excluded(out_expr)), "last_update": stats}
        return UpdateResult(new, stats)

    def thresholds(self, folder: TaxonomyFolder, value_ids: Sequence[str]) -> np.ndarray:
        """The similarity each value requires of an expression joining it: ``threshold`` for all,
        or else the per-value rule (:func:`value_thresholds`)."""
        if self.threshold is not None:
            return np.full(len(value_ids), self.threshold)
        return value_thresholds(folder, value_ids, percentile=self.percentile, min_members=self.min_value_members,
                                floor=self.min_threshold)

    def assign(self, folder: TaxonomyFolder, expressions: Sequence[Expression], vectors: np.ndarray,
               kept: Sequence[Expression], *, into: Sequence[str] | None = None
               ) -> tuple[list[str], np.ndarray, np.ndarray, dict]:
        """Step 3 alone: the value ids, each expression's column in them, its similarity to the
        nearest value, and counts. ``kept`` are the expressions whose known forms new ones follow.
        Expression-level coding (``annotate expressions``) uses this too, so a coded rationale
        and an update agree.

        The nearest value is sought among every value not merged away, whatever its status, and
        an expression joins it only if its status is one of ``into`` (default: any) and the
        similarity reaches its threshold. Otherwise the column is -1 (no value near enough) or
        -2 (the nearest value is one ``into`` leaves out). Passing over such a value to the next
        nearest would misplace its members: while "Care" awaits review, "empathy" would land
        in "Selfish".
        """
        ids, cents = folder.centroid_matrix([v.id for v in folder.unmerged_values()])
        status = {v.id: v.status for v in folder.taxonomy.values}
        joinable = np.array([into is None or status[vid] in into for vid in ids], dtype=bool)
        value_of_expr = np.full(len(expressions), -1)
        sim_of_expr = np.zeros(len(expressions))
        stats: dict = {}
        if ids and len(expressions):
            thr = self.thresholds(folder, ids)
            sims = vectors @ cents.T
            nearest = np.argmax(sims, axis=1)
            best = sims[np.arange(len(nearest)), nearest]
            ok = best >= thr[nearest]
            value_of_expr = np.where(ok, np.where(joinable[nearest], nearest, -2), -1)
            sim_of_expr = best
            stats["threshold_min"], stats["threshold_median"] = round(float(thr.min()), 4), round(float(np.median(thr)), 4)
            by_form = self._known_forms(folder, list(kept), expressions,
                                        {vid: c for c, vid in enumerate(ids) if joinable[c]})
            for i, c in by_form.items():
                value_of_expr[i], sim_of_expr[i] = c, sims[i, c]
            # A form a person moved out of a value stays out of it (an outlier, as for any
            # expression whose nearest value may not take it).
            refused = forms_moved_out(folder)
            # Empty unless a person moved forms (always so in a build's assignment of its rest).
            kept_out = [] if not refused else [
                i for i, e in enumerate(expressions)
                if value_of_expr[i] >= 0 and ids[value_of_expr[i]] in refused.get(e.norm, ())]
            value_of_expr[kept_out] = -1
            stats["kept_out_by_review"] = len(kept_out)
            stats["nearest_value_left_out"] = int((value_of_expr == -2).sum())
            stats["assigned_by_known_form"] = len(by_form)
        return ids, value_of_expr, sim_of_expr, stats

    # -- pieces ----------------------------------------------------------------------------
    @staticmethod
    def _known_forms(folder: TaxonomyFolder, kept: list[Expression], expressions: Sequence[Expression],
                     column: dict[str, int]) -> dict[int, int]:
        """New expressions whose embedded form the taxonomy already holds -> that form's value column.

        A build clusters distinct forms, so every occurrence of a form shares one value even when
        another centroid happens to lie nearer; a new occurrence follows its form the same way
        (what HDBSCAN's prediction would do for a point it already holds). A form split across
        values by hand follows its most frequent value; context embeddings make every key unique
        to its rationale, so nothing is matched then.
        """
        space = EmbeddingSpace.of(folder)
        if embeds_context(space.embed_text):
            return {}
        counts: dict[str, dict[str, int]] = {}
        for e in kept:
            if e.value_id in column:
                per = counts.setdefault(space.key(e), {})
                per[e.value_id] = per.get(e.value_id, 0) + 1
        best = {k: column[min(per, key=lambda vid: (-per[vid], vid))] for k, per in counts.items()}
        return {i: best[k] for i, e in enumerate(expressions) if (k := space.key(e)) in best}

    def _n_new(self, folder: TaxonomyFolder, n_leftover: int, gained: dict[str, list[int]]) -> tuple[int | None, str]:
        """How many new values the leftovers make, and the rule that said so (reported to the user).

        New values are as large on average as the existing ones. An imported taxonomy's values have
        no members yet, so the sizes they reached in this update stand in; if none reached any,
        HDBSCAN decides alone, as in ``taxonomy build --n-values auto``. (A fixed guess such as
        10 per value turned 1,024 leftovers of the sample into over a hundred values.)
        """
        if self.n_new_values:
            return self.n_new_values, "--n-new-values"
        sizes = [v.size for v in folder.taxonomy.active_values() if v.size > 0]
        if sizes:
            rule = f"as large as the existing values (mean {np.mean(sizes):.1f} expressions)"
        else:
            sizes = [len(members) for members in gained.values()]
            if not sizes:
                return None, "found by HDBSCAN: the taxonomy's values have no members and none gained any"
            rule = (f"as large as the values this update filled (mean {np.mean(sizes):.1f} expressions; "
                    "the taxonomy's values had no members, as after an import)")
        return max(1, int(round(n_leftover / float(np.mean(sizes))))), rule

    def _regroup(self, old: TaxonomyFolder, new: TaxonomyFolder, pinned: set[str], stay: list[Expression],
                 pool: list[Expression], texts: dict[str, str] | None,
                 gained: dict[str, list[int]]) -> tuple[Regrouped, Claims]:
        def builder(n_values):
            return regroup_builder(old, n_values, seed=self.seed, space=self.space, extractor=self._extractor)

        # First every expression together, the reviewed values' members too, into the build's count.
        members = [e for e in stay if not e.excluded and e.value_id in pinned]
        n_all = regroup_target(old)
        if n_all == 0:  # imported: no build to follow, so sized as a plain update sizes new values
            n_all, self.new_value_rule = self._n_new(old, len(members) + len(pool), gained)
        ids = sorted(pinned & set(old.centroids))
        bar = dict(zip(ids, self.thresholds(old, ids)))
        claim = claims(builder(n_all), old, members, pool, texts=texts, bar=bar)
        if self.n_new_values:
            # Asked for: everything the reviewed values do not claim, into that many values.
            taken = {e.id for e in claim.claimed}
            self.new_value_rule = "--n-new-values"
            fitted = Fitted.fit(builder(self.n_new_values), [e for e in pool if e.id not in taken], texts)
        elif claim.clustered:
            # The joint clustering's own values where no reviewed value took part; those that
            # held reviewed members clustered again from the rest of their members.
            fitted = claim.clean + Fitted.fit(builder(claim.n_mixed) if claim.n_mixed else None, claim.mixed, texts)
        else:
            # Nothing reviewed that has members: the build on all, or an import sized as new values.
            n_rest = regroup_target(old)
            if n_rest == 0:
                n_rest, self.new_value_rule = self._n_new(old, len(pool), gained)
            fitted = Fitted.fit(builder(n_rest), pool, texts)
        r = regroup(old, new, fitted, pinned=pinned)
        apply_regroup(new, r)
        return r, claim

    def _new_values(self, old: TaxonomyFolder, new: TaxonomyFolder, leftovers: list[Expression],
                    texts: dict[str, str] | None, gained: dict[str, list[int]]) -> tuple[list[str], list[Expression]]:
        """Cluster leftovers into new proposed values; returns their ids and the leftover expressions."""
        unassigned = [e.model_copy(update={"value_id": None, "similarity": None}) for e in leftovers]
        if len(leftovers) < max(2, self.min_new_size):
            return [], unassigned
        from .build import TaxonomyBuilder

        params = old.taxonomy.params or {}
        n_new, self.new_value_rule = self._n_new(old, len(leftovers), gained)
        # New values are built in the taxonomy's space and named by its namer, as its build named them.
        builder = TaxonomyBuilder(n_new, seed=self.seed, space=self.space, extractor=self._extractor,
                                  namer=recorded_namer(params), name=old.taxonomy.name,
                                  pca_components=params.get("pca_components", DEFAULT_PCA_COMPONENTS), reducer=params.get("reducer", "pca"),
                                  join_word_families=params.get("join_word_families", False),
                                  # The leftovers went through the taxonomy's own span filter already.
                                  span_filter=None)
        try:
            result = builder.fit_expressions(leftovers, texts=texts)
        except InputError as exc:  # too few or too scattered leftovers to form a value
            log.info("leftover expressions form no new value: %s", exc)
            return [], unassigned
        offered = [v for v in result.taxonomy.values if v.size >= self.min_new_size]
        # Named by the build's naming step already; here only kept clear of the existing values' names.
        names = disambiguate([v.name for v in offered], [v.keywords for v in offered],
                             taken=[v.name for v in new.taxonomy.active_values()])
        rename: dict[str, str] = {}
        taken: set[str] = set()
        for v, name in zip(offered, names):
            vid = v.id
            if vid in taken or vid in new.centroids or vid in new.taxonomy.by_id():
                vid = fresh_value_id(new, v.id, f"update@{new.taxonomy.version}", taken=taken)
            taken.add(vid)
            rename[v.id] = vid
            new.taxonomy.values.append(v.model_copy(update={
                "id": vid, "status": "proposed", "name": name}))
            new.centroids[vid] = result.folder.centroids[v.id]
        out = [e.model_copy(update={"value_id": rename.get(e.value_id), "similarity": e.similarity if e.value_id in rename else None})
               for e in result.expressions]
        return list(rename.values()), out

    @staticmethod
    def _move_centroids(old: TaxonomyFolder, new: TaxonomyFolder, gained: dict[str, list[int]], vectors: np.ndarray,
                        kept: list[Expression]) -> None:
        n_kept: dict[str, int] = {}
        for e in kept:
            if e.value_id:
                n_kept[e.value_id] = n_kept.get(e.value_id, 0) + 1
        for vid, rows in gained.items():
            # An imported value has no members yet: its name embedding still counts as one.
            w = max(n_kept.get(vid, 0), 1)
            c = w * old.centroids[vid].astype(np.float64) + vectors[rows].astype(np.float64).sum(axis=0)
            new.centroids[vid] = unit_rows(c).astype(np.float32)

    @staticmethod
    def _recount(folder: TaxonomyFolder) -> list[str]:
        sizes: dict[str, int] = {}
        for e in folder.expressions:
            if e.value_id:
                sizes[e.value_id] = sizes.get(e.value_id, 0) + 1
        flagged = []
        for v in folder.taxonomy.values:
            if v.status == "merged":
                continue
            v.size = sizes.get(v.id, 0)
            has_flag = NO_SUPPORT in v.flags
            if v.status in ACTIVE and v.size == 0:
                if not has_flag:
                    v.flags = [*v.flags, NO_SUPPORT]
                flagged.append(v.id)
            elif v.size > 0 and has_flag:
                v.flags = [f for f in v.flags if f != NO_SUPPORT]
        return flagged
