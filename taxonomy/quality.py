"""What a reviewer needs to judge a value at a glance, and when the build itself doubts one.

Per value (``Value.quality``):

- ``cohesion``: mention-weighted mean cosine similarity of the members to the value's centroid;
- ``nearest_value`` / ``nearest_similarity``: the closest other value and the cosine similarity
  of the two centroids (``separation`` is one minus it);
- ``lexicon_free_share``: share of mentions that no lexicon word produced, i.e. what the
  lexicon alone would have missed;
- ``n_rationales``: how many distinct rationales the value's mentions come from;
- ``top_form_share``: share of mentions taken by the single most frequent form;
- ``cohesion_without_people`` / ``people_named``: where members name people ("discipline your
  sister"), their cohesion once those words are left out (``people.py``), and the people named
  most; with them, at a build, ``shared_word`` / ``shared_word_share``: the phrase most members
  say (``naming.shared_phrase``) and the share of the value's rationales that say it.

A value is published as ``needs_review`` (with the reason) when it rests on too few rationales
to say anything about people, when its members are less alike than the build's other values
(cohesion below first quartile minus half the interquartile range: on the real AITA comments
this marks the mixed bags a reader picks out, e.g. "help" with "did nothing wrong" and "say no"),
when they are alike only through the people they name (their cohesion without those words is
below that same fence: "coerce sibling", "discipline sister", "respect brother identity"; not
when most of its rationales say one phrase besides, "protect your child", "protect your
daughter's privacy": the value is that phrase's),
when it nearly duplicates a larger value, or when the namer says it is not a value.
"""
from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Sequence

import numpy as np

from .people import people_named, vectors_without_people
from .space import embeds_context
from .value_filter import EVERYDAY_ACTS

# Fewer rationales than this and a value says more about one writer than about people.
MIN_RATIONALES = 3
# Centroids this similar are one value found twice (MiniLM cosine; synonyms sit near 0.7-0.8).
DUPLICATE_SIMILARITY = 0.92
FENCE_IQR = 0.5
# Members alike through the people they name are still one value when at least this share of
# its rationales say one phrase besides ("protect" in "protect your child", "protect your
# daughter's privacy", "protect your child's belongings": 9 of 12 gpt-4o rationales). The values
# the check is for share far less: on gpt-4o's rationales "Respecting" (4 of 10) and "Informing
# Your Husband" (2 of 5), on Touché23 premises "Encourage Children" (11 of 47).
SHARED_WORD_SHARE = 2 / 3


def value_quality(vectors: np.ndarray, counts: np.ndarray, centroids: np.ndarray,
                  members: list[list[int]], prior_values: list, views: Sequence, *,
                  keys: Sequence[str] | None = None, without_people: np.ndarray | None = None) -> list[dict]:
    """One quality record per value; ``keys`` and ``without_people`` (each row's embedding key,
    and its vector with the people it names left out: ``people.vectors_without_people``) add the
    people figures."""
    k = len(members)
    between = centroids @ centroids.T if k else np.zeros((0, 0))
    if k:
        np.fill_diagonal(between, -np.inf)
    out = []
    for c, idx in enumerate(members):
        w = counts[idx]
        total = float(w.sum()) or 1.0
        sims = vectors[idx] @ centroids[c]
        with_prior = float(sum(sum(prior_values[i].values()) for i in idx))
        q = {
            "cohesion": round(float((sims * w).sum() / total), 4),
            "lexicon_free_share": round(max(0.0, 1.0 - with_prior / total), 4),
            "n_rationales": int(views[c].n_rationales),
            "top_form_share": round(float(w.max() / total), 4) if len(idx) else 0.0,
        }
        if keys is not None and without_people is not None and len(idx):
            q.update(_people_figures([keys[i] for i in idx], w, without_people[idx]))
            shared = getattr(views[c], "shared", "")
            # An everyday verb ("take" of "take advantage", "take ownership") holds no value together.
            lead = (getattr(views[c], "shared_form", "") or shared).split()[:1]
            if "people_named" in q and shared and q["n_rationales"] and lead and lead[0] not in EVERYDAY_ACTS:
                q["shared_word"] = shared
                q["shared_word_share"] = round(views[c].shared_rationales / q["n_rationales"], 4)
        if k > 1:
            j = int(np.argmax(between[c]))
            q["nearest_value"] = j  # replaced by the value id once ids exist
            q["nearest_similarity"] = round(float(between[c, j]), 4)
            q["separation"] = round(1.0 - float(between[c, j]), 4)
        out.append(q)
    return out


