"""What a reviewer needs to judge a value at a glance, and when the build itself doubts one.

Per value (``Value.quality``):

- ``cohesion``: mention-weighted mean cosine similarity of the members to the value's centroid;
- ``nearest_value`` / ``nearest_similarity``: the closest other value and the cosine similarity
  of the two centroids (``separation`` is one minus it);
- ``lexicon_free_share``: share of mentions that no lexicon word produced, i.e. what the
  lexicon alone would have missed;
- ``n_rationales``: how many distinct rationales the value's mentions come from;
- ``top_form_share``: share of mentions taken by the single most frequent form.

A value is published as ``needs_review`` (with the reason) when it rests on too few rationales
to say anything about people, when its members are less alike than the build's other values
(cohesion below first quartile minus half the interquartile range: on the real AITA comments
this marks the mixed bags a reader picks out, e.g. "help" with "did nothing wrong" and "say no"),
when it nearly duplicates a larger value, or when the namer says it is not a value.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Callable, Sequence

import numpy as np

# Fewer rationales than this and a value says more about one writer than about people.
MIN_RATIONALES = 3
# Centroids this similar are one value found twice (MiniLM cosine; synonyms sit near 0.7-0.8).
DUPLICATE_SIMILARITY = 0.92
FENCE_IQR = 0.5


def value_quality(vectors: np.ndarray, counts: np.ndarray, centroids: np.ndarray,
                  members: list[list[int]], prior_values: list, views: Sequence) -> list[dict]:
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
        if k > 1:
            j = int(np.argmax(between[c]))
            q["nearest_value"] = j  # replaced by the value id once ids exist
            q["nearest_similarity"] = round(float(between[c, j]), 4)
            q["separation"] = round(1.0 - float(between[c, j]), 4)
        out.append(q)
    return out


def cohesion_fence(quality: list[dict]) -> float:
    coh = np.array([q["cohesion"] for q in quality], dtype=float)
    if len(coh) < 4:
        return -np.inf
    q1, q3 = np.percentile(coh, [25, 75])
    return float(q1 - FENCE_IQR * (q3 - q1))


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
        j = q.get("nearest_value")
        # Values are numbered by size, so the smaller of a near-duplicate pair is the one flagged.
        if j is not None and q["nearest_similarity"] >= DUPLICATE_SIMILARITY and j < c:
            why.append(f"nearly the same as a larger value (centroid similarity {q['nearest_similarity']:.2f})")
        reasons.append("; ".join(why) or None)
    return reasons


def refresh_quality(folder, key: Callable, vectors_of: Callable | None = None) -> None:
    """Recount every value's quality record from the members and centroids it has now.

    A build writes the record once; an update adds members and moves centroids, and a reviewer
    reading ``taxonomy show`` afterwards would otherwise see a value that now spans 22
    rationales listed with the 9 it had. ``key(e)`` is the form an expression is embedded as and
    ``vectors_of(keys)`` embeds forms (through the cache); without it (a taxonomy embedded with
    its rationales, whose old texts an update does not have) cohesion keeps its last figure.
    Review status stays: a person decides it. A doubt about too few rationales that no longer
    holds says so ("found in only 2 rationale(s) when found, 9 now").
    """
    values = [v for v in folder.taxonomy.values if v.status != "merged" and v.id in folder.centroids]
    forms: dict[str, Counter] = defaultdict(Counter)
    rationales: dict[str, set] = defaultdict(set)
    with_lexicon: Counter = Counter()
    for e in folder.expressions:
        if e.value_id and not e.excluded:
            forms[e.value_id][key(e)] += 1
            rationales[e.value_id].add(e.rationale_id)
            with_lexicon[e.value_id] += e.lexicon_value is not None
    keys = sorted({k for c in forms.values() for k in c})
    vec = dict(zip(keys, vectors_of(keys))) if vectors_of is not None and keys else {}
    ids = [v.id for v in values]
    cents = np.stack([folder.centroids[i] for i in ids]).astype(np.float64) if ids else np.zeros((0, 0))
    between = cents @ cents.T
    if len(ids):
        np.fill_diagonal(between, -np.inf)
    for c, v in enumerate(values):
        counts = forms.get(v.id)
        if not counts:
            continue  # no members left: the no_support flag says so, the record keeps its last figures
        total = sum(counts.values())
        q = dict(v.quality or {})
        q.update(n_rationales=len(rationales[v.id]), top_form_share=round(max(counts.values()) / total, 4),
                 lexicon_free_share=round(max(0.0, 1.0 - with_lexicon[v.id] / total), 4))
        if vec:
            q["cohesion"] = round(float(sum(n * float(vec[k] @ cents[c]) for k, n in counts.items()) / total), 4)
        if len(ids) > 1:
            j = int(np.argmax(between[c]))
            q.update(nearest_value=ids[j], nearest_similarity=round(float(between[c, j]), 4),
                     separation=round(1.0 - float(between[c, j]), 4))
        v.quality = q
        if v.review_reason:
            v.review_reason = reason_now(v.review_reason, q)


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

    reason = re.sub(r"found in only (\d+) rationale\(s\)(?: when found, \d+ now)?", rationales, reason)
    return re.sub(r"cohesion (\d\.\d\d)(?: when found, \d\.\d\d now)?", cohesion, reason)
