"""Regrouping: an update that lets the unreviewed values form again from all the data.

A plain update never changes an existing value, so a taxonomy built on the first half of a
corpus keeps that half's grouping for good: on the real AITA comments, 82% of expressions then
land in values matching a build on all of them (benchmarks/taxonomy_update.py). Values nobody
has reviewed are only proposals, though; with ``regroup`` they form again from all the data, by
the build's own settings, while every value a person has touched stays exactly as it is:

- reviewed: values accepted or rejected, and any value an edit named (renamed, defined, given
  a parent, merged, split). Their members stay.
- claimed (:func:`claims`): everything else is clustered together with the reviewed members;
  the other expressions of a cluster whose earlier mentions are mostly reviewed members join
  those reviewed values.
- regrouped: the clusters nobody claims become values (:class:`Fitted`, :func:`regroup`). A
  value whose leading form is an old value's gets the old id back (ids hash the taxonomy name
  and the leading form, as a build makes them); any other gets a fresh id. An old unreviewed
  value that did not come back is ``merged`` into the value holding most of its old members, so
  an annotation that names it still resolves (:func:`taxonomy.edits.resolve`); one whose members
  all became outliers keeps its id, flagged ``no_support``, as a plain update flags it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.records import Expression, Value

from .build import DEFAULT_PCA_COMPONENTS, TaxonomyBuilder
from .edits import ACTIVE, fresh_value_id, ids_ever_seen, strings_in
from .folder import TaxonomyFolder
from .move_members import forms_moved_out
from .naming import disambiguate, recorded_namer
from .space import embeds_context

# Lineage entries that record what a person decided about values (an update or a build does not).
MACHINE_OPS = ("build", "update")


def reviewed_value_ids(folder: TaxonomyFolder) -> set[str]:
    """Values a person has decided something about: accepted or rejected, or named by an edit."""
    ids = {v.id for v in folder.taxonomy.values}
    named = set().union(*(strings_in(entry.args) & ids for entry in folder.taxonomy.lineage
                          if entry.op not in MACHINE_OPS))
    return named | {v.id for v in folder.taxonomy.values if v.status in ("accepted", "rejected")}


def regroup_builder(folder: TaxonomyFolder, n_values: int | None, *, seed: int, space, extractor) -> TaxonomyBuilder:
    """A builder with the taxonomy's recorded build settings, its seed included (``seed`` only
    where none is recorded), so that regrouping with nothing pinned clusters as a build on the
    same expressions would. Seed values are recorded by name only, so a seed-guided taxonomy
    regroups without their guidance."""
    p = folder.taxonomy.params or {}
    return TaxonomyBuilder(
        n_values, seed=p.get("seed", seed), space=space, extractor=extractor, namer=recorded_namer(p), name=folder.taxonomy.name,
        min_cluster_size=p.get("min_cluster_size"), min_samples=p.get("min_samples", 1),
        pca_components=p.get("pca_components", DEFAULT_PCA_COMPONENTS), reducer=p.get("reducer", "pca"),
        assign_threshold=p.get("assign_threshold"), n_exemplars=p.get("n_exemplars", 10),
        **({"refine": p["refine"]} if "refine" in p else {}),
        # A build from before word families were joined recorded nothing: it joined none.
        join_word_families=p.get("join_word_families", False),
        # Every expression here went through the taxonomy's own span filter already.
        span_filter=None)


def regroup_target(folder: TaxonomyFolder) -> int | None:
    """The number of values the build asked for: ``None`` (HDBSCAN's own count) for a build with
    ``--n-values auto``, 0 where there is none to follow (an imported taxonomy)."""
    p = folder.taxonomy.params or {}
    if "n_values" not in p:
        return 0
    return None if p["n_values"] is None else int(p["n_values"])


@dataclass
class Regrouped:
    """What :func:`regroup` decided, for the update to write into its new version."""

    expressions: list[Expression] = field(default_factory=list)  # the regrouped ones, with value ids
    values: list[Value] = field(default_factory=list)
    centroids: dict[str, np.ndarray] = field(default_factory=dict)
    new_ids: list[str] = field(default_factory=list)   # values it added (ids the taxonomy never held)
    kept_ids: list[str] = field(default_factory=list)  # earlier unreviewed values back under their id
    merged: dict[str, str] = field(default_factory=dict)  # earlier unreviewed value -> its successor


@dataclass
class Fitted:
    """Values a clustering formed for regrouped expressions: the values (with the build's ids),
    their centroids, and the expressions with those ids (``None``: an outlier)."""

    values: list[Value] = field(default_factory=list)
    centroids: dict[str, np.ndarray] = field(default_factory=dict)
    expressions: list[Expression] = field(default_factory=list)

    @classmethod
    def fit(cls, builder: TaxonomyBuilder | None, pool: Sequence[Expression], texts) -> "Fitted":
        """``pool`` clustered by ``builder``; all outliers when there is none, too few to cluster,
        or nothing clusters."""
        if builder is not None and len(pool) >= 2:
            try:
                result = builder.fit_expressions(pool, texts=texts)
            except InputError:
                result = None
            if result is not None:
                # Every value the clustering forms, small ones too, as a build keeps them (under review).
                return cls(list(result.taxonomy.values), dict(result.folder.centroids), list(result.expressions))
        return cls(expressions=[e.model_copy(update={"value_id": None, "similarity": None}) for e in pool])

    def __add__(self, other: "Fitted") -> "Fitted":
        return Fitted(self.values + other.values, {**self.centroids, **other.centroids},
                      self.expressions + other.expressions)


# A cluster belongs to the reviewed values when their members make up more than this share of the
# cluster's earlier mentions (the new ones cannot count: they are what is being placed).
CLAIM_SHARE = 0.5


@dataclass
class Claims:
    """Which regrouped expressions the reviewed values take (:func:`claims`), with the similarity
    to the value's centroid as it was (as a plain update records it) and their vectors."""

    claimed: list[Expression] = field(default_factory=list)
    gained: dict[str, list[int]] = field(default_factory=dict)  # reviewed value -> rows of vectors
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.float32))
    clustered: bool = False  # whether the joint clustering ran (not without reviewed members)
    # Unclaimed values of the joint clustering that hold no reviewed member, as they were formed,
    # with their expressions and the pool's outliers there; they need no second clustering.
    clean: Fitted = field(default_factory=Fitted)
    # The pool's expressions in unclaimed values that also hold reviewed members (which stay in
    # their reviewed values), and how many such values: they are clustered again without them,
    # so that each value is named and described from its own members.
    mixed: list[Expression] = field(default_factory=list)
    n_mixed: int = 0


