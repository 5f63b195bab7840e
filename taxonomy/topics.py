"""Values that are one dilemma's topic: the build's doubt when a value's rationales come mostly
from a single dilemma.

A value is what people hold across the situations they judge. On argument premises, where many
premises argue each conclusion, the build also forms clusters of what the premises argue
*about*: "Economic Sanctions" (over 90% of its premises argue one conclusion on sanctions),
"Capital Punishment", "Right To Keep" (the right to keep and bear arms). Such a value is
published as ``needs_review`` with the dilemma named, never dropped: in a corpus where a value
truly belongs to one dilemma, the reviewer says so.

The doubt needs a dilemma to dominate the value four ways: it holds at least
``TOPIC_MIN_RATIONALES`` of the value's rationales, at least two thirds of them, at least
``TOPIC_LIFT`` times its share of the whole corpus (a corpus of one dilemma has no topics to
tell apart), and more of them than chance puts in any one dilemma: were the value's rationales
drawn from the corpus at random, that many or more would land in one dilemma with a
probability under ``TOPIC_CHANCE`` (binomial tails summed over the dilemmas small enough to
pass the other tests).

Half would not do: on the bundled sample, 5 of the 9 rationales of "Protect" judge the dilemma
about a premature newborn, whose core that value is. Three rationales are enough when chance
cannot explain them: the sample's "Authorship" spans 3 rationales, all judging its dilemma
about credit for co-authorship, and 3 rationales drawn at random from the sample's 42 dilemmas
would all judge one of them about once in 1,300 values. Where each dilemma has one rationale,
as with one top comment per AITA post, no value can be doubted this way.

A value can also gather many topics at once: on Touché23 one value held "economic sanction"
(76 mentions, nearly all arguing the conclusion on sanctions), "should limit executive
compensation" and "should abolish intellectual property rights", each one conclusion's subject,
so no single dilemma dominates it. The same test is therefore made form by form: a form is
topical when one dilemma dominates its rationales as above, and a value at least
``TOPIC_FORM_SHARE`` of whose mentions are topical forms is sent to review, with the forms and
their dilemmas named. One comment per AITA post makes no form topical either.

Each value's ``quality`` gets ``n_dilemmas``, ``top_dilemma_share`` and, where forms were
counted, ``topical_form_share``: the build's figures, which an edit does not recount; an update
records them for the values it adds.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

import numpy as np

TOPIC_MIN_RATIONALES = 3
TOPIC_SHARE = 2 / 3
TOPIC_LIFT = 3.0
TOPIC_CHANCE = 0.01
# Half, not two thirds: Touché23's value of many topics had 62% of its mentions in topical forms,
# and the next value below it 17% ("right to keep" beside "human rights").
TOPIC_FORM_SHARE = 1 / 2


def dilemma_spread(pairs: Iterable[tuple[str, str]], dilemma_of: Mapping[str, str]) -> dict[str, Counter]:
    """``{value_id: Counter(dilemma -> rationales)}`` from ``(value_id, rationale_id)`` pairs
    (one per expression; a rationale counts once per value)."""
    seen: set[tuple[str, str]] = set()
    spread: dict[str, Counter] = {}
    for value_id, rationale_id in pairs:
        if value_id is None or (value_id, rationale_id) in seen or rationale_id not in dilemma_of:
            continue
        seen.add((value_id, rationale_id))
        spread.setdefault(value_id, Counter())[dilemma_of[rationale_id]] += 1
    return spread


def _dominant(spread: Counter, dilemma_sizes: Mapping[str, int], n_rationales: int) -> tuple[str, float] | None:
    """The dilemma that dominates ``spread`` (rationales per dilemma) and its share, or ``None``."""
    from scipy.stats import binom

    if not spread or not n_rationales:
        return None
    dilemma, n = max(spread.items(), key=lambda kv: (kv[1], kv[0]))
    total = sum(spread.values())
    share = n / total
    base = dilemma_sizes.get(dilemma, 0) / n_rationales
    if n < TOPIC_MIN_RATIONALES or share < TOPIC_SHARE or share < TOPIC_LIFT * base:
        return None
    # The dilemma is picked as the one holding most, so chance is that of any dilemma small
    # enough to pass the tests above getting as many.
    bases = np.fromiter(dilemma_sizes.values(), dtype=float) / n_rationales
    bases = bases[TOPIC_LIFT * bases <= share]
    if binom.sf(n - 1, total, bases).sum() >= TOPIC_CHANCE:
        return None
    return dilemma, share


def topic_reason(spread: Counter, dilemma_sizes: Mapping[str, int], n_rationales: int) -> str | None:
    """Why the value may be a dilemma's topic rather than a value, or ``None``."""
    found = _dominant(spread, dilemma_sizes, n_rationales)
    if found is None:
        return None
    return (f"{found[1]:.0%} of its rationales judge one dilemma ({_short(found[0])}): "
            "it may be that dilemma's topic, not a value")


