"""What changed between two taxonomies: across recorded edits and across independent builds.

Values are matched in two passes:

1. **lineage** — the same id in both (renamed, redefined, re-parented, accepted, rejected,
   resized), an old id that the new taxonomy marks ``merged`` into another, and new ids that
   the new taxonomy's lineage records as split children of an old id;
2. **centroids** — for values the lineage cannot explain (two independent builds give
   unrelated ids), a one-to-one Hungarian assignment on centroid cosine similarity, kept where
   the similarity reaches ``threshold``. A leftover old value whose nearest new centroid
   reaches the threshold is reported as merged into it; a leftover new value close to an old
   one is reported as split from it; everything else is removed or added. Centroids are only
   compared when both taxonomies live in one embedding space (the same model fingerprint, see
   :class:`~taxonomy.space.EmbeddingSpace`); otherwise this pass is skipped and the diff says so.

The result is a table for people and JSON with old -> new id maps for programs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from moralgap.records import CODED_STATUSES, Taxonomy, Value

from .cluster import unit_rows
from .folder import TaxonomyFolder
from .space import EmbeddingSpace

DEFAULT_THRESHOLD = 0.8
# A value whose size changes by less than this share is not reported as resized (an update that
# adds a few expressions everywhere would otherwise list every value).
DEFAULT_RESIZE_TOLERANCE = 0.0


@dataclass
class Change:
    kind: str  # added removed renamed redefined reparented accepted rejected restored merged split resized
    old_id: str | None = None
    new_id: str | None = None
    new_ids: list[str] = field(default_factory=list)
    old: Any = None
    new: Any = None
    name: str = ""
    how: str = "lineage"
    similarity: float | None = None

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "old_id": self.old_id, "new_id": self.new_id, "name": self.name, "how": self.how}
        if self.new_ids:
            d["new_ids"] = self.new_ids
        if self.old is not None or self.new is not None:
            d["old"], d["new"] = self.old, self.new
        if self.similarity is not None:
            d["similarity"] = round(self.similarity, 4)
        return d


@dataclass
class TaxonomyDiff:
    old: Taxonomy
    new: Taxonomy
    changes: list[Change]
    id_map: dict[str, str]          # old id -> the new id that holds it (same, merged target, matched)
    split_map: dict[str, list[str]]  # old id -> every new id it went to
    threshold: float
    # Why centroids were not compared (different embedding models), or None when they were.
    centroids_skipped: str | None = None

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.kind] = out.get(c.kind, 0) + 1
        return dict(sorted(out.items()))

    def of_kind(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    def to_json(self) -> dict:
        return {
            "old": {"name": self.old.name, "version": self.old.version, "n_active": len(self.old.active_values())},
            "new": {"name": self.new.name, "version": self.new.version, "n_active": len(self.new.active_values())},
            "threshold": self.threshold,
            "summary": self.kinds(),
            "id_map": dict(sorted(self.id_map.items())),
            "split_map": dict(sorted(self.split_map.items())),
            "changes": [c.to_dict() for c in self.changes],
            **({"centroids_skipped": self.centroids_skipped} if self.centroids_skipped else {}),
        }

    def format_table(self) -> str:
        head = (f"{self.old.name} v{self.old.version} ({len(self.old.active_values())} active) -> "
                f"{self.new.name} v{self.new.version} ({len(self.new.active_values())} active)")
        summary = ", ".join(f"{n} {k}" for k, n in self.kinds().items()) or "no changes"
        lines = [head, summary]
        if self.centroids_skipped:
            lines.append(f"centroids not compared: {self.centroids_skipped}")
        if not self.changes:
            return "\n".join(lines)
        rows = [(c.kind, c.old_id or "", ", ".join(c.new_ids) if c.new_ids else (c.new_id or ""), c.name, _detail(c))
                for c in self.changes]
        widths = [max(len(r[i]) for r in rows + [("kind", "old id", "new id", "name", "")]) for i in range(4)]
        lines.append("  ".join(h.ljust(w) for h, w in zip(("kind", "old id", "new id", "name"), widths)) + "  detail")
        for r in rows:
            lines.append("  ".join(x.ljust(w) for x, w in zip(r[:4], widths)) + "  " + r[4])
        return "\n".join(lines)


def _detail(c: Change) -> str:
    if c.kind in ("renamed", "redefined", "reparented", "resized", "accepted", "rejected", "restored"):
        text = f"{c.old!r} -> {c.new!r}" if c.kind != "resized" else f"{c.old} -> {c.new}"
    elif c.kind in ("merged", "split") and c.old is not None:
        text = f"sizes {c.old} -> {c.new}"
    elif c.kind in ("added", "removed"):
        text = f"size {c.new if c.kind == 'added' else c.old}"
    else:
        text = ""
    if c.how != "lineage":
        text += f" [{c.how}" + (f" {c.similarity:.2f}]" if c.similarity is not None else "]")
    return text


def _split_children(new: Taxonomy, since_version: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entry in new.lineage:
        if entry.op == "split" and entry.version > since_version:
            out.setdefault(entry.args.get("value_id"), []).extend(entry.args.get("children", []))
    # a child split again later: its own children descend from the first parent too
    changed = True
    while changed:
        changed = False
        for parent, kids in out.items():
            for kid in list(kids):
                for grandkid in out.get(kid, []):
                    if grandkid not in kids:
                        kids.append(grandkid)
                        changed = True
    return out


def _follow(by_id: dict[str, Value], vid: str) -> str:
    seen = set()
    while vid in by_id and by_id[vid].status == "merged" and vid not in seen:
        seen.add(vid)
        vid = by_id[vid].merged_into
    return vid


def _same_id_changes(o: Value, n: Value, resize_tolerance: float, how: str = "lineage", sim: float | None = None) -> list[Change]:
    out: list[Change] = []

    def add(kind, a, b):
        out.append(Change(kind, o.id, n.id, old=a, new=b, name=n.name, how=how, similarity=sim))

    if o.name != n.name:
        add("renamed", o.name, n.name)
    if how == "lineage":
        if o.definition != n.definition:
            add("redefined", o.definition, n.definition)
        if o.status != n.status:
            kind = {"accepted": "accepted", "rejected": "rejected"}.get(n.status, "restored")
            add(kind, o.status, n.status)
    if o.parent != n.parent:
        add("reparented", o.parent, n.parent)
    if o.size != n.size and abs(n.size - o.size) > resize_tolerance * max(o.size, 1):
        add("resized", o.size, n.size)
    return out


def diff_taxonomies(old: TaxonomyFolder, new: TaxonomyFolder, *, threshold: float = DEFAULT_THRESHOLD,
                    resize_tolerance: float = DEFAULT_RESIZE_TOLERANCE) -> TaxonomyDiff:
    """Compare two taxonomy folders; see the module docstring for how values are matched."""
    ot, nt = old.taxonomy, new.taxonomy
    o_by, n_by = ot.by_id(), nt.by_id()
    changes: list[Change] = []
    id_map: dict[str, str] = {}
    split_map: dict[str, list[str]] = {}
    explained_new: set[str] = set()
    unmatched_old: list[str] = []

    children = _split_children(nt, ot.version)
    for o in ot.values:
        n = n_by.get(o.id)
        if n is None:
            if o.status in CODED_STATUSES:
                unmatched_old.append(o.id)
            continue
        explained_new.add(o.id)
        if n.status == "merged" and o.status != "merged":
            target = _follow(n_by, o.id)
            id_map[o.id] = target
            if target not in o_by:
                # A successor the new version made for it (``taxonomy update --regroup``): the
                # merge explains it; matched by centroid, it would read as split from its own source.
                explained_new.add(target)
            tgt = n_by.get(target)
            changes.append(Change("merged", o.id, target, old=o.size, new=tgt.size if tgt else None,
                                  name=f"{o.name} -> {tgt.name if tgt else target}"))
            continue
        if o.status == "merged":
            continue
        id_map[o.id] = o.id
        changes.extend(_same_id_changes(o, n, resize_tolerance))
        kids = [c for c in children.get(o.id, []) if c in n_by and c not in o_by]
        if kids:
            explained_new.update(kids)
            split_map[o.id] = [o.id] + kids
            changes.append(Change("split", o.id, o.id, new_ids=[o.id] + kids, old=o.size,
                                  new=[n.size] + [n_by[c].size for c in kids], name=n.name))

    candidates_new = [v.id for v in nt.active_values() if v.id not in explained_new]
    matched_new: dict[str, str] = {}
    a, b = EmbeddingSpace.of(ot), EmbeddingSpace.of(nt)
    skipped = None if a.same_model_as(b) else (
        f"{ot.name} v{ot.version} was embedded with {a.model_id!r} (fingerprint {a.recorded_fingerprint}), "
        f"{nt.name} v{nt.version} with {b.model_id!r} (fingerprint {b.recorded_fingerprint})")
    if unmatched_old and candidates_new and not skipped:
        matched_new = _match_by_centroid(old, new, unmatched_old, candidates_new, threshold, changes,
                                         id_map, resize_tolerance)
    leftover_old = [i for i in unmatched_old if i not in id_map]
    leftover_new = [i for i in candidates_new if i not in matched_new]
    if not skipped:
        _merges_and_splits_by_centroid(old, new, leftover_old, leftover_new, threshold, changes, id_map, split_map)
    for vid in leftover_old:
        if vid not in id_map:
            changes.append(Change("removed", vid, None, old=o_by[vid].size, name=o_by[vid].name))
    split_new = {c for kids in split_map.values() for c in kids}
    for vid in leftover_new:
        if vid not in split_new:
            changes.append(Change("added", None, vid, new=n_by[vid].size, name=n_by[vid].name))
    order = {k: i for i, k in enumerate(("removed", "added", "merged", "split", "renamed", "redefined", "reparented",
                                         "accepted", "rejected", "restored", "resized"))}
    changes.sort(key=lambda c: (order.get(c.kind, 99), c.name.lower(), c.old_id or "", c.new_id or ""))
    return TaxonomyDiff(ot, nt, changes, id_map, split_map, threshold, skipped)


def _sims(old: TaxonomyFolder, new: TaxonomyFolder, old_ids: list[str], new_ids: list[str]) -> tuple[list[str], list[str], np.ndarray]:
    old_ids = [i for i in old_ids if i in old.centroids]
    new_ids = [i for i in new_ids if i in new.centroids]
    if not old_ids or not new_ids:
        return old_ids, new_ids, np.zeros((len(old_ids), len(new_ids)))
    a = np.stack([old.centroids[i] for i in old_ids]).astype(np.float64)
    b = np.stack([new.centroids[i] for i in new_ids]).astype(np.float64)
    if a.shape[1] != b.shape[1]:
        return [], [], np.zeros((0, 0))  # different embedding models: centroids cannot be compared
    return old_ids, new_ids, unit_rows(a) @ unit_rows(b).T


def _match_by_centroid(old, new, old_ids, new_ids, threshold, changes, id_map, resize_tolerance) -> dict[str, str]:
    from scipy.optimize import linear_sum_assignment

    old_ids, new_ids, sim = _sims(old, new, old_ids, new_ids)
    if sim.size == 0:
        return {}
    rows, cols = linear_sum_assignment(-sim)
    o_by, n_by = old.taxonomy.by_id(), new.taxonomy.by_id()
    matched: dict[str, str] = {}
    for r, c in zip(rows, cols):
        s = float(sim[r, c])
        if s < threshold:
            continue
        oid, nid = old_ids[r], new_ids[c]
        id_map[oid] = nid
        matched[nid] = oid
        moved = _same_id_changes(o_by[oid], n_by[nid], resize_tolerance, how="centroid", sim=s)
        changes.extend(moved or [Change("matched", oid, nid, name=n_by[nid].name, how="centroid", similarity=s)])
    return matched


def _merges_and_splits_by_centroid(old, new, leftover_old, leftover_new, threshold, changes, id_map, split_map) -> None:
    """Leftovers close to a value that already has a partner: merged into it or split from it."""
    o_by, n_by = old.taxonomy.by_id(), new.taxonomy.by_id()
    targets = sorted({v for v in id_map.values() if v in new.centroids and n_by.get(v) and n_by[v].status in CODED_STATUSES})
    if leftover_old and targets:
        ids_o, ids_t, sim = _sims(old, new, leftover_old, targets)
        for r, oid in enumerate(ids_o):
            c = int(np.argmax(sim[r]))
            if sim[r, c] >= threshold:
                id_map[oid] = ids_t[c]
                changes.append(Change("merged", oid, ids_t[c], old=o_by[oid].size, new=n_by[ids_t[c]].size,
                                      name=f"{o_by[oid].name} -> {n_by[ids_t[c]].name}", how="centroid",
                                      similarity=float(sim[r, c])))
    sources = sorted({k for k, v in id_map.items() if k in old.centroids and v in n_by})
    if leftover_new and sources:
        ids_n, ids_s, sim = _sims(new, old, leftover_new, sources)
        for r, nid in enumerate(ids_n):
            c = int(np.argmax(sim[r]))
            if sim[r, c] >= threshold:
                src = ids_s[c]
                kids = split_map.setdefault(src, [id_map[src]])
                kids.append(nid)
                changes.append(Change("split", src, id_map[src], new_ids=[nid], name=f"{o_by[src].name} -> {n_by[nid].name}",
                                      how="centroid", similarity=float(sim[r, c])))
