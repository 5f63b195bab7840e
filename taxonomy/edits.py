"""Recorded edits of a taxonomy: each one a pure function that returns a new version.

Every operation takes a :class:`~taxonomy.folder.TaxonomyFolder` and returns a *new* folder
whose taxonomy has ``version`` + 1 and one more :class:`~moralgap.records.LineageEntry`
(what was done, to which ids, by whom, when and why). The input folder is never modified, so
a failed check leaves nothing half-edited and no version is written.

Value ids are opaque and never reused: new ids (split children, values added by an update or
an import) come from :func:`fresh_value_id`, which refuses every id the taxonomy has ever
held, including ids only named in its lineage. Names are labels and may change.
"""
from __future__ import annotations

import datetime as _dt
from typing import Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.records import Expression, LineageEntry, Taxonomy, Value
from moralgap.seeding import DEFAULT_SEED

from .cluster import unit_rows
from .folder import TaxonomyFolder
from .naming import Naming
from .quality import refresh_quality
from .space import EmbeddingSpace

# Values a reviewer may still edit; needs_review values are there to be renamed, defined,
# accepted, merged or rejected.
ACTIVE = ("proposed", "accepted", "needs_review")
MAX_EXEMPLARS = 10
MAX_KEYWORDS = 8


# -- ids and versions ---------------------------------------------------------------------
def strings_in(x) -> set[str]:
    """Every string in a lineage entry's arguments, dictionary keys included (a split's sizes
    are keyed by value id): the ids an edit names are among them."""
    if isinstance(x, str):
        return {x}
    if isinstance(x, dict):
        return set().union(*(strings_in(k) | strings_in(v) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return set().union(*(strings_in(v) for v in x))
    return set()


def ids_ever_seen(folder: TaxonomyFolder) -> set[str]:
    """Every value id the taxonomy holds or its lineage names (split children, merges, ...)."""
    seen = {v.id for v in folder.taxonomy.values} | set(folder.centroids)
    return seen.union(*(strings_in(entry.args) for entry in folder.taxonomy.lineage))


def fresh_value_id(folder: TaxonomyFolder, *anchors: str, taken: set[str] | None = None) -> str:
    """A deterministic opaque id (``v`` + 10 hex) from ``anchors`` that the taxonomy never held."""
    from .build import value_id_for

    taken = ids_ever_seen(folder) | (taken or set())
    return value_id_for(folder.taxonomy.name, [str(a) for a in anchors], taken)


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_version(folder: TaxonomyFolder, op: str, args: dict, *, author: str, reason: str,
                at: str | None = None) -> TaxonomyFolder:
    """A deep copy of ``folder`` with the version bumped and the edit recorded in the lineage."""
    if not isinstance(author, str) or not author.strip():
        raise InputError(None, "an edit needs an author", field="author")
    tax = folder.taxonomy.model_copy(deep=True)
    tax.version += 1
    tax.lineage.append(LineageEntry(version=tax.version, op=op, args=args, author=author.strip(),
                                    reason=reason or "", at=at or now()))
    return TaxonomyFolder(tax, [e.model_copy() for e in folder.expressions],
                          {k: v.copy() for k, v in folder.centroids.items()})


def value_of(folder: TaxonomyFolder, value_id: str, *, active: bool = True, what: str = "value_id") -> Value:
    """The value ``value_id`` of ``folder`` (the live object: call on a copy before changing it)."""
    for v in folder.taxonomy.values:
        if v.id == value_id:
            if active and v.status not in ACTIVE:
                extra = f" into {v.merged_into}" if v.status == "merged" else ""
                raise InputError(None, f"value {value_id} is {v.status}{extra}; it cannot be edited", field=what)
            return v
    raise InputError(None, f"unknown value id {value_id!r} in {folder.taxonomy.name} v{folder.taxonomy.version}",
                     field=what)


def resolve(folder: TaxonomyFolder, value_id: str) -> str:
    """Follow ``merged_into`` links to the value that now holds ``value_id``'s expressions."""
    return resolve_in(folder.taxonomy, value_id)


def resolve_in(taxonomy: Taxonomy, value_id: str) -> str:
    """:func:`resolve` for a taxonomy without its folder (a review task is made from one)."""
    by_id = taxonomy.by_id()
    seen = set()
    while value_id in by_id and by_id[value_id].status == "merged" and value_id not in seen:
        seen.add(value_id)
        value_id = by_id[value_id].merged_into
    return value_id


def check_folder(folder: TaxonomyFolder) -> None:
    """Consistency a hand edit can break: expressions pointing at ids the taxonomy lacks."""
    known = {v.id for v in folder.taxonomy.values}
    for e in folder.expressions:
        if e.value_id is not None and e.value_id not in known:
            raise InputError("expressions.jsonl", f"expression {e.id} points at unknown value id {e.value_id!r}",
                             field="value_id")


def _name_taken(folder: TaxonomyFolder, name: str, except_id: str | None = None) -> bool:
    low = name.strip().lower()
    return any(v.name.strip().lower() == low and v.id != except_id for v in folder.taxonomy.active_values())


def _nonempty(text: str, field: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InputError(None, f"{field} must be a non-empty string", field=field)
    return text.strip()


# -- simple edits -------------------------------------------------------------------------
def _change(folder: TaxonomyFolder, value_id: str, attr: str, value, op: str, *, author: str, reason: str,
            at: str | None, active: bool = True) -> TaxonomyFolder:
    """A new version in which one attribute of one value has changed; the lineage keeps old and new."""
    old = getattr(value_of(folder, value_id, active=active), attr)
    new = new_version(folder, op, {"value_id": value_id, "old": old, "new": value}, author=author, reason=reason, at=at)
    setattr(value_of(new, value_id, active=active), attr, value)
    return new


def rename(folder: TaxonomyFolder, value_id: str, name: str, *, author: str, reason: str = "",
           at: str | None = None) -> TaxonomyFolder:
    name = _nonempty(name, "name")
    old = value_of(folder, value_id)
    if old.name == name:
        raise InputError(None, f"value {value_id} is already named {name!r}", field="name")
    if _name_taken(folder, name, except_id=value_id):
        raise InputError(None, f"another active value is already named {name!r}", field="name")
    return _change(folder, value_id, "name", name, "rename", author=author, reason=reason, at=at)


def set_definition(folder: TaxonomyFolder, value_id: str, definition: str, *, author: str, reason: str = "",
                   at: str | None = None) -> TaxonomyFolder:
    definition = (definition or "").strip()
    if value_of(folder, value_id).definition == definition:
        raise InputError(None, f"value {value_id} already has that definition", field="definition")
    return _change(folder, value_id, "definition", definition, "set_definition", author=author, reason=reason, at=at)


def _set_status(folder: TaxonomyFolder, value_id: str, status: str, op: str, *, author: str, reason: str,
                at: str | None) -> TaxonomyFolder:
    old = value_of(folder, value_id, active=False)
    if old.status == "merged":
        raise InputError(None, f"value {value_id} is merged into {old.merged_into}; {op} that value instead",
                         field="value_id")
    if old.status == status:
        raise InputError(None, f"value {value_id} is already {status}", field="value_id")
    return _change(folder, value_id, "status", status, op, author=author, reason=reason, at=at, active=False)


def accept(folder: TaxonomyFolder, value_id: str, *, author: str, reason: str = "", at: str | None = None) -> TaxonomyFolder:
    """A human keeps the value (a rejected value may be accepted again)."""
    return _set_status(folder, value_id, "accepted", "accept", author=author, reason=reason, at=at)


def reject(folder: TaxonomyFolder, value_id: str, *, author: str, reason: str = "", at: str | None = None) -> TaxonomyFolder:
    """The value is not a value; its expressions keep pointing at it so that a later accept restores it."""
    return _set_status(folder, value_id, "rejected", "reject", author=author, reason=reason, at=at)


def set_parent(folder: TaxonomyFolder, value_id: str, parent: str | None, *, author: str, reason: str = "",
               at: str | None = None) -> TaxonomyFolder:
    """Put the value in a parent group (a label such as "Care/Harm"); ``None`` or "" removes it."""
    parent = (parent or "").strip() or None
    old = value_of(folder, value_id)
    if parent == value_id:
        raise InputError(None, "a value cannot be its own parent", field="parent")
    if old.parent == parent:
        raise InputError(None, f"value {value_id} already has parent {parent!r}", field="parent")
    return _change(folder, value_id, "parent", parent, "set_parent", author=author, reason=reason, at=at)


# -- merge ---------------------------------------------------------------------------------
def _merge_lists(a: Sequence[str], b: Sequence[str], cap: int) -> list[str]:
    out: list[str] = []
    for x in list(a) + list(b):
        if x not in out:
            out.append(x)
    return out[:cap]


def merge(folder: TaxonomyFolder, source_id: str, target_id: str, *, author: str, reason: str = "",
          at: str | None = None) -> TaxonomyFolder:
    """Merge ``source_id`` into ``target_id``: the source keeps its id with status ``merged``.

    Its expressions move to the target (their stored similarity referred to the old centroid,
    so it is cleared) and the target's centroid becomes the size-weighted mean of both.
    """
    if source_id == target_id:
        raise InputError(None, f"cannot merge value {source_id} into itself", field="target_id")
    src = value_of(folder, source_id, what="source_id")
    tgt = value_of(folder, target_id, what="target_id")
    new = new_version(folder, "merge", {"source_id": source_id, "target_id": target_id,
                                        "source_name": src.name, "target_name": tgt.name,
                                        "sizes": [src.size, tgt.size]},
                      author=author, reason=reason, at=at)
    s, t = value_of(new, source_id), value_of(new, target_id)
    cs, ct = new.centroids.get(source_id), new.centroids.get(target_id)
    if cs is not None and ct is not None:
        ws, wt = max(s.size, 0), max(t.size, 0)
        if ws + wt == 0:
            ws = wt = 1
        new.centroids[target_id] = unit_rows(ws * cs.astype(np.float64) + wt * ct.astype(np.float64)).astype(np.float32)
    elif ct is None and cs is not None:
        new.centroids[target_id] = cs.copy()
    t.size += s.size
    t.keywords = _merge_lists(t.keywords, s.keywords, MAX_KEYWORDS)
    t.exemplars = _merge_lists(t.exemplars, s.exemplars, MAX_EXEMPLARS)
    t.flags = [f for f in t.flags if f != "no_support"] if t.size else t.flags
    s.status, s.merged_into, s.size = "merged", target_id, 0
    new.expressions = [e.model_copy(update={"value_id": target_id, "similarity": None}) if e.value_id == source_id else e
                       for e in new.expressions]
    # The record `taxonomy show` prints follows the members: counts and nearest values are
    # recounted here; the target's cohesion would need its members embedded, so it is dropped
    # until an update measures it again rather than shown for a value that no longer exists.
    refresh_quality(new, EmbeddingSpace.of(new), embed=False)
    if t.quality:
        t.quality.pop("cohesion", None)
    return new


# -- naming a split's parts -------------------------------------------------------------------
def part_views(folder: TaxonomyFolder, space: EmbeddingSpace, parts: list[list[Expression]],
               centrality: list[np.ndarray], texts: dict[str, str] | None):
    """Views of a split's (or a move's) parts, made as the build makes them of its clusters
    (distinct forms by embedding key, most typical first), with the taxonomy's other values that hold members as the
    background their keywords stand out from, as a build's keywords stand out from every other
    cluster. Values under review count too: the build counted them, and without their words a
    part's keywords could come out in another order than the build gave the same members."""
    from .build import _around, _group
    from .naming import cluster_views

    in_parts = {e.id for part in parts for e in part}
    others = [[e for e in folder.expressions if e.value_id == v.id and e.id not in in_parts]
              for v in folder.taxonomy.values]
    groups = parts + [g for g in others if g]
    label = {e.id: n for n, g in enumerate(groups) for e in g}
    sim = {e.id: float(c) for part, cs in zip(parts, centrality) for e, c in zip(part, cs)}
    d = _group([e for g in groups for e in g], lambda e: f"{label[e.id]}\x01{space.key(e)}")
    members = [[] for _ in groups]
    for i, k in enumerate(d.keys):
        members[int(k.split("\x01", 1)[0])].append(i)
    centr = np.array([sim.get(e.id, 0.0) for e in d.first])
    contexts = [_around(texts.get(e.rationale_id, ""), e) if texts else "" for e in d.first]
    n_exemplars = int((folder.taxonomy.params or {}).get("n_exemplars", MAX_EXEMPLARS))
    views = cluster_views(members, d.norms, d.counts, centr, d.surface, d.rationales, d.lexicon, n_exemplars,
                          contexts=contexts)
    return views[:len(parts)]


# -- split -----------------------------------------------------------------------------------
def _split_by_k(vectors: np.ndarray, k: int, seed: int, value_id: str) -> np.ndarray:
    from sklearn.cluster import KMeans

    from moralgap.seeding import rng

    distinct, inverse = np.unique(vectors, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(distinct) < k:
        raise InputError(None, f"value {value_id} has only {len(distinct)} distinct expressions; cannot split into {k}",
                         field="k")
    weights = np.bincount(inverse, minlength=len(distinct)).astype(float)
    state = int(rng(seed, "split", value_id).integers(0, 2**31 - 1))
    km = KMeans(n_clusters=k, n_init=10, random_state=state).fit(distinct, sample_weight=weights)
    return km.labels_[inverse]


def split(folder: TaxonomyFolder, value_id: str, *, groups: Sequence[Sequence[str]] | None = None,
          k: int | None = None, embedder=None, seed: int = DEFAULT_SEED, names: Sequence[str] | None = None,
          texts: dict[str, str] | None = None, author: str, reason: str = "", at: str | None = None) -> TaxonomyFolder:
    """Split a value into parts: by lists of its expression ids (``groups``) or by k-means (``k``).

    The value keeps its id for the part that stays: with ``groups``, the expressions no group
    lists; when the groups cover all of them (and always with ``k``), the largest part. Every
    other part becomes a new ``proposed`` child value with a fresh id and the same parent group,
    named by ``names`` or else by the build's naming step (:func:`taxonomy.naming.name_values`
    with the namer the taxonomy was built with), so a child is named as a build would name it.
    Centroids, keywords and exemplars of the parts are recomputed from the expressions' embeddings.
    """
    if (groups is None) == (k is None):
        raise InputError(None, "split needs either groups (lists of expression ids) or k", field="groups")
    val = value_of(folder, value_id)
    members = [e for e in folder.expressions if e.value_id == value_id]
    if not members:
        raise InputError(None, f"value {value_id} has no expressions to split", field="value_id")
    member_index = {e.id: i for i, e in enumerate(members)}
    labels = np.full(len(members), -1)
    if groups is not None:
        groups = [list(g) for g in groups]
        if not groups or any(not g for g in groups):
            raise InputError(None, "every group must list at least one expression id", field="groups")
        for gi, g in enumerate(groups):
            for eid in g:
                if eid not in member_index:
                    raise InputError(None, f"expression {eid!r} is not an expression of value {value_id}", field="groups")
                if labels[member_index[eid]] >= 0:
                    raise InputError(None, f"expression {eid!r} is listed in two groups", field="groups")
                labels[member_index[eid]] = gi
        n_parts = len(groups) + (1 if (labels < 0).any() else 0)
        labels = np.where(labels < 0, len(groups), labels)
    else:
        if not isinstance(k, int) or k < 2:
            raise InputError(None, "k must be an integer of at least 2", field="k")
        n_parts = k
    if n_parts < 2:
        raise InputError(None, "a split needs at least two parts", field="groups")
    if names is not None and len(names) != n_parts - 1:
        raise InputError(None, f"give {n_parts - 1} names, one per new value", field="names")

    from .naming import make_namer, name_values, recorded_namer

    space = EmbeddingSpace.of(folder, embedder=embedder)
    vectors = space.expression_vectors(members, texts)
    if k is not None:
        labels = _split_by_k(vectors, k, seed, value_id)
    sizes = np.bincount(labels, minlength=n_parts)
    if groups is not None and (labels == len(groups)).any():
        keep = len(groups)
    else:
        keep = int(np.argmax(sizes))

    children: list[str] = []
    taken: set[str] = set()
    for part in range(n_parts):
        if part != keep:
            cid = fresh_value_id(folder, value_id, f"split@{folder.taxonomy.version + 1}", str(part), taken=taken)
            taken.add(cid)
            children.append(cid)
    args = {"value_id": value_id, "children": children, "sizes": {value_id: int(sizes[keep])}}
    args["sizes"].update({c: int(sizes[p]) for c, p in zip(children, [p for p in range(n_parts) if p != keep])})
    args["method"] = "groups" if groups is not None else f"kmeans k={k} seed={seed}"
    new = new_version(folder, "split", args, author=author, reason=reason, at=at)

    rows = [np.where(labels == part)[0] for part in range(n_parts)]
    cents = np.stack([unit_rows(vectors[idx].astype(np.float64).mean(axis=0)) for idx in rows]).astype(np.float32)
    views = part_views(folder, space, [[members[i] for i in idx] for idx in rows],
                       [vectors[idx] @ cents[part] for part, idx in enumerate(rows)], texts)
    new_parts = [part for part in range(n_parts) if part != keep]
    if names is not None:
        namings = [Naming(name=_nonempty(n, "names"), source=None) for n in names]
        for i, n in enumerate(namings):
            if _name_taken(new, n.name) or n.name.lower() in (m.name.lower() for m in namings[:i]):
                raise InputError(None, f"another active value is already named {n.name!r}", field="names")
    else:
        # The build's naming step, with the namer the taxonomy was built with.
        namer = make_namer(recorded_namer(folder.taxonomy.params), [views[p] for p in new_parts], cents[new_parts],
                           space.encode)
        namings = name_values([views[p] for p in new_parts], namer,
                              taken=[v.name for v in new.taxonomy.active_values()])

    part_ids = dict(zip(new_parts, children)) | {keep: value_id}
    parent_val = value_of(new, value_id)
    parent_val.size, parent_val.keywords, parent_val.exemplars = len(rows[keep]), views[keep].keywords, views[keep].exemplars
    for part, naming in zip(new_parts, namings):
        new.taxonomy.values.append(Value(
            id=part_ids[part], name=naming.name, definition=naming.definition, name_source=naming.source,
            keywords=views[part].keywords, exemplars=views[part].exemplars, size=len(rows[part]),
            status="needs_review" if naming.not_a_value else "proposed", review_reason=naming.not_a_value,
            parent=val.parent,
        ))
    for part in range(n_parts):
        new.centroids[part_ids[part]] = cents[part]
    new_of = {members[i].id: (part_ids[int(labels[i])], float(vectors[i] @ cents[int(labels[i])]))
              for i in range(len(members))}
    new.expressions = [e.model_copy(update={"value_id": new_of[e.id][0], "similarity": round(new_of[e.id][1], 4)})
                       if e.id in new_of else e for e in new.expressions]
    # The parts get the quality record a build would give them, and the value split keeps its
    # own only for what it still holds.
    refresh_quality(new, space)
    return new

OPERATIONS = {"rename": rename, "set_definition": set_definition, "accept": accept, "reject": reject,
              "merge": merge, "split": split, "set_parent": set_parent}