def _people_figures(keys: Sequence[str], w: np.ndarray, vectors: np.ndarray) -> dict:
    named = people_named(keys, w)
    if not named:
        return {}
    centroid = (vectors * w[:, None]).sum(axis=0)
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    return {"cohesion_without_people": round(float((vectors @ centroid * w).sum() / (float(w.sum()) or 1.0)), 4),
            "people_named": named}


def cohesion_fence(quality: list[dict]) -> float:
    coh = np.array([q["cohesion"] for q in quality], dtype=float)
    if len(coh) < 4:
        return -np.inf
    q1, q3 = np.percentile(coh, [25, 75])
    return float(q1 - FENCE_IQR * (q3 - q1))


def closest_pairs(values: Sequence, top: int = 5) -> list[tuple]:
    """Pairs of values each of which is the other's nearest (``quality.nearest_value``), closest
    first, as ``(larger value, smaller value, centroid similarity)``: where a reviewer looks for
    two values that say one thing. Only the given values are paired, so a merged or rejected one
    drops out."""
    by_id = {v.id: v for v in values}
    pairs = []
    for v in values:
        q = v.quality or {}
        other = by_id.get(q.get("nearest_value"))
        if other is None or "nearest_similarity" not in q or v.id >= other.id:
            continue
        if (other.quality or {}).get("nearest_value") == v.id:
            big, small = sorted((v, other), key=lambda x: (-x.size, x.id))
            pairs.append((big, small, float(q["nearest_similarity"])))
    pairs.sort(key=lambda p: (-p[2], p[0].id))
    return pairs[:top]


def review_reasons(quality: list[dict], namings: Sequence) -> list[str | None]:
    """One reason per value (``None`` when the build has no doubt about it)."""
    fence = cohesion_fence(quality)
    reasons: list[str | None] = []
    for c, q in enumerate(quality):
        why = []
        if getattr(namings[c], "not_a_value", None):
            why.append(f"namer: {namings[c].not_a_value}")
        if q["n_rationales"] < MIN_RATIONALES:
            why.append(f"found in only {q['n_rationales']} rationale(s)")
        if q["cohesion"] < fence:
            why.append(f"members are unlike each other (cohesion {q['cohesion']:.2f}, build's lower fence {fence:.2f})")
        elif q.get("cohesion_without_people", np.inf) < fence and q.get("shared_word_share", 0.0) < SHARED_WORD_SHARE:
            # A topic (whom the rationales discuss) rather than a value; its members may each be
            # a value expression, so they stay, and a reviewer splits or renames it.
            why.append(f"members are alike through the people they name ({', '.join(q['people_named'])}) more than "
                       f"through a value: without them {q['cohesion_without_people']:.2f}, build's lower fence {fence:.2f}")
        j = q.get("nearest_value")
        # Values are numbered by size, so the smaller of a near-duplicate pair is the one flagged.
        if j is not None and q["nearest_similarity"] >= DUPLICATE_SIMILARITY and j < c:
            why.append(f"nearly the same as a larger value (centroid similarity {q['nearest_similarity']:.2f})")
        reasons.append("; ".join(why) or None)
    return reasons