def form_spread(triples: Iterable[tuple[str, str, str]], dilemma_of: Mapping[str, str]) -> tuple[dict, dict]:
    """From ``(value_id, form, rationale_id)`` triples (one per assigned expression): per value,
    its mentions per form; per form, its rationales per dilemma (a rationale counts once)."""
    mentions: dict[str, Counter] = {}
    spread: dict[str, Counter] = {}
    seen: set[tuple[str, str]] = set()
    for value_id, form, rationale_id in triples:
        if value_id is None or rationale_id not in dilemma_of:
            continue
        mentions.setdefault(value_id, Counter())[form] += 1
        if (form, rationale_id) not in seen:
            seen.add((form, rationale_id))
            spread.setdefault(form, Counter())[dilemma_of[rationale_id]] += 1
    return mentions, spread


def spreads(expressions, dilemma_of: Mapping[str, str], form_of) -> tuple[dict, tuple[dict, dict]]:
    """What :func:`flag_topics` reads, counted from expressions: :func:`dilemma_spread` and
    :func:`form_spread` over the assigned ones; ``form_of(e)`` names an expression's form."""
    assigned = [e for e in expressions if e.value_id]
    return (dilemma_spread(((e.value_id, e.rationale_id) for e in assigned), dilemma_of),
            form_spread(((e.value_id, form_of(e), e.rationale_id) for e in assigned), dilemma_of))


def topical_forms(spread: Mapping[str, Counter], dilemma_sizes: Mapping[str, int]) -> dict[str, str]:
    """``{form: dilemma}`` for the forms one dilemma dominates, by the same test as a value."""
    n_rationales = sum(dilemma_sizes.values())
    found = {form: _dominant(counts, dilemma_sizes, n_rationales) for form, counts in spread.items()}
    return {form: hit[0] for form, hit in found.items() if hit is not None}


def form_topic_reason(mentions: Counter, topical: Mapping[str, str], *, shown: int = 3) -> tuple[float, str | None]:
    """The share of a value's mentions in topical forms, and why that makes it doubtful (or ``None``)."""
    total = sum(mentions.values())
    hits = sorted(((n, form) for form, n in mentions.items() if form in topical), key=lambda t: (-t[0], t[1]))
    share = sum(n for n, _ in hits) / total if total else 0.0
    if share < TOPIC_FORM_SHARE or total < TOPIC_MIN_RATIONALES:
        return share, None
    named = "; ".join(f'"{form}" in {_short(topical[form], 40)}' for _, form in hits[:shown])
    return share, (f"{share:.0%} of its mentions are words each argued mostly in one dilemma ({named}): "
                   "they may be those dilemmas' topics, not a value")


def flag_topics(taxonomy, spread: Mapping[str, Counter], dilemma_sizes: Mapping[str, int],
                forms: tuple[Mapping[str, Counter], Mapping[str, Counter]] | None = None) -> int:
    """Record each value's dilemma spread and send the likely topics to review; returns how many
    values were newly sent. Only values the build proposed are sent: a reviewed status stays.
    ``forms``: what :func:`form_spread` counts, for the form-by-form test."""
    n_rationales = sum(dilemma_sizes.values())
    mentions, topical = (forms[0], topical_forms(forms[1], dilemma_sizes)) if forms else ({}, {})
    flagged = 0
    for v in taxonomy.values:
        counts = spread.get(v.id)
        if not counts:
            continue
        v.quality = {**(v.quality or {}), "n_dilemmas": len(counts),
                     "top_dilemma_share": round(max(counts.values()) / sum(counts.values()), 4)}
        why = topic_reason(counts, dilemma_sizes, n_rationales)
        if forms is not None:
            share, why_forms = form_topic_reason(mentions.get(v.id, Counter()), topical)
            v.quality["topical_form_share"] = round(share, 4)
            why = why or why_forms
        if why is None or v.status not in ("proposed", "needs_review"):
            continue
        flagged += v.status == "proposed"
        v.status = "needs_review"
        v.review_reason = f"{v.review_reason}; {why}" if v.review_reason else why
    return flagged


def _short(dilemma: str, limit: int = 60) -> str:
    text = " ".join(str(dilemma).split())
    return f'"{text}"' if len(text) <= limit else f'"{text[:limit - 3]}..."'
