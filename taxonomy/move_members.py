"""Moving some of a value's members to another value, or out of every value: a reviewer's edit.

Reading a value form by form (`taxonomy show --value`) leaves a few members that do not belong
("counting on" in "Cheated", "a civic duty" in "Undermining"). Geometry alone does not find
them well enough to take them out automatically (README: a learned score loses about one fitting
member for each misfit it removes), so a person decides, and this records the decision as a new
version like every other edit.

A form whose every mention a person moved out of a value stays out of it: `taxonomy update`
(plain or ``--regroup``) and expression-level coding never put a new mention of it back there
(:func:`forms_moved_out`), while other values may still take it. Moving a form into a value
lifts an earlier refusal by that value.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from moralgap.errors import InputError
from moralgap.records import Taxonomy

from .cluster import unit_rows
from .edits import new_version, part_views, resolve, resolve_in, value_of
from .folder import TaxonomyFolder
from .members import MemberForm, member_forms
from .quality import refresh_quality
from .space import EmbeddingSpace

OP = "move"
DILEMMA_FIGURES = ("n_dilemmas", "top_dilemma_share", "topical_form_share")


def member_ids_of_forms(folder: TaxonomyFolder, value_id: str, forms: Sequence[str]) -> list[str]:
    """The ids of every mention of each form in ``forms`` that ``value_id`` holds; a form is given
    as `taxonomy show --value` prints it (as written, or its normal form), case and spacing aside."""
    value_of(folder, value_id)  # an unknown or retired value is named as such, not as holding nothing
    held = member_forms(folder, value_id)
    out: list[str] = []
    for wanted in forms:
        low = " ".join(str(wanted).split()).casefold()
        found = [m for m in held if low in (" ".join(m.written.split()).casefold(), m.norm.casefold())]
        if not found:
            listed = ", ".join(f'"{m.written}"' for m in held[:8]) + (", ..." if len(held) > 8 else "")
            raise InputError(None, f"value {value_id} holds no form {wanted!r} (it holds {listed})", field="form")
        out.extend(i for m in found for i in m.expression_ids if i not in out)
    return out


def move(folder: TaxonomyFolder, value_id: str, expression_ids: Sequence[str], *, to: str | None = None,
         embedder=None, texts: dict[str, str] | None = None, author: str, reason: str = "",
         at: str | None = None) -> TaxonomyFolder:
    """Move the mentions ``expression_ids`` of ``value_id`` into the value ``to``, or out of every
    value (``to=None``: they become outliers, kept in the folder).

    Both values' centroids become the mean of the members they hold now, and their members'
    similarities, keywords, exemplars, sizes and quality records are recounted from those, as
    a split recounts its parts. Names, definitions and statuses stay: they are a person's to
    change. ``texts`` (rationale id -> text) is needed only for a taxonomy embedded with its
    rationales (``--embed-text context`` / ``sentence``).
    """
    source = value_of(folder, value_id)
    target = value_of(folder, to, what="to") if to is not None else None
    if to == value_id:
        raise InputError(None, f"the expressions are already in value {value_id}", field="to")
    wanted = list(dict.fromkeys(str(i) for i in expression_ids))
    if not wanted:
        raise InputError(None, "give at least one expression (or form) to move", field="expression_ids")
    members = [e for e in folder.expressions if e.value_id == value_id and not e.excluded]
    mine = {e.id for e in members}
    stray = [i for i in wanted if i not in mine]
    if stray:
        raise InputError(None, f"expression {stray[0]!r} is not a member of value {value_id}", field="expression_ids")
    moving = set(wanted)
    stay = [e for e in members if e.id not in moving]
    if not stay:
        raise InputError(None, f"that is every member of value {value_id}: reject it (`taxonomy edit reject`) or "
                               "merge it into another value instead", field="expression_ids")
    moved = [e for e in members if e.id in moving]
    joined = [e for e in folder.expressions if to is not None and e.value_id == to and not e.excluded] + moved

    space = EmbeddingSpace.of(folder, embedder=embedder)
    parts = [stay] + ([joined] if to is not None else [])
    vectors = [space.expression_vectors(p, texts) for p in parts]
    cents = [unit_rows(v.astype(np.float64).mean(axis=0, keepdims=True))[0].astype(np.float32) for v in vectors]
    sims = [v @ c for v, c in zip(vectors, cents)]
    views = part_views(folder, space, parts, sims, texts)

    forms_left = {e.norm for e in stay}
    args = {"value_id": value_id, "to": to, "names": [source.name, target.name if target else None],
            "expression_ids": sorted(moving),
            "forms": sorted({e.norm for e in moved}),
            # Forms no mention of which is left in the value: an update keeps them out of it.
            "forms_out": sorted({e.norm for e in moved} - forms_left),
            "sizes": {value_id: len(stay), **({to: len(joined)} if to is not None else {})}}
    new = new_version(folder, OP, args, author=author, reason=reason, at=at)
    placed = {}
    for vid, part, part_sims, cent, view in zip([value_id, to], parts, sims, cents, views):
        v = value_of(new, vid)
        v.size, v.keywords, v.exemplars = len(part), view.keywords, view.exemplars
        v.flags = [f for f in v.flags if f != "no_support"]
        new.centroids[vid] = cent
        placed.update({e.id: (vid, round(float(s), 4)) for e, s in zip(part, part_sims)})
    new.expressions = [
        e.model_copy(update={"value_id": placed[e.id][0], "similarity": placed[e.id][1]}) if e.id in placed
        else e.model_copy(update={"value_id": None, "similarity": None}) if e.id in moving else e
        for e in new.expressions]
    refresh_quality(new, space)
    for vid in filter(None, (value_id, to)):
        # A build counts the dilemmas a value spans; those figures described members it no longer has.
        for stale in DILEMMA_FIGURES:
            (value_of(new, vid).quality or {}).pop(stale, None)
    return new


def below_bar(taxonomy: Taxonomy, value_id: str, forms: Iterable[MemberForm]) -> set[str]:
    """The normal forms among ``forms`` (of ``value_id``) that lie below the cosine the build asked
    of an outlier to join a value (``stats.assign_threshold``): the members to read first. A form
    a person moved into the value is left out, however far it lies."""
    bar = (taxonomy.stats or {}).get("assign_threshold")
    if not isinstance(bar, (int, float)):
        return set()
    placed = forms_moved_in(taxonomy, value_id)
    return {m.norm for m in forms if m.similarity is not None and m.similarity < bar and m.norm not in placed}


def forms_moved_in(taxonomy: Taxonomy, value_id: str) -> set[str]:
    """The normal forms a person moved into ``value_id`` (or into a value merged into it since):
    where they lie from its centroid was a person's call, not a doubt to flag."""
    into = set()
    for entry in taxonomy.lineage:
        if entry.op == OP and isinstance(entry.args, dict) and entry.args.get("to"):
            if resolve_in(taxonomy, entry.args["to"]) == value_id:
                into.update(entry.args.get("forms") or ())
    return into


def forms_moved_out(folder: TaxonomyFolder) -> dict[str, set[str]]:
    """Normal form -> the values a person moved every mention of it out of, as they stand now (a
    value merged since is followed to the value that holds its members). A later move of the
    form into one of them lifts that refusal."""
    refused: dict[str, set[str]] = {}
    for entry in folder.taxonomy.lineage:
        if entry.op != OP or not isinstance(entry.args, dict):
            continue
        src, to = entry.args.get("value_id"), entry.args.get("to")
        for norm in entry.args.get("forms_out") or ():
            refused.setdefault(norm, set()).add(src)
        if to:
            for norm in entry.args.get("forms") or ():
                refused.get(norm, set()).discard(to)
    held = {v.id for v in folder.unmerged_values()}
    out = {norm: {resolve(folder, vid) for vid in vids} & held for norm, vids in refused.items()}
    return {norm: vids for norm, vids in out.items() if vids}