def claims(builder: TaxonomyBuilder, old: TaxonomyFolder, members: Sequence[Expression],
           pool: Sequence[Expression], *, texts: dict[str, str] | None, bar: Mapping[str, float]) -> Claims:
    """Cluster the reviewed values' ``members`` and the ``pool`` together, as a build on all of them
    would, and let the reviewed values take the pool expressions of every cluster whose earlier
    mentions are mostly their members. Each goes to the reviewed value that holds its form, else
    to the nearest of the reviewed values in its cluster, if it is as close to that value as a
    plain update requires (``bar``: value id -> cosine); otherwise it is an outlier. (A form a
    value holds joins it whatever its similarity, as in a plain update.)

    Placing new expressions by the nearest reviewed centroid alone left a value accepted on half
    the AITA comments with half its members: the other half, in a build on all of them, sits with
    its members but nearer another centroid (benchmarks/taxonomy_update.py)."""
    out = Claims()
    if not members or len(members) + len(pool) < 2:
        return out
    try:
        # With the texts, as every other regroup clustering: the values it forms unclaimed are
        # kept as formed, names included, and an LLM namer reads each form's words around it.
        result = builder.fit_expressions([*members, *pool], texts=texts)
    except InputError:  # too few or too scattered to cluster: nothing is claimed
        return out
    reviewed = {e.id: e.value_id for e in members}
    old_ids = {e.id for e in old.expressions}
    earlier: dict[str, Counter] = {}
    for e in result.expressions:
        if e.value_id and e.id in old_ids:
            earlier.setdefault(e.value_id, Counter())[reviewed.get(e.id)] += 1
    owners: dict[str, list[str]] = {}
    for cluster, counts in earlier.items():
        total = sum(counts.values())
        counts.pop(None, None)
        if sum(counts.values()) > CLAIM_SHARE * total:
            owners[cluster] = sorted(counts)
    picked = [e for e in result.expressions if e.value_id in owners and e.id not in reviewed]
    out.clustered = True
    with_reviewed = {e.value_id for e in result.expressions if e.id in reviewed and e.value_id}
    clean = {v.id for v in result.taxonomy.values if v.id not in owners and v.id not in with_reviewed}
    mixed = with_reviewed - set(owners)
    out.n_mixed = len(mixed)
    out.mixed = [e for e in result.expressions if e.value_id in mixed and e.id not in reviewed]
    out.clean = Fitted([v for v in result.taxonomy.values if v.id in clean],
                       {vid: c for vid, c in result.folder.centroids.items() if vid in clean},
                       [e for e in result.expressions if e.id not in reviewed and (e.value_id in clean or not e.value_id)])
    if not picked:
        return out
    space = builder.space
    form_value: dict[str, Counter] = {}
    for e in members:
        form_value.setdefault(space.key(e), Counter())[e.value_id] += 1
    out.vectors = space.expression_vectors(picked, texts)
    refused = forms_moved_out(old)
    for i, e in enumerate(picked):
        candidates = [vid for vid in owners[e.value_id] if vid not in refused.get(e.norm, ())]
        if not candidates:
            # A person moved this form out of the value it clusters with: it stays out.
            out.clean.expressions.append(e.model_copy(update={"value_id": None, "similarity": None}))
            continue
        held = form_value.get(space.key(e), Counter())
        held = {vid: n for vid, n in held.items() if vid in candidates}
        if held:
            vid = min(held, key=lambda v: (-held[v], v))
        else:
            vid = max(candidates, key=lambda v: (float(out.vectors[i] @ old.centroids[v]), v))
        sim = float(out.vectors[i] @ old.centroids[vid])
        if not held and sim < bar.get(vid, -1.0):
            # Clustered with the value's members but far from it ("controlling about weddings"
            # in "Forgive", cosine 0.18): an outlier, as a plain update would leave it.
            out.clean.expressions.append(e.model_copy(update={"value_id": None, "similarity": None}))
            continue
        out.gained.setdefault(vid, []).append(i)
        out.claimed.append(e.model_copy(update={"value_id": vid, "similarity": round(sim, 4)}))
    return out


