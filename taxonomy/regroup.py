"""Regrouping: an update that lets the unreviewed values form again from all the data.

A plain update never changes an existing value, so a taxonomy built on the first half of a
corpus keeps that half's grouping for good: on the real AITA comments, 82% of expressions then
land in values matching a build on all of them (benchmarks/taxonomy_update.py). Values nobody
has reviewed are only proposals, though; with ``regroup`` they are clustered again from their
members and the new expressions together, by the build's own settings, while every value a
person has touched stays exactly as it is:

- pinned: values accepted or rejected, and any value an edit named (renamed, defined, given a
  parent, merged, split). Their members stay; a new expression joins one when that value is its
  nearest and near enough, by the update's rule.
- regrouped: every other member and outlier of the old version and every other new expression,
  clustered into as many values as the build asked for, less the pinned active ones.
- ids: a regrouped value whose leading form is the old value's gets the old id back (ids hash
  the taxonomy name and the leading form, as a build makes them); any other new value gets a
  fresh id. An old unpinned value that did not come back is ``merged`` into the value holding
  most of its old members, so an annotation that names it still resolves
  (:func:`taxonomy.edits.resolve`); one whose members all went unassigned keeps its id,
  flagged ``no_support``, as a plain update flags it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.records import Expression, Value

from .build import DEFAULT_PCA_COMPONENTS, BuildResult, TaxonomyBuilder
from .edits import ACTIVE, fresh_value_id, ids_ever_seen
from .folder import TaxonomyFolder
from .naming import disambiguate, recorded_namer

# Lineage entries that record what a person decided about values (an update or a build does not).
MACHINE_OPS = ("build", "update")


def reviewed_value_ids(folder: TaxonomyFolder) -> set[str]:
    """Values a person has decided something about: accepted or rejected, or named by an edit."""
    ids = {v.id for v in folder.taxonomy.values}
    named: set[str] = set()

    def walk(x) -> None:
        if isinstance(x, str) and x in ids:
            named.add(x)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    for entry in folder.taxonomy.lineage:
        if entry.op not in MACHINE_OPS:
            walk(entry.args)
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
        # Every expression here went through the taxonomy's own span filter already.
        span_filter=None)


def regroup_target(folder: TaxonomyFolder, n_pinned_active: int) -> int | None:
    """How many values the regrouped expressions form: the build's count less the reviewed
    active values; ``None`` (HDBSCAN's own count) for a build with ``--n-values auto``; 0 when
    there is no count to follow (an imported taxonomy, or reviewed values that fill the count),
    and the update then sizes them as it sizes new values."""
    p = folder.taxonomy.params or {}
    if "n_values" not in p:
        return 0
    n = p["n_values"]
    return None if n is None else max(0, int(n) - n_pinned_active)


@dataclass
class Regrouped:
    """What :func:`regroup` decided, for the update to write into its new version."""

    expressions: list[Expression] = field(default_factory=list)  # the regrouped ones, with value ids
    values: list[Value] = field(default_factory=list)
    centroids: dict[str, np.ndarray] = field(default_factory=dict)
    new_ids: list[str] = field(default_factory=list)   # values it added (ids the taxonomy never held)
    kept_ids: list[str] = field(default_factory=list)  # earlier unreviewed values back under their id
    merged: dict[str, str] = field(default_factory=dict)  # earlier unreviewed value -> its successor


def regroup(old: TaxonomyFolder, new: TaxonomyFolder, pool: Sequence[Expression], *, pinned: set[str],
            builder: TaxonomyBuilder, texts: dict[str, str] | None) -> Regrouped:
    """Cluster ``pool`` (old unpinned members, old outliers, new expressions no pinned value
    took) with ``builder`` and fit the result into ``new``: ids continued where the leading form is the same,
    old values that did not come back merged into their successors."""
    out = Regrouped()
    unassigned = [e.model_copy(update={"value_id": None, "similarity": None}) for e in pool]
    result: BuildResult | None = None
    if len(pool) >= 2:
        try:
            result = builder.fit_expressions(pool, texts=texts)
        except InputError:  # too few or too scattered to form a value: all stay unassigned
            result = None
    old_unpinned = [v for v in old.taxonomy.values if v.status in ACTIVE and v.id not in pinned]
    continuable = {v.id for v in old_unpinned}
    if result is None:
        out.expressions = unassigned
    else:
        # Every value the clustering forms, small ones too, as a build keeps them (under review).
        offered = result.taxonomy.values
        names = disambiguate([v.name for v in offered], [v.keywords for v in offered],
                             taken=[v.name for v in new.taxonomy.active_values() if v.id in pinned])
        ever = ids_ever_seen(old)
        rename: dict[str, str] = {}
        taken: set[str] = set()
        for v, name in zip(offered, names):
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
            out.centroids[vid] = result.folder.centroids[v.id]
        out.expressions = [e.model_copy(update={"value_id": rename.get(e.value_id)}) for e in result.expressions]
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


def check_regroupable(folder: TaxonomyFolder) -> None:
    if (folder.taxonomy.params or {}).get("embed_text") == "context":
        raise InputError(None, "a taxonomy embedded with its rationales (--embed-text context) cannot be regrouped: "
                               "its earlier rationales' texts are not kept; rebuild it instead", field="regroup")