def refresh_quality(folder, space, *, embed: bool = True) -> None:
    """Recount every value's quality record from the members and centroids it has now, by the
    build's own formula (:func:`value_quality`).

    A build writes the record once; an update adds members and moves centroids, and a reviewer
    reading ``taxonomy show`` afterwards would otherwise see a value that now spans 22
    rationales listed with the 9 it had. ``space`` (the taxonomy's
    :class:`~taxonomy.space.EmbeddingSpace`) gives each expression its form and embeds the forms
    through the cache; with ``embed=False``, or for a taxonomy embedded with its rationales
    (whose old texts an edit does not have), cohesion keeps its last figure. Review status
    stays: a person decides it. A doubt whose figures moved says so (:func:`reason_now`).
    """
    values = folder.unmerged_values()
    column = {v.id: c for c, v in enumerate(values)}
    # One row per (value, form): a form split across values by hand counts in each.
    rows: dict[tuple[int, str], int] = {}
    counts: list[int] = []
    with_lexicon: list[int] = []
    rationales: list[set] = [set() for _ in values]
    for e in folder.expressions:
        c = column.get(e.value_id) if not e.excluded else None
        if c is None:
            continue
        r = rows.setdefault((c, space.key(e)), len(rows))
        if r == len(counts):
            counts.append(0)
            with_lexicon.append(0)
        counts[r] += 1
        with_lexicon[r] += e.lexicon_value is not None
        rationales[c].add(e.rationale_id)
    members: list[list[int]] = [[] for _ in values]
    for (c, _), r in rows.items():
        members[c].append(r)
    keys = [k for _, k in rows]
    cents = np.stack([folder.centroids[v.id] for v in values]).astype(np.float64) if values else np.zeros((0, 1))
    embed = embed and not embeds_context(space.embed_text) and bool(keys)
    # Without vectors the cohesion value_quality computes is meaningless and is dropped below;
    # everything else it reads from counts and centroids.
    vectors = space.key_vectors(keys).astype(np.float64) if embed else np.zeros((len(keys), cents.shape[1]))
    quality = value_quality(vectors, np.asarray(counts, dtype=np.float64), cents, members,
                            [{"lexicon": n} for n in with_lexicon],
                            [SimpleNamespace(n_rationales=len(r)) for r in rationales],
                            keys=keys if embed else None,
                            without_people=vectors_without_people(space, keys, vectors) if embed else None)
    for c, (v, q) in enumerate(zip(values, quality)):
        if not members[c]:
            continue  # no members left: the no_support flag says so, the record keeps its last figures
        if "nearest_value" in q:
            q["nearest_value"] = values[q["nearest_value"]].id
        if not embed:
            q.pop("cohesion")
        elif "cohesion_without_people" not in q:
            # An edit may have taken away the members that named people.
            for gone in ("cohesion_without_people", "people_named", "shared_word", "shared_word_share"):
                (v.quality or {}).pop(gone, None)
        v.quality = {**(v.quality or {}), **q}
        if v.review_reason:
            v.review_reason = reason_now(v.review_reason, v.quality)


def reason_now(reason: str, quality: dict) -> str:
    """A build's doubt, with the figures it cites brought up to date where they moved.

    "found in only 2 rationale(s)" beside a value that spans 9 rationales now reads as a
    contradiction; the doubt stays (a person decides the status) and says when it held:
    "found in only 2 rationale(s) when found, 9 now"; the same for a cohesion figure.
    """
    def rationales(m: re.Match) -> str:
        found, now = m.group(1), quality.get("n_rationales")
        text = f"found in only {found} rationale(s)"
        return text if now is None or int(found) == now else f"{text} when found, {now} now"

    def cohesion(m: re.Match) -> str:
        found, now = m.group(1), quality.get("cohesion")
        return f"cohesion {found}" if now is None or f"{now:.2f}" == found else f"cohesion {found} when found, {now:.2f} now"

    def without(m: re.Match) -> str:
        found, now = m.group(1), quality.get("cohesion_without_people")
        return f"without them {found}" if now is None or f"{now:.2f}" == found else f"without them {found} when found, {now:.2f} now"

    reason = re.sub(r"without them (\d\.\d\d)(?: when found, \d\.\d\d now)?", without, reason)
    reason = re.sub(r"found in only (\d+) rationale\(s\)(?: when found, \d+ now)?", rationales, reason)
    return re.sub(r"cohesion (\d\.\d\d)(?: when found, \d\.\d\d now)?", cohesion, reason)