def regroup(old: TaxonomyFolder, new: TaxonomyFolder, fitted: Fitted, *, pinned: set[str]) -> Regrouped:
    """Fit the regrouped values into ``new``: ids continued where the leading form is the same,
    fresh ids otherwise, and old unreviewed values that did not come back merged into their
    successors."""
    out = Regrouped()
    old_unpinned = [v for v in old.taxonomy.values if v.status in ACTIVE and v.id not in pinned]
    continuable = {v.id for v in old_unpinned}
    names = disambiguate([v.name for v in fitted.values], [v.keywords for v in fitted.values],
                         taken=[v.name for v in new.taxonomy.active_values() if v.id in pinned])
    ever = ids_ever_seen(old)
    rename: dict[str, str] = {}
    taken: set[str] = set()
    for v, name in zip(fitted.values, names):
        vid = v.id
        if vid in continuable and vid not in taken:
            out.kept_ids.append(vid)
        else:
            if vid in ever or vid in taken:
                vid = fresh_value_id(new, v.id, f"regroup@{new.taxonomy.version}", taken=taken)
            out.new_ids.append(vid)
        taken.add(vid)
        rename[v.id] = vid
        out.values.append(v.model_copy(update={"id": vid, "name": name}))
        out.centroids[vid] = fitted.centroids[v.id]
    out.expressions = [e.model_copy(update={"value_id": rename.get(e.value_id)}) for e in fitted.expressions]
    # An old value that did not come back goes to where most of its members went.
    now = {e.id: e.value_id for e in out.expressions}
    kept = set(out.kept_ids)
    for v in old_unpinned:
        if v.id in kept:
            continue
        went = Counter(now.get(e.id) for e in old.expressions if e.value_id == v.id)
        went.pop(None, None)
        if went:
            out.merged[v.id] = min(went, key=lambda vid: (-went[vid], vid))
    return out


def apply_regroup(new: TaxonomyFolder, r: Regrouped) -> None:
    """Put the regrouped values into ``new``: pinned and retired values as they were, old unpinned
    values replaced by their successors (merged) or kept with no members (flagged later)."""
    by_id = {v.id: v for v in r.values}
    values = []
    for v in new.taxonomy.values:
        if v.id in by_id:
            continue  # came back: the regrouped record replaces it below
        if v.id in r.merged:
            v = v.model_copy(update={"status": "merged", "merged_into": r.merged[v.id], "size": 0})
        values.append(v)
    new.taxonomy.values = values + r.values
    for vid, c in r.centroids.items():
        new.centroids[vid] = c


def split_pool(old_kept: Sequence[Expression], pinned: set[str]) -> tuple[list[Expression], list[Expression]]:
    """The old expressions that stay where they are (pinned members, what was set apart) and
    those regrouped (every other member and every outlier)."""
    stay, pool = [], []
    for e in old_kept:
        if e.excluded or (e.value_id is not None and e.value_id in pinned):
            stay.append(e)
        else:
            pool.append(e.model_copy(update={"value_id": None, "similarity": None}))
    return stay, pool


def check_regroupable(folder: TaxonomyFolder, kept: Sequence[Expression], texts: Mapping[str, str] | None) -> None:
    """A regroup embeds every earlier mention it clusters again; under ``--embed-text context``
    (``sentence``) that needs its rationale's text, which a taxonomy does not keep."""
    embed_text = (folder.taxonomy.params or {}).get("embed_text") or "norm"
    if not embeds_context(embed_text):
        return
    missing = {e.rationale_id for e in kept if not e.excluded} - set(texts or {})
    if missing:
        raise InputError(None, f"a taxonomy embedded with its rationales (--embed-text {embed_text}) regroups only "
                               f"with the texts of its earlier rationales, and {len(missing)} of them are not given "
                               f"(e.g. {sorted(missing)[0]!r}): give the judgments it was built from with "
                               "--earlier-judgments, or the whole corpus with --replace", field="regroup")
